"""Alembic environment: uses the engine handed over by `backtestdb.db`, or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from backtestdb import models  # noqa: F401  (registers the tables on Base.metadata)
from backtestdb.config import get_settings
from backtestdb.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given: Engine | None = config.attributes.get("engine")
    engine = given or make_engine(get_settings().effective_database_url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if given is None:
            engine.dispose()  # ours: close its pooled connection now, not at collection


if context.is_offline_mode():
    run_offline()
else:
    run_online()
