"""The ingest unit of work, shared by the CLI and the API.

Two transactions, on purpose: the job row is committed first so that a failed ingest
still leaves its job (with the reason and the row errors); the backtest, its trades,
summary and full metric set, and the job's completion are then committed together, or
not at all. The metric set is computed in the ingest's own pass over the trades; only for
a file that is not in close-time order is it computed afterwards from the stored trades,
in a transaction of its own (it reads every trade back, and must not undo a good ingest).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import psycopg
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import analytics
from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.errors import BacktestdbError, NotFound, RowError
from backtestdb.ingest import IngestOutcome, IngestRequest, content_hash, find_by_hash, ingest
from backtestdb.jobs import leases
from backtestdb.jobs.leases import LeaseLost
from backtestdb.jobs.queue import request_options
from backtestdb.models import Backtest, IngestionJob, utcnow
from backtestdb.storage import describe, open_storage


def run_ingest(
    factory: sessionmaker[Session],
    request: IngestRequest,
    settings: Settings,
    job_id: uuid.UUID | None = None,
    worker_id: str | None = None,
) -> tuple[IngestionJob, IngestOutcome]:
    """Ingest and record the job; raises the ingest's error after recording the failure.

    Without `job_id` a new job row records the ingest (the sync path). With it, the ingest
    runs for that existing job: a worker's claimed one, whose every write is fenced on
    `worker_id` (raises LeaseLost, recording nothing, when another worker holds it now)."""
    if job_id is None:
        job_id = create_job(factory, request).id
    storage = open_storage(settings)
    backtest_id = uuid.uuid4()
    try:
        try:
            with transaction(factory) as session:
                outcome = ingest(
                    session,
                    request,
                    storage,
                    backtest_id=backtest_id,
                    max_errors=settings.max_row_errors,
                    batch_size=settings.batch_size,
                )
                finished = finish(session, job_id, worker_id, outcome)
        except IntegrityError as error:
            storage.remove(backtest_id)
            finished, outcome = link_concurrent_twin(factory, request, job_id, worker_id, error)
    except BacktestdbError as error:
        storage.remove(backtest_id)
        record_failure(factory, job_id, error.message, error, worker_id)
        error.job_id = job_id
        raise
    except LeaseLost:
        storage.remove(backtest_id)
        raise
    except BaseException as error:
        # Not a user error: record it so the job does not stay "running", then let it
        # propagate (a bug must surface, not hide in a job row).
        storage.remove(backtest_id)
        record_failure(factory, job_id, failure_reason(error), None, worker_id)
        raise
    if outcome.needs_metrics:
        outcome.warnings += refresh_metrics(factory, job_id, outcome, settings)
    return finished, outcome


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


def finish(
    session: Session, job_id: uuid.UUID, worker_id: str | None, outcome: IngestOutcome
) -> IngestionJob:
    """Complete the job in the ingest's transaction; a worker's job only while it is ours."""
    job = session.get_one(
        IngestionJob, job_id, with_for_update=worker_id is not None, populate_existing=True
    )
    if worker_id is not None:
        leases.ensure_owner(job, worker_id)
    complete(job, outcome)
    return job


def link_concurrent_twin(
    factory: sessionmaker[Session],
    request: IngestRequest,
    job_id: uuid.UUID,
    worker_id: str | None,
    error: IntegrityError,
) -> tuple[IngestionJob, IngestOutcome]:
    """Identical files ingested at the same time (two requests, two workers): the unique
    content_hash refused the second insert once the first committed. Answer the first, as
    an upload after it would; any other conflict is raised as it came."""
    if request.force or "content_hash" not in str(error.orig):
        raise error
    digest = content_hash([describe(f) for f in request.files], request)
    with transaction(factory) as session:
        existing = find_by_hash(session, digest)
        if existing is None:
            raise error
        outcome = IngestOutcome(existing, created=False, trades=existing.total_trades)
        return finish(session, job_id, worker_id, outcome), outcome


def refresh_metrics(
    factory: sessionmaker[Session], job_id: uuid.UUID, outcome: IngestOutcome, settings: Settings
) -> list[RowError]:
    """Fill the full metric set and the reconciliation; its warnings join the job's."""
    with transaction(factory) as session:
        backtest = session.get_one(Backtest, outcome.backtest.id)
        warnings = analytics.refresh(
            session, backtest, outcome.reported, days_per_year=settings.days_per_year
        )
        job = session.get_one(IngestionJob, job_id)
        job.warnings = [*job.warnings, *(w.as_dict() for w in warnings)]
    outcome.backtest = backtest
    return warnings


def create_job(factory: sessionmaker[Session], request: IngestRequest) -> IngestionJob:
    with transaction(factory) as session:
        job = IngestionJob(
            job_type="ingest",
            status="running",
            started_at=utcnow(),
            attempts=1,
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
