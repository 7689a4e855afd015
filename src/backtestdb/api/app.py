"""The application factory; `backtestdb serve` runs it with uvicorn (`factory=True`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backtestdb.api import analytics, backtests, health, ingest, jobs
from backtestdb.api.deps import Database
from backtestdb.api.errors import install_error_handlers
from backtestdb.api.observability import Metrics, RequestContextMiddleware, configure_logging
from backtestdb.config import Settings, get_settings

DESCRIPTION = """Ingest cTrader backtest exports and query them.

Writes (and reads, with API_KEY_READS) need an `X-API-Key` header or a Bearer token when
API_KEYS is set. Errors answer `{"detail", "errors", "error_count", "job_id"}`, the extras
only when they apply."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    # Nothing touches the database here: the engine is made on the first request, in the
    # process that serves it.
    database = Database(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        database.dispose()

    app = FastAPI(
        title="backtestdb",
        version=version("backtestdb"),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = metrics
    install_error_handlers(app)
    for module in (health, ingest, backtests, jobs, analytics):
        app.include_router(module.router)
    if origins := settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    # Added last, so it is outermost: it sees every response, CORS and errors included.
    app.add_middleware(RequestContextMiddleware, metrics=metrics, routes=app.router.routes)
    return app
