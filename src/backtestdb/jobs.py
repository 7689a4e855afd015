"""The ingest unit of work, shared by the CLI and the API.

Two transactions, on purpose: the job row is committed first so that a failed ingest
still leaves its job (with the reason and the row errors); the backtest, its trades,
summary and full metric set, and the job's completion are then committed together, or
not at all. The metric set is computed in the ingest's own pass over the trades; only for
a file that is not in close-time order is it computed afterwards from the stored trades,
in a transaction of its own (it reads every trade back, and must not undo a good ingest).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import analytics
from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.errors import BacktestdbError, NotFound, RowError
from backtestdb.ingest import IngestOutcome, IngestRequest, ingest
from backtestdb.models import Backtest, IngestionJob, utcnow
from backtestdb.storage import LocalStorage


def run_ingest(
    factory: sessionmaker[Session], request: IngestRequest, settings: Settings
) -> tuple[IngestionJob, IngestOutcome]:
    """Ingest and record the job; raises the ingest's error after recording the failure."""
    job = create_job(factory, request)
    storage = LocalStorage(settings.effective_storage_dir)
    backtest_id = uuid.uuid4()
    try:
        with transaction(factory) as session:
            outcome = ingest(
                session,
                request,
                storage,
                backtest_id=backtest_id,
                max_errors=settings.max_row_errors,
                batch_size=settings.batch_size,
                days_per_year=settings.days_per_year,
            )
            finished = session.get_one(IngestionJob, job.id)
            complete(finished, outcome)
    except BacktestdbError as error:
        storage.remove(backtest_id)
        record_failure(factory, job.id, error.message, error)
        error.job_id = job.id
        raise
    except BaseException as error:
        # Not a user error: record it so the job does not stay "running", then let it
        # propagate (a bug must surface, not hide in a job row).
        storage.remove(backtest_id)
        record_failure(factory, job.id, f"internal error: {type(error).__name__}", None)
        raise
    if outcome.needs_metrics:
        outcome.warnings += refresh_metrics(factory, job.id, outcome, settings)
    return finished, outcome


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
            source_files=[{"role": f.role, "name": f.name} for f in request.files],
            options={
                "name": request.name,
                "initial_balance": str(request.initial_balance)
                if request.initial_balance is not None
                else None,
                "on_error": request.on_error,
                "force": request.force,
            },
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


def record_failure(
    factory: sessionmaker[Session],
    job_id: uuid.UUID,
    message: str,
    error: BacktestdbError | None,
) -> None:
    with transaction(factory) as session:
        job = session.get_one(IngestionJob, job_id)
        job.status = "failed"
        job.error_message = message
        if error is not None:
            job.errors = [e.as_dict() for e in error.errors]
            job.error_count = error.error_count
        job.finished_at = utcnow()


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
