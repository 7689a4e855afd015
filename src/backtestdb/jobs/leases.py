"""Worker leases on ingestion jobs: claim, renew, fence, and give up on lost workers.

A worker claims a pending job by setting it `running` with its `worker_id` and a lease
(`lease_expires_at`), and renews the lease while it works. A lease that expires means the
worker died: the next worker to look claims the job again, once (`attempts` < 2); after
that the job fails as "worker lost twice". Every write the old worker still tries is
fenced by `ensure_owner`, so a job is never completed by a worker that lost it.

A sync ingest (CLI, or an API request without `?mode=async`) holds a lease on the job it
created too, under a `worker_id` starting with `sync:`. Its files were never stored, so
there is nothing to run again: once its lease expires (the process was killed, or lost the
database) any worker fails it with SYNC_LOST (`fail_stopped`), and nobody claims it.

On PostgreSQL the claim locks the candidate row with `FOR UPDATE SKIP LOCKED`, so
concurrent workers never wait on, or take, the same job. SQLite has no row locks: there the
claim is a compare-and-set on the row's status and attempts, checked by its rowcount.

Functions here flush, never commit: the worker owns the transaction.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, and_, or_, select, update
from sqlalchemy.orm import Session

from backtestdb.models import IngestionJob, utcnow

#: A job is run at most this many times: the first claim and one retry.
MAX_ATTEMPTS = 2
LOST_TWICE = "worker lost twice: the job's worker stopped answering on every attempt"
#: The `worker_id` of a sync ingest starts with this (a worker's starts with its host name).
SYNC_PREFIX = "sync:"
SYNC_LOST = (
    "the ingesting process stopped before the ingest ended (killed, or cut off from the "
    "database, so its lease expired); nothing stored: send the files again"
)
#: A running job without a lease was started by a sync ingest from before sync jobs had
#: one; this long after its start its process is certainly gone.
UNLEASED_SYNC_AGE = timedelta(days=1)


class LeaseLost(Exception):
    """This worker no longer holds the job: its lease expired and another worker claimed
    it. Nothing it did for the job may be committed. Not a `BacktestdbError`: it is not
    the user's input, and it must not be recorded on the job the new owner works on."""


def claim(
    session: Session, worker_id: str, lease_seconds: float, now: datetime | None = None
) -> IngestionJob | None:
    """Take the oldest pending job, or one whose worker's lease expired; None if there is
    none free. The job comes back running, with this worker's lease and one more attempt."""
    now = now or utcnow()
    lost = and_(
        IngestionJob.status == "running",
        IngestionJob.lease_expires_at < now,
        IngestionJob.attempts < MAX_ATTEMPTS,
        ~_sync_ingest(),
    )
    query = (
        select(IngestionJob)
        .where(IngestionJob.job_type == "ingest", or_(IngestionJob.status == "pending", lost))
        .order_by(IngestionJob.created_at)
        .limit(1)
    )
    job: IngestionJob | None = session.scalars(_skip_locked(session, query)).first()
    if job is None:
        return None
    taken = _execute(
        session,
        update(IngestionJob)
        .where(
            IngestionJob.id == job.id,
            IngestionJob.status == job.status,
            IngestionJob.attempts == job.attempts,
        )
        .values(
            status="running",
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=IngestionJob.attempts + 1,
            started_at=now,
        ),
    )
    if taken != 1:
        return None  # SQLite: another worker changed the row since we read it
    session.refresh(job)
    return job


def renew(
    session: Session,
    job_id: uuid.UUID,
    worker_id: str,
    lease_seconds: float,
    now: datetime | None = None,
) -> bool:
    """Extend this worker's lease; False when the job is no longer this worker's, running."""
    expires = (now or utcnow()) + timedelta(seconds=lease_seconds)
    statement = (
        update(IngestionJob)
        .where(
            IngestionJob.id == job_id,
            IngestionJob.worker_id == worker_id,
            IngestionJob.status == "running",
        )
        .values(lease_expires_at=expires)
    )
    return _execute(session, statement) == 1


def fail_lost(session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Fail the running jobs whose lease expired on their last attempt; returns their ids
    (their uploads can go once this commits)."""
    now = now or utcnow()
    lost_twice = and_(
        IngestionJob.status == "running",
        IngestionJob.lease_expires_at < now,
        IngestionJob.attempts >= MAX_ATTEMPTS,
        ~_sync_ingest(),
    )
    return _fail(session, lost_twice, LOST_TWICE, now)


def fail_stopped(session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Fail the sync ingests whose process stopped (lease expired; or no lease at all and
    started over UNLEASED_SYNC_AGE ago); returns their ids. Never retried: no upload was
    stored to run again from."""
    now = now or utcnow()
    running = IngestionJob.status == "running"
    expired = and_(running, IngestionJob.lease_expires_at < now, _sync_ingest())
    unleased = and_(
        running,
        IngestionJob.lease_expires_at.is_(None),
        IngestionJob.worker_id.is_(None),
        IngestionJob.started_at < now - UNLEASED_SYNC_AGE,
    )
    return _fail(session, or_(expired, unleased), SYNC_LOST, now)


def sync_worker_id() -> str:
    """The `worker_id` of a sync ingest: this process, plus a random part (see worker ids)."""
    return f"{SYNC_PREFIX}{socket.gethostname()[:170]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _sync_ingest() -> ColumnElement[bool]:
    # A sync ingest's job, not a queued one (whose uploads are stored for a retry).
    return IngestionJob.worker_id.startswith(SYNC_PREFIX, autoescape=True)


def _fail(
    session: Session, lost: ColumnElement[bool], reason: str, now: datetime
) -> list[uuid.UUID]:
    # Rows another sweeper (or their own process, finishing) holds are skipped: locked
    # means someone is on it. The UPDATE checks `lost` again (SQLite locks no rows).
    ids = list(session.scalars(_skip_locked(session, select(IngestionJob.id).where(lost))))
    if not ids:
        return []
    _execute(
        session,
        update(IngestionJob)
        .where(IngestionJob.id.in_(ids), lost)
        .values(status="failed", error_message=reason, finished_at=now, lease_expires_at=None),
    )
    return ids


def ensure_owner(job: IngestionJob, worker_id: str) -> None:
    """The fence: raise LeaseLost unless the job (read FOR UPDATE) is still ours, running."""
    if job.status != "running" or job.worker_id != worker_id:
        raise LeaseLost(
            f"job {job.id} is {job.status} and held by {job.worker_id}, not by {worker_id}"
        )


def _skip_locked(session: Session, query: Select[Any]) -> Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _execute(session: Session, statement: Any) -> int:
    # Plain UPDATEs by primary key: the session's objects are refreshed where they matter.
    options = {"synchronize_session": False}
    result = cast(CursorResult[Any], session.execute(statement, execution_options=options))
    return result.rowcount
