"""A block's stored columns as text: the CSV that PostgreSQL's COPY reads (written by
pyarrow, in C++) and the rows SQLite's executemany takes. Both hold exactly the text the
row path writes (`stored_rows.trade_fields`), so both backends store the same values."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from backtestdb.ingest.row_pattern import Fields
from backtestdb.ingest.writers.portable import sqlite_time

#: The stored columns after backtest_id and trade_number, in `writers.postgres.COLUMNS`
#: order (the order of `row_pattern.Fields`).
STORED = (
    *("deal_id", "symbol", "direction", "open_time", "close_time", "entry_price"),
    *("exit_price", "quantity", "volume", "commission", "swap", "pips", "gross_profit"),
    *("profit", "balance_after", "drawdown", "drawdown_percent", "label", "comment"),
    *("extra", "quantity_unit"),
)
_WRITE = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def time_texts(micros: Any) -> Any:
    """UTC times as SQLAlchemy writes them on SQLite: six fractional digits."""
    return pc.strftime(pc.cast(micros, pa.timestamp("us")), format="%Y-%m-%d %H:%M:%S")


def stored_texts(trades: pa.Table, derived: tuple[Any, Any, Any]) -> pa.Table:
    """The block's stored columns (`STORED`) as text, times in the SQLite form."""
    balance, drawdown, percent = derived
    columns = {
        "open_time": time_texts(trades.column("open_us")),
        "close_time": time_texts(trades.column("close_us")),
        "balance_after": balance,
        "drawdown": drawdown,
        "drawdown_percent": percent,
    }
    return pa.table(
        [columns[name] if name in columns else trades.column(name) for name in STORED],
        names=list(STORED),
    )


def fields_texts(rows: list[Fields]) -> pa.Table:
    """Rows of the row path (`stored_rows.encoded_trades`) as the same table."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(STORED)
    arrays = [pa.array(list(column), pa.string()) for column in columns]
    for index in (3, 4):  # open_time, close_time
        arrays[index] = pa.array([sqlite_time(t) for t in columns[index]], pa.string())
    return pa.table(arrays, names=list(STORED))


def copy_csv(texts: pa.Table, backtest_id: str, first_number: int) -> bytes:
    """The rows as `COPY trades FROM STDIN (FORMAT csv)` input: NULL unquoted and empty,
    every text quoted, times with their zone."""
    n = texts.num_rows
    zoned = {
        name: pc.binary_join_element_wise(texts.column(name), "+00", "")
        for name in ("open_time", "close_time")
    }
    table = pa.table(
        [
            pa.array([backtest_id] * n, pa.string()),
            pa.array(range(first_number, first_number + n), pa.int64()),
            *(zoned.get(name, texts.column(name)) for name in STORED),
        ],
        names=["backtest_id", "trade_number", *STORED],
    )
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, _WRITE)
    return sink.getvalue()


def sqlite_rows(texts: pa.Table, key: str, first_number: int) -> list[tuple[object, ...]]:
    """The rows as `writers.portable.INSERT` parameters."""
    n = texts.num_rows
    columns = [column.to_pylist() for column in texts.columns]
    return list(zip([key] * n, range(first_number, first_number + n), *columns, strict=True))
