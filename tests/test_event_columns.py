"""Every stored column of an events.json ingest, on both backends, against an independent
reading of the file (the json module): trade_events rows as written (a bad event dropped,
a text with tabs, a backslash and a newline, a stop of 0, a non-ASCII order id) and the
trades they make, with SUM(profit) equal to the last closing balance minus the initial
balance to the cent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from backtestdb import models
from backtestdb.config import Settings
from tests.event_files import cents, events_file, price, read_events, write_json
from tests.test_events import invoke

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ODD_TEXT = "Position Modified\t(S/L) \\ back\nslash"
EVENT_COLUMNS = (
    "serial", "trade_number", "position_id", "order_id", "event", "time", "direction",
    "volume", "quantity", "entry_price", "close_price", "stop_loss", "take_profit",
    "gross_profit", "pips", "balance", "equity",
)  # fmt: skip
TRADE_COLUMNS = (
    "trade_number", "deal_id", "symbol", "direction", "open_time", "close_time",
    "entry_price", "exit_price", "quantity", "volume", "commission", "swap", "pips",
    "gross_profit", "profit", "balance_after", "drawdown", "drawdown_percent", "label",
    "comment", "extra", "quantity_unit",
)  # fmt: skip


def edited_events(folder: Path) -> tuple[Path, list[dict[str, Any]], int, int]:
    """The file, its events, the 0-based index of the bad event, and the trade count."""
    path, totals = events_file(folder, trades=24)
    events = read_events(path)
    modified = [i for i, e in enumerate(events) if e["event"] == "Position Modified (S/L)"]
    bad, odd = modified[0], modified[1]
    events[bad]["sl"] = "1,2,3"
    events[odd]["event"] = f"  {ODD_TEXT} "
    events[odd]["orderId"] = "ordé-1"
    events[0]["sl"] = 0
    write_json(path, events)
    return path, events, bad, totals.trades


def closing_order(events: list[dict[str, Any]]) -> dict[int, int]:
    """Position id -> its trade number (positions numbered as they close)."""
    closed = [e["positionId"] for e in events if "closePrice" in e and "balance" in e]
    return {position: number for number, position in enumerate(closed, 1)}


def moment(milliseconds: int) -> datetime:
    return EPOCH + timedelta(milliseconds=milliseconds)


def amount(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(Decimal("0.0001"))


def maybe(convert: Any, value: Any) -> Any:
    return None if value is None or value == 0 else convert(value)


def expected_event(event: dict[str, Any], numbers: dict[int, int]) -> tuple[Any, ...]:
    return (
        event["serial"],
        numbers.get(event["positionId"]),
        str(event["positionId"]),
        str(event["orderId"]),
        event["event"].strip(),
        moment(event["time"]),
        event["type"].lower(),
        amount(event["volume"]),
        amount(event["quantity"]),
        price(event["entryPrice"]),
        price(event.get("closePrice")),
        maybe(price, event.get("sl")),
        maybe(price, event.get("tp")),
        maybe(cents, event.get("grossProfit")),
        amount(event.get("pips")),
        maybe(cents, event.get("balance")),
        cents(event["equity"]),
    )


def expected_trades(events: list[dict[str, Any]], initial: Decimal) -> list[tuple[Any, ...]]:
    opened = {e["positionId"]: e for e in events if e["event"] == "Create Position"}
    trades, balance, peak = [], initial, initial
    closing = [e for e in events if "closePrice" in e and "balance" in e]
    for number, last in enumerate(closing, 1):
        first = opened[last["positionId"]]
        after = cents(last["balance"])
        profit, balance, peak = after - balance, after, max(peak, after)
        percent = ((peak - after) * 100 / peak).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        trades.append(
            (
                number, str(last["positionId"]), "EURUSD", first["type"].lower(),
                moment(first["time"]), moment(last["time"]), price(last["entryPrice"]),
                price(last["closePrice"]), amount(last["quantity"]), amount(last["volume"]),
                None, None, amount(last["pips"]), cents(last["grossProfit"]), profit, after,
                peak - after, percent, None, None, None, None,
            )
        )  # fmt: skip
    return trades


def test_every_column_of_events_and_trades_is_stored_as_written(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path, events, bad, count = edited_events(tmp_path)
    code, out = invoke("ingest", "--events", str(path), "--symbol", "EURUSD", "--on-error", "skip")
    assert code == 0, out
    assert [(w["row"], w["column"]) for w in out["warnings"] if w["row"]] == [(bad + 1, "sl")]
    backtest_id = uuid.UUID(out["backtest_id"])
    event_table, trade_table = models.TradeEvent.__table__, models.Trade.__table__
    with engine.connect() as connection:
        stored_events = connection.execute(
            select(*(event_table.c[name] for name in EVENT_COLUMNS))
            .where(event_table.c.backtest_id == backtest_id)
            .order_by(event_table.c.serial)
        ).all()
        stored_trades = connection.execute(
            select(*(trade_table.c[name] for name in TRADE_COLUMNS))
            .where(trade_table.c.backtest_id == backtest_id)
            .order_by(trade_table.c.trade_number)
        ).all()
        total, summed = connection.execute(
            select(func.count(), func.sum(trade_table.c.profit)).where(
                trade_table.c.backtest_id == backtest_id
            )
        ).one()

    numbers = closing_order(events)
    kept = [e for i, e in enumerate(events) if i != bad]
    assert [tuple(row) for row in stored_events] == [expected_event(e, numbers) for e in kept]
    assert ODD_TEXT in {row.event for row in stored_events}
    initial = cents(events[0]["equity"])
    assert [tuple(row) for row in stored_trades] == expected_trades(events, initial)
    last_balance = cents(next(e for e in reversed(events) if "balance" in e)["balance"])
    assert total == count == 24
    assert Decimal(str(summed)).quantize(Decimal("0.01")) == last_balance - initial
