"""Trades as stored text, and the portable batch writer (SQLite and any other backend).

`encoded_trades` yields every valid trade's columns as text: History CSV rows through
`fastpath` where it accepts them, anything else through `TradeValidator`. Both writers
take these tuples: `pgcopy` streams them into COPY, `insert_trades` below sends them in
batches with executemany, so both backends store the same values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from backtestdb.derive import Deriver, Progress, StoredTrades, utc_text
from backtestdb.fastpath import CsvFastPath, Fields
from backtestdb.metrics import money_text
from backtestdb.parsing.records import Trade, TradeSource
from backtestdb.validation import TradeValidator

# Column order of Fields; backtest_id and trade_number come first.
INSERT = (
    "INSERT INTO trades (backtest_id, trade_number, deal_id, symbol, direction, open_time, "
    "close_time, entry_price, exit_price, quantity, volume, commission, swap, pips, "
    "gross_profit, profit, balance_after, drawdown, drawdown_percent, label, comment, extra) "
    "VALUES (" + ", ".join(["?"] * 22) + ")"
)


def text(value: object) -> str | None:
    return None if value is None else str(value)


def trade_fields(trade: Trade, deriver: Deriver) -> Fields:
    """The stored columns of a validated trade, as text (times in UTC)."""
    balance_after, drawdown, drawdown_percent = deriver.add_trade(trade)
    extra = json.dumps(trade.extra, ensure_ascii=False) if trade.extra else None
    return (
        trade.deal_id, trade.symbol, trade.direction,
        utc_text(trade.open_time), utc_text(trade.close_time),
        str(trade.entry_price), str(trade.exit_price), text(trade.quantity), text(trade.volume),
        str(trade.commission), str(trade.swap), text(trade.pips), text(trade.gross_profit),
        str(trade.profit), money_text(balance_after), money_text(drawdown), drawdown_percent,
        trade.label, trade.comment, extra,
    )  # fmt: skip


def encoded_trades(
    source: TradeSource, validator: TradeValidator, deriver: Deriver
) -> Iterator[Fields]:
    """The columns of every valid trade in file order; bad rows end in validator.errors."""
    fast = CsvFastPath(source, validator)
    if source.records is None or not fast.enabled:
        for trade in validator:
            yield trade_fields(trade, deriver)
        return
    for row, line, cells in source.records:
        fields = fast.encode(row, line, cells, deriver)
        if fields is None:
            checked = validator.validate(source.raw(row, source.cells(line, cells)))
            if checked is None:
                continue
            fields = trade_fields(checked, deriver)
        validator.valid_count += 1
        yield fields


def sqlite_time(utc: str) -> str:
    """SQLAlchemy keeps SQLite datetimes as text with six fractional digits."""
    return utc if len(utc) == 26 else utc + "000"


def insert_trades(
    session: Session,
    backtest_id: uuid.UUID,
    source: TradeSource,
    validator: TradeValidator,
    deriver: Deriver,
    *,
    keep_going: Callable[[], bool],
    batch_size: int,
    on_progress: Progress | None = None,
) -> StoredTrades:
    """Insert every valid trade with executemany in batches, in the session's transaction.

    Values go as text: SQLite's NUMERIC affinity stores numbers as numbers, and the
    formats are the ones SQLAlchemy's own types write. Once `keep_going()` turns false (a
    strict ingest met a bad row) rows are still read, so every error is reported, but no
    longer written."""
    connection: Any = session.connection().connection.driver_connection
    cursor = connection.cursor()
    key = backtest_id.hex  # how SQLAlchemy's Uuid type stores ids on SQLite
    batch: list[tuple[Any, ...]] = []
    for number, fields in enumerate(encoded_trades(source, validator, deriver), start=1):
        if on_progress is not None and number % batch_size == 0:
            on_progress(number)
        if not keep_going():
            batch.clear()
            continue
        opened, closed = sqlite_time(fields[3] or ""), sqlite_time(fields[4] or "")
        batch.append((key, number, *fields[:3], opened, closed, *fields[5:]))
        if len(batch) >= batch_size:
            cursor.executemany(INSERT, batch)
            batch.clear()
    if batch and keep_going():
        cursor.executemany(INSERT, batch)
    return deriver.finish()
