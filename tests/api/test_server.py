"""A real `backtestdb serve` process: uploads stream to disk, so a big one costs no memory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BASIC
from tests.processes import free_port, stop, wait_until_up

BOUNDARY = "backtestdb-test-boundary"
MIB = 1024 * 1024


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def multipart_chunks(size: int) -> Iterator[bytes]:
    """One csv_file part of `size` bytes, produced 64 KiB at a time (sent chunked)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csv_file"; '
        f'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    chunk = b"x" * (64 * 1024)
    for _ in range(size // len(chunk)):
        yield chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "DATA_DIR": str(tmp_path / "data"),
        "MAX_FILE_SIZE_MB": "5",
        "LOG_LEVEL": "WARNING",
    }
    command = [str(Path(sys.executable).parent / "backtestdb"), "serve"]
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base, tmp_path / "server.log")
        yield process, base
    finally:
        stop(process)
        log.close()


def test_big_uploads_answer_413_without_holding_them_in_memory(
    server: tuple[subprocess.Popen[bytes], str], tmp_path: Path
) -> None:
    process, base = server
    with httpx.Client(base_url=base, timeout=60) as client:
        # Warm up every code path first (engine, migration, parsers), so growth is the upload's.
        assert client.get("/health/ready").json()["status"] == "ready"
        with (BASIC / "report.json").open("rb") as report:
            warm = client.post("/api/v1/ingest", files={"json_file": report})
        assert warm.json()["message"] == "Successfully ingested 200 trades"
        before = rss_kib(process.pid)

        streamed = client.post(
            "/api/v1/ingest",
            content=multipart_chunks(10 * MIB),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        assert streamed.status_code == 413
        assert streamed.json() == {"detail": "File too large"}

        big = tmp_path / "big.json"
        with big.open("wb") as out:
            out.truncate(10 * MIB)
        with big.open("rb") as upload:
            sized = client.post("/api/v1/ingest", files={"json_file": upload})
        assert sized.status_code == 413
        assert sized.json() == {"detail": "File too large"}

        assert client.get("/health").json() == {"status": "ok"}
        grown_kib = rss_kib(process.pid) - before
    assert grown_kib < 20 * 1024, f"RSS grew by {grown_kib} KiB"
    assert list((tmp_path / "data" / "tmp").iterdir()) == []
