"""How errors leave the API: `{"detail": ..., "errors": [...], "error_count": n, "job_id": ...}`.

One handler renders every `BacktestdbError` (the status is the error's own); FastAPI's
request validation errors get the same shape. The extras appear only when they have a value.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from backtestdb.config import Settings
from backtestdb.db import is_statement_timeout
from backtestdb.errors import BacktestdbError, Unauthorized

logger = logging.getLogger(__name__)


def error_body(error: BacktestdbError) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": error.message}
    if error.errors:
        body["errors"] = [e.as_dict() for e in error.errors]
    if error.error_count:
        body["error_count"] = error.error_count
    if error.job_id is not None:
        body["job_id"] = str(error.job_id)
    return body


def validation_body(error: RequestValidationError) -> dict[str, Any]:
    items = [
        {"loc": list(e.get("loc", ())), "message": str(e.get("msg", "")), "type": e.get("type")}
        for e in error.errors()
    ]
    where = "; ".join(
        f"{'.'.join(str(part) for part in item['loc'])}: {item['message']}" for item in items[:3]
    )
    return {"detail": f"Invalid request: {where}", "errors": items, "error_count": len(items)}


def statement_timed_out(request: Request, error: OperationalError) -> JSONResponse:
    """503 with the reason: a read ran past STATEMENT_TIMEOUT_SECONDS (db.ReadLimits)."""
    logger.warning("statement timeout on %s", request.url.path, exc_info=error)
    settings: Settings = request.app.state.settings
    limit = f"STATEMENT_TIMEOUT_SECONDS={settings.statement_timeout_seconds:g}"
    body = {"detail": f"The query took longer than {limit}; narrow the filters"}
    return JSONResponse(body, status_code=503)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(BacktestdbError)
    async def backtestdb_error(_request: Request, error: BacktestdbError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
        return JSONResponse(error_body(error), status_code=error.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(error), status_code=422)

    # The database refusing a value or a duplicate is the input's fault, and an unreachable
    # database is worth a retry: neither is a 500. They are still logged with the traceback.
    @app.exception_handler(DataError)
    async def data_error(request: Request, error: DataError) -> JSONResponse:
        logger.warning("database refused a value on %s", request.url.path, exc_info=error)
        return JSONResponse({"detail": "A value does not fit the database"}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, error: IntegrityError) -> JSONResponse:
        logger.warning("integrity conflict on %s", request.url.path, exc_info=error)
        body = {"detail": "Conflicting concurrent change; retry the request"}
        return JSONResponse(body, status_code=409)

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, error: OperationalError) -> JSONResponse:
        if is_statement_timeout(error):
            return statement_timed_out(request, error)
        logger.error("database unavailable on %s", request.url.path, exc_info=error)
        return JSONResponse({"detail": "Database unavailable"}, status_code=503)

    # Every pooled connection in use for the pool's whole wait: overload, worth a retry.
    @app.exception_handler(PoolTimeout)
    async def pool_exhausted(request: Request, error: PoolTimeout) -> JSONResponse:
        logger.error("no database connection free on %s", request.url.path, exc_info=error)
        body = {"detail": "Every database connection is busy; retry in a few seconds"}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    # The COPY path talks to psycopg directly, so its errors arrive unwrapped by SQLAlchemy:
    # a connection lost or a statement cancelled mid-COPY is the same 503, a refused value
    # the same 422, not a 500.
    @app.exception_handler(psycopg.OperationalError)
    async def driver_database_down(request: Request, error: psycopg.Error) -> JSONResponse:
        logger.error("database unavailable on %s", request.url.path, exc_info=error)
        return JSONResponse({"detail": "Database unavailable"}, status_code=503)

    @app.exception_handler(psycopg.DataError)
    async def driver_data_error(request: Request, error: psycopg.Error) -> JSONResponse:
        logger.warning("database refused a value on %s", request.url.path, exc_info=error)
        return JSONResponse({"detail": "A value does not fit the database"}, status_code=422)
