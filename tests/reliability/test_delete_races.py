"""A DELETE racing an identical re-upload (issue 13, defect 8), made deterministic: the
look-up of the identical backtest (`find_by_hash`) is wrapped so that the delete commits
exactly inside the window, on both backends. The upload then either succeeds (ingested
anew, as if it came after the delete) or fails with a clear reason and its job id."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import backtests, models
from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.ingest import pipeline
from backtestdb.jobs import lifecycle
from backtestdb.storage import open_storage
from tests.api.conftest import seed_upload
from tests.conftest import row_counts

Finder = Callable[[Session, str], models.Backtest | None]
REAL_FIND = pipeline.find_by_hash
STORED = {"backtests": 1, "trades": 200, "parameters": 6, "daily_summary": 96}


def deleting_first(
    factory: sessionmaker[Session], settings: Settings, backtest_id: uuid.UUID, find: Finder
) -> Finder:
    """`find`, but the first call commits a DELETE of `backtest_id` just before answering."""
    calls: list[str] = []

    def find_after_a_delete(session: Session, digest: str) -> models.Backtest | None:
        found = find(session, digest)
        if not calls:
            calls.append(digest)
            with transaction(factory) as other:
                backtests.delete_backtest(other, backtest_id, open_storage(settings))
        return found

    return find_after_a_delete


def test_a_delete_between_finding_the_twin_and_linking_it_ingests_anew(
    client: TestClient,
    factory: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twin = uuid.UUID(seed_upload(client).json()["backtest_id"])
    # The re-upload finds its twin ("Already ingested"), then the twin is deleted before
    # the job's link to it commits: the foreign key refuses that link.
    monkeypatch.setattr(
        pipeline, "find_by_hash", deleting_first(factory, settings, twin, REAL_FIND)
    )
    answer = seed_upload(client)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["message"]) == ("completed", "Successfully ingested 200 trades")
    assert body["backtest_id"] != str(twin)
    counts = row_counts(engine)
    assert {k: counts[k] for k in STORED} == STORED
    job = client.get(f"/api/v1/jobs/{body['job_id']}").json()
    assert (job["status"], job["backtest_id"]) == ("completed", body["backtest_id"])
    assert client.get(f"/api/v1/backtests/{twin}").status_code == 404


def test_a_delete_after_the_twin_refused_the_insert_ingests_anew(
    client: TestClient,
    factory: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twin = uuid.UUID(seed_upload(client).json()["backtest_id"])
    # The re-upload looked before its twin committed (finds nothing), so the unique
    # content_hash refuses its insert; then the twin is deleted before it is looked up again.
    seen: list[str] = []

    def not_yet_committed(session: Session, digest: str) -> models.Backtest | None:
        seen.append(digest)
        return None if len(seen) == 1 else REAL_FIND(session, digest)

    monkeypatch.setattr(pipeline, "find_by_hash", not_yet_committed)
    monkeypatch.setattr(
        lifecycle, "find_by_hash", deleting_first(factory, settings, twin, REAL_FIND)
    )
    answer = seed_upload(client)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["message"]) == ("completed", "Successfully ingested 200 trades")
    assert body["backtest_id"] != str(twin)
    counts = row_counts(engine)
    assert {k: counts[k] for k in STORED} == STORED


def test_a_twin_that_keeps_vanishing_fails_with_the_reason_and_the_job(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every look-up finds an identical backtest that is gone by the time the job links it.
    ghost = models.Backtest(id=uuid.uuid4(), total_trades=200)
    monkeypatch.setattr(pipeline, "find_by_hash", lambda _session, _digest: ghost)
    answer = seed_upload(client)
    reason = (
        "The identical backtest was deleted while this upload ran; nothing was stored: upload again"
    )
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body == {"detail": reason, "job_id": body["job_id"]}
    job = client.get(f"/api/v1/jobs/{body['job_id']}").json()
    assert (job["status"], job["error_message"], job["backtest_id"]) == ("failed", reason, None)
    counts = row_counts(engine)
    assert (counts["backtests"], counts["trades"], counts["ingestion_jobs"]) == (0, 0, 1)
