"""Exports, streamed: trades as CSV or Parquet, and the backtest list as CSV.

Each generator opens its own session from the factory, because it runs after the request
(or command) that started it has returned; rows come from the database in batches and
leave in chunks, so memory stays flat whatever the size.

CSV text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or
a carriage return) get a leading single quote; plain numbers are left alone, so a
negative profit stays a number.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.analytics.store import STREAM_BATCH
from backtestdb.backtests import METRIC_COLUMNS, BacktestQuery, conditions, sort_order
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


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for count, row in enumerate(rows, 1):
        writer.writerow([safe_cell(value) for value in row])
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _trade_query(backtest_id: uuid.UUID) -> Any:
    columns = [getattr(Trade, name) for name in TRADE_COLUMNS]
    return (
        select(*columns)
        .where(Trade.backtest_id == backtest_id)
        .order_by(Trade.trade_number)
        .execution_options(yield_per=STREAM_BATCH)
    )


def _csv_stream(
    factory: sessionmaker[Session], statement: Any, header: Iterable[str]
) -> Iterator[str]:
    with factory() as session:
        yield from csv_chunks(header, session.execute(statement))


def trades_csv(factory: sessionmaker[Session], backtest_id: uuid.UUID) -> Iterator[str]:
    """The trades in file order, as CSV text chunks."""
    return _csv_stream(factory, _trade_query(backtest_id), TRADE_COLUMNS)


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
    with factory() as session:
        result = session.execute(_trade_query(backtest_id))
        for batch in result.partitions(row_group):
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
    columns = [getattr(Backtest, name) for name in BACKTEST_COLUMNS]
    statement = (
        select(*columns)
        .where(*conditions(query))
        .order_by(*sort_order(query.sort))
        .execution_options(yield_per=STREAM_BATCH)
    )
    return _csv_stream(factory, statement, BACKTEST_COLUMNS)
