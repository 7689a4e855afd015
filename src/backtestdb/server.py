"""The served application: the JSON API, the dashboard and the in-process worker in one
FastAPI app. `backtestdb serve` runs `create_app` with uvicorn (`factory=True`).

The top of the HTTP edge: imports `api` and `web`; only the CLI names it (as a string).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.staticfiles import StaticFiles

from backtestdb import web
from backtestdb.api import analytics, backtests, events, health, ingest, jobs, runs
from backtestdb.api.deps import Database
from backtestdb.api.errors import install_error_handlers
from backtestdb.api.observability import Metrics, RequestContextMiddleware, configure_logging
from backtestdb.api.origins import refuse_cross_site
from backtestdb.config import Settings, get_settings
from backtestdb.jobs.worker import Worker
from backtestdb.maintenance.upkeep import remove_stale_uploads

#: How long shutting down waits for the in-process worker's running job.
WORKER_STOP_SECONDS = 10.0

DESCRIPTION = """Ingest cTrader backtest exports and query them.

Writes (and reads, with API_KEY_READS) need an `X-API-Key` header or a Bearer token when
API_KEYS is set. A POST or DELETE sent by a browser page of another origin (not this
server, not CORS_ORIGINS) answers 403; a Host outside ALLOWED_HOSTS, 400. Errors answer
`{"detail", "errors", "error_count", "job_id"}`, the extras only when they apply."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    # Nothing touches the database here: the engine is made on the first request, in the
    # process that serves it.
    database = Database(settings)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A server killed mid-request left its upload folder under DATA_DIR/tmp.
        remove_stale_uploads(settings.upload_tmp_dir)
        # The in-process worker runs `?mode=async` ingests; it makes no connection before
        # its first claim, and retries until the database answers.
        worker = Worker(settings, database.factory) if settings.inprocess_worker else None
        app.state.worker = worker
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                # A job still running after this is abandoned: its lease expires and
                # another worker runs it again.
                worker.stop(timeout=WORKER_STOP_SECONDS)
            database.dispose()

    app = FastAPI(
        title="backtestdb",
        version=version("backtestdb"),
        description=DESCRIPTION,
        lifespan=lifespan,
        # Before every route's own dependencies (the API key) and before any body is read.
        dependencies=[Depends(refuse_cross_site)],
    )
    app.state.settings = settings
    app.state.database = database
    app.state.metrics = metrics
    app.state.worker = None
    install_error_handlers(app)
    for module in (health, ingest, backtests, events, jobs, analytics, runs):
        app.include_router(module.router)
    app.include_router(web.router)
    app.mount("/ui/static", StaticFiles(directory=web.STATIC_DIR), name="ui-static")
    if origins := settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    # Inside the request context, so a refused Host (400) still gets an id and is counted.
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=settings.allowed_host_list, www_redirect=False
    )
    # Added last, so it is outermost: it sees every response, CORS and errors included.
    app.add_middleware(RequestContextMiddleware, metrics=metrics, routes=app.router.routes)
    return app
