"""Acceptance: a sync ingest killed mid-ingest (`kill -9` of the CLI, or of the server in
the middle of a POST /api/v1/ingest) leaves nothing stored, and its job is failed by the next
worker (`backtestdb worker`, or the in-process worker of `backtestdb serve`) once its lease
ran out; the server's upload leftover goes at its next start-up. Real processes on a fresh
PostgreSQL database, every wait bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from backtestdb import models
from backtestdb.jobs import leases
from backtestdb.maintenance.upkeep import STALE_UPLOAD_AGE
from tests.processes import free_port
from tests.workers.conftest import Processes, wait_for, wait_until_serving
from tests.workers.test_processes import count, history_csv, job_rows

pytestmark = pytest.mark.postgres

LEASE = "3"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 trades: long enough to be killed in the middle of its COPY."""
    return history_csv(tmp_path_factory.mktemp("killed-sync") / "big.csv", 200_000, seed=42)


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "STORAGE_DIR": str(data_dir / "files"),
        "JOB_LEASE_SECONDS": LEASE,
        "WORKER_POLL_SECONDS": "0.2",
        "INPROCESS_WORKER": "true",
        "LOG_LEVEL": "INFO",
    }


def copying(engine: Engine) -> bool:
    """Mid-ingest: a COPY into trades is under way."""
    with engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND query ILIKE 'COPY %' AND state <> 'idle'"
        )
        return bool(connection.scalar(query))


def kill_mid_copy(process: subprocess.Popen[bytes], engine: Engine, logs: Processes) -> float:
    try:
        wait_for(lambda: copying(engine) or process.poll() is not None, 60, "the COPY to start",
                 step=0.05)  # fmt: skip
    finally:
        if process.poll() is not None:
            pytest.fail(f"the ingest ended before it was killed:\n{logs.logs()}")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    killed = time.monotonic()
    # The server aborts the dead client's transaction once it sees the closed socket.
    wait_for(lambda: not copying(engine), 10, "PostgreSQL to end the dead client's COPY")
    return killed


def the_job(engine: Engine) -> models.IngestionJob:
    [job] = job_rows(engine)
    return job


def assert_nothing_stored(engine: Engine, data_dir: Path) -> None:
    tables = (models.Backtest, models.Trade, models.Parameter, models.DailySummary)
    assert [count(engine, table) for table in tables] == [0, 0, 0, 0]
    assert not list((data_dir / "files").glob("*"))  # no raw files either


def wait_until_failed(engine: Engine, killed: float, logs: Processes) -> float:
    """Seconds from the kill until the job was failed."""
    try:
        wait_for(lambda: the_job(engine).status != "running", 25, "a worker to fail the job",
                 step=0.1)  # fmt: skip
    except pytest.fail.Exception:
        print(logs.logs())
        raise
    return time.monotonic() - killed


def stale_leftover(folder: Path) -> Path:
    """A request's upload folder from a server killed long ago: to go at start-up."""
    leftover = folder / "upload-from-a-killed-server"
    leftover.mkdir(parents=True)
    (leftover / "0").write_bytes(b"x" * 1000)
    backdate(leftover)
    return leftover


def backdate(path: Path) -> None:
    when = time.time() - (STALE_UPLOAD_AGE + timedelta(hours=1)).total_seconds()
    for item in (*path.rglob("*"), path):
        os.utime(item, (when, when))


@pytest.mark.parametrize("sweeper", ["worker", "serve"])
def test_a_killed_cli_ingest_s_job_is_failed_by_the_next_worker(
    sweeper: str,
    big_csv: Path,
    fresh_postgres: str,
    pg_engine: Engine,
    processes: Processes,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = environment(fresh_postgres, data)
    ingest = processes.start(
        "ingest", ["ingest", "--csv", str(big_csv), "--initial-balance", "10000"], env
    )
    killed = kill_mid_copy(ingest, pg_engine, processes)

    assert_nothing_stored(pg_engine, data)
    stuck = the_job(pg_engine)
    assert stuck.status == "running"
    assert stuck.worker_id is not None
    assert stuck.worker_id.startswith(f"sync:{os.uname().nodename[:170]}:{ingest.pid}:")
    assert stuck.lease_expires_at is not None

    leftover = stale_leftover(data / "tmp")
    if sweeper == "worker":
        processes.start("worker", ["worker"], env)
    else:
        port = free_port()
        server = processes.start("serve", ["serve", "--host", "127.0.0.1", "--port", str(port)],
                                 env)  # fmt: skip
        wait_until_serving(server, f"http://127.0.0.1:{port}", processes)
    after = wait_until_failed(pg_engine, killed, processes)
    print(f"{sweeper}: job failed {after:.1f} s after the kill (lease {LEASE} s)")

    failed = the_job(pg_engine)
    assert (failed.status, failed.error_message) == ("failed", leases.SYNC_LOST)
    assert failed.error_message.startswith("the ingesting process stopped")
    assert (failed.attempts, failed.worker_id) == (1, stuck.worker_id)  # never run again
    assert failed.finished_at is not None
    assert failed.lease_expires_at is None
    assert_nothing_stored(pg_engine, data)
    assert not leftover.exists()  # removed at the worker's (or server's) start-up


def test_a_server_killed_mid_sync_upload_ingest_fails_the_job_at_restart(
    big_csv: Path,
    fresh_postgres: str,
    pg_engine: Engine,
    processes: Processes,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = environment(fresh_postgres, data)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    server = processes.start("serve-1", args, env)
    wait_until_serving(server, base, processes)

    ended: list[BaseException | httpx.Response] = []

    def upload() -> None:
        try:
            with big_csv.open("rb") as stream:
                ended.append(httpx.post(
                    f"{base}/api/v1/ingest", files={"csv_file": ("big.csv", stream)},
                    data={"initial_balance": "10000"}, timeout=60))  # fmt: skip
        except httpx.TransportError as error:
            ended.append(error)

    poster = threading.Thread(target=upload, daemon=True)
    poster.start()
    killed = kill_mid_copy(server, pg_engine, processes)
    poster.join(timeout=30)
    assert not poster.is_alive()
    [answer] = ended
    assert isinstance(answer, httpx.TransportError)  # the connection died with the server

    assert_nothing_stored(pg_engine, data)
    assert the_job(pg_engine).status == "running"
    [leftover] = (data / "tmp").iterdir()  # the killed request's upload folder
    assert [f.stat().st_size for f in leftover.iterdir()] == [big_csv.stat().st_size]
    backdate(leftover)  # as if the server stayed down for a day
    fresh = data / "tmp" / "upload-of-a-live-request"
    fresh.mkdir()
    (fresh / "0").write_bytes(b"x")

    server = processes.start("serve-2", args, env)
    wait_until_serving(server, base, processes)
    assert not leftover.exists()  # gone at start-up
    assert fresh.exists()  # young: it may be a live request's
    after = wait_until_failed(pg_engine, killed, processes)
    print(f"server: job failed {after:.1f} s after the kill (lease {LEASE} s)")

    failed = the_job(pg_engine)
    assert (failed.status, failed.error_message) == ("failed", leases.SYNC_LOST)
    assert failed.attempts == 1
    assert_nothing_stored(pg_engine, data)
    answer = httpx.get(f"{base}/api/v1/jobs/{failed.id}", timeout=10)
    assert (answer.status_code, answer.json()["status"]) == (200, "failed")
    assert answer.json()["error_message"] == leases.SYNC_LOST
