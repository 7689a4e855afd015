"""Fault injection on a real PostgreSQL: a killed connection, a statement timeout, an
unwritable storage folder, an unreachable database. Each time: nothing partial is stored,
the job ends `failed` with a reason a person can act on, and the next ingest works.
"""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from bench.generate import write_history
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.db import make_engine, session_factory
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.storage import SourceFile
from tests.conftest import BASIC, row_counts
from tests.processes import free_port
from tests.reliability.server import serve

TRADES = 200_000
SECRET = "s3cr3t-Pa55word"


@pytest.fixture
def database_url(postgres_url: str) -> str:
    """These tests are about PostgreSQL's failures: no SQLite variant."""
    return postgres_url


def history_file(folder: Path, trades: int) -> Path:
    path = folder / f"history_{trades}.csv"
    with path.open("w", newline="") as out:
        write_history(out, trades)
    return path


@pytest.fixture(scope="module")
def big_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return history_file(tmp_path_factory.mktemp("faults"), TRADES)


def history_request(path: Path) -> IngestRequest:
    return IngestRequest(
        csv=SourceFile("history", path.name, path), initial_balance=Decimal(10000), force=True
    )


def only_job(factory: sessionmaker[Session]) -> models.IngestionJob:
    with factory() as session:
        jobs = list(session.scalars(select(models.IngestionJob)))
    assert len(jobs) == 1
    return jobs[0]


def assert_nothing_stored(engine: Engine) -> None:
    counts = row_counts(engine)
    assert counts["backtests"] == counts["trades"] == counts["parameters"] == 0, counts


def ingest_in_thread(
    factory: sessionmaker[Session], request: IngestRequest, settings: Settings
) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def work() -> None:
        try:
            run_ingest(factory, request, settings)
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            raised.append(error)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, raised


def copy_backend(database: str, timeout: float = 60) -> int:
    """The pid of the backend running our COPY, once it runs."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()"
            ).fetchone()
            if row is not None:
                return int(row[0])
            time.sleep(0.005)
    raise AssertionError("no COPY seen in pg_stat_activity")


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_killed_connection_mid_copy_leaves_nothing_partial(
    settings: Settings, engine: Engine, factory: sessionmaker[Session], big_history: Path
) -> None:
    thread, raised = ingest_in_thread(factory, history_request(big_history), settings)
    pid = copy_backend(libpq(str(engine.url.render_as_string(hide_password=False))))
    with psycopg.connect(libpq(engine.url.render_as_string(hide_password=False))) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert len(raised) == 1, "the ingest should have failed"
    assert_nothing_stored(engine)
    job = only_job(factory)
    assert job.status == "failed"
    assert job.finished_at is not None
    assert "database" in (job.error_message or "").lower(), job.error_message
    assert list(settings.effective_storage_dir.glob("*/*")) == []
    # The pool recovers: the next ingest (on the same engine) works.
    _, outcome = run_ingest(factory, IngestRequest(
        report=SourceFile("report", "report.json", BASIC / "report.json")), settings)  # fmt: skip
    assert outcome.trades == 200


def test_statement_timeout_fails_the_job_cleanly(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    # 20k trades take well over 50 ms to COPY; PostgreSQL reports the cancel only once the
    # client has sent the whole file, so a smaller file keeps this test short.
    history = history_file(tmp_path, 20_000)
    url = f"{engine.url.render_as_string(hide_password=False)}?options=-c%20statement_timeout%3D50"
    timed = make_engine(url)
    try:
        factory = session_factory(timed)
        with pytest.raises(Exception) as caught:  # noqa: PT011 - which one is the point below
            run_ingest(factory, history_request(history), settings)
        assert "statement timeout" in str(caught.value)
        assert_nothing_stored(engine)
        job = only_job(factory)
        assert job.status == "failed"
        assert "timeout" in (job.error_message or "").lower(), job.error_message
    finally:
        timed.dispose()


def test_unwritable_storage_fails_the_job_with_a_clear_reason(
    settings: Settings, engine: Engine, factory: sessionmaker[Session], tmp_path: Path,
    make_client: object,
) -> None:  # fmt: skip
    # Tests run as root, which ignores permission bits: a folder under a regular file can
    # never be created, whoever asks.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    client = make_client(storage_dir=blocker / "files")  # type: ignore[operator]
    assert isinstance(client, TestClient)
    with (BASIC / "report.json").open("rb") as report:
        response = client.post("/api/v1/ingest", files={"json_file": report})
    assert response.status_code == 503, response.text
    assert "storage" in response.json()["detail"].lower()
    assert_nothing_stored(engine)
    job = only_job(factory)
    assert job.status == "failed"
    assert "storage" in (job.error_message or "").lower(), job.error_message


@pytest.fixture
def closed_port() -> int:
    return free_port()  # bound then released: nothing listens there


def test_ready_tells_the_truth_when_the_database_is_down(tmp_path: Path, closed_port: int) -> None:
    url = f"postgresql://trading_user:{SECRET}@127.0.0.1:{closed_port}/trading_db"
    with serve(tmp_path, DATABASE_URL=url) as server:
        assert httpx.get(f"{server.base}/health").status_code == 200
        ready = httpx.get(f"{server.base}/health/ready", timeout=30)
        assert ready.status_code == 503
        assert "Cannot reach the database" in ready.json()["detail"]
        listing = httpx.get(f"{server.base}/api/v1/backtests", timeout=30)
        assert listing.status_code == 503
        for response in (ready, listing):
            assert SECRET not in response.text
    assert SECRET not in server.log_text()


def test_wrong_credentials_never_leak_the_password(tmp_path: Path, postgres_url: str) -> None:
    # The local server trusts every password, so an unknown role stands in for a wrong one.
    role = f"nobody_{uuid.uuid4().hex[:6]}"
    base = postgres_url.split("@", 1)[1]
    url = f"postgresql://{role}:{SECRET}@{base}"
    with serve(tmp_path, DATABASE_URL=url) as server:
        ready = httpx.get(f"{server.base}/health/ready", timeout=30)
        assert ready.status_code == 503
        assert SECRET not in ready.text
        assert httpx.get(f"{server.base}/api/v1/backtests", timeout=30).status_code == 503
    log = server.log_text()
    assert SECRET not in log
    assert "503" in log
