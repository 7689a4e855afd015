"""Sync ingests hold a lease too: renewed while they run, fenced, and failed by any worker's
sweep once their process stopped (never retried), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import jobs
from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.errors import IngestInterrupted
from backtestdb.jobs import leases, lifecycle
from backtestdb.jobs.worker import Worker
from backtestdb.models import IngestionJob, utcnow
from tests.conftest import row_counts
from tests.workers.conftest import wait_for
from tests.workers.test_leases import add_job, claim, load, report_request

SYNC_ID = "sync:gone-host:4242:0badf00d"


def sweep(factory: sessionmaker[Session], now: datetime | None = None) -> list[uuid.UUID]:
    with transaction(factory) as session:
        return leases.fail_stopped(session, now)


def test_a_sync_ingest_holds_a_lease_renewed_until_it_completes(
    factory: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = settings.model_copy(update={"job_lease_seconds": 0.6})
    seen: list[IngestionJob] = []
    real_ingest = lifecycle.ingest

    def watched(session: Session, request: Any, *args: Any, **kwargs: Any) -> Any:
        with factory() as reader:
            [job] = jobs.list_jobs(reader)
        seen.append(job)

        def renewed() -> bool:
            first, now = job.lease_expires_at, load(factory, job.id).lease_expires_at
            return first is not None and now is not None and now > first

        wait_for(renewed, 10, "the heartbeat to renew the sync job's lease")
        return real_ingest(session, request, *args, **kwargs)

    monkeypatch.setattr(lifecycle, "ingest", watched)
    done, outcome = jobs.run_ingest(factory, report_request(), short)

    [running] = seen
    assert running.status == "running"
    assert running.attempts == 1
    assert running.lease_expires_at is not None
    assert running.worker_id is not None
    assert running.worker_id.startswith(f"sync:{socket.gethostname()[:170]}:{os.getpid()}:")
    final = load(factory, done.id)
    assert (final.status, final.lease_expires_at, final.worker_id) == (
        "completed", None, running.worker_id)  # fmt: skip
    assert final.trades_ingested == outcome.trades == 200


def test_a_stopped_sync_ingest_is_failed_by_an_idle_worker_and_never_claimed(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    expired = utcnow() - timedelta(seconds=1)
    sync_job = add_job(factory, status="running", worker_id=SYNC_ID, attempts=1,
                       started_at=expired, lease_expires_at=expired)  # fmt: skip
    live = add_job(factory, status="running", worker_id=SYNC_ID.replace("gone", "live"),
                   attempts=1, started_at=expired,
                   lease_expires_at=utcnow() + timedelta(minutes=5))  # fmt: skip
    queued = add_job(factory, status="running", worker_id="host:1:0:cafe", attempts=1,
                     started_at=expired, lease_expires_at=expired)  # fmt: skip

    # No worker takes a sync job to run again (it has no stored uploads to run from) ...
    with transaction(factory) as session:
        assert leases.fail_lost(session) == []
    taken = claim(factory, "w2")
    assert taken is not None
    assert taken.id == queued  # ... while a worker's lost job is retried, as before.
    assert taken.attempts == 2

    # The sweep of an idle worker's loop fails the stopped one, not the live one.
    worker = Worker(settings, lambda: factory)
    assert not worker.run_once(worker.ids[0])
    failed = load(factory, sync_job)
    assert (failed.status, failed.error_message) == ("failed", leases.SYNC_LOST)
    assert failed.error_message.startswith("the ingesting process stopped")
    assert failed.finished_at is not None
    assert failed.lease_expires_at is None
    assert failed.attempts == 1
    assert load(factory, live).status == "running"
    assert sweep(factory) == []


def test_a_sync_ingest_whose_job_was_failed_meanwhile_stores_nothing(
    factory: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_ingest = lifecycle.ingest
    swept: list[uuid.UUID] = []

    def after_a_lost_lease(session: Session, request: Any, *args: Any, **kwargs: Any) -> Any:
        # As if the heartbeat had not reached the database for a whole lease: a worker's
        # sweep fails the job while the ingest is still running.
        later = utcnow() + timedelta(seconds=settings.job_lease_seconds + 1)
        swept.extend(sweep(factory, later))
        return real_ingest(session, request, *args, **kwargs)

    monkeypatch.setattr(lifecycle, "ingest", after_a_lost_lease)
    with pytest.raises(IngestInterrupted) as raised:
        jobs.run_ingest(factory, report_request(), settings)

    assert raised.value.status_code == 503
    assert swept == [raised.value.job_id]
    counts = row_counts(engine)
    assert (counts["backtests"], counts["trades"], counts["parameters"]) == (0, 0, 0)
    job = load(factory, swept[0])
    assert (job.status, job.error_message) == ("failed", leases.SYNC_LOST)
    assert not list(settings.effective_storage_dir.glob("*/*"))  # no raw files left


def test_a_running_job_without_a_lease_is_failed_after_a_day(
    factory: sessionmaker[Session],
) -> None:
    # Sync jobs from before sync ingests held a lease: running, no worker, no lease.
    now = utcnow()
    old = add_job(factory, status="running", attempts=1, started_at=now - timedelta(days=2))
    recent = add_job(factory, status="running", attempts=1, started_at=now - timedelta(hours=1))
    assert sweep(factory) == [old]
    assert load(factory, old).error_message == leases.SYNC_LOST
    assert load(factory, recent).status == "running"


def test_the_server_s_in_process_worker_fails_a_stopped_sync_job_while_idle(
    factory: sessionmaker[Session], make_client: Callable[..., TestClient]
) -> None:
    expired = utcnow() - timedelta(seconds=1)
    job_id = add_job(factory, status="running", worker_id=SYNC_ID, attempts=1,
                     started_at=expired, lease_expires_at=expired)  # fmt: skip
    make_client(worker_poll_seconds=0.1)  # its lifespan starts the worker thread
    wait_for(lambda: load(factory, job_id).status != "running", 15, "the sweep")
    assert load(factory, job_id).error_message == leases.SYNC_LOST
