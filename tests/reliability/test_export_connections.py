"""Exports and the connection pool, on a real `backtestdb serve` over PostgreSQL: downloads
abandoned after 4 KB, or left open and unread (a stalled or very slow client), hold no
database connection, so ordinary requests keep answering, and no read is left idle in a
transaction. Each export batch is its own short transaction on the exports' own pool."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import httpx
import psycopg
import pytest
from bench.generate import write_history

from backtestdb.analytics.export import TRADE_COLUMNS
from backtestdb.config import Settings
from backtestdb.db import make_engine, session_factory
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.storage import SourceFile
from tests.conftest import ADMIN_URL
from tests.reliability.server import Server, migrated_scratch, serve

# Some 10 MB of CSV, while a client's 64 KiB receive window and the server's send buffer
# (at most 4 MiB here) hold far less: an export left unread stays open, mid-stream.
TRADES = 50_000
EXPORTS = 20
# One more than the ordinary pool's 15 connections (5 + 10 overflow), which they used to
# take; each costs the server ~4 MiB of CSV written into its send buffer before it stalls.
STALLED = 16
ENOUGH = 4096
WINDOW = 64 * 1024


def client() -> httpx.Client:
    """A client with a fixed receive buffer: the kernel's autotuning (up to 32 MiB on
    loopback) would otherwise take in a whole export that the test does not read."""
    window = [(socket.SOL_SOCKET, socket.SO_RCVBUF, WINDOW)]
    return httpx.Client(timeout=30, transport=httpx.HTTPTransport(socket_options=window))


class Exporting(NamedTuple):
    server: Server
    #: The path of the big backtest's CSV export.
    path: str
    #: The database's URL and name.
    url: str
    database: str

    @property
    def export(self) -> str:
        return self.server.base + self.path


@pytest.fixture(scope="module")
def exporting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exporting]:
    """A server on a database of its own holding one 50,000-trade backtest."""
    folder = tmp_path_factory.mktemp("exports")
    history = folder / "history.csv"
    with history.open("w", newline="") as out:
        write_history(out, TRADES)
    with migrated_scratch("backtestdb_exports") as url:
        engine = make_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            settings = Settings(database_url=url, data_dir=folder / "data")
            request = IngestRequest(
                csv=SourceFile("history", history.name, history), initial_balance=Decimal(10000)
            )
            _job, outcome = run_ingest(session_factory(engine), request, settings)
        finally:
            engine.dispose()
        with serve(folder, DATABASE_URL=url) as server:
            path = f"/api/v1/backtests/{outcome.backtest.id}/trades.csv"
            yield Exporting(server, path, url, url.rsplit("/", 1)[1])


def read_a_little(response: httpx.Response) -> Iterator[bytes]:
    """Read ENOUGH bytes of the body, then stop; the body's iterator is returned, since
    dropping it would close the connection (an abandoned download, not a stalled one)."""
    assert response.status_code == 200
    chunks = response.iter_raw(1024)
    got = 0
    while got < ENOUGH:
        got += len(next(chunks))
    return chunks


def lists_answer(server: Server) -> list[int]:
    """Five list requests in a row, each given 5 s (a hang guard: the pool's 30 s wait
    ends in a timeout here)."""
    with httpx.Client(timeout=5) as client:
        return [client.get(f"{server.base}/api/v1/backtests").status_code for _ in range(5)]


def idle_in_transaction(database: str) -> int:
    """Connections of `database` idle in a transaction, once the server has settled (an
    export's batch may be between its two statements for a moment): 0 is waited for up to
    10 s, anything else is reported as it stands then."""
    deadline = time.monotonic() + 10
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        while True:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND state = 'idle in transaction'",
                [database],
            ).fetchone()
            count = int(row[0]) if row else 0
            if count == 0 or time.monotonic() > deadline:
                return count
            time.sleep(0.2)


def test_abandoned_exports_leave_the_pool_to_other_requests(exporting: Exporting) -> None:
    for _ in range(EXPORTS):
        with client() as reader, reader.stream("GET", exporting.export) as response:
            read_a_little(response)
    assert lists_answer(exporting.server) == [200] * 5
    assert idle_in_transaction(exporting.database) == 0


def test_stalled_exports_hold_no_connection(exporting: Exporting) -> None:
    """16 downloads read 4 KB and then nothing more, their connections left open: they
    used to hold all 15 pooled connections idle in a transaction, and every list answered
    500 after the pool's 30 s wait."""
    server = exporting.server
    held: list[Iterator[bytes]] = []
    with ExitStack() as stalled:
        for _ in range(STALLED):
            reader = stalled.enter_context(client())
            response = stalled.enter_context(reader.stream("GET", exporting.export))
            held.append(read_a_little(response))
        assert lists_answer(server) == [200] * 5
        assert idle_in_transaction(exporting.database) == 0
    assert lists_answer(server) == [200] * 5


def test_a_full_export_is_every_trade_in_order(exporting: Exporting) -> None:
    """Read in batches, one transaction each: nothing lost or doubled at the seams."""
    with httpx.Client(timeout=60) as client:
        lines = client.get(exporting.export).text.splitlines()
    assert lines[0] == ",".join(TRADE_COLUMNS)
    assert [int(line.split(",", 1)[0]) for line in lines[1:]] == list(range(1, TRADES + 1))


def test_a_server_stopping_with_stalled_exports_stops(exporting: Exporting, tmp_path: Path) -> None:
    """SIGTERM with downloads nobody reads: after SHUTDOWN_TIMEOUT_SECONDS they are
    cancelled and the server exits by itself (it used to wait for them for ever), with no
    transaction left open in the database."""
    with serve(tmp_path, DATABASE_URL=exporting.url, SHUTDOWN_TIMEOUT_SECONDS="1") as server:
        held: list[Iterator[bytes]] = []
        with ExitStack() as stalled:
            for _ in range(2):
                reader = stalled.enter_context(client())
                url = server.base + exporting.path
                response = stalled.enter_context(reader.stream("GET", url))
                held.append(read_a_little(response))
            server.process.terminate()
            # A hang guard, well past 1 s + 10 s. Once shut down, uvicorn raises the signal
            # it handled again, so the process ends "by" SIGTERM, but cleanly (the log).
            assert server.process.wait(timeout=30) == -signal.SIGTERM
        log = server.log_text()
        assert "timeout graceful shutdown exceeded" in log
        assert "Application shutdown complete." in log
    assert idle_in_transaction(exporting.database) == 0
