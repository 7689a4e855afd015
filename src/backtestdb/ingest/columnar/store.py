"""Trades stored through the columnar path: blocks (of a History CSV, or of a report's
items) -> checked columns -> derived columns -> one COPY (PostgreSQL) or executemany
batches (SQLite), in the ingest's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from backtestdb.ingest import columnar
from backtestdb.ingest.columnar import encode
from backtestdb.ingest.columnar.blocks import Block, BlockReader, data_start
from backtestdb.ingest.columnar.carry import derive
from backtestdb.ingest.columnar.cells import Plan
from backtestdb.ingest.columnar.items import ItemBlock, item_blocks, item_plan, valid_items
from backtestdb.ingest.columnar.rows import valid_trades
from backtestdb.ingest.derived import Deriver, Progress, StoredTrades
from backtestdb.ingest.stored_rows import encoded_trades
from backtestdb.ingest.validation import TradeValidator
from backtestdb.ingest.writers.portable import INSERT
from backtestdb.ingest.writers.postgres import COLUMNS, BoundedQueuedWriter
from backtestdb.parsing.csv_text import CsvLimits
from backtestdb.parsing.records import TradeSource

#: Rows of a tail (read by the row path) encoded per table.
TAIL_ROWS = 20_000


def reads(source: TradeSource, path: Path | None) -> int | None:
    """Where the data rows of `path` start, when the columnar path reads this source."""
    if columnar.ROW_PATH_ONLY or path is None or source.records is None or not source.header:
        return None
    with path.open("rb") as stream:
        return data_start(stream, source)


def reads_items(source: TradeSource) -> bool:
    """Whether the columnar path reads this source's trades: a report's items."""
    return not columnar.ROW_PATH_ONLY and source.items is not None


def csv_texts(
    path: Path, start: int, source: TradeSource, validator: TradeValidator, deriver: Deriver,
    limits: CsvLimits,
) -> Iterator[pa.Table]:  # fmt: skip
    """The stored text of every valid trade of a History CSV, a table per block, in order."""
    plan = Plan.of(source)
    with path.open("rb") as stream:
        stream.seek(start)
        for part in BlockReader(stream, source, limits).blocks():
            if isinstance(part, Block):
                trades = valid_trades(part.table, part.first_row, plan, validator)
                texts = encode.stored_texts(trades, derive(trades, deriver))
                del part, trades  # peak memory: neither is kept while the texts are written
                yield texts
                del texts  # nor the texts while the next block is read
                continue
            source.use_records(part.records)
            fields = encoded_trades(source, validator, deriver)
            while batch := list(islice(fields, TAIL_ROWS)):
                yield encode.fields_texts(batch)


def item_texts(
    source: TradeSource, validator: TradeValidator, deriver: Deriver
) -> Iterator[pa.Table]:
    """The stored text of every valid trade of a report's items, a table per block."""
    plan = item_plan(source)
    return block_texts(item_blocks(source, plan), plan, validator, deriver)


def block_texts(
    blocks: Iterable[ItemBlock], plan: Plan, validator: TradeValidator, deriver: Deriver,
    checked: Callable[[pa.Array], None] | None = None,
) -> Iterator[pa.Table]:  # fmt: skip
    """The stored text of every valid trade of the blocks, a table per block; `checked`
    is told each block's valid rows (their numbers in the file) before it is stored."""
    for block in blocks:
        trades = valid_items(block, plan, validator)
        if checked is not None:
            checked(trades.column("row").combine_chunks())
        texts = encode.stored_texts(trades, derive(trades, deriver))
        del block, trades
        yield texts
        del texts


def store_trades(
    session: Session, backtest_id: uuid.UUID, blocks: Iterator[pa.Table], deriver: Deriver,
    *, keep_going: Callable[[], bool], on_progress: Progress | None,
    progress_every: int = 50_000,
) -> StoredTrades:  # fmt: skip
    """Store every valid trade (after a strict failure, blocks are read but not written)."""
    connection: Any = session.connection().connection.driver_connection
    write = _postgres if session.get_bind().dialect.name == "postgresql" else _portable
    write(connection, backtest_id, blocks, keep_going, _reporter(on_progress, progress_every))
    return deriver.finish()


def _reporter(on_progress: Progress | None, every: int) -> Callable[[int, int], None]:
    def report(before: int, after: int) -> None:
        if on_progress is not None and after // every > before // every:
            on_progress(after)

    return report


def _postgres(
    connection: Any, backtest_id: uuid.UUID, blocks: Iterator[pa.Table],
    keep_going: Callable[[], bool], report: Callable[[int, int], None],
) -> None:  # fmt: skip
    number, key = 1, str(backtest_id)
    sql = f"COPY trades ({COLUMNS}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        cursor.copy(sql, writer=BoundedQueuedWriter(cursor)) as copy,
    ):
        for texts in blocks:
            if texts.num_rows and keep_going():
                copy.write(encode.copy_text(texts, key, number))
            report(number - 1, number - 1 + texts.num_rows)
            number += texts.num_rows
            del texts  # not kept while the next block is read (peak memory)


def _portable(
    connection: Any, backtest_id: uuid.UUID, blocks: Iterator[pa.Table],
    keep_going: Callable[[], bool], report: Callable[[int, int], None],
) -> None:  # fmt: skip
    """SQLite inserts on a thread of their own, one block at a time, while this one reads
    and checks the next: sqlite3 lets go of the GIL while it steps, Arrow while it
    computes, so on two cores the two overlap as the server and the client do on
    PostgreSQL. The connection is only ever used by one thread at a time."""
    number, key = 1, backtest_id.hex  # how SQLAlchemy's Uuid type stores ids on SQLite
    cursor = connection.cursor()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-insert") as writer:
        pending: Future[Any] | None = None
        for texts in blocks:
            if texts.num_rows and keep_going():
                rows = encode.sqlite_rows(texts, key, number)
                if pending is not None:
                    pending.result()  # one block in flight: memory stays bounded
                pending = writer.submit(cursor.executemany, INSERT, rows)
            report(number - 1, number - 1 + texts.num_rows)
            number += texts.num_rows
        if pending is not None:
            pending.result()
