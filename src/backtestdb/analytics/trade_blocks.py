"""A backtest's stored trades read back in close-time order as Arrow blocks of
`block_figures.BLOCK_COLUMNS`, for the metric set of a file that was not in that order.

The database does the arithmetic (money in cents, times in microseconds), so no row
becomes Decimals and datetimes: on PostgreSQL the rows come as one `COPY ... TO STDOUT`
read by pyarrow's CSV reader; elsewhere as plain rows fetched in batches.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import BigInteger, String, cast, func, select, type_coerce
from sqlalchemy.orm import Session

from backtestdb.analytics.block_figures import BLOCK_COLUMNS
from backtestdb.models import Trade

#: Trades per block read from SQLite; bytes per block read from PostgreSQL's COPY (Arrow
#: peaks at several times a block: 4 MiB blocks put an entry-ordered 1M-trade ingest's
#: peak RSS at ~270 MB, 1 MiB at ~225 MB, for no more time).
BATCH_ROWS = 50_000
BLOCK_BYTES = 1 << 20
_POSTGRES = """
COPY (
    SELECT (extract(epoch FROM close_time) * 1000000)::bigint,
           (extract(epoch FROM open_time) * 1000000)::bigint,
           round(profit * 100)::bigint,
           round(coalesce(commission, 0) * 100)::bigint,
           round(coalesce(swap, 0) * 100)::bigint,
           direction, symbol
    FROM trades WHERE backtest_id = %s ORDER BY close_time, trade_number
) TO STDOUT (FORMAT csv)
"""
_TYPES = {name: pa.string() if name in ("direction", "symbol") else pa.int64()
          for name in BLOCK_COLUMNS}  # fmt: skip


def trade_blocks(session: Session, backtest_id: uuid.UUID) -> Iterator[pa.Table]:
    """The backtest's trades, ordered by close time then trade number, in blocks."""
    if session.get_bind().dialect.name == "postgresql":
        yield from _copied(session, backtest_id)
    else:
        yield from _fetched(session, backtest_id)


class _CopyStream(io.RawIOBase):
    """A COPY TO STDOUT as a readable byte stream."""

    def __init__(self, copy: Any) -> None:
        self.copy, self.rest = copy, memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.rest:
            chunk = self.copy.read()
            if not chunk:
                return 0
            self.rest = memoryview(chunk)
        size = min(len(buffer), len(self.rest))
        buffer[:size], self.rest = self.rest[:size], self.rest[size:]
        return size


def _copied(session: Session, backtest_id: uuid.UUID) -> Iterator[pa.Table]:
    connection: Any = session.connection().connection.driver_connection
    read = pacsv.ReadOptions(
        column_names=list(BLOCK_COLUMNS), block_size=BLOCK_BYTES, use_threads=False
    )
    convert = pacsv.ConvertOptions(column_types=_TYPES, strings_can_be_null=False)
    with connection.cursor() as cursor, cursor.copy(_POSTGRES, (backtest_id,)) as copy:
        stream = io.BufferedReader(_CopyStream(copy), BLOCK_BYTES)
        if not stream.peek(1):
            return  # no trades (pyarrow refuses an empty CSV)
        reader = pacsv.open_csv(stream, read_options=read, convert_options=convert)
        for batch in reader:
            yield pa.Table.from_batches([batch])


def _fetched(session: Session, backtest_id: uuid.UUID) -> Iterator[pa.Table]:
    def cents(column: Any) -> Any:
        return cast(func.round(func.coalesce(column, 0) * 100), BigInteger)

    query = (
        select(
            type_coerce(Trade.close_time, String), type_coerce(Trade.open_time, String),
            cents(Trade.profit), cents(Trade.commission), cents(Trade.swap),
            Trade.direction, Trade.symbol,
        )
        .where(Trade.backtest_id == backtest_id)
        .order_by(Trade.close_time, Trade.trade_number)
        .execution_options(yield_per=BATCH_ROWS)
    )  # fmt: skip
    for rows in session.execute(query).partitions():
        columns = list(zip(*rows, strict=True))
        times = [_micros(values) for values in columns[:2]]
        money = [pa.array(values, pa.int64()) for values in columns[2:5]]
        texts = [pa.array(values, pa.string()) for values in columns[5:]]
        yield pa.table([*times, *money, *texts], names=list(BLOCK_COLUMNS))


def _micros(texts: tuple[Any, ...]) -> Any:
    """SQLite's stored "yyyy-mm-dd hh:mm:ss.ffffff" (UTC) as microseconds."""
    return pc.cast(pc.cast(pa.array(texts, pa.string()), pa.timestamp("us")), pa.int64())
