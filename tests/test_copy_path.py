"""The PostgreSQL COPY fast path stores exactly what the validator path stores."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from bench.generate import write_history, write_layout
from bench.layouts import Forms
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.ingest import IngestRequest, columnar
from backtestdb.ingest import row_pattern as fastpath
from backtestdb.jobs import run_ingest
from backtestdb.storage import SourceFile
from tests.conftest import BASIC, DATA

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
COLUMNS = [c.name for c in models.Trade.__table__.columns if c.name != "backtest_id"]


def stored_rows(engine: Engine, backtest_id: object) -> list[tuple[object, ...]]:
    table = models.Trade.__table__
    query = (
        select(*(table.c[name] for name in COLUMNS))
        .where(table.c.backtest_id == backtest_id)
        .order_by(table.c.trade_number)
    )
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def ingest_both_ways(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, path: Path,
    monkeypatch: pytest.MonkeyPatch, **options: object,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:  # fmt: skip
    request = IngestRequest(csv=SourceFile("history", path.name, path), force=True, **options)  # type: ignore[arg-type]
    # The regex fast path against the validator, both on the row path (test_columnar
    # compares the columnar path with the row path).
    monkeypatch.setattr(columnar, "ROW_PATH_ONLY", True)
    fast = run_ingest(factory, request, settings)[1].backtest.id
    with monkeypatch.context() as patch:
        patch.setattr(fastpath.CsvFastPath, "encode", lambda *args: None)
        slow = run_ingest(factory, request, settings)[1].backtest.id
    return stored_rows(engine, fast), stored_rows(engine, slow)


EDGE_ROWS = [
    # deal, symbol, dir, closing dir, open, close, entry, exit, qty, vol, swap, comm, pips, gross, net, label, comment, balance
    [
        "100011",
        "EURUSD",
        "Long",
        "Sell",
        "29/02/2024 10:00:00.000",
        "01/03/2024 10:00:00.000",
        "1.1",
        "1.2",
        "0.1",
        "10000",
        "0",
        "-0.5",
        "10",
        "1000",
        "999.5",
        "a",
        " padded ",
        "",
    ],
    [
        "100012",
        "EURUSD",
        "sell",
        "Buy",
        "30/03/2024 10:00:00.000",
        "31/03/2024 23:59:59.999",
        "1.10000000",
        "1.09",
        "",
        "",
        "",
        "",
        "",
        "",
        "-12.345",
        "",
        'say "hi", then\ttab',
        "",
    ],
    [
        "100013",
        "XAU/USD",
        "Buy",
        "Sell",
        "31/03/2024 10:00:00.000",
        "31/03/2024 11:00:00.000",
        "2000.5",
        "2001.25",
        "1",
        "100",
        "-1.00",
        "-0.60",
        "75.0",
        "75.00",
        "73.40",
        "x\\y",
        "",
        "10000.00",
    ],
]


def test_fast_and_validator_paths_store_identical_rows(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    buffer = io.StringIO()
    write_history(buffer, 500, seed=3)
    lines = buffer.getvalue().splitlines()
    writer_buffer = io.StringIO()
    csv.writer(writer_buffer, lineterminator="\n").writerows(EDGE_ROWS)
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n" + writer_buffer.getvalue())
    fast, slow = ingest_both_ways(
        factory, settings, engine, path, monkeypatch, initial_balance=Decimal(10000)
    )
    assert len(fast) == 503
    assert fast == slow
    assert fast[-1][COLUMNS.index("symbol")] == "XAU/USD"
    assert fast[-2][COLUMNS.index("comment")] == 'say "hi", then\ttab'
    assert fast[-3][COLUMNS.index("comment")] == "padded"


@pytest.mark.parametrize("sample", ["basic/history.csv", "multi_symbol_history.csv"])
def test_samples_identical_both_ways(
    factory: sessionmaker[Session], settings: Settings, engine: Engine,
    monkeypatch: pytest.MonkeyPatch, sample: str,
) -> None:  # fmt: skip
    fast, slow = ingest_both_ways(factory, settings, engine, DATA / sample, monkeypatch)
    assert fast == slow
    assert len(fast) == (200 if sample.startswith("basic") else 1000)


def test_utc_offset_on_fast_path(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    text = (BASIC / "history.csv").read_text().replace("(UTC+0)", "(UTC+05:30)", 2)
    path = tmp_path / "history.csv"
    path.write_text(text)
    fast, slow = ingest_both_ways(factory, settings, engine, path, monkeypatch)
    assert fast == slow
    assert str(fast[0][COLUMNS.index("open_time")]) == "2024-01-01 20:13:50.846000+00:00"


def test_million_style_sum_matches_last_balance(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """SUM(profit) equals the last Balance minus the initial balance, to the cent."""
    path = tmp_path / "history.csv"
    with path.open("w", newline="") as out:
        final = write_history(out, 20_000, seed=11)
    request = IngestRequest(csv=SourceFile("history", path.name, path))
    backtest = run_ingest(factory, request, settings)[1].backtest
    trades = models.Trade.__table__
    with engine.connect() as connection:
        count, total = connection.execute(
            select(func.count(), func.sum(trades.c.profit)).where(
                trades.c.backtest_id == backtest.id
            )
        ).one()
    assert count == 20_000
    assert total == Decimal(final - 1_000_000) / 100
    assert backtest.initial_balance == Decimal("10000.00")
    assert backtest.ending_balance == Decimal(final) / 100


@pytest.mark.parametrize(
    "forms",
    [
        Forms(empty_dash=True, quantity_unit="Lots"),
        Forms(thousands="comma", id_prefix=True),
        Forms(time_format="month", thousands="nbsp", tz_offset=3),
        Forms(filtered=True, quantity_unit="Indices"),
    ],
    ids=["dash-lots", "thousands-comma-ids", "month-nbsp-utc3", "filtered-indices"],
)
def test_real_value_forms_store_the_same_rows_both_ways(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, forms: Forms,
) -> None:  # fmt: skip
    """The full layout in the value forms real exports use: whatever the row pattern does
    not take goes to the validator, and both store the same rows."""
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        totals = write_layout(out, "full", 300, 9, forms=forms)
    fast, slow = ingest_both_ways(
        factory, settings, engine, path, monkeypatch, initial_balance=Decimal(10000)
    )
    assert len(fast) == totals.trades
    assert fast == slow
