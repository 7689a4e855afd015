"""Liveness, readiness, the root document and /metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError

from backtestdb import db
from backtestdb.api.deps import ApiKeyDep, DatabaseDep
from backtestdb.api.observability import Metrics
from backtestdb.errors import DatabaseNotReady

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness: the process answers (no database access)")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Readiness: the database answers and its schema is at the latest revision",
    responses={503: {"description": "Not ready", "content": {"application/json": {}}}},
)
def ready(database: DatabaseDep) -> JSONResponse:
    try:
        # On SQLite (auto-migrate) this also migrates a new database.
        database.factory()
        revision = db.current_revision(database.engine)
    except DatabaseNotReady as error:
        return JSONResponse({"status": "unavailable", "detail": error.message}, status_code=503)
    except DBAPIError as error:
        detail = f"Cannot reach the database: {type(error.orig).__name__}"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ready", "revision": revision})


@router.get("/", summary="Service name, version and links")
def root(request: Request) -> dict[str, Any]:
    app = request.app
    return {
        "name": app.title,
        "version": app.version,
        "links": {
            "docs": app.docs_url,
            "redoc": app.redoc_url,
            "openapi": app.openapi_url,
            "api": "/api/v1",
            "health": "/health",
            "ready": "/health/ready",
            "metrics": "/metrics",
        },
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    dependencies=[ApiKeyDep],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
