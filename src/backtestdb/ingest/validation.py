"""Turn raw trades into typed `Trade`s, collecting one `RowError` per bad value.

Pure (no I/O, no database), so the same checks serve the CLI, the API and the workers.
The value conversions live in `parsing.values`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final

from backtestdb.errors import RowError
from backtestdb.ingest.deal_ids import DealIds, deal_key
from backtestdb.parsing.records import (
    REQUIRED_TRADE_FIELDS,
    Direction,
    RawTrade,
    Scalar,
    Trade,
    TradeSource,
)
from backtestdb.parsing.values import (
    MAX_YEAR,
    MIN_YEAR,
    split_unit,
    to_decimal,
    to_direction,
    to_utc,
)

#: Decimal places a number may have, by field (the database column's scale): more is refused
#: rather than silently rounded. Money is stored as given (the platform rounds it already).
MAX_DECIMALS: Final[dict[str, int]] = {
    "entry_price": 8,
    "exit_price": 8,
    "quantity": 4,
    "volume": 4,
    "pips": 4,
}
#: Longest text the database columns take.
MAX_LENGTHS: Final[dict[str, int]] = {"deal_id": 64, "symbol": 64, "label": 255}
PRICE_FIELDS: Final = ("entry_price", "exit_price")
MONEY_FIELDS: Final = ("commission", "swap", "gross_profit", "profit", "balance")
SIZE_FIELDS: Final = ("quantity", "volume")

_BOUNDS: Final[dict[str, tuple[Decimal, bool, Decimal, str]]] = {
    # field: (lowest, lowest allowed?, limit of |x| or x, message)
    "entry_price": (Decimal(0), False, Decimal("1e11"), "price must be above 0 and below 1e11"),
    "exit_price": (Decimal(0), False, Decimal("1e11"), "price must be above 0 and below 1e11"),
    "quantity": (Decimal(0), True, Decimal("1e15"), "must be at least 0 and below 1e15"),
    "volume": (Decimal(0), True, Decimal("1e15"), "must be at least 0 and below 1e15"),
    "pips": (Decimal("-1e11"), False, Decimal("1e11"), "must be below 1e11 in absolute value"),
}
_MONEY_BOUND = (Decimal("-1e15"), False, Decimal("1e15"), "must be below 1e15 in absolute value")


def _check_bounds(name: str, number: Decimal) -> None:
    low, low_allowed, high, message = _BOUNDS.get(name, _MONEY_BOUND)
    if not (low < number < high or (low_allowed and number == low)):
        raise ValueError(message)
    places = MAX_DECIMALS.get(name)
    if places is not None:
        exponent = number.as_tuple().exponent
        # Trailing zeros ("1.5000000000") are not extra precision, so look again normalized.
        if isinstance(exponent, int) and exponent < -places:
            exponent = number.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -places:
                raise ValueError(f"more than {places} decimal places")


def _deal_id(value: Scalar) -> str:
    if isinstance(value, bool):
        raise ValueError("expected a deal id, got a boolean")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("deal id must be a whole number")
        return str(int(value))
    return str(value).strip()


def _text(value: Scalar) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_NUMBER_FIELDS: Final = (*PRICE_FIELDS, *SIZE_FIELDS, "pips", *MONEY_FIELDS)
_REQUIRED_TEXT: Final = ("symbol", "direction", "close_time")
#: Needed in every row when the file has their column at all (a file may leave it out).
_REQUIRED_IF_PRESENT: Final = ("open_time", "entry_price", "exit_price")


def _is_blank(value: Scalar) -> bool:
    return value is None or value == "" or (type(value) is str and value.isspace())


class TradeValidator:
    """Iterate to get the valid trades in row order; bad rows end up in `errors`.

    `errors` keeps the first `max_errors`; `error_count` counts all of them. Iterate once.
    """

    def __init__(self, source: TradeSource, *, max_errors: int = 1000) -> None:
        self.source = source
        self.max_errors = max_errors
        self.errors: list[RowError] = []
        self.error_count = 0
        self.valid_count = 0
        self._deal_ids = DealIds()
        self._open_offset = source.utc_offsets.get("open_time", timedelta(0))
        self._close_offset = source.utc_offsets.get("close_time", timedelta(0))
        present = [name for name in _REQUIRED_IF_PRESENT if name in source.columns]
        self._required_text = (*_REQUIRED_TEXT, *(n for n in present if n == "open_time"))
        self._required_numbers = frozenset((*REQUIRED_TRADE_FIELDS, *present))
        #: A fee left out of a row is 0, unless a CSV has no such column: then it is
        #: unknown (NULL). Report items may omit a key that other items have.
        self._zero_fees = {
            name: name in source.columns or not source.header for name in ("commission", "swap")
        }

    def __iter__(self) -> Iterator[Trade]:
        for raw in self.source.rows:
            trade = self.validate(raw)
            if trade is not None:
                self.valid_count += 1
                yield trade

    def _error(self, raw: RawTrade, name: str | None, message: str) -> None:
        """Record one error; `name` None for a row that cannot be read at all."""
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            value = raw.fields.get(name) if name is not None else None
            self.errors.append(
                RowError(
                    file=self.source.file,
                    message=message,
                    row=raw.row,
                    column=None if name is None else self.source.columns.get(name, name),
                    value=None if value is None else str(value),
                )
            )

    def validate(self, raw: RawTrade) -> Trade | None:
        """Check one row; return the trade, or None after recording its errors."""
        if raw.problem is not None:
            self._error(raw, None, raw.problem)
            return None
        errors_before = self.error_count
        fields = raw.fields
        for name in self._required_text:
            if _is_blank(fields.get(name)):
                self._error(raw, name, "missing value")

        deal_id: str | None = None
        direction: Direction | None = None
        open_time: datetime | None = None
        close_time: datetime | None = None
        try:
            if not _is_blank(value := fields.get("deal_id")):
                deal_id = _deal_id(value)
                self._check_unique(raw, deal_id)
        except ValueError as exc:
            self._error(raw, "deal_id", str(exc))
        try:
            if not _is_blank(value := fields.get("direction")):
                direction = to_direction(value)
        except ValueError as exc:
            self._error(raw, "direction", str(exc))
        try:
            if not _is_blank(value := fields.get("open_time")):
                open_time = to_utc(value, offset=self._open_offset)
        except ValueError as exc:
            self._error(raw, "open_time", str(exc))
        try:
            if not _is_blank(value := fields.get("close_time")):
                close_time = to_utc(value, offset=self._close_offset)
        except ValueError as exc:
            self._error(raw, "close_time", str(exc))
        if open_time is not None and close_time is not None and close_time < open_time:
            self._error(raw, "close_time", "close time is before open time")

        numbers: dict[str, Decimal | None] = {}
        units: dict[str, str | None] = {}
        comma = self.source.decimal_comma
        for name in _NUMBER_FIELDS:
            value = fields.get(name)
            numbers[name] = None
            if name in SIZE_FIELDS:
                value, units[name] = split_unit(value)
            if value is None or value == "":  # whitespace-only text fails in to_decimal
                if name in self._required_numbers:
                    self._error(raw, name, "missing value")
                continue
            try:
                number = to_decimal(value, decimal_comma=comma)
                _check_bounds(name, number)
            except ValueError as exc:
                self._error(raw, name, str(exc))
                continue
            numbers[name] = number

        symbol = _text(fields.get("symbol"))
        label = _text(fields.get("label"))
        for name, text in (("deal_id", deal_id), ("symbol", symbol), ("label", label)):
            if text is not None and len(text) > MAX_LENGTHS[name]:
                self._error(raw, name, f"longer than {MAX_LENGTHS[name]} characters")
        entry, exit_, profit = numbers["entry_price"], numbers["exit_price"], numbers["profit"]
        if (
            self.error_count > errors_before
            or symbol is None
            or direction is None
            or close_time is None
            or profit is None
        ):
            return None
        comment = fields.get("comment")
        return Trade(
            row=raw.row,
            deal_id=deal_id,
            symbol=symbol,
            direction=direction,
            open_time=open_time,
            close_time=close_time,
            entry_price=entry,
            exit_price=exit_,
            quantity=numbers["quantity"],
            volume=numbers["volume"],
            commission=self._fee(numbers, "commission"),
            swap=self._fee(numbers, "swap"),
            pips=numbers["pips"],
            gross_profit=numbers["gross_profit"],
            profit=profit,
            balance=numbers["balance"],
            label=label,
            comment=None if _is_blank(comment) else str(comment),
            quantity_unit=units.get("quantity") or units.get("volume"),
            extra=raw.extra,
        )

    def _fee(self, numbers: dict[str, Decimal | None], name: str) -> Decimal | None:
        number = numbers[name]
        return Decimal(0) if number is None and self._zero_fees[name] else number

    @property
    def deal_ids(self) -> DealIds:
        """The deal ids seen so far (the columnar path records a block's at once)."""
        return self._deal_ids

    def first_row_of(self, key: int | str, row: int) -> int:
        """The row where this deal id was first seen (recording `row` if it is new)."""
        return self._deal_ids.first_row_of(key, row)

    def _check_unique(self, raw: RawTrade, deal_id: str) -> None:
        first = self.first_row_of(deal_key(deal_id), raw.row)
        if first != raw.row:
            self._error(raw, "deal_id", f"duplicate deal id, first seen in row {first}")


def validate_trades(source: TradeSource, *, max_errors: int = 1000) -> TradeValidator:
    """Shorthand for `TradeValidator(source, max_errors=max_errors)`."""
    return TradeValidator(source, max_errors=max_errors)


__all__ = [
    "MAX_YEAR", "MIN_YEAR", "TradeValidator", "to_decimal", "to_direction", "to_utc",
    "validate_trades",
]  # fmt: skip
