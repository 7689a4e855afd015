"""events.json end to end through the CLI, on both backends: one trade per closed position
with the exact totals of the file, every event in trade_events, the equity drawdown, the
symbol's sources, and the errors of bad or empty files."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from backtestdb import models
from backtestdb.cli import app
from backtestdb.config import Settings
from backtestdb.parsing.events_json import denoise, looks_like_events, scalar
from tests.conftest import row_counts
from tests.event_files import cents, equity_drawdown, events_file, price, read_events, write_json

runner = CliRunner()
OPEN_WARNING = (
    "2 positions are still open at the end: not trades (their events are kept with no trade number)"
)
NO_SYMBOL = (
    "events.json has no symbol: give --symbol (form field symbol), a report, or a .cbotset "
    "parameters file with Chart.Symbol"
)


def invoke(*args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def stored(engine: Engine, backtest_id: str) -> tuple[models.Backtest, list[models.Trade]]:
    with engine.connect() as connection:
        backtest = connection.execute(
            select(models.Backtest).where(models.Backtest.id == uuid.UUID(backtest_id))
        ).one()
        trades = connection.execute(
            select(models.Trade)
            .where(models.Trade.backtest_id == uuid.UUID(backtest_id))
            .order_by(models.Trade.trade_number)
        ).all()
    return backtest, trades  # type: ignore[return-value]


def event_rows(engine: Engine, backtest_id: str) -> list[Any]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                select(models.TradeEvent)
                .where(models.TradeEvent.backtest_id == uuid.UUID(backtest_id))
                .order_by(models.TradeEvent.serial)
            )
        )


def test_events_json_stores_one_trade_per_closed_position(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, totals = events_file(tmp_path, trades=40)
    code, out = invoke("ingest", str(path), "--symbol", "EURUSD")
    assert code == 0, out
    assert out["message"] == f"Successfully ingested {totals.trades} trades"
    assert [w["message"] for w in out["warnings"]] == [OPEN_WARNING]
    assert out["warnings"][0]["value"] == str(totals.open_positions) == "2"
    backtest, trades = stored(engine, out["backtest_id"])
    assert len(trades) == totals.trades == 40
    assert sum(t.profit for t in trades) == Decimal(totals.net_cents) / 100
    assert backtest.initial_balance == Decimal(totals.initial_cents) / 100 == Decimal("10000")
    assert backtest.ending_balance == Decimal(totals.final_cents) / 100
    assert trades[-1].balance_after == backtest.ending_balance
    assert sum(t.gross_profit for t in trades) == Decimal(totals.gross_cents) / 100
    assert (backtest.symbol, backtest.symbols) == ("EURUSD", ["EURUSD"])
    # The net includes the fees, which the file does not give apart: unknown, not 0.
    assert (backtest.commissions, backtest.swaps) == (None, None)
    assert {(t.commission, t.swap) for t in trades} == {(None, None)}
    assert {t.symbol for t in trades} == {"EURUSD"}

    events = read_events(path)
    rows = event_rows(engine, out["backtest_id"])
    assert len(rows) == totals.events == len(events) == 102
    assert [r.serial for r in rows] == [e["serial"] for e in events]
    assert sum(r.trade_number is None for r in rows) == 2  # the open positions' Create events
    # Trade 5: opened, its S/L moved half-way, closed; each event keeps its S/L.
    five = [e for e in events if e["positionId"] == 5]
    assert [r.stop_loss for r in rows if r.trade_number == 5] == [price(e["sl"]) for e in five]
    assert [r.event for r in rows if r.trade_number == 5] == [
        "Create Position", "Position Modified (S/L)", "Position closed",
    ]  # fmt: skip
    assert [r.equity for r in rows[:3]] == [cents(e["equity"]) for e in events[:3]]
    trade = trades[4]
    assert (trade.trade_number, trade.deal_id, trade.direction) == (5, "5", five[0]["type"].lower())
    assert trade.entry_price == price(five[0]["entryPrice"])
    assert trade.exit_price == price(five[-1]["closePrice"])
    assert trade.volume == Decimal(10000)
    assert trade.quantity == Decimal("0.1")
    assert trade.balance_after == cents(five[-1]["balance"])


def test_equity_drawdown_is_computed_from_the_events(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, _ = events_file(tmp_path, trades=60, seed=3)
    code, out = invoke("ingest", str(path), "--symbol", "EURUSD")
    assert code == 0, out
    backtest, _ = stored(engine, out["backtest_id"])
    amount, percent = equity_drawdown(read_events(path))
    assert amount > 0
    assert (backtest.max_equity_drawdown, backtest.max_equity_drawdown_percent) == (amount, percent)


def test_an_events_file_given_as_the_report_is_found_by_its_content(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, totals = events_file(tmp_path, trades=12, name="report.json")
    code, out = invoke("ingest", str(path), "--symbol", "EURUSD", "--name", "as report")
    assert code == 0, out
    assert out["backtest"]["total_trades"] == totals.trades == 12
    assert len(event_rows(engine, out["backtest_id"])) == totals.events
    detail = invoke("show", out["backtest_id"])[1]
    assert [(f["role"], f["name"]) for f in detail["source_files"]] == [("events", "report.json")]
    # The same file again, as --events: the same ingest.
    code, again = invoke("ingest", "--events", str(path), "--symbol", "EURUSD")
    assert code == 0
    assert again["message"].startswith("Already ingested")
    assert again["backtest_id"] == out["backtest_id"]


def test_an_empty_events_file_says_why_cTrader_left_it(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    empty = tmp_path / "events.json"
    empty.write_bytes(b"")
    code, out = invoke("ingest", "--events", str(empty), "--symbol", "EURUSD")
    assert code == 1
    assert out["detail"] == (
        "events.json is empty: cTrader leaves an empty file when the backtest's report "
        "crashed; run the backtest again or ingest its report"
    )
    assert row_counts(engine)["backtests"] == 0


def test_without_a_symbol_the_ingest_names_the_ways_to_give_one(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, _ = events_file(tmp_path, trades=5)
    code, out = invoke("ingest", "--events", str(path))
    assert code == 1
    assert out["detail"] == NO_SYMBOL
    assert row_counts(engine)["backtests"] == 0


def minimal_report(folder: Path, symbol: str, **equity: float) -> Path:
    """A report with no trades of its own: the symbol, the capital, the equity figures."""
    report = {
        "main": {"symbol": symbol, "period": "h1", "startingCapital": 10000},
        "equity": equity,
        "history": {"items": []},
    }
    path = folder / "report.json"
    path.write_text(json.dumps(report))
    return path


def test_the_symbol_comes_from_the_option_the_report_or_the_cbotset(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, totals = events_file(tmp_path, trades=8)
    report = minimal_report(tmp_path, "GBPUSD")
    cbotset = tmp_path / "parameters.cbotset"
    cbotset.write_text('{"Chart": {"Symbol": "XAUUSD", "Period": "m5"}, "Parameters": {"A": 1}}')

    def symbol_of(*args: str) -> tuple[str, set[str]]:
        code, out = invoke("ingest", "--events", str(path), *args, "--force")
        assert code == 0, out
        _, trades = stored(engine, out["backtest_id"])
        assert len(trades) == totals.trades
        return out["backtest"]["symbol"], {t.symbol for t in trades}

    assert symbol_of(str(report)) == ("GBPUSD", {"GBPUSD"})
    assert symbol_of("--params", str(cbotset)) == ("XAUUSD", {"XAUUSD"})
    assert symbol_of(str(report), "--params", str(cbotset)) == ("GBPUSD", {"GBPUSD"})
    assert symbol_of(str(report), "--symbol", "USDJPY") == ("USDJPY", {"USDJPY"})


def test_with_a_report_the_equity_drawdown_is_reconciled(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, _ = events_file(tmp_path, trades=30)
    amount, percent = equity_drawdown(read_events(path))
    report = minimal_report(
        tmp_path,
        "EURUSD",
        maxEquityDrawdownAbsolute=float(amount),
        maxEquityDrawdownPercent=float(percent) + 1,
    )
    code, out = invoke("ingest", str(report), "--events", str(path))
    assert code == 0, out
    items = {
        i["metric"]: i for i in invoke("show", out["backtest_id"])[1]["reconciliation"]["items"]
    }
    assert items["max_equity_drawdown"] == {
        "metric": "max_equity_drawdown", "reported": float(amount), "computed": float(amount),
        "difference": 0.0, "matches": True,
    }  # fmt: skip
    assert items["max_equity_drawdown_percent"]["matches"] is False
    assert items["max_equity_drawdown_percent"]["difference"] == -1.0
    warned = [w["column"] for w in out["warnings"]]
    assert "max_equity_drawdown_percent" in warned
    backtest, _ = stored(engine, out["backtest_id"])
    assert (backtest.max_equity_drawdown, backtest.max_equity_drawdown_percent) == (amount, percent)
    assert backtest.period == "h1"


def test_bad_events_are_row_errors_naming_file_row_and_key(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """A bad Create Position event, a bad S/L modification and a bad closing balance: every
    one is listed; skipped, the first and the last cost their trades, the second does not."""
    path, totals = events_file(tmp_path, trades=10)
    events = read_events(path)
    create = 2
    assert events[create]["event"] == "Create Position"
    modify = next(i for i, e in enumerate(events) if e["event"] == "Position Modified (S/L)")
    spared = {events[create]["positionId"], events[modify]["positionId"]}
    closing = next(
        i for i, e in enumerate(events) if "balance" in e and e["positionId"] not in spared
    )
    del events[create]["time"]
    events[modify]["sl"] = "1,2,3"
    events[closing]["balance"] = "abc"
    write_json(path, events)

    code, out = invoke("ingest", "--events", str(path), "--symbol", "EURUSD")
    assert code == 1
    assert out["detail"] == "Validation failed with 3 row errors; nothing was stored"
    assert [(e["row"], e["column"], e["message"], e["value"]) for e in out["errors"]] == sorted(
        [
            (create + 1, "time", "missing value", None),
            (modify + 1, "sl", "not a number: '1,2,3' (check the decimal mark)", "1,2,3"),
            (closing + 1, "balance", "not a number: 'abc'", "abc"),
        ]
    )
    assert {e["file"] for e in out["errors"]} == {"events.json"}
    assert row_counts(engine)["backtests"] == 0

    code, out = invoke("ingest", "--events", str(path), "--symbol", "EURUSD", "--on-error", "skip")
    assert code == 0, out
    skipped = [w["row"] for w in out["warnings"] if w["message"].startswith("row skipped")]
    assert skipped == sorted([create + 1, modify + 1, closing + 1])
    assert out["backtest"]["total_trades"] == totals.trades - 2
    still_open = [w["value"] for w in out["warnings"] if "still open" in w["message"]]
    assert still_open == ["2"]
    rows = event_rows(engine, out["backtest_id"])
    assert len(rows) == totals.events - 3
    modified = events[modify]["positionId"]
    assert {r.trade_number for r in rows if r.position_id == str(modified)} != {None}


def test_an_events_file_and_a_history_csv_are_one_source_too_many(
    settings: Settings, tmp_path: Path
) -> None:
    path, _ = events_file(tmp_path, trades=3)
    csv = tmp_path / "history.csv"
    csv.write_text("Symbol,Opening Direction,Closing Time,Net\n")
    code, out = invoke("ingest", "--events", str(path), "--csv", str(csv), "--symbol", "EURUSD")
    assert code == 1
    assert out["detail"] == "Give one trade source: the History CSV or events.json, not both"


def test_a_hand_written_file_with_a_stop_of_zero_and_a_take_profit_hit(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """A stop of 0 is none set; the take-profit hit closes the position (by its close
    price and balance, not its name); the first event's equity is the initial balance."""
    common = {"positionId": 7, "orderId": 9, "volume": 1000.0, "quantity": 0.01, "type": "Buy"}
    events = [
        {"serial": 1, "event": "Create Position", "time": 1700000000000, "entryPrice": 1.0851200000000001,
         "sl": 0, "tp": 0.0, "equity": 5000.0, **common},
        {"serial": 2, "event": "Position Modified (T/P)", "time": 1700000060000, "entryPrice": 1.08512,
         "sl": 0, "tp": 1.0871200000000001, "grossProfit": 0.7000000000000001, "equity": 5000.7, **common},
        {"serial": 3, "event": "Take Profit Hit", "time": 1700000120500, "entryPrice": 1.08512,
         "sl": 0, "tp": 1.08712, "closePrice": 1.0871199999999999, "grossProfit": 2.0000000000000004,
         "pips": 19.999999999999996, "balance": 5001.939999999999, "equity": 5001.939999999999, **common},
    ]  # fmt: skip
    path = write_json(tmp_path / "events.json", events)
    code, out = invoke("ingest", "--events", str(path), "--symbol", "EURUSD")
    assert code == 0, out
    assert out["warnings"] == []
    backtest, trades = stored(engine, out["backtest_id"])
    assert backtest.initial_balance == Decimal("5000.00")
    assert [
        (t.profit, t.gross_profit, t.pips, t.entry_price, t.exit_price, t.direction) for t in trades
    ] == [
        (
            Decimal("1.94"),
            Decimal("2.00"),
            Decimal("20"),
            Decimal("1.08512"),
            Decimal("1.08712"),
            "buy",
        )
    ]
    assert (trades[0].open_time.isoformat(), trades[0].close_time.isoformat()) == (
        "2023-11-14T22:13:20+00:00", "2023-11-14T22:15:20.500000+00:00",
    )  # fmt: skip
    rows = event_rows(engine, out["backtest_id"])
    assert [(r.stop_loss, r.take_profit) for r in rows] == [
        (None, None), (None, Decimal("1.08712")), (None, Decimal("1.08712")),
    ]  # fmt: skip
    assert [r.equity for r in rows] == [Decimal("5000.00"), Decimal("5000.70"), Decimal("5001.94")]
    assert (backtest.max_equity_drawdown, backtest.max_equity_drawdown_percent) == (0, 0)


def test_float_noise_is_removed_to_the_shortest_decimal() -> None:
    cases = {
        "1.0851200000000001": "1.08512",
        "1.0709000000000002": "1.0709",
        "2030.1299999999999": "2030.13",
        "65000.12000000005": "65000.12",
        "151.12299999999999": "151.123",
        "-12.299999999999999": "-12.3",
        "0.1": "0.1",
        "0.30000000000000004": "0.3",
    }
    assert {k: denoise(float(k)) for k in cases} == cases
    # Whole numbers are ints (times, serials); money keeps its text until cents.
    assert scalar(1577894738261.0, noisy=True) == 1577894738261
    assert scalar(34829.35999999997) == "34829.35999999997"


def test_events_are_told_by_content() -> None:
    assert looks_like_events(b'\xef\xbb\xbf\n [{"serial": 1}]')
    assert looks_like_events(b'{"serial": 1, "positionId": 2}\n{"serial": 2}')
    assert not looks_like_events(b'{"main": {"symbol": "EURUSD"}}')
    assert not looks_like_events(b"<!doctype html>")
