"""A real `backtestdb serve` process for the reliability tests, with its log kept."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backtestdb.db import make_engine, upgrade
from tests.conftest import scratch_database
from tests.processes import free_port, stop, wait_until_up

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    base: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve(tmp_path: Path, workers: int = 1, **env: str) -> Iterator[Server]:
    """Start the server on loopback with `env` added; waits for /health, stops it after."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("API_KEYS", "STORAGE_DIR")}
    environment.update(DATA_DIR=str(tmp_path / "data"), LOG_LEVEL="INFO", NO_COLOR="1", **env)
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "backtestdb"), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)],
            env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", port, log, process)
    try:
        wait_until_up(process, server.base, log)
        yield server
    finally:
        stop(process)


@contextmanager
def migrated_scratch(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own, migrated to head, for one server (its plain URL);
    its own, so pg_stat_activity can be read for it alone. Dropped afterwards."""
    with scratch_database(prefix) as url:
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url
