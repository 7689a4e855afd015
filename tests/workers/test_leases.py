"""Claim, lease and fence logic, and one worker step, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import jobs, models
from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.ingest import IngestRequest
from backtestdb.ingest import pipeline as ingest
from backtestdb.jobs import leases
from backtestdb.jobs import queue as jobqueue
from backtestdb.jobs.leases import LeaseLost
from backtestdb.jobs.worker import Worker
from backtestdb.models import IngestionJob, utcnow
from backtestdb.storage import SourceFile, open_storage
from tests.conftest import BASIC, row_counts


def add_job(factory: sessionmaker[Session], **values: object) -> uuid.UUID:
    with transaction(factory) as session:
        job = IngestionJob(**{"job_type": "ingest", "status": "pending", **values})
        session.add(job)
    return job.id


def claim(
    factory: sessionmaker[Session], worker: str, lease: float = 30, now: datetime | None = None
) -> IngestionJob | None:
    with transaction(factory) as session:
        return leases.claim(session, worker, lease, now)


def load(factory: sessionmaker[Session], job_id: uuid.UUID) -> IngestionJob:
    with factory() as session:
        return session.get_one(IngestionJob, job_id)


def report_request(**options: object) -> IngestRequest:
    report = SourceFile("report", "report.json", BASIC / "report.json")
    return IngestRequest(report=report, **options)  # type: ignore[arg-type]


def test_a_claim_takes_the_oldest_pending_job_once(factory: sessionmaker[Session]) -> None:
    first = add_job(factory, created_at=utcnow() - timedelta(minutes=1))
    second = add_job(factory)

    job = claim(factory, "w1")
    assert job is not None
    assert job.id == first
    assert (job.status, job.worker_id, job.attempts) == ("running", "w1", 1)
    assert job.lease_expires_at is not None
    assert job.lease_expires_at > utcnow() + timedelta(seconds=25)

    other = claim(factory, "w2")
    assert other is not None
    assert other.id == second
    assert claim(factory, "w3") is None


def test_a_live_lease_is_left_alone_and_an_expired_one_is_retried_once(
    factory: sessionmaker[Session],
) -> None:
    job_id = add_job(factory)
    assert claim(factory, "w1", lease=30) is not None
    later = utcnow() + timedelta(seconds=20)
    assert claim(factory, "w2", now=later) is None  # w1's lease still runs

    expired = utcnow() + timedelta(seconds=31)
    again = claim(factory, "w2", now=expired)
    assert again is not None
    assert (again.id, again.worker_id, again.attempts) == (job_id, "w2", 2)
    # The old worker has lost it: it cannot renew, and the fence refuses its writes.
    with transaction(factory) as session:
        assert not leases.renew(session, job_id, "w1", 30)
        assert leases.renew(session, job_id, "w2", 30)
        with pytest.raises(LeaseLost):
            leases.ensure_owner(session.get_one(IngestionJob, job_id), "w1")


def test_a_job_whose_worker_is_lost_twice_fails(factory: sessionmaker[Session]) -> None:
    job_id = add_job(factory)
    claim(factory, "w1", lease=1)
    claim(factory, "w2", lease=1, now=utcnow() + timedelta(seconds=2))
    much_later = utcnow() + timedelta(seconds=10)
    assert claim(factory, "w3", now=much_later) is None  # attempts are used up
    with transaction(factory) as session:
        assert leases.fail_lost(session, much_later) == [job_id]
    failed = load(factory, job_id)
    assert (failed.status, failed.error_message) == ("failed", leases.LOST_TWICE)
    assert failed.attempts == 2
    assert failed.finished_at is not None


def test_sync_jobs_are_never_claimed(factory: sessionmaker[Session], settings: Settings) -> None:
    job, _ = jobs.run_ingest(factory, report_request(), settings)
    assert (job.status, job.attempts, job.lease_expires_at) == ("completed", 1, None)
    add_job(factory, status="running", started_at=utcnow())  # a sync job still ingesting
    assert claim(factory, "w1", now=utcnow() + timedelta(days=1)) is None


def test_a_worker_runs_a_queued_job_and_removes_its_uploads(
    factory: sessionmaker[Session], settings: Settings, engine: Engine
) -> None:
    storage = open_storage(settings)
    job = jobqueue.enqueue(factory, storage, report_request(name="queued", initial_balance=None))
    assert job.status == "pending"
    [entry] = load(factory, job.id).source_files
    assert entry == {
        "role": "report",
        "name": "report.json",
        "key": f"uploads/{job.id}/report.json",
    }
    assert (settings.effective_storage_dir / entry["key"]).is_file()

    worker = Worker(settings, lambda: factory)
    assert worker.run_once(worker.ids[0])
    assert not worker.run_once(worker.ids[0])  # nothing left

    done = load(factory, job.id)
    assert (done.status, done.attempts, done.worker_id) == ("completed", 1, worker.ids[0])
    assert done.trades_ingested == 200
    assert done.lease_expires_at is None
    assert not (settings.effective_storage_dir / "uploads" / str(job.id)).exists()
    with factory() as session:
        backtest = session.get_one(models.Backtest, done.backtest_id)
        assert backtest.name == "queued"
        assert backtest.metrics is not None  # the full metric set, as the sync path fills


def test_a_queued_bad_file_fails_its_job_with_the_row_errors(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    bad = tmp_path / "history.csv"
    bad.write_text("Symbol,Opening Direction,Net\nEURUSD,Buy,abc\n")
    request = IngestRequest(csv=SourceFile("history", "history.csv", bad))
    job = jobqueue.enqueue(factory, open_storage(settings), request)
    worker = Worker(settings, lambda: factory)
    assert worker.run_once(worker.ids[0])
    failed = load(factory, job.id)
    assert failed.status == "failed"
    assert failed.error_message
    assert not (settings.effective_storage_dir / "uploads" / str(job.id)).exists()


def test_missing_uploads_fail_the_job(factory: sessionmaker[Session], settings: Settings) -> None:
    storage = open_storage(settings)
    job = jobqueue.enqueue(factory, storage, report_request())
    storage.remove_uploads(job.id)
    worker = Worker(settings, lambda: factory)
    assert worker.run_once(worker.ids[0])
    failed = load(factory, job.id)
    assert failed.status == "failed"
    assert (failed.error_message or "").startswith("cannot read the uploaded files")


def test_a_worker_that_lost_its_lease_commits_nothing(
    factory: sessionmaker[Session], settings: Settings, engine: Engine
) -> None:
    job_id = add_job(factory)
    claim(factory, "w1", lease=1)
    claim(factory, "w2", lease=30, now=utcnow() + timedelta(seconds=2))
    with pytest.raises(LeaseLost):
        jobs.run_ingest(factory, report_request(), settings, job_id=job_id, worker_id="w1")
    assert row_counts(engine)["backtests"] == 0
    job = load(factory, job_id)
    assert (job.status, job.worker_id) == ("running", "w2")  # left to its owner
    assert not jobs.record_failure(factory, job_id, "late", None, "w1")


def test_identical_files_stored_concurrently_answer_the_first(
    factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, created = jobs.run_ingest(factory, report_request(), settings)
    assert created.created
    # A second ingest that looked for its twin before the first committed: the unique
    # content_hash refuses its insert, and the runner answers the first backtest.
    monkeypatch.setattr(ingest, "find_by_hash", lambda _session, _digest: None)
    second, outcome = jobs.run_ingest(factory, report_request(), settings)
    assert not outcome.created
    assert outcome.backtest.id == created.backtest.id
    assert (second.status, second.backtest_id) == ("completed", created.backtest.id)
    assert second.error_message == outcome.message
    assert outcome.message.startswith("Already ingested")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(models.Backtest)) == 1
