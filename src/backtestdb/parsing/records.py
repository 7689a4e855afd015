"""Typed records that flow from the parsers through validation into ingest.

Parsers produce `RawTrade`s (values exactly as written, keyed by canonical field name);
`validation.py` turns them into `Trade`s or `RowError`s. Report-level data (summary,
parameters) is typed by the parsers themselves because it is small and has no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

Scalar = str | int | float | bool | None
Direction = Literal["buy", "sell"]
ValueType = Literal["int", "float", "bool", "string", "null", "json"]

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
REQUIRED_TRADE_FIELDS: tuple[str, ...] = (
    "symbol",
    "direction",
    "open_time",
    "close_time",
    "entry_price",
    "exit_price",
    "profit",
)


@dataclass(slots=True)
class RawTrade:
    """One trade as written in its file. `row` is the 1-based data row (header excluded)."""

    row: int
    fields: dict[str, Scalar]
    extra: dict[str, Scalar] = field(default_factory=dict)


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


@dataclass(slots=True)
class Trade:
    """A validated trade. Money and prices are exact Decimals, times are aware UTC."""

    row: int
    deal_id: str | None
    symbol: str
    direction: Direction
    open_time: datetime
    close_time: datetime
    entry_price: Decimal
    exit_price: Decimal
    quantity: Decimal | None
    volume: Decimal | None
    commission: Decimal
    swap: Decimal
    pips: Decimal | None
    gross_profit: Decimal | None
    profit: Decimal
    balance: Decimal | None
    label: str | None
    comment: str | None
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
