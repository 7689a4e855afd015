"""Turn raw trades into typed `Trade`s, collecting one `RowError` per bad value.

Pure functions only (no I/O, no database), so the same checks serve the CLI and the API.
Conversions are hand-written rather than strptime/locale based because they run once per
value on files with millions of rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from backtestdb.dealids import DealIds
from backtestdb.errors import RowError
from backtestdb.parsing.fields import DIRECTION_ALIASES
from backtestdb.parsing.records import (
    REQUIRED_TRADE_FIELDS,
    Direction,
    RawTrade,
    Scalar,
    Trade,
    TradeSource,
)

MIN_YEAR: Final = 1970
MAX_YEAR: Final = 2100
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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_EPOCH_MS = int((datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{3})+")
_IGNORED_IN_NUMBERS = str.maketrans("", "", " \u00a0\u202f\u2009'")
_CTRADER_TIME = re.compile(
    r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
)
# The exact layout cTrader writes, parsed by slicing: this runs twice per row.
_CTRADER_TIME_FAST = re.compile(r"\d\d[/.]\d\d[/.]\d{4} \d\d:\d\d:\d\d[.,]\d{3}")
_EPOCH_MS_TEXT = re.compile(r"\d{11,13}")


def to_decimal(value: Scalar, *, decimal_comma: bool) -> Decimal:
    """Parse a number as written; if both ',' and '.' appear, the last one is the decimal mark."""
    if type(value) is str and _PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)  # the common case, first
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return Decimal(str(value))
    if value is None:
        raise ValueError("missing value")
    text = value.strip()
    if _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)
    if not text:
        raise ValueError("missing value")
    cleaned = text.translate(_IGNORED_IN_NUMBERS).replace("\u2212", "-")
    last_dot, last_comma = cleaned.rfind("."), cleaned.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        mark: str | None = "." if last_dot > last_comma else ","
    elif last_comma >= 0:
        mark = "," if decimal_comma and cleaned.count(",") == 1 else None
    elif last_dot >= 0:
        mark = "." if cleaned.count(".") == 1 or not decimal_comma else None
    else:
        mark = None
    whole, fraction = cleaned, ""
    if mark is not None:
        whole, _, fraction = cleaned.rpartition(mark)
        fraction = "." + fraction
    if "," in whole or "." in whole:
        # A thousands separator must group by three, otherwise "3,35" would silently be 335.
        if not _GROUPED.fullmatch(whole):
            raise ValueError(f"not a number: {text!r} (check the decimal mark)")
        whole = whole.replace(",", "").replace(".", "")
    number = whole + fraction
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"not a number: {text!r}")
    return Decimal(number)


def to_utc(value: Scalar, *, offset: timedelta = timedelta(0)) -> datetime:
    """Parse epoch milliseconds, cTrader "dd/MM/yyyy HH:mm:ss.fff" or ISO 8601 to aware UTC.

    Values without a zone are local time at `offset` (taken from the column header).
    """
    if isinstance(value, bool):
        raise ValueError("expected a time, got a boolean")
    if isinstance(value, int | float):
        return _from_epoch_ms(value)
    if value is None:
        raise ValueError("missing value")
    text = value.strip()
    if _CTRADER_TIME_FAST.fullmatch(text) and text[2] == text[5]:
        if not MIN_YEAR <= int(text[6:10]) <= MAX_YEAR:
            raise ValueError(f"year out of range ({MIN_YEAR}-{MAX_YEAR}): {text!r}")
        try:
            # Reordered to ISO because fromisoformat is C code, several times faster.
            moment = datetime.fromisoformat(
                f"{text[6:10]}-{text[3:5]}-{text[0:2]}T{text[11:19]}.{text[20:]}+00:00"
            )
        except ValueError as exc:
            raise ValueError(f"not a valid time: {text!r} ({exc})") from None
        return moment - offset if offset else moment
    match = _CTRADER_TIME.fullmatch(text)
    if match is not None:
        day, _, month, year, hour, minute, second, fraction = match.groups()
        micros = int(fraction.ljust(6, "0")) if fraction else 0
        try:
            local = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros
            )
        except ValueError as exc:
            raise ValueError(f"not a valid time: {text!r} ({exc})") from None
        return _check_year(local.replace(tzinfo=UTC) - offset, text)
    if _EPOCH_MS_TEXT.fullmatch(text):
        return _from_epoch_ms(int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (expected dd/MM/yyyy HH:mm:ss.fff or ISO 8601)"
        ) from None
    if parsed.tzinfo is None:
        return _check_year(parsed.replace(tzinfo=UTC) - offset, text)
    return _check_year(parsed.astimezone(UTC), text)


def _from_epoch_ms(value: float) -> datetime:
    # No math.isfinite: it converts to float, which a 400-digit int overflows; NaN and
    # the infinities fail the comparison anyway.
    if not 0 <= value < _MAX_EPOCH_MS:
        raise ValueError(f"epoch milliseconds out of range ({MIN_YEAR}-{MAX_YEAR}): {value}")
    return _EPOCH + timedelta(milliseconds=value)


def _check_year(moment: datetime, text: str) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"year out of range ({MIN_YEAR}-{MAX_YEAR}): {text!r}")
    return moment


def to_direction(value: Scalar) -> Direction:
    direction = DIRECTION_ALIASES.get(str(value).strip().casefold()) if value is not None else None
    if direction is None:
        raise ValueError("unknown direction (expected Buy or Sell)")
    return direction


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
_REQUIRED_TEXT: Final = ("symbol", "direction", "open_time", "close_time")


def _or_zero(number: Decimal | None) -> Decimal:
    return Decimal(0) if number is None else number


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

    def __iter__(self) -> Iterator[Trade]:
        for raw in self.source.rows:
            trade = self.validate(raw)
            if trade is not None:
                self.valid_count += 1
                yield trade

    def _error(self, raw: RawTrade, name: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            value = raw.fields.get(name)
            self.errors.append(
                RowError(
                    file=self.source.file,
                    message=message,
                    row=raw.row,
                    column=self.source.columns.get(name, name),
                    value=None if value is None else str(value),
                )
            )

    def validate(self, raw: RawTrade) -> Trade | None:
        """Check one row; return the trade, or None after recording its errors."""
        errors_before = self.error_count
        fields = raw.fields
        for name in _REQUIRED_TEXT:
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
        comma = self.source.decimal_comma
        for name in _NUMBER_FIELDS:
            value = fields.get(name)
            numbers[name] = None
            if value is None or value == "":  # whitespace-only text fails in to_decimal
                if name in REQUIRED_TRADE_FIELDS:
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
            or open_time is None
            or close_time is None
            or entry is None
            or exit_ is None
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
            commission=_or_zero(numbers["commission"]),
            swap=_or_zero(numbers["swap"]),
            pips=numbers["pips"],
            gross_profit=numbers["gross_profit"],
            profit=profit,
            balance=numbers["balance"],
            label=label,
            comment=None if _is_blank(comment) else str(comment),
            extra=raw.extra,
        )

    def first_row_of(self, deal_key: int | str, row: int) -> int:
        """The row where this deal id was first seen (recording `row` if it is new)."""
        return self._deal_ids.first_row_of(deal_key, row)

    def _check_unique(self, raw: RawTrade, deal_id: str) -> None:
        # Integer keys keep the map small on million-row files; "007" stays a string.
        key: int | str = deal_id
        if (
            deal_id.isascii()
            and deal_id.isdigit()
            and not (deal_id.startswith("0") and len(deal_id) > 1)
        ):
            key = int(deal_id)
        first = self.first_row_of(key, raw.row)
        if first != raw.row:
            self._error(raw, "deal_id", f"duplicate deal id, first seen in row {first}")


def validate_trades(source: TradeSource, *, max_errors: int = 1000) -> TradeValidator:
    """Shorthand for `TradeValidator(source, max_errors=max_errors)`."""
    return TradeValidator(source, max_errors=max_errors)
