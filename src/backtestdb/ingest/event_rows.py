"""One events.json event checked and typed: the values of its trade_events row, or errors.

The events' counterpart of `validation.TradeValidator`, which still checks the trades
built from them (`ingest.events`). Every bad key of every event is recorded as a RowError
naming the file, the event's 1-based position in the file and the key as written. They go
to the trades' validator (`sink`), so one list and one count hold every problem of the
ingest in file order, and a strict ingest fails on any of them.

Money is rounded half-up to cents (the file writes doubles); prices keep the decimals the
parser left after removing the float noise, at most the column's 8.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Protocol

from backtestdb.errors import RowError
from backtestdb.ingest.deal_ids import DealIds
from backtestdb.money import CENT
from backtestdb.parsing.events_json import EVENT_FIELDS, RawEvent
from backtestdb.parsing.fields import DIRECTION_ALIASES
from backtestdb.parsing.records import Scalar
from backtestdb.parsing.values import EPOCH, MAX_EPOCH_MS, to_decimal, to_direction, to_utc

#: Keys every event needs: its order, its position, what happened and when.
REQUIRED: Final = ("serial", "position_id", "event", "time")
MAX_SERIAL: Final = 2**31 - 1
#: Longest text of each text column of trade_events.
MAX_LENGTHS: Final = {"position_id": 64, "order_id": 64, "event": 64}
#: Text PostgreSQL cannot store: NUL, and a surrogate left unpaired by a \u escape.
UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a number column holds: above `low` (or equal, if `low_allowed`), below `high`
    in absolute value, at most `decimals` places (None: money, rounded to cents)."""

    low: Decimal
    low_allowed: bool
    high: Decimal
    decimals: int | None
    message: str


_ABSOLUTE = "must be below {} in absolute value"
PRICE: Final = Bounds(Decimal(0), False, Decimal("1e11"), 8, "price must be above 0 and below 1e11")
AMOUNT: Final = Bounds(Decimal(0), True, Decimal("1e15"), 4, "must be at least 0 and below 1e15")
PIPS: Final = Bounds(Decimal("-1e11"), False, Decimal("1e11"), 4, _ABSOLUTE.format("1e11"))
MONEY: Final = Bounds(Decimal("-1e15"), False, Decimal("1e15"), None, _ABSOLUTE.format("1e15"))
NUMBERS: Final[dict[str, Bounds]] = {
    "volume": AMOUNT,
    "quantity": AMOUNT,
    "entry_price": PRICE,
    "close_price": PRICE,
    "stop_loss": PRICE,
    "take_profit": PRICE,
    "gross_profit": MONEY,
    "pips": PIPS,
    "balance": MONEY,
    "equity": MONEY,
}
#: A stop of 0 is how a platform may write "none set".
UNSET_WHEN_ZERO: Final = frozenset({"stop_loss", "take_profit"})


class ErrorSink(Protocol):
    """Where errors go: `validation.TradeValidator` is one (it keeps the first
    `max_errors` and counts all)."""

    errors: list[RowError]
    error_count: int
    max_errors: int


@dataclass(slots=True)
class Event:
    """A valid event: `values` are its trade_events columns but backtest_id and
    trade_number; `position` is its position id as text."""

    row: int
    position: str
    closes: bool
    values: dict[str, Any]


def number(value: Scalar, bounds: Bounds) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    found = to_decimal(value, decimal_comma=False)
    if not found.is_finite():
        raise ValueError("not a finite number")
    if bounds.decimals is None:
        found = found.quantize(CENT, rounding=ROUND_HALF_UP)
    inside = bounds.low < found or (bounds.low_allowed and found == bounds.low)
    if not (inside and abs(found) < bounds.high):
        raise ValueError(bounds.message)
    if bounds.decimals is not None and _places(found) > bounds.decimals:
        raise ValueError(f"more than {bounds.decimals} decimal places")
    return found


def _places(number: Decimal) -> int:
    """Decimal places, trailing zeros not counted ("1.50" has 1)."""
    if number == number.to_integral_value():
        return 0
    exponent = number.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) else 0


def serial(value: Scalar) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected a whole number")
    if not 0 <= value <= MAX_SERIAL:
        raise ValueError(f"must be between 0 and {MAX_SERIAL}")
    return value


def text(value: Scalar) -> str:
    if isinstance(value, bool):
        raise ValueError("expected a text or a number, got a boolean")
    found = str(value).strip()
    if UNSTORABLE.search(found):
        raise ValueError("text holds a NUL character or an unpaired \\u surrogate escape")
    return found


#: Canonical field -> its conversion (numbers are checked against NUMBERS).
CONVERSIONS: Final[dict[str, Callable[[Scalar], Any]]] = {
    "serial": serial,
    "position_id": text,
    "order_id": text,
    "event": text,
    "time": to_utc,
    "direction": to_direction,
}


#: The trade_events columns an event fills (the reader's canonical fields).
COLUMNS: Final = (*CONVERSIONS, *NUMBERS)


