"""API fixtures: a TestClient on the app made from the test settings (both backends)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backtestdb.backtests.service import MAX_PARAMETER_FILTERS, MAX_RANGE_FILTERS, PARAMETER_PREFIX
from backtestdb.config import Settings
from backtestdb.server import create_app
from tests.conftest import BASIC

Upload = Callable[..., Any]


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """A client on an app with `settings` changed by keyword (e.g. max_file_size_mb=1).
    Entering the client runs the lifespan, which disposes the app's engine at the end."""
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        client = TestClient(create_app(settings.model_copy(update=changes)))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def files_for(**paths: Path | tuple[str, bytes]) -> dict[str, tuple[str, bytes]]:
    """Form file fields from paths (or (name, bytes) pairs)."""
    return {
        field: value if isinstance(value, tuple) else (value.name, value.read_bytes())
        for field, value in paths.items()
    }


def ingest(client: TestClient, data: dict[str, str] | None = None, **paths: Any) -> Any:
    return client.post("/api/v1/ingest", files=files_for(**paths), data=data or {})


def seed_upload(client: TestClient, **data: str) -> Any:
    """The seed's curl: json_file + name + description + initial_balance=10000."""
    form = {"name": "MACross EURUSD", "description": "seed", "initial_balance": "10000", **data}
    return ingest(client, form, json_file=BASIC / "report.json")


def wait_for_job(client: TestClient, job_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll a queued job until it ends (completed or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("completed", "failed"):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        time.sleep(0.05)


def over_filter_caps(query: dict[str, Any] | None) -> bool:
    """Whether a list request holds more `min_`/`max_` or `param.*` filters than it takes:
    the caps (a 422) cannot be said in OpenAPI, which documents every metric's filters."""
    keys = list(query or {})
    ranges = sum(key.startswith(("min_", "max_")) for key in keys)
    parameters = sum(key.startswith(PARAMETER_PREFIX) for key in keys)
    return ranges > MAX_RANGE_FILTERS or parameters > MAX_PARAMETER_FILTERS
