"""Request dependencies: settings, the database, one transaction per request, the API key.

The edge owns the transaction (`get_session`): it commits when the route returns and rolls
back when it raises, before the response is sent. Services only flush. Reads (GET, HEAD)
run under the read limits (STATEMENT_TIMEOUT_SECONDS, IDLE_TRANSACTION_TIMEOUT_SECONDS);
exports read through a pool of their own (`Exports`).
"""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, cast

import anyio
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BeforeValidator
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.db import (
    ReadLimits,
    ensure_schema,
    make_engine,
    read_session_factory,
    session_factory,
    transaction,
)
from backtestdb.errors import InvalidRequest, RowError, Unauthorized


class Database:
    """The app's engine, made on first use: in the process that serves (each uvicorn
    worker has its own), never at import. The schema check runs until it once succeeds, so
    a database migrated after start-up is picked up without a restart.

    Exports get an engine of their own, EXPORT_CONNECTIONS connections and no overflow, so
    however many run they never take a connection from the ordinary requests' pool."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self._reads: sessionmaker[Session] | None = None
        self._exports: Exports | None = None
        self._export_engine: Engine | None = None
        # Reentrant: the factories take it and then ask for the engine, which takes it too.
        self._lock = threading.RLock()

    @property
    def limits(self) -> ReadLimits:
        settings = self.settings
        return ReadLimits(
            settings.statement_timeout_seconds, settings.idle_transaction_timeout_seconds
        )

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

    def read_factory(self) -> sessionmaker[Session]:
        """Sessions for reads: the same pool, each transaction under the read limits."""
        if self._reads is None:
            self.factory()
            with self._lock:
                if self._reads is None:
                    self._reads = read_session_factory(self.engine, self.limits)
        return self._reads

    def exports(self) -> Exports:
        """The exports' own small pool, under the read limits, and their thread limit."""
        if self._exports is None:
            self.factory()
            with self._lock:
                if self._exports is None:
                    size = self.settings.export_connections
                    url = self.settings.effective_database_url
                    self._export_engine = make_engine(url, pool_size=size, max_overflow=0)
                    self._exports = Exports(
                        read_session_factory(self._export_engine, self.limits),
                        anyio.CapacityLimiter(size),
                    )
        return self._exports

    def dispose(self) -> None:
        with self._lock:
            for engine in (self._engine, self._export_engine):
                if engine is not None:
                    engine.dispose()
            self._engine = self._export_engine = None
            self._factory = self._reads = None
            self._exports = None


@dataclass(frozen=True, slots=True)
class Exports:
    """What streamed exports read with: sessions on their own pool, and a limit of one
    batch read per pooled connection at a time (further ones wait on the event loop, not
    in a worker thread nor in the pool's queue)."""

    factory: sessionmaker[Session]
    limiter: anyio.CapacityLimiter


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_database(request: Request) -> Database:
    return cast(Database, request.app.state.database)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]


def get_factory(database: DatabaseDep) -> sessionmaker[Session]:
    return database.factory()


FactoryDep = Annotated[sessionmaker[Session], Depends(get_factory)]


_READS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request, database: DatabaseDep) -> Iterator[Session]:
    reads = request.method in _READS
    factory = database.read_factory() if reads else database.factory()
    with transaction(factory) as session:
        yield session


# scope="function": commit before the response is sent, so a failed commit is an error
# response and never a success the database does not hold.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_exports(database: DatabaseDep) -> Exports:
    return database.exports()


ExportsDep = Annotated[Exports, Depends(get_exports)]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="One of API_KEYS")
_bearer = HTTPBearer(auto_error=False, description="One of API_KEYS as a Bearer token")


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


def _not_a_number(value: object) -> object:
    """pydantic reads "30475787" as seconds since 1970; the API's times are ISO 8601 (as
    its schema says), so a bare number is refused (422) rather than taken for a time."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        raise ValueError("expected an ISO 8601 date or time (2026-08-20T21:56:13Z), not a number")
    return value


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: A time in a query: ISO 8601, UTC when it has no offset (`backtests.service.as_utc`).
QueryTime = Annotated[datetime, BeforeValidator(_not_a_number)]

#: A query text holds no NUL (PostgreSQL text cannot): the schema says so, for clients.
NO_NUL = r"^[^\x00]*$"
