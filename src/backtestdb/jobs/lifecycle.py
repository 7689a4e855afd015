"""The ingest unit of work, shared by the CLI and the API.

Two transactions, on purpose: the job row is committed first so that a failed ingest
still leaves its job (with the reason and the row errors); the backtest, its trades,
summary and full metric set, and the job's completion are then committed together, or
not at all. The metric set is computed in the ingest's own pass over the trades; only for
a file that is not in close-time order is it computed afterwards from the stored trades,
in a transaction of its own (it reads every trade back, and must not undo a good ingest).

A sync ingest's job holds a lease like a worker's (renewed by the same `Heartbeat`, its
writes fenced the same way), so a process killed mid-ingest leaves a job that any worker
fails once the lease runs out (`leases.fail_stopped`), not one `running` for ever.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import analytics, runs
from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.errors import BacktestdbError, Conflict, IngestInterrupted, RowError
from backtestdb.ingest import IngestOutcome, IngestRequest, content_hash, find_by_hash, ingest
from backtestdb.jobs import leases
from backtestdb.jobs.heartbeat import Heartbeat
from backtestdb.jobs.leases import LeaseLost
from backtestdb.jobs.records import complete, create_job, failure_reason, record_failure
from backtestdb.models import Backtest, IngestionJob
from backtestdb.parsing.csv_text import CsvLimits
from backtestdb.storage import describe, open_storage

#: Ingests of one upload whose identical backtest kept being deleted under it, then 409.
TWIN_ATTEMPTS = 3
TWIN_DELETED = (
    "The identical backtest was deleted while this upload ran; nothing was stored: upload again"
)


def run_ingest(
    factory: sessionmaker[Session],
    request: IngestRequest,
    settings: Settings,
    job_id: uuid.UUID | None = None,
    worker_id: str | None = None,
) -> tuple[IngestionJob, IngestOutcome]:
    """Ingest and record the job; raises the ingest's error after recording the failure.

    Without `job_id` a new job row records the ingest (the sync path), leased to this
    process while it runs; IngestInterrupted when the lease was lost meanwhile (its job
    failed by a worker's sweep), nothing stored. With `job_id`, the ingest runs for that
    existing job: a worker's claimed one, whose every write is fenced on `worker_id`
    (raises LeaseLost, recording nothing, when another worker holds it now)."""
    if job_id is not None:
        return ingest_for_job(factory, request, settings, job_id, worker_id)
    worker_id = leases.sync_worker_id()
    lease = settings.job_lease_seconds
    job_id = create_job(factory, request, worker_id, lease).id
    with Heartbeat(factory, job_id, worker_id, lease):
        try:
            return ingest_for_job(factory, request, settings, job_id, worker_id)
        except LeaseLost as lost:
            error = IngestInterrupted(
                "The ingest was interrupted: its job's lease ran out (the database did not "
                "take its heartbeat for JOB_LEASE_SECONDS) and the job was failed; nothing "
                "stored: send the files again"
            )
            error.job_id = job_id
            raise error from lost


def ingest_for_job(
    factory: sessionmaker[Session],
    request: IngestRequest,
    settings: Settings,
    job_id: uuid.UUID,
    worker_id: str | None,
) -> tuple[IngestionJob, IngestOutcome]:
    """`run_ingest` for an existing job, fenced on `worker_id` when there is one."""
    try:
        finished, outcome = store_or_link(factory, request, settings, job_id, worker_id)
    except BacktestdbError as error:
        record_failure(factory, job_id, error.message, error, worker_id)
        error.job_id = job_id
        raise
    except LeaseLost:
        raise
    except BaseException as error:
        # Not a user error: record it so the job does not stay "running", then let it
        # propagate (a bug must surface, not hide in a job row).
        record_failure(factory, job_id, failure_reason(error), None, worker_id)
        raise
    if outcome.needs_metrics:
        outcome.warnings += refresh_metrics(factory, job_id, outcome, settings)
    return finished, outcome


def csv_limits(settings: Settings) -> CsvLimits:
    return CsvLimits(
        header_chars=settings.max_csv_header_bytes,
        row_chars=settings.max_csv_row_bytes,
        columns=settings.max_csv_columns,
        extra_chars=settings.max_csv_extra_bytes,
    )


def finish(
    session: Session,
    job_id: uuid.UUID,
    worker_id: str | None,
    outcome: IngestOutcome,
    request: IngestRequest,
) -> IngestionJob:
    """Complete the job in the ingest's transaction; a worker's job only while it is ours.
    A batch's backtest joins its run in the same transaction (an identical one stored
    before joins it too, unless it is another run's pass)."""
    job = session.get_one(
        IngestionJob, job_id, with_for_update=worker_id is not None, populate_existing=True
    )
    if worker_id is not None:
        leases.ensure_owner(job, worker_id)
    if request.run_id is not None:
        runs.attach(session, outcome.backtest, request.run_id, request.pass_number)
    complete(job, outcome)
    return job


def store_or_link(
    factory: sessionmaker[Session],
    request: IngestRequest,
    settings: Settings,
    job_id: uuid.UUID,
    worker_id: str | None,
) -> tuple[IngestionJob, IngestOutcome]:
    """The ingest stored with its job's completion, or the job linked to the identical
    backtest. When a DELETE takes that identical backtest away mid-way, the upload is
    ingested anew, as it would be had it come after the delete; Conflict (409) only when
    that keeps happening."""
    for _attempt in range(TWIN_ATTEMPTS):
        done = store(factory, request, settings, job_id, worker_id)
        if done is None:
            done = link_concurrent_twin(factory, request, job_id, worker_id)
        if done is not None:
            return done
    raise Conflict(TWIN_DELETED)


def store(
    factory: sessionmaker[Session],
    request: IngestRequest,
    settings: Settings,
    job_id: uuid.UUID,
    worker_id: str | None,
) -> tuple[IngestionJob, IngestOutcome] | None:
    """One ingest transaction; None when an identical backtest got in its way: the unique
    content_hash refused the insert (the twin committed after this one looked), or the
    twin it found was deleted before the job's link to it committed (the foreign key)."""
    storage = open_storage(settings)
    backtest_id = uuid.uuid4()
    linking = False
    try:
        with transaction(factory) as session:
            outcome = ingest(
                session,
                request,
                storage,
                backtest_id=backtest_id,
                max_errors=settings.max_row_errors,
                batch_size=settings.batch_size,
                csv_limits=csv_limits(settings),
            )
            linking = not outcome.created  # then the job's link is the only write
            finished = finish(session, job_id, worker_id, outcome, request)
    except IntegrityError as error:
        storage.remove(backtest_id)
        if linking or (not request.force and "content_hash" in str(error.orig)):
            return None
        raise
    except BaseException:
        storage.remove(backtest_id)
        raise
    return finished, outcome


def link_concurrent_twin(
    factory: sessionmaker[Session],
    request: IngestRequest,
    job_id: uuid.UUID,
    worker_id: str | None,
) -> tuple[IngestionJob, IngestOutcome] | None:
    """Identical files ingested at the same time (two requests, two workers): answer the
    one that committed first, as an upload after it would. None when it is gone (deleted
    before this look-up, or before this link committed)."""
    digest = content_hash([describe(f) for f in request.files], request)
    try:
        with transaction(factory) as session:
            existing = find_by_hash(session, digest)
            if existing is None:
                return None
            outcome = IngestOutcome(existing, created=False, trades=existing.total_trades)
            finished = finish(session, job_id, worker_id, outcome, request)
    except IntegrityError:
        return None  # its one write, the job's link, was refused: the twin was deleted
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
