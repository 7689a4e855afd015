"""The seed's documented SQL, run unchanged on PostgreSQL against an ingested sample.

Expected figures are recomputed here from the History CSV with csv + Decimal, so the
database's derived columns are checked against an independent calculation.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.storage import SourceFile
from tests.conftest import BASIC


def csv_trades() -> list[dict[str, object]]:
    with (BASIC / "history.csv").open() as f:
        return [
            {
                "open": datetime.strptime(r["Opening Time (UTC+0)"], "%d/%m/%Y %H:%M:%S.%f").replace(tzinfo=UTC),
                "symbol": r["Symbol"],
                "net": Decimal(r["Net"]),
                "balance": Decimal(r["Balance"]),
            }
            for r in csv.DictReader(f)
        ]  # fmt: skip


#: The seed's documented statements, as written there.
SEED = {
    "list": "SELECT id, name, total_trades, win_rate, net_profit, created_at FROM backtests ORDER BY created_at DESC",
    "trades": "SELECT open_time, symbol, direction, entry_price, exit_price, profit, pips FROM trades WHERE backtest_id = :id ORDER BY open_time LIMIT 1",
    "daily": "SELECT trade_date, total_trades, winning_trades, net_profit, win_rate FROM daily_summary WHERE backtest_id = :id ORDER BY trade_date",
    "top_symbols": "SELECT symbol, COUNT(*) AS trades, SUM(profit) AS total_profit FROM trades GROUP BY symbol ORDER BY total_profit DESC LIMIT 10",
    "month": "SELECT DATE_TRUNC('month', open_time) AS month, SUM(profit) AS profit, COUNT(*) AS trades "
             "FROM trades WHERE backtest_id = :id GROUP BY month ORDER BY month",
    "weekday": "SELECT EXTRACT(DOW FROM open_time) AS weekday, COUNT(*) AS trades, "
               "ROUND(100.0 * SUM(CASE WHEN profit > 0 THEN 1 ELSE 0 END) / COUNT(*), 2) AS win_rate "
               "FROM trades WHERE backtest_id = :id GROUP BY weekday ORDER BY weekday",
    "drawdown": "SELECT close_time, balance_after, drawdown, drawdown_percent FROM trades WHERE backtest_id = :id ORDER BY trade_number",
}  # fmt: skip


# The seed's SQL uses PostgreSQL functions (DATE_TRUNC, EXTRACT): PostgreSQL only.
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def ingested(factory: sessionmaker[Session], settings: Settings) -> str:
    report = BASIC / "report.json"
    _, outcome = run_ingest(
        factory,
        IngestRequest(report=SourceFile("report", report.name, report), name="Seed"),
        settings,
    )
    return str(outcome.backtest.id)


def rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql), params)]


def test_list_backtests(engine: Engine, ingested: str) -> None:
    result = rows(
        engine,
        SEED["list"],
    )
    assert [(str(r[0]), r[1], r[2], r[3], r[4]) for r in result] == [
        (ingested, "Seed", 200, Decimal("54.50"), Decimal("452.42"))
    ]  # fmt: skip


def test_trades_query(engine: Engine, ingested: str) -> None:
    result = rows(
        engine,
        SEED["trades"],
        id=ingested,
    )
    assert result[0][1:] == ("EURUSD", "buy", Decimal("1.08418000"), Decimal("1.08391000"), Decimal("-3.35"), Decimal("-2.7000"))  # fmt: skip
    assert result[0][0] == datetime(2024, 1, 2, 1, 43, 50, 846000, tzinfo=UTC)


def test_daily_summary_query(engine: Engine, ingested: str) -> None:
    result = rows(
        engine,
        SEED["daily"],
        id=ingested,
    )
    assert sum(r[1] for r in result) == 200  # type: ignore[misc]
    assert sum(r[2] for r in result) == 109  # type: ignore[misc]
    assert sum(r[3] for r in result) == Decimal("452.42")  # type: ignore[misc]


def test_top_symbols(engine: Engine, ingested: str) -> None:
    result = rows(
        engine,
        SEED["top_symbols"],
    )
    assert result == [("EURUSD", 200, Decimal("452.42"))]


def test_profit_by_month(engine: Engine, ingested: str) -> None:
    expected: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    for t in csv_trades():
        opened: datetime = t["open"]  # type: ignore[assignment]
        expected[(opened.year, opened.month)] += t["net"]  # type: ignore[operator]
    with engine.connect() as connection:
        connection.execute(text("SET TIME ZONE 'UTC'"))
        result = connection.execute(text(SEED["month"]), {"id": ingested}).all()
    assert {(r[0].year, r[0].month): r[1] for r in result} == dict(expected)


def test_win_rate_by_weekday(engine: Engine, ingested: str) -> None:
    totals: Counter[int] = Counter()
    wins: Counter[int] = Counter()
    for t in csv_trades():
        day = (t["open"].isoweekday()) % 7  # type: ignore[attr-defined]
        totals[day] += 1
        wins[day] += t["net"] > 0  # type: ignore[operator]
    with engine.connect() as connection:
        connection.execute(text("SET TIME ZONE 'UTC'"))
        result = connection.execute(text(SEED["weekday"]), {"id": ingested}).all()
    assert {int(r[0]): r[1] for r in result} == dict(totals)
    for r in result:
        day = int(r[0])
        assert r[2] == (Decimal(100 * wins[day]) / totals[day]).quantize(Decimal("0.01"))


def test_drawdown_query(engine: Engine, ingested: str) -> None:
    result = rows(
        engine,
        SEED["drawdown"],
        id=ingested,
    )
    assert [r[1] for r in result] == [t["balance"] for t in csv_trades()]
    assert max(r[2] for r in result) == Decimal("175.68")  # type: ignore[type-var]
    peak, worst = Decimal(10000), Decimal(0)
    for t in csv_trades():
        peak = max(peak, t["balance"])  # type: ignore[type-var,assignment]
        worst = max(worst, (peak - t["balance"]) * 100 / peak)  # type: ignore[operator]
    assert max(r[3] for r in result) == worst.quantize(Decimal("0.0001"))  # type: ignore[type-var]


def test_job_queries(engine: Engine, ingested: str) -> None:
    assert rows(engine, "SELECT status, COUNT(*) FROM ingestion_jobs GROUP BY status") == [
        ("completed", 1)
    ]
    assert (
        rows(
            engine,
            "SELECT id, job_type, error_message, created_at FROM ingestion_jobs WHERE status = 'failed' ORDER BY created_at DESC LIMIT 10",
        )
        == []
    )


def test_seed_queries_on_a_backtest_without_open_times(
    engine: Engine, sparse_backtest: str
) -> None:
    """cTrader's default History layout has no opening time, prices or fees: every query
    still runs; those grouping by the opening time put all trades in one NULL group."""
    [(key, name, total, win_rate, net, _created)] = rows(engine, SEED["list"])
    assert (str(key), name, total, win_rate, net) == (
        sparse_backtest, "Sparse EURUSD", 200, Decimal("54.50"), Decimal("452.42"))  # fmt: skip
    [first] = rows(engine, SEED["trades"], id=sparse_backtest)
    assert (first[0], first[1], first[3], first[4]) == (None, "EURUSD", None, None)
    assert first[5] in {t["net"] for t in csv_trades()}  # which trade comes first is undefined
    daily = rows(engine, SEED["daily"], id=sparse_backtest)
    assert (len(daily), sum(r[1] for r in daily)) == (96, 200)  # type: ignore[misc]
    assert rows(engine, SEED["top_symbols"]) == [("EURUSD", 200, Decimal("452.42"))]
    with engine.connect() as connection:
        connection.execute(text("SET TIME ZONE 'UTC'"))
        month = connection.execute(text(SEED["month"]), {"id": sparse_backtest}).all()
        weekday = connection.execute(text(SEED["weekday"]), {"id": sparse_backtest}).all()
    assert [tuple(r) for r in month] == [(None, Decimal("452.42"), 200)]
    assert [tuple(r) for r in weekday] == [(None, 200, Decimal("54.50"))]
    drawdown = rows(engine, SEED["drawdown"], id=sparse_backtest)
    assert [r[1] for r in drawdown] == [t["balance"] for t in csv_trades()]
    assert max(r[2] for r in drawdown) == Decimal("175.68")  # type: ignore[type-var]
