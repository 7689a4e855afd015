"""The portable batch writer (SQLite and any other backend): trades inserted with
executemany in batches, in the ingest's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from backtestdb.ingest.derived import Deriver, Progress, StoredTrades
from backtestdb.ingest.stored_rows import encoded_trades
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing.records import TradeSource

# Column order of Fields; backtest_id and trade_number come first.
INSERT = (
    "INSERT INTO trades (backtest_id, trade_number, deal_id, symbol, direction, open_time, "
    "close_time, entry_price, exit_price, quantity, volume, commission, swap, pips, "
    "gross_profit, profit, balance_after, drawdown, drawdown_percent, label, comment, extra, "
    "quantity_unit) VALUES (" + ", ".join(["?"] * 23) + ")"
)


def sqlite_time(utc: str | None) -> str | None:
    """SQLAlchemy keeps SQLite datetimes as text with six fractional digits."""
    if utc is None:
        return None
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
        opened, closed = sqlite_time(fields[3]), sqlite_time(fields[4])
        batch.append((key, number, *fields[:3], opened, closed, *fields[5:]))
        if len(batch) >= batch_size:
            cursor.executemany(INSERT, batch)
            batch.clear()
    if batch and keep_going():
        cursor.executemany(INSERT, batch)
    return deriver.finish()
