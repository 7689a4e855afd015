"""Exports, streamed: trades as CSV or Parquet, and the backtest list as CSV.

The generators run after the request (or command) that started them has returned, and a
client may read them slowly, stop half-way or vanish. So they hold no session while they
wait: each batch of rows is read in its own short transaction (trades by keyset on the
trade number, backtests by a list of ids read first) and the connection goes back to the
pool before the batch is handed on. Memory stays flat whatever the size (one batch), and a
generator dropped anywhere leaves nothing open, whether or not it is ever closed.

CSV text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or
a carriage return) get a leading single quote; plain numbers are left alone, so a
negative profit stays a number.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.analytics.store import STREAM_BATCH
from backtestdb.backtests import (
    METRIC_COLUMNS,
    BacktestQuery,
    conditions,
    require_backtest,
    sort_order,
)
from backtestdb.models import Backtest, Trade

TRADE_COLUMNS: tuple[str, ...] = (
    "trade_number", "deal_id", "symbol", "direction", "open_time", "close_time",
    "entry_price", "exit_price", "quantity", "quantity_unit", "volume", "commission", "swap",
    "pips", "gross_profit", "profit", "balance_after", "drawdown", "drawdown_percent",
    "label", "comment",
)  # fmt: skip
BACKTEST_COLUMNS: tuple[str, ...] = (
    "id", "name", "symbol", "period", "testing_start", "testing_end",
    *METRIC_COLUMNS, "created_at",
)  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Trades per batch of a CSV export: read and written in some 20 ms, so a batch holds its
#: connection briefly and little waits in memory for a slow client. Parquet batches are
#: its row groups (STREAM_BATCH).
CSV_BATCH = 2000
#: Backtests read per batch of the list export (their ids go into one IN list).
ID_BATCH = 1000


@cache
def trade_schema() -> Any:
    """The Parquet schema of exported trades. pyarrow is imported here, on first use: it
    costs a quarter of a second and 30 MB, which every other command would pay."""
    import pyarrow as pa

    money, price, amount = pa.decimal128(18, 2), pa.decimal128(20, 8), pa.decimal128(20, 4)
    time = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("trade_number", pa.int32()), ("deal_id", pa.string()), ("symbol", pa.string()),
            ("direction", pa.string()), ("open_time", time), ("close_time", time),
            ("entry_price", price), ("exit_price", price), ("quantity", amount),
            ("quantity_unit", pa.string()),
            ("volume", amount), ("commission", money), ("swap", money), ("pips", amount),
            ("gross_profit", money), ("profit", money), ("balance_after", money),
            ("drawdown", money), ("drawdown_percent", pa.decimal128(9, 4)),
            ("label", pa.string()), ("comment", pa.string()),
        ]
    )  # fmt: skip


def safe_cell(value: Any) -> str:
    """One CSV cell: text that could start a formula is quoted with a leading '."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | int | float):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(header: Iterable[str], batches: Iterable[Iterable[Iterable[Any]]]) -> Iterator[str]:
    """The CSV text of each batch, the header in front of the first one (so the first
    chunk costs the first read: its errors come before a response starts)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for rows in batches:
        writer.writerows([safe_cell(value) for value in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()  # no batch at all: the header alone


def trade_batches(
    factory: sessionmaker[Session], backtest_id: uuid.UUID, size: int = STREAM_BATCH
) -> Iterator[Sequence[Row[Any]]]:
    """The trades in file order, `size` at a time, each batch read in a transaction of
    its own (the connection is back in the pool before the batch is yielded). At least
    one batch, empty for a backtest without trades. NotFound when the backtest does not
    exist, or was deleted part-way: an export stops with an error, never ends short."""
    columns = [getattr(Trade, name) for name in TRADE_COLUMNS]
    after = 0
    while True:
        page = (
            select(*columns)
            .where(Trade.backtest_id == backtest_id, Trade.trade_number > after)
            .order_by(Trade.trade_number)
            .limit(size)
        )
        with factory() as session:
            rows = session.execute(page).all()
            if len(rows) < size:
                require_backtest(session, backtest_id)
        yield rows
        if len(rows) < size:
            return
        after = rows[-1].trade_number


def trades_csv(factory: sessionmaker[Session], backtest_id: uuid.UUID) -> Iterator[str]:
    """The trades in file order, as CSV text, one chunk per batch."""
    return csv_text(TRADE_COLUMNS, trade_batches(factory, backtest_id, CSV_BATCH))


class _Chunks(io.RawIOBase):
    """A write-only stream that hands its bytes out as they come; Parquet asks `tell`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def trades_parquet(
    factory: sessionmaker[Session], backtest_id: uuid.UUID, row_group: int = STREAM_BATCH
) -> Iterator[bytes]:
    """The trades in file order as one Parquet file, one row group per `row_group` trades."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = trade_schema()
    sink = _Chunks()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    for batch in trade_batches(factory, backtest_id, row_group):
        if batch:
            columns = list(zip(*batch, strict=True))
            arrays = [
                pa.array(values, type=schema.field(i).type) for i, values in enumerate(columns)
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=schema))
        yield sink.drain()
    writer.close()
    yield sink.drain()


def backtests_csv(factory: sessionmaker[Session], query: BacktestQuery) -> Iterator[str]:
    """Every backtest matching `query` (the list's filters and sort) with its metrics.
    A bad filter raises here, before the first byte is sent."""
    matching = select(Backtest.id).where(*conditions(query)).order_by(*sort_order(query.sort))
    return csv_text(BACKTEST_COLUMNS, backtest_batches(factory, matching))


def backtest_batches(
    factory: sessionmaker[Session], matching: Any, size: int = ID_BATCH
) -> Iterator[list[Row[Any]]]:
    """The matching backtests in the list's order, `size` at a time. Their ids are read
    first, in one statement (one id a backtest in memory), so no sort needs a keyset;
    each batch is a transaction of its own, and one deleted meanwhile is left out."""
    with factory() as session:
        ids = list(session.scalars(matching))
    columns = [getattr(Backtest, name) for name in BACKTEST_COLUMNS]
    for start in range(0, max(len(ids), 1), size):
        wanted = ids[start : start + size]
        with factory() as session:
            found = {
                row.id: row
                for row in session.execute(select(*columns).where(Backtest.id.in_(wanted)))
            }
        yield [found[key] for key in wanted if key in found]
