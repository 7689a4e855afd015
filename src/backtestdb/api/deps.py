"""Request dependencies: settings, the database, one transaction per request, the API key.

The edge owns the transaction (`get_session`): it commits when the route returns and rolls
back when it raises, before the response is sent. Services only flush.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.db import ensure_schema, make_engine, session_factory, transaction
from backtestdb.errors import InvalidRequest, RowError, Unauthorized


class Database:
    """The app's engine, made on first use: in the process that serves (each uvicorn
    worker has its own), never at import. The schema check runs until it once succeeds, so
    a database migrated after start-up is picked up without a restart."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.settings.effective_database_url)
            return self._engine

    def factory(self) -> sessionmaker[Session]:
        """Sessions on a database at the current schema; raises DatabaseNotReady (503)."""
        if self._factory is None:
            engine = self.engine
            with self._lock:
                if self._factory is None:
                    ensure_schema(engine, migrate=self.settings.should_auto_migrate)
                    self._factory = session_factory(engine)
        return self._factory

    def dispose(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine = None
            self._factory = None


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_database(request: Request) -> Database:
    return cast(Database, request.app.state.database)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_factory(database: DatabaseDep) -> sessionmaker[Session]:
    return database.factory()


FactoryDep = Annotated[sessionmaker[Session], Depends(get_factory)]


def get_session(factory: FactoryDep) -> Iterator[Session]:
    with transaction(factory) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is an error
# response and never a success the database does not hold.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="One of API_KEYS")
_bearer = HTTPBearer(auto_error=False, description="One of API_KEYS as a Bearer token")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_api_key(
    request: Request,
    settings: SettingsDep,
    api_key: Annotated[str | None, Security(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """Writes need a key when API_KEYS is set; reads too when API_KEY_READS is on."""
    keys = settings.api_key_list
    if not keys or (request.method in _READS and not settings.api_key_reads):
        return
    given = api_key or (bearer.credentials if bearer is not None else None)
    if given is None or not is_known_key(given, keys):
        raise Unauthorized("Missing or invalid API key: send X-API-Key or Authorization: Bearer")


def is_known_key(given: str, keys: list[str]) -> bool:
    # Constant time per key, and every key is compared, so timing tells nothing about them.
    candidate = given.encode()
    matches = [hmac.compare_digest(candidate, key.encode()) for key in keys]
    return any(matches)


ApiKeyDep = Depends(require_api_key)


def single_query_values(request: Request) -> None:
    """Every query parameter of this API holds one value: a repeated one is refused rather
    than silently reduced to its last value."""
    keys = [key for key, _ in request.query_params.multi_items()]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        errors = [RowError("query", "given more than once", column=key) for key in repeated]
        raise InvalidRequest(f"Query parameter {repeated[0]!r} given more than once", errors)


SingleQueryDep = Depends(single_query_values)
