"""Jobs, health, readiness, docs, metrics, request ids, API keys and CORS."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backtestdb.config import Settings
from backtestdb.db import head_revision
from backtestdb.server import create_app
from tests.api.conftest import ingest, seed_upload
from tests.api.test_ingest_api import bad_price_csv
from tests.conftest import scratch_database

MakeClient = Callable[..., TestClient]


def test_jobs_list_and_filter_by_status(client: TestClient, tmp_path: Path) -> None:
    done = seed_upload(client).json()["job_id"]
    failed = ingest(client, csv_file=bad_price_csv(tmp_path)).json()["job_id"]
    listed = client.get("/api/v1/jobs").json()["items"]
    assert [j["id"] for j in listed] == [failed, done]
    assert [j["id"] for j in client.get("/api/v1/jobs?status=failed").json()["items"]] == [failed]
    assert [j["id"] for j in client.get("/api/v1/jobs?status=completed").json()["items"]] == [done]
    assert len(client.get("/api/v1/jobs?limit=1").json()["items"]) == 1
    assert client.get("/api/v1/jobs?status=lost").status_code == 422
    job = client.get(f"/api/v1/jobs/{done}").json()
    assert (job["status"], job["trades_ingested"], job["error_count"]) == ("completed", 200, 0)
    assert [f["role"] for f in job["source_files"]] == ["report"]


def test_health_root_and_docs(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/health/ready").json()
    assert ready == {"status": "ready", "revision": head_revision()}
    root = client.get("/").json()
    assert root["name"] == "backtestdb"
    assert root["links"]["docs"] == "/docs"
    assert root["links"]["api"] == "/api/v1"
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/ingest/backtests/{backtest_id}" not in paths
    assert "min_net_profit" in {p["name"] for p in paths["/api/v1/backtests"]["get"]["parameters"]}


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    seed_upload(client)
    client.get(f"/api/v1/backtests/{uuid.uuid4()}")
    text = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/api/v1/ingest",status="200"} 1.0' in text
    assert (
        'http_requests_total{method="GET",route="/api/v1/backtests/{backtest_id}",status="404"} 1.0'
        in text
    )
    assert 'backtestdb_ingests_total{outcome="created"} 1.0' in text
    assert "backtestdb_trades_ingested_total 200.0" in text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    made = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(made.headers["X-Request-ID"]) == 32


def test_api_keys_guard_writes_and_optionally_reads(make_client: MakeClient) -> None:
    client = make_client(api_keys="k1, k2")
    denied = seed_upload(client)
    assert denied.status_code == 401
    assert denied.json()["detail"].startswith("Missing or invalid API key")
    assert client.delete(f"/api/v1/backtests/{uuid.uuid4()}").status_code == 401
    client.headers["X-API-Key"] = "wrong"
    assert seed_upload(client).status_code == 401
    client.headers["X-API-Key"] = "k2"
    backtest_id = seed_upload(client).json()["backtest_id"]
    del client.headers["X-API-Key"]
    assert client.get(f"/api/v1/backtests/{backtest_id}").status_code == 200
    bearer = {"Authorization": "Bearer k1"}
    assert client.delete(f"/api/v1/backtests/{backtest_id}", headers=bearer).status_code == 204

    reads = make_client(api_keys="k1", api_key_reads=True)
    assert reads.get("/api/v1/backtests").status_code == 401
    assert reads.get("/metrics").status_code == 401
    assert reads.get("/api/v1/backtests", headers={"X-API-Key": "k1"}).status_code == 200
    for open_path in ("/health", "/health/ready", "/", "/docs", "/redoc", "/openapi.json"):
        assert reads.get(open_path).status_code == 200


def test_cors_answers_configured_origins(make_client: MakeClient) -> None:
    client = make_client(cors_origins="https://dash.example")
    preflight = client.options(
        "/api/v1/ingest",
        headers={"Origin": "https://dash.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example"
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def not_ready(settings: Settings, url: str) -> TestClient:
    # Validated (not model_copy), so the URL is normalised as it is from the environment.
    changed = Settings(**{**settings.model_dump(), "database_url": url})
    return TestClient(create_app(changed))


def check_not_ready(client: TestClient) -> None:
    with client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert "backtestdb db upgrade" in ready.json()["detail"]
        listed = client.get("/api/v1/backtests")
        assert listed.status_code == 503
        assert seed_upload(client).status_code == 503


def test_unmigrated_sqlite_without_auto_migrate_is_not_ready(
    settings: Settings, tmp_path: Path
) -> None:
    fresh = settings.model_copy(update={"auto_migrate": False})
    check_not_ready(not_ready(fresh, f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with scratch_database("backtestdb_empty") as url:
        yield url


@pytest.mark.postgres
def test_unmigrated_postgresql_is_not_ready(settings: Settings, empty_postgres: str) -> None:
    # The plain postgresql:// form, as the seed's config holds it; never migrated implicitly.
    check_not_ready(not_ready(settings, empty_postgres))


def test_unreachable_database_is_not_ready(settings: Settings) -> None:
    unreachable = "postgresql://postgres@127.0.0.1:1/none"
    with not_ready(settings, unreachable) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["detail"].startswith("Cannot reach the database")
        assert client.get("/api/v1/jobs").status_code == 503
