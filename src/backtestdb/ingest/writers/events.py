"""trade_events rows as PostgreSQL COPY text, spooled by `ingest.events`, then stored in
the ingest's own transaction: `COPY trade_events FROM STDIN` on PostgreSQL, executemany of
the same values, typed as SQLAlchemy binds them, elsewhere.

A spooled line is `trade_number<TAB>body<LF>`: `event_line` writes the body when the event
is checked (its values are final then), the trade number is known when its position
closes, and the backtest id is appended when the lines are stored.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, Final

from sqlalchemy.orm import Session

from backtestdb.ingest.writers.postgres import ESCAPES, NULL, text

#: The order of a line's columns.
COLUMNS: Final = (
    "trade_number", "serial", "position_id", "order_id", "event", "time", "direction",
    "volume", "quantity", "entry_price", "close_price", "stop_loss", "take_profit",
    "gross_profit", "pips", "balance", "equity", "backtest_id",
)  # fmt: skip
_COPY: Final = f"COPY trade_events ({', '.join(COLUMNS)}) FROM STDIN"
_INSERT: Final = (
    f"INSERT INTO trade_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
#: Bytes of spool sent to COPY at a time.
BLOCK: Final = 1 << 20
_NULL_BYTES: Final = NULL.encode()
_UNESCAPE: Final = re.compile(r"\\(.)")
#: The letter after a backslash -> the character `postgres.text` escaped.
_UNESCAPED: Final = {escape[1]: raw for raw, escape in ESCAPES.items()}


def event_line(values: dict[str, Any]) -> str:
    """The COPY text of an event's columns from serial to equity (see the module
    docstring). Times are aware UTC; Decimals are written as psycopg binds them (str)."""
    v = values
    moment: datetime = v["time"]
    return (
        f"{v['serial']}\t{text(v['position_id'])}\t{text(v['order_id'])}\t{text(v['event'])}"
        f"\t{moment.isoformat(' ', 'microseconds')}\t{v['direction'] or NULL}"
        f"\t{_number(v['volume'])}\t{_number(v['quantity'])}\t{_number(v['entry_price'])}"
        f"\t{_number(v['close_price'])}\t{_number(v['stop_loss'])}"
        f"\t{_number(v['take_profit'])}\t{_number(v['gross_profit'])}\t{_number(v['pips'])}"
        f"\t{_number(v['balance'])}\t{_number(v['equity'])}"
    )


def _number(value: Decimal | None) -> str:
    return NULL if value is None else str(value)


def numbered(number: int | None, body: str) -> str:
    """A spool line: the trade number (NULL: no trade) and the body."""
    return f"{NULL if number is None else number}\t{body}\n"


def copy_events(session: Session, backtest_id: uuid.UUID, spool: IO[bytes]) -> None:
    """COPY the spooled lines (read from the spool's start) with the backtest id."""
    connection: Any = session.connection().connection.driver_connection
    end = f"\t{backtest_id}\n".encode()
    with connection.cursor() as cursor, cursor.copy(_COPY) as copy:
        for block in _blocks(spool):
            copy.write(block.replace(b"\n", end))


def _blocks(spool: IO[bytes]) -> Iterator[bytes]:
    """The spool from its start in blocks of whole lines."""
    spool.seek(0)
    rest = b""
    while block := spool.read(BLOCK):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]
    if rest:  # a wiring bug: every spooled line ends with a newline
        raise RuntimeError("the events spool ends inside a line")


def insert_events(
    session: Session, backtest_id: uuid.UUID, spool: IO[bytes], batch_size: int
) -> None:
    """Insert the spooled lines with executemany in batches, each value as SQLAlchemy binds
    it on SQLite (the Uuid as hex, times as naive UTC text, numerics as floats)."""
    connection: Any = session.connection().connection.driver_connection
    cursor = connection.cursor()
    key = backtest_id.hex
    batch: list[tuple[Any, ...]] = []
    spool.seek(0)
    for line in spool:
        batch.append(_sqlite_row(line, key))
        if len(batch) >= batch_size:
            cursor.executemany(_INSERT, batch)
            batch.clear()
    if batch:
        cursor.executemany(_INSERT, batch)


def _sqlite_row(line: bytes, key: str) -> tuple[Any, ...]:
    cells = line.rstrip(b"\n").split(b"\t")
    number, serial, position, order, event, moment, direction, *numbers = cells
    return (
        None if number == _NULL_BYTES else int(number),
        int(serial),
        _text(position),
        _text(order),
        _text(event),
        moment[:26].decode(),  # "YYYY-MM-DD HH:MM:SS.ffffff" without "+00:00"
        None if direction == _NULL_BYTES else direction.decode(),
        *[None if cell == _NULL_BYTES else float(cell) for cell in numbers],
        key,
    )


def _text(cell: bytes) -> str | None:
    """A COPY text cell back to its text (the escapes of `postgres.text` undone)."""
    if cell == _NULL_BYTES:
        return None
    found = cell.decode()
    return _UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], found) if "\\" in found else found
