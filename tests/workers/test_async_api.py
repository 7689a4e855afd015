"""POST /api/v1/ingest?mode=async through the app, with its in-process worker; the sync
contract is unchanged."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backtestdb.config import Settings
from tests.api.conftest import ingest, seed_upload, wait_for_job
from tests.conftest import BASIC, row_counts


def test_sync_is_the_default_and_answers_the_exact_contract(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(inprocess_worker=False)
    response = seed_upload(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"job_id", "backtest_id", "status", "message"}
    assert (body["status"], body["message"]) == ("completed", "Successfully ingested 200 trades")
    assert uuid.UUID(body["job_id"]) != uuid.UUID(body["backtest_id"])

    again = client.post(
        "/api/v1/ingest?mode=sync",
        files={"json_file": ("report.json", (BASIC / "report.json").read_bytes())},
        data={"initial_balance": "10000"},
    )
    assert again.status_code == 200
    assert set(again.json()) == {"job_id", "backtest_id", "status", "message"}
    assert again.json()["backtest_id"] == body["backtest_id"]
    assert again.json()["message"].startswith("Already ingested")


def test_async_answers_202_at_once_and_the_worker_completes_the_job(
    make_client: Callable[..., TestClient], settings: Settings
) -> None:
    client = make_client(worker_poll_seconds=0.05)
    response = client.post(
        "/api/v1/ingest?mode=async",
        files={"json_file": ("report.json", (BASIC / "report.json").read_bytes())},
        data={"name": "queued", "description": "later", "initial_balance": "10000.00"},
    )
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"job_id", "status"}
    assert body["status"] == "pending"

    job = wait_for_job(client, body["job_id"])
    assert (job["status"], job["trades_ingested"], job["attempts"]) == ("completed", 200, 1)
    assert job["worker_id"]
    backtest = client.get(f"/api/v1/backtests/{job['backtest_id']}").json()
    assert (backtest["name"], backtest["description"]) == ("queued", "later")
    assert backtest["initial_balance"] == 10000
    assert not list((settings.effective_storage_dir / "uploads").glob("*"))

    # The same files queued again: the job completes on the existing backtest.
    twin = client.post(
        "/api/v1/ingest?mode=async",
        files={"json_file": ("copy.json", (BASIC / "report.json").read_bytes())},
        data={"initial_balance": "10000"},
    )
    twin_job = wait_for_job(client, twin.json()["job_id"])
    assert twin_job["status"] == "completed"
    assert twin_job["backtest_id"] == job["backtest_id"]
    assert twin_job["error_message"].startswith("Already ingested")


def test_async_refuses_a_bad_request_at_once_and_queues_nothing(
    make_client: Callable[..., TestClient], engine: Engine
) -> None:
    client = make_client(inprocess_worker=False)
    nothing = client.post("/api/v1/ingest?mode=async", files={}, data={"name": "x"})
    assert nothing.status_code == 415  # no multipart body at all
    no_file = ingest(client, {"name": "x"}, parameters_file=BASIC / "report.json")
    assert no_file.status_code == 422
    bad_option = client.post(
        "/api/v1/ingest?mode=async",
        files={"json_file": ("report.json", b"{}")},
        data={"on_error": "sometimes"},
    )
    assert bad_option.status_code == 422
    bad_mode = client.post(
        "/api/v1/ingest?mode=later",
        files={"json_file": ("report.json", b"{}")},
    )
    assert bad_mode.status_code == 422
    assert row_counts(engine)["ingestion_jobs"] == 0


def test_an_invalid_queued_file_fails_its_job_with_the_row_errors(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(worker_poll_seconds=0.05)
    bad = b"Symbol,Opening Direction,Closing Time,Net,Balance\nEURUSD,Up,nope,abc,1\n"
    response = client.post(
        "/api/v1/ingest?mode=async",
        files={"csv_file": ("history.csv", bad)},
        data={"initial_balance": "1000"},
    )
    assert response.status_code == 202
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "failed"
    assert job["error_count"] >= 1
    assert job["errors"]
