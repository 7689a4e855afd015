"""The ingestion_jobs rows: a sync ingest's job, its completion or failure, and reading
jobs back. `lifecycle` decides when; this module only writes what it is told."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.db import transaction
from backtestdb.errors import BacktestdbError, NotFound
from backtestdb.ingest import IngestOutcome, IngestRequest
from backtestdb.jobs.queue import request_options
from backtestdb.models import IngestionJob, utcnow


def failure_reason(error: BaseException) -> str:
    """A reason a person can act on, without the driver's own words (they may quote data)."""
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    if isinstance(cause, psycopg.errors.QueryCanceled):
        return "database error: a statement was cancelled (statement_timeout?); nothing stored"
    if isinstance(cause, psycopg.OperationalError):
        return "database error: the connection to the database was lost; nothing stored"
    if isinstance(cause, psycopg.DataError):
        return "database error: a value does not fit the database; nothing stored"
    return f"internal error: {type(error).__name__}"


def create_job(
    factory: sessionmaker[Session],
    request: IngestRequest,
    worker_id: str | None = None,
    lease_seconds: float | None = None,
) -> IngestionJob:
    """A committed `running` job for a sync ingest, held by `worker_id` for `lease_seconds`.

    On PostgreSQL its commit does not wait for the disk: the ingest's own commit, which
    does, flushes the log this row is in. A crash before that loses a job whose ingest
    stored nothing anyway, and saves a batch one disk flush per backtest."""
    now = utcnow()
    lease = None if lease_seconds is None else now + timedelta(seconds=lease_seconds)
    with transaction(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        job = IngestionJob(
            job_type="ingest",
            status="running",
            started_at=now,
            attempts=1,
            worker_id=worker_id,
            lease_expires_at=lease,
            source_files=[{"role": f.role, "name": f.name} for f in request.files],
            options=request_options(request),
        )
        session.add(job)
    return job


def complete(job: IngestionJob, outcome: IngestOutcome) -> None:
    job.status = "completed"
    job.backtest_id = outcome.backtest.id
    job.trades_ingested = outcome.trades if outcome.created else 0
    job.warnings = [w.as_dict() for w in outcome.warnings]
    if outcome.created:
        job.source_files = outcome.backtest.source_files
    job.error_message = None if outcome.created else outcome.message
    job.finished_at = utcnow()
    job.lease_expires_at = None


def record_failure(
    factory: sessionmaker[Session],
    job_id: uuid.UUID,
    message: str,
    error: BacktestdbError | None,
    worker_id: str | None = None,
) -> bool:
    """Mark the job failed; a worker's job only while it is ours (False when it is not)."""
    with transaction(factory) as session:
        job = session.get_one(IngestionJob, job_id, with_for_update=worker_id is not None)
        if worker_id is not None and (job.status != "running" or job.worker_id != worker_id):
            return False
        job.status = "failed"
        job.error_message = storable(message)
        if error is not None:
            job.errors = [{k: storable(v) for k, v in e.as_dict().items()} for e in error.errors]
            job.error_count = error.error_count
        job.finished_at = utcnow()
        job.lease_expires_at = None
    return True


#: NUL and lone surrogates: PostgreSQL stores neither (text or jsonb), and a failure record
#: that cannot be written leaves its job "running" for ever.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    return _UNSTORABLE.sub("\ufffd", value) if isinstance(value, str) else value


def get_job(session: Session, job_id: uuid.UUID) -> IngestionJob:
    job = session.get(IngestionJob, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} not found")
    return job


def list_jobs(session: Session, status: str | None = None, limit: int = 50) -> list[IngestionJob]:
    query = select(IngestionJob).order_by(IngestionJob.created_at.desc()).limit(limit)
    if status is not None:
        query = query.where(IngestionJob.status == status)
    return list(session.scalars(query))


def latest_job(session: Session, backtest_id: uuid.UUID) -> IngestionJob | None:
    """The newest job linked to a backtest (a re-upload of identical files links one too)."""
    query = (
        select(IngestionJob)
        .where(IngestionJob.backtest_id == backtest_id)
        .order_by(IngestionJob.created_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()
