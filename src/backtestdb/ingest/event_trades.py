"""The trades built from an events.json, in blocks for the columnar path (`ingest.events`
builds them, one RawTrade per closed position).

A block's cells are the RawTrades' own values, but for the times: a trade's RawTrade
writes them as ISO text (what its errors show), its cells as the epoch milliseconds the
columnar path reads, when the time has no finer part (else the ISO text, which the
columnar path does not read: the validator then does). Either way the validator stays
the one definition of valid: a row the cells do not take goes to it as its RawTrade.

Blocks are checked after their events were read, so the events' errors are held while a
block is read (`EventChecker.held`) and put among its trades' errors once it is checked
(`merge_held`): the list stays in file order, and keeps the first `max_errors` of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

import pyarrow as pa

from backtestdb.errors import RowError
from backtestdb.ingest.columnar.cells import Plan
from backtestdb.ingest.columnar.items import ItemBlock, cells_table
from backtestdb.ingest.event_rows import ErrorSink, Event
from backtestdb.parsing.json_cells import shaped_cells
from backtestdb.parsing.records import RawTrade, Scalar
from backtestdb.parsing.values import EPOCH

#: Trade field -> the event field it comes from (the key named in a trade's errors).
TRADE_KEYS: Final = {
    "deal_id": "position_id",
    "direction": "direction",
    "open_time": "time",
    "close_time": "time",
    "entry_price": "entry_price",
    "exit_price": "close_price",
    "quantity": "quantity",
    "volume": "volume",
    "pips": "pips",
    "gross_profit": "gross_profit",
    "profit": "balance",
    "balance": "balance",
}
#: Trade fields every trade has (a closing event carries these); the others count as
#: columns of the file only when its first event has them.
ALWAYS: Final = frozenset(
    {"deal_id", "direction", "open_time", "close_time", "exit_price", "profit", "balance"}
)
#: The trade fields an events trade has (no fees: the file does not give them apart).
FIELDS: Final = (*TRADE_KEYS, "symbol")
_MS: Final = timedelta(milliseconds=1)

#: (open, close) time cells of a trade.
TimeCells = tuple[Scalar, Scalar]


def time_cell(moment: datetime) -> Scalar:
    """A checked event time as a cell: epoch milliseconds, or ISO text when it has a finer
    part (the columnar path leaves that to the validator)."""
    since = moment - EPOCH
    if since.microseconds % 1000:
        return moment.isoformat()
    return since // _MS


def trade_block(trades: list[RawTrade], times: list[TimeCells], plan: Plan) -> ItemBlock:
    """One block of trades (rows: their closing events' rows) as `plan`'s cells."""
    header = plan.source.header
    columns = []
    for name in header:
        if name == "open_time":
            columns.append([opened for opened, _ in times])
        elif name == "close_time":
            columns.append([closed for _, closed in times])
        else:
            columns.append([trade.fields.get(name) for trade in trades])
    cells = shaped_cells(columns, header, {name: name for name in header}, len(trades))

    def raw(index: int, row: int) -> RawTrade:
        return trades[index]

    rows = pa.array([trade.row for trade in trades], pa.int64())
    table = cells_table(cells.fields, plan, cells.rows)
    return ItemBlock(trades[0].row, table, cells.odd, cells.extra, raw, rows)


def merge_held(sink: ErrorSink, mark: int, held: list[RowError]) -> None:
    """Put the errors held while a block was read among those its trades gave (the sink's
    from `mark` on), in row order, keeping the first `max_errors` of all of them."""
    if not held:
        return
    merged = sorted([*sink.errors[mark:], *held], key=lambda error: error.row or 0)
    del sink.errors[mark:]
    sink.errors.extend(merged[: max(0, sink.max_errors - mark)])
    held.clear()


def position_trade(opened: Event, closing: Event, net: Decimal, symbol: str) -> RawTrade:
    """The trade of a position from its first and closing events: the closing event's
    values, else the first's; `net` is the change of balance it made."""
    first, last = opened.values, closing.values

    def either(name: str) -> Scalar:
        return _text(last[name] if last[name] is not None else first[name])

    fields: dict[str, Scalar] = {
        "deal_id": closing.position,
        "symbol": symbol,
        "direction": either("direction"),
        "open_time": first["time"].isoformat(),
        "close_time": last["time"].isoformat(),
        "entry_price": either("entry_price"),
        "exit_price": str(last["close_price"]),
        "quantity": either("quantity"),
        "volume": either("volume"),
        "pips": _text(last["pips"]),
        "gross_profit": _text(last["gross_profit"]),
        "profit": str(net),
        "balance": str(last["balance"]),
    }
    return RawTrade(closing.row, fields)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
