"""The edge owns the transaction: a request's writes commit together or not at all."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backtestdb import models
from backtestdb.api.deps import SessionDep
from backtestdb.config import Settings
from backtestdb.errors import Conflict
from backtestdb.server import create_app
from tests.conftest import row_counts


def test_a_request_commits_on_success_and_rolls_back_on_error(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings)

    @app.post("/test/write")
    def write(session: SessionDep) -> dict[str, str]:
        session.add(models.IngestionJob(job_type="ingest", status="pending"))
        return {"written": "yes"}

    @app.post("/test/write-then-fail")
    def write_then_fail(session: SessionDep) -> None:
        session.add(models.IngestionJob(job_type="ingest", status="pending"))
        session.flush()  # the row reached the database inside the request's transaction
        raise Conflict("changed my mind")

    with TestClient(app) as client:
        failed = client.post("/test/write-then-fail")
        assert (failed.status_code, failed.json()) == (409, {"detail": "changed my mind"})
        assert row_counts(engine)["ingestion_jobs"] == 0
        assert client.post("/test/write").json() == {"written": "yes"}
        assert row_counts(engine)["ingestion_jobs"] == 1