def _is_blank(value: Scalar) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class EventChecker:
    """`check` each event in file order; errors go to `sink` once it is set."""

    def __init__(self, file: str, columns: dict[str, str]) -> None:
        self.file = file
        #: Canonical field -> key as written (the reader's, filled as keys appear).
        self.columns = columns
        self.sink: ErrorSink | None = None
        #: When a list: where errors wait, counted in the sink (see `ingest.event_trades`).
        self.held: list[RowError] | None = None
        #: The serials seen, for the check that each is new (`event_blocks`' caller too).
        self.serials = DealIds()

    def check(self, raw: RawEvent) -> Event | None:
        """The event, or None after recording each of its errors."""
        if raw.problem is not None:
            self._error(raw, None, raw.problem)
            return None
        fields = raw.fields
        values: dict[str, Any] = dict.fromkeys(COLUMNS)
        problems: list[tuple[str, str]] = []
        for name, value in fields.items():
            if value is None:
                continue
            try:
                converted = FAST[name](value)
                if converted is SLOW:  # an uncommon form: the full conversion decides
                    if _is_blank(value):
                        continue
                    converted = self._convert(name, value)
            except ValueError as exc:
                problems.append((name, str(exc)))
                continue
            values[name] = converted
        if None in (values["serial"], values["position_id"], values["event"], values["time"]):
            missing = [(n, "missing value") for n in REQUIRED if _is_blank(fields.get(n))]
            problems = missing + problems
        problems += self._unique(raw, values["serial"])
        if problems:
            for name, message in problems:
                self._error(raw, name, message)
            return None
        return Event(raw.row, values["position_id"], raw.closes, values)

    def _convert(self, name: str, value: Scalar) -> Any:
        bounds = NUMBERS.get(name)
        if bounds is None:
            converted = CONVERSIONS[name](value)
            limit = MAX_LENGTHS.get(name)
            if limit is not None and len(converted) > limit:
                raise ValueError(f"longer than {limit} characters")
            return converted
        if name in UNSET_WHEN_ZERO and ((type(value) is int and value == 0) or value == "0"):
            return None
        return number(value, bounds)

    def _unique(self, raw: RawEvent, found: int | None) -> list[tuple[str, str]]:
        if found is None:
            return []
        first = self.serials.first_row_of(found, raw.row)
        return [] if first == raw.row else [("serial", f"duplicate serial, first in row {first}")]

    def _error(self, raw: RawEvent, name: str | None, message: str) -> None:
        sink = self.sink
        if sink is None:
            raise RuntimeError("EventChecker.sink is not set")  # a wiring bug, not input
        sink.error_count += 1
        kept = sink.errors if self.held is None else self.held
        if len(kept) < sink.max_errors:
            value = None if name is None else raw.fields.get(name)
            column = None if name is None else self.columns.get(name, EVENT_FIELDS[name][0])
            shown = None if value is None else str(value)
            kept.append(RowError(self.file, message, raw.row, column, shown))


# The fast conversions: the common forms of each field (what cTrader writes, as the reader
# gives it), converted as `EventChecker._convert` would, in fewer steps; any other form,
# or a value they would refuse, is SLOW and goes to `_convert` (its exact message).
SLOW: Final = object()
PLAIN: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")  # to_decimal's own fast form
#: Longer texts or ints take the full path (quantize stays within the context's digits).
SHORT: Final = 20
_LARGE: Final = 10**SHORT
#: Each direction alias as written in lower, upper or title case -> the direction.
DIRECTION_SPELLINGS: Final = {
    spelled: direction
    for alias, direction in DIRECTION_ALIASES.items()
    for spelled in (alias, alias.upper(), alias.capitalize())
}


def _fast_serial(value: Scalar) -> Any:
    return value if type(value) is int and 0 <= value <= MAX_SERIAL else SLOW


def _fast_id(value: Scalar) -> Any:
    if type(value) is int:
        found = str(value)
        return found if len(found) <= MAX_LENGTHS["position_id"] else SLOW
    return _fast_text(value, MAX_LENGTHS["position_id"])


def _fast_event(value: Scalar) -> Any:
    return _fast_text(value, MAX_LENGTHS["event"])


def _fast_text(value: Scalar, limit: int) -> Any:
    if type(value) is not str:
        return SLOW
    found = value.strip()
    if not found or len(found) > limit or UNSTORABLE.search(found):
        return SLOW
    return found


def _fast_time(value: Scalar) -> Any:
    if type(value) is int and 0 <= value < MAX_EPOCH_MS:
        return EPOCH + timedelta(milliseconds=value)
    return SLOW


def _fast_direction(value: Scalar) -> Any:
    return DIRECTION_SPELLINGS.get(value, SLOW) if type(value) is str else SLOW


def _fast_number(bounds: Bounds, zero_unset: bool) -> Callable[[Scalar], Any]:
    low, allowed, high, places = bounds.low, bounds.low_allowed, bounds.high, bounds.decimals

    def convert(value: Scalar) -> Any:
        if type(value) is str:
            if len(value) > SHORT or not PLAIN.fullmatch(value):
                return SLOW
            if zero_unset and value == "0":
                return None
            dot = value.find(".")
            # Trailing zeros counted: more places than allowed may still be fine (slow path).
            if places is not None and dot >= 0 and len(value) - dot - 1 > places:
                return SLOW
        elif type(value) is int:
            if not -_LARGE < value < _LARGE:
                return SLOW
            if zero_unset and value == 0:
                return None
        else:
            return SLOW
        found = Decimal(value)
        if places is None:
            found = found.quantize(CENT, rounding=ROUND_HALF_UP)
        if (low < found or (allowed and found == low)) and -high < found < high:
            return found
        return SLOW

    return convert


#: Canonical field -> its fast conversion.
FAST: Final[dict[str, Callable[[Scalar], Any]]] = {
    "serial": _fast_serial,
    "position_id": _fast_id,
    "order_id": _fast_id,
    "event": _fast_event,
    "time": _fast_time,
    "direction": _fast_direction,
    **{name: _fast_number(b, name in UNSET_WHEN_ZERO) for name, b in NUMBERS.items()},
}
