"""PostgreSQL: trades streamed into `COPY trades FROM STDIN` (text format), in the
ingest's own transaction. History CSV rows go through `fastpath` where they can."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from queue import Queue
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.orm import Session

from backtestdb.bulk import Deriver, Progress, StoredTrades, utc_text
from backtestdb.fastpath import NULL, CsvFastPath, escape
from backtestdb.metrics import money_text
from backtestdb.parsing.records import Trade, TradeSource
from backtestdb.validation import TradeValidator

COLUMNS = (
    "backtest_id, trade_number, deal_id, symbol, direction, open_time, close_time, "
    "entry_price, exit_price, quantity, volume, commission, swap, pips, gross_profit, profit, "
    "balance_after, drawdown, drawdown_percent, label, comment, extra"
)
FLUSH_LINES = 2000


class BoundedQueuedWriter(QueuedLibpqWriter):
    """psycopg's threaded COPY writer (the socket waits overlap our encoding) with a short
    queue: the stock one holds up to 1024 blocks of 128 KiB when the server falls behind."""

    def __init__(self, cursor: Any, blocks: int = 16) -> None:
        super().__init__(cursor)
        self._queue: Queue[Any] = Queue(maxsize=blocks)  # type: ignore[assignment]


def text_or_null(value: object) -> str:
    return NULL if value is None else escape(str(value))


def trade_line(trade: Trade, deriver: Deriver) -> str:
    """The COPY line after trade_number of a validated trade."""
    balance_after, drawdown, drawdown_percent = deriver.add_trade(trade)
    extra = json.dumps(trade.extra, ensure_ascii=False) if trade.extra else None
    fields = [
        text_or_null(trade.deal_id), escape(trade.symbol), trade.direction,
        utc_text(trade.open_time) + "+00", utc_text(trade.close_time) + "+00",
        str(trade.entry_price), str(trade.exit_price),
        text_or_null(trade.quantity), text_or_null(trade.volume),
        str(trade.commission), str(trade.swap), text_or_null(trade.pips),
        text_or_null(trade.gross_profit), str(trade.profit),
        money_text(balance_after), money_text(drawdown), drawdown_percent,
        text_or_null(trade.label), text_or_null(trade.comment), text_or_null(extra),
    ]  # fmt: skip
    return "\t" + "\t".join(fields) + "\n"


def encoded_trades(
    source: TradeSource, validator: TradeValidator, deriver: Deriver
) -> Iterator[str]:
    """COPY lines (after trade_number) of every valid trade, in file order; bad rows end
    in validator.errors."""
    fast = CsvFastPath(source, validator)
    if source.records is None or not fast.enabled:
        for trade in validator:
            yield trade_line(trade, deriver)
        return
    for row, line, cells in source.records:
        encoded = fast.encode(row, line, cells, deriver)
        if encoded is None:
            checked = validator.validate(source.raw(row, source.cells(line, cells)))
            if checked is None:
                continue
            encoded = trade_line(checked, deriver)
        validator.valid_count += 1
        yield encoded


def copy_trades(
    session: Session,
    backtest_id: uuid.UUID,
    source: TradeSource,
    validator: TradeValidator,
    deriver: Deriver,
    *,
    keep_going: Callable[[], bool],
    on_progress: Progress | None = None,
    progress_every: int = 50_000,
) -> StoredTrades:
    """COPY every valid trade inside the session's transaction; same contract as
    `bulk.store_trades` (after a strict failure rows are read but not written)."""
    connection: Any = session.connection().connection.driver_connection
    prefix = f"{backtest_id}\t"
    lines: list[str] = []
    sql = f"COPY trades ({COLUMNS}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        cursor.copy(sql, writer=BoundedQueuedWriter(cursor)) as copy,
    ):
        for number, encoded in enumerate(encoded_trades(source, validator, deriver), start=1):
            if not keep_going():
                lines.clear()
                continue
            lines.append(f"{prefix}{number}{encoded}")
            if len(lines) >= FLUSH_LINES:
                copy.write("".join(lines))
                lines.clear()
                if on_progress is not None and number % progress_every < FLUSH_LINES:
                    on_progress(number)
        if lines and keep_going():
            copy.write("".join(lines))
    return deriver.finish()
