"""Regression: psycopg errors raised unwrapped (the COPY path uses the driver directly)
answered 500; a lost connection or a cancelled statement is a 503, a refused value a 422."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from backtestdb import jobs
from tests.conftest import BASIC


@pytest.mark.parametrize(
    ("error", "status"),
    [(psycopg.OperationalError("server closed the connection unexpectedly"), 503),
     (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), 503),
     (psycopg.errors.CharacterNotInRepertoire("invalid byte sequence 0x00"), 422)],
)  # fmt: skip
def test_raw_driver_errors_answer_503_or_422_not_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int
) -> None:
    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(jobs, "run_ingest", fail)
    with (BASIC / "report.json").open("rb") as report:
        response = client.post("/api/v1/ingest", files={"json_file": report})
    assert response.status_code == status, response.text
    assert str(error) not in response.text  # the driver's words stay in the log
