"""Typed records that flow from the parsers through validation into ingest.

Parsers produce `RawTrade`s (values exactly as written, keyed by canonical field name);
`ingest.validation` turns them into `Trade`s or `RowError`s. Report-level data (summary,
parameters) is typed by the parsers themselves because it is small and has no rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain, islice
from typing import Any, Literal

Scalar = str | int | float | bool | None
#: One CSV record: (1-based data row, the line when it is quote-free, else parsed cells).
Record = tuple[int, str | None, list[str] | None]
Direction = Literal["buy", "sell"]
ValueType = Literal["int", "float", "bool", "string", "null", "json"]
#: Cells that mean "no value" in cTrader's exports, besides an empty one.
EMPTY_MARKS: frozenset[str] = frozenset({"\u2014", "\u2013", "-"})

#: Canonical trade fields, in storage order. Every format maps its own names onto these.
TRADE_FIELDS: tuple[str, ...] = (
    "deal_id",
    "symbol",
    "direction",
    "open_time",
    "close_time",
    "entry_price",
    "exit_price",
    "quantity",
    "volume",
    "commission",
    "swap",
    "pips",
    "gross_profit",
    "profit",
    "balance",
    "label",
    "comment",
)
#: What a trade cannot do without; every other field may be missing from a file (cTrader's
#: default History layout has no opening time, no deal id and no fees).
REQUIRED_TRADE_FIELDS: tuple[str, ...] = ("symbol", "direction", "close_time", "profit")


@dataclass(slots=True)
class RawTrade:
    """One trade as written in its file. `row` is the 1-based data row (header excluded)."""

    row: int
    fields: dict[str, Scalar]
    extra: dict[str, Scalar] = field(default_factory=dict)
    #: Why the row cannot be read at all (it has too few or too many cells): one row
    #: error, and the other rows are still checked.
    problem: str | None = None


@dataclass(slots=True)
class TradeSource:
    """A lazily read stream of trades from one file, with what is needed to interpret them.

    `columns` maps each canonical field found to the column/key name as written in the
    file, so errors can name the user's column. Naive times in a column are at
    `utc_offsets[field]` (default UTC); `decimal_comma` says numbers use `,` as the
    decimal mark.
    """

    file: str
    rows: Iterator[RawTrade]
    columns: dict[str, str]
    utc_offsets: dict[str, timedelta] = field(default_factory=dict)
    decimal_comma: bool = False
    #: CSV only: the same rows as records `(row, line, cells)` for the COPY fast path, which
    #: reads them without building RawTrades. `line` is the record's text when it is one
    #: line without quotes (then `cells` is None: split it), else None with parsed cells.
    #: A consumer reads `rows` or `records`, not both.
    records: Iterator[Record] | None = None
    separator: str = ","
    #: CSV only: header cells, canonical field -> cell index, (name, index) of unknown columns.
    header: list[str] = field(default_factory=list)
    indexes: dict[str, int] = field(default_factory=dict)
    extra_columns: list[tuple[str, int]] = field(default_factory=list)
    #: The title of the statement section the trades come from ("Deals"), if any.
    section: str | None = None
    #: The most text a row's unknown columns may hold (they are stored as JSON per row).
    max_extra_chars: int = 16 << 10
    #: JSON only: the same rows as the decoded items (objects), for the columnar path,
    #: with each key's canonical field (None: an unknown key, kept in `extra`). A
    #: consumer reads `rows` or `items`, not both.
    items: Iterator[dict[str, Any]] | None = None
    item_fields: dict[str, str | None] = field(default_factory=dict)
    #: Streamed JSON only: the items' cells as the first pass read them (`json_spool`),
    #: which the columnar path reads instead of the items.
    item_spool: Any = None

    def use_records(self, records: Iterator[Record]) -> None:
        self.records = records
        self.rows = (self.raw(row, self.cells(line, cells)) for row, line, cells in records)

    def cells(self, line: str | None, cells: list[str] | None) -> list[str]:
        return cells if cells is not None else (line or "").split(self.separator)

    def raw(self, row: int, cells: list[str]) -> RawTrade:
        """The RawTrade of one CSV row's cells (stripped; empty cells and "—" become None)."""
        if len(cells) != len(self.header):
            return RawTrade(row, {}, problem=_width_problem(len(cells), len(self.header)))
        values: list[Scalar] = [_cell_value(cell) for cell in cells]
        extra = {name: values[index] for name, index in self.extra_columns}
        if extra and (size := _text_size(extra)) > self.max_extra_chars:
            return RawTrade(row, {}, problem=_extra_problem(size, self.max_extra_chars))
        return RawTrade(
            row=row,
            fields={name: values[index] for name, index in self.indexes.items()},
            extra=extra,
        )

    def use_items(self, items: Iterator[dict[str, Any]]) -> None:
        self.items = items
        self.rows = (self.item_raw(row, item) for row, item in enumerate(items, start=1))

    def item_raw(self, row: int, item: dict[str, Any]) -> RawTrade:
        return item_raw(row, item, self.item_fields)

    def peek_rows(self, count: int) -> list[RawTrade]:
        """The first `count` rows, leaving the source to be read from the start."""
        if self.records is not None:
            first_records = list(islice(self.records, count))
            self.use_records(chain(first_records, self.records))
            return [self.raw(row, self.cells(line, cells)) for row, line, cells in first_records]
        if self.items is not None:
            first_items = list(islice(self.items, count))
            self.use_items(chain(first_items, self.items))
            return [self.item_raw(row, item) for row, item in enumerate(first_items, start=1)]
        first = list(islice(self.rows, count))
        self.rows = chain(first, self.rows)
        return first


