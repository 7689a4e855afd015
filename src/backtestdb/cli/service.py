"""`serve` and `worker`: the HTTP server and the async-ingest workers."""

from __future__ import annotations

from typing import Annotated

import typer

from backtestdb.config import get_settings
from backtestdb.db import get_engine, session_factory


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "0.0.0.0",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Run the HTTP API (docs at /docs). Each worker makes its own database engine on its
    first request, so /health answers even before the database does."""
    import uvicorn

    uvicorn.run(
        "backtestdb.server:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=get_settings().log_level.lower(),
        # Past this, responses still open (a download nobody reads) are cancelled, so a
        # stalled client cannot keep the server from stopping.
        timeout_graceful_shutdown=get_settings().shutdown_timeout_seconds,
    )


def worker(
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once (threads)")] = 1,
) -> None:
    """Run queued ingests (POST /api/v1/ingest?mode=async) until SIGTERM or Ctrl-C, which
    let the running jobs finish. Start as many as you like, on any host that reaches the
    database and STORAGE_URL: a job is only ever run by one of them at a time."""
    import logging

    from backtestdb.jobs.worker import run_workers
    from backtestdb.maintenance.upkeep import remove_stale_uploads

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s "
                        "%(name)s %(threadName)s %(message)s")  # fmt: skip
    # A server killed mid-request on this host left its upload folder under DATA_DIR/tmp.
    remove_stale_uploads(settings.upload_tmp_dir)
    # The engine is made on the first claim and retried until the database answers, so a
    # worker may start before the database (or its migration) is ready.
    run_workers(settings, lambda: session_factory(get_engine()), concurrency)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(worker)
