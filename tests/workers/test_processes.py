"""Acceptance: real `backtestdb serve` and `backtestdb worker` processes on a fresh
PostgreSQL database. Every process is ended in teardown; every wait is bounded."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.generate import write_history
from sqlalchemy import Engine, func, select, text

from backtestdb import models
from backtestdb.db import make_engine, session_factory
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import queue as jobqueue
from backtestdb.storage import SourceFile, Storage
from tests.conftest import BASIC
from tests.processes import free_port
from tests.workers.conftest import Processes, wait_for, wait_until_serving

pytestmark = pytest.mark.postgres

TERMINAL = ("completed", "failed")


def job_rows(engine: Engine) -> list[models.IngestionJob]:
    with session_factory(engine)() as session:
        return list(session.scalars(select(models.IngestionJob)))


def count(engine: Engine, table: type[models.Base]) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table)) or 0


def history_csv(path: Path, trades: int, seed: int) -> Path:
    with path.open("w", newline="") as out:
        write_history(out, trades, seed=seed)
    return path


def test_twenty_concurrent_async_ingests_two_workers(
    fresh_postgres: str, pg_engine: Engine, processes: Processes, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    env = {
        "DATABASE_URL": fresh_postgres,
        "STORAGE_URL": f"file://{store}",
        "LOG_LEVEL": "INFO",
        "WORKER_POLL_SECONDS": "0.1",
    }
    port = free_port()
    server = processes.start(
        "serve",
        ["serve", "--host", "127.0.0.1", "--port", str(port)],
        {**env, "DATA_DIR": str(tmp_path / "serve"), "INPROCESS_WORKER": "false"},
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(server, base, processes)
    for n in (1, 2):
        processes.start(
            f"worker{n}",
            ["worker", "--concurrency", "2"],
            {**env, "DATA_DIR": str(tmp_path / f"worker{n}")},
        )

    uploads: list[tuple[str, Path, dict[str, str]]] = [
        ("json_file", BASIC / "report.json", {}) for _ in range(5)
    ]
    for seed in range(15):
        csv = history_csv(tmp_path / f"history{seed}.csv", 300 + seed, seed)
        uploads.append(("csv_file", csv, {"initial_balance": "10000", "name": f"gen {seed}"}))

    def post(upload: tuple[str, Path, dict[str, str]]) -> httpx.Response:
        field, path, data = upload
        with path.open("rb") as stream:
            return httpx.post(
                f"{base}/api/v1/ingest",
                params={"mode": "async"},
                files={field: (path.name, stream)},
                data=data,
                timeout=30,
            )

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, uploads))
    for answer in answers:
        assert answer.status_code == 202, answer.text
        assert set(answer.json()) == {"job_id", "status"}
        assert answer.json()["status"] == "pending"

    def all_done() -> bool:
        rows = job_rows(pg_engine)
        return len(rows) == 20 and all(j.status in TERMINAL for j in rows)

    try:
        wait_for(all_done, 120, "20 jobs to end", step=0.25)
    except pytest.fail.Exception:
        print(processes.logs())
        raise
    jobs = job_rows(pg_engine)
    assert {str(j.id) for j in jobs} == {a.json()["job_id"] for a in answers}
    assert [j.error_message for j in jobs if j.status != "completed"] == []
    # Nobody ran a job twice: one claim each, by one worker.
    assert [j.attempts for j in jobs] == [1] * 20
    assert all(j.worker_id for j in jobs)
    assert count(pg_engine, models.Backtest) == 16
    twins = [j for j in jobs if j.source_files and j.source_files[0].get("name") == "report.json"]
    assert len({j.backtest_id for j in twins}) == 1
    assert sorted(j.trades_ingested for j in twins) == [0, 0, 0, 0, 200]
    # Every job's uploads go once its worker is done with it (after the metric refresh).
    wait_for(lambda: not list((store / "uploads").glob("*")), 30, "the uploads to go")
    assert server.poll() is None


def test_a_killed_worker_s_job_is_run_again_by_another(
    fresh_postgres: str, pg_engine: Engine, processes: Processes, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    csv = history_csv(tmp_path / "big.csv", 200_000, seed=42)
    request = IngestRequest(
        csv=SourceFile("history", "big.csv", csv), initial_balance=None, name="big"
    )
    engine = make_engine(fresh_postgres)
    try:
        job = jobqueue.enqueue(session_factory(engine), Storage(store), request)
    finally:
        engine.dispose()
    env = {
        "DATABASE_URL": fresh_postgres,
        "STORAGE_DIR": str(store),
        "JOB_LEASE_SECONDS": "2",
        "WORKER_POLL_SECONDS": "0.1",
        "LOG_LEVEL": "INFO",
    }
    first = processes.start("worker-a", ["worker"], {**env, "DATA_DIR": str(tmp_path / "a")})

    def running() -> models.IngestionJob | None:
        with session_factory(pg_engine)() as session:
            row = session.get_one(models.IngestionJob, job.id)
            return row if row.status == "running" else None

    wait_for(lambda: running() is not None, 60, "the first worker to claim the job")
    first_owner = running()
    assert first_owner is not None
    assert first_owner.attempts == 1

    def copying() -> bool:
        # Mid-ingest: the worker's COPY into trades is under way.
        with pg_engine.connect() as connection:
            query = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'COPY %' AND state <> 'idle'"
            )
            return bool(connection.scalar(query))

    wait_for(copying, 60, "the first worker's COPY to start", step=0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(0.5)  # the server aborts the dead client's transaction
    assert count(pg_engine, models.Backtest) == 0
    assert count(pg_engine, models.Trade) == 0

    processes.start("worker-b", ["worker"], {**env, "DATA_DIR": str(tmp_path / "b")})

    def ended() -> bool:
        with session_factory(pg_engine)() as session:
            return session.get_one(models.IngestionJob, job.id).status in TERMINAL

    try:
        wait_for(ended, 180, "the second worker to end the job", step=0.25)
    except pytest.fail.Exception:
        print(processes.logs())
        raise
    with session_factory(pg_engine)() as session:
        done = session.get_one(models.IngestionJob, job.id)
    details: dict[str, Any] = {"status": done.status, "error": done.error_message}
    if done.status == "completed":
        assert done.attempts == 2, details
        assert done.worker_id != first_owner.worker_id
        assert done.trades_ingested == 200_000
        assert count(pg_engine, models.Backtest) == 1
        assert count(pg_engine, models.Trade) == 200_000
    else:
        assert done.error_message, details
        assert count(pg_engine, models.Backtest) == 0
    # The uploads go once the worker is done with the job (after the metric refresh).
    wait_for(lambda: not (store / "uploads" / str(job.id)).exists(), 60, "the uploads to go")