def item_raw(row: int, item: dict[str, Any], item_fields: dict[str, str | None]) -> RawTrade:
    """The RawTrade of one report item: each key's canonical field (the first key of a
    field wins), the others in `extra`; objects and arrays as JSON text."""
    fields: dict[str, Scalar] = {}
    extra: dict[str, Scalar] = {}
    for key, value in item.items():
        canonical = item_fields[key]
        scalar = scalar_of(value)
        if canonical is None or canonical in fields:
            extra[key] = scalar
        else:
            fields[canonical] = scalar
    return RawTrade(row=row, fields=fields, extra=extra)


def scalar_of(value: Any) -> Scalar:
    """A decoded JSON value as a RawTrade holds it: objects and arrays as JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False)


def _cell_value(cell: str) -> str | None:
    text = cell.strip()
    return None if not text or text in EMPTY_MARKS else text


def _text_size(extra: dict[str, Scalar]) -> int:
    return sum(len(name) + len(str(value or "")) for name, value in extra.items())


def _extra_problem(size: int, limit: int) -> str:
    return (
        f"the columns backtestdb does not know hold {size:,} characters in this row; at most "
        f"{limit:,} are kept per row (MAX_CSV_EXTRA_BYTES): export fewer columns"
    )


def _width_problem(cells: int, width: int) -> str:
    hint = " (a truncated line?)" if cells < width else " (an unquoted separator in a cell?)"
    return f"row has {cells} cells but the header has {width}{hint}"


@dataclass(slots=True)
class Trade:
    """A validated trade. Money and prices are exact Decimals, times are aware UTC."""

    row: int
    deal_id: str | None
    symbol: str
    direction: Direction
    open_time: datetime | None
    close_time: datetime
    entry_price: Decimal | None
    exit_price: Decimal | None
    quantity: Decimal | None
    volume: Decimal | None
    commission: Decimal | None
    swap: Decimal | None
    pips: Decimal | None
    gross_profit: Decimal | None
    profit: Decimal
    balance: Decimal | None
    label: str | None
    comment: str | None
    #: The unit written beside the quantity ("13.8 Lots" -> "Lots"), if any.
    quantity_unit: str | None = None
    extra: dict[str, Scalar] = field(default_factory=dict)


@dataclass(slots=True)
class Parameter:
    """One strategy parameter; `value` is text, `value_type` says how to read it back."""

    name: str
    value: str | None
    value_type: ValueType
    group: str | None = None
    display_name: str | None = None


@dataclass(slots=True)
class ReportSummary:
    """What the platform reported about the whole run. Every figure is optional."""

    symbol: str | None = None
    symbols: list[str] = field(default_factory=list)
    period: str | None = None
    starting_capital: Decimal | None = None
    ending_balance: Decimal | None = None
    ending_equity: Decimal | None = None
    net_profit: Decimal | None = None
    total_trades: int | None = None
    winning_trades: int | None = None
    losing_trades: int | None = None
    profit_factor: Decimal | None = None
    testing_start: datetime | None = None
    testing_end: datetime | None = None
    max_balance_drawdown: Decimal | None = None
    max_balance_drawdown_percent: Decimal | None = None
    max_equity_drawdown: Decimal | None = None
    max_equity_drawdown_percent: Decimal | None = None
    commissions: Decimal | None = None
    swaps: Decimal | None = None
    #: The platform's statistics verbatim (main, tradeStatistics, equity without the
    #: per-trade points) plus any top-level keys we do not know yet.
    reported: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Report:
    """A parsed cTrader report (JSON or HTML). `trades` streams `history.items`."""

    file: str
    summary: ReportSummary
    parameters: list[Parameter]
    trades: TradeSource
