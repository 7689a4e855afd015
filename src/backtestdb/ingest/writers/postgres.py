"""PostgreSQL: trades streamed into `COPY trades FROM STDIN` (text format), in the
ingest's own transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from queue import Queue
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.orm import Session

from backtestdb.ingest.derived import Deriver, Progress, StoredTrades
from backtestdb.ingest.row_pattern import Fields
from backtestdb.ingest.stored_rows import encoded_trades
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing.records import TradeSource

COLUMNS = (
    "backtest_id, trade_number, deal_id, symbol, direction, open_time, close_time, "
    "entry_price, exit_price, quantity, volume, commission, swap, pips, gross_profit, profit, "
    "balance_after, drawdown, drawdown_percent, label, comment, extra, quantity_unit"
)
FLUSH_LINES = 2000
NULL = "\\N"
#: What COPY's text format escapes, backslash first (the columnar encoder uses these too).
ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
SPECIAL = r"[\\\t\n\r]"
_SPECIAL = re.compile(SPECIAL)
_ESCAPES = str.maketrans(ESCAPES)


class BoundedQueuedWriter(QueuedLibpqWriter):
    """psycopg's threaded COPY writer (the socket waits overlap our encoding) with a short
    queue: the stock one holds up to 1024 blocks of 128 KiB when the server falls behind."""

    def __init__(self, cursor: Any, blocks: int = 16) -> None:
        super().__init__(cursor)
        self._queue: Queue[Any] = Queue(maxsize=blocks)  # type: ignore[assignment]


def copy_line(prefix: str, number: int, fields: Fields) -> str:
    """One COPY line: tab-separated, \\N for NULL, times UTC ("+00"). Only the text
    columns can hold a tab or a backslash: numbers and times are checked text."""
    (deal_id, symbol, direction, opened, closed, entry, exit_, quantity, volume, commission,
     swap, pips, gross, profit, balance, drawdown, drawdown_percent, label, comment,
     extra, unit) = fields  # fmt: skip
    return (
        f"{prefix}{number}\t{text(deal_id)}\t{text(symbol)}\t{direction}\t{time(opened)}"
        f"\t{closed}+00\t{entry or NULL}\t{exit_ or NULL}\t{quantity or NULL}\t{volume or NULL}"
        f"\t{commission or NULL}\t{swap or NULL}\t{pips or NULL}\t{gross or NULL}\t{profit}"
        f"\t{balance}\t{drawdown}\t{drawdown_percent}\t{text(label)}\t{text(comment)}"
        f"\t{text(extra)}\t{text(unit)}\n"
    )


def time(utc: str | None) -> str:
    return NULL if utc is None else utc + "+00"


def text(value: str | None) -> str:
    if value is None:
        return NULL
    return value.translate(_ESCAPES) if _SPECIAL.search(value) else value


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
    `portable.insert_trades` (after a strict failure rows are read but not written)."""
    connection: Any = session.connection().connection.driver_connection
    prefix = f"{backtest_id}\t"
    lines: list[str] = []
    sql = f"COPY trades ({COLUMNS}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        cursor.copy(sql, writer=BoundedQueuedWriter(cursor)) as copy,
    ):
        for number, fields in enumerate(encoded_trades(source, validator, deriver), start=1):
            if not keep_going():
                lines.clear()
                continue
            lines.append(copy_line(prefix, number, fields))
            if len(lines) >= FLUSH_LINES:
                copy.write("".join(lines))
                lines.clear()
                if on_progress is not None and number % progress_every < FLUSH_LINES:
                    on_progress(number)
        if lines and keep_going():
            copy.write("".join(lines))
    return deriver.finish()
