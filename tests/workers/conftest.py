"""Fixtures for the worker tests: a fresh PostgreSQL database, real `backtestdb` processes
(always ended in teardown) and bounded waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from backtestdb.db import make_engine, upgrade
from tests.api.conftest import make_client
from tests.conftest import scratch_database
from tests.processes import stop

__all__ = ["make_client"]  # the API tests' client fixture, used here too

BIN = Path(sys.executable).parent


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, migrated PostgreSQL database for this test only (dropped afterwards)."""
    with scratch_database("backtestdb_workers") as plain:
        url = plain.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url


@pytest.fixture
def pg_engine(fresh_postgres: str) -> Iterator[Engine]:
    engine = make_engine(fresh_postgres)
    yield engine
    engine.dispose()


class Processes:
    """`backtestdb` subprocesses with their logs; every one is ended by the fixture."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(BIN / "backtestdb"), *args],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append((process, log))
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for _, log in self.started)

    def end_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in self.started:
            stop(process)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.end_all()


def wait_until_serving(process: subprocess.Popen[bytes], base: str, logs: Processes) -> None:
    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the server exited:\n{logs.logs()}")
        try:
            return httpx.get(f"{base}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, 30, "the server to answer /health")
