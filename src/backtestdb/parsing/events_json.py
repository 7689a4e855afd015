"""events.json, the position events cTrader writes beside a backtest (pure, streamed).

A JSON array of objects `{serial, orderId, positionId, event, time, volume, quantity, type,
entryPrice, tp, sl, closePrice, grossProfit, pips, balance, equity}` in time order. It is
read item by item with ijson (the yajl2 C backend), so memory does not grow with the file.
Keys match as the report's do (case and punctuation ignored; `EVENT_FIELDS` lists the
names), unknown keys are ignored. `ingest.event_rows` checks the values, `ingest.events`
turns the events into trades.

Numbers are written from doubles and carry their noise (`34829.35999999997`). A whole
number stays an int (times, serials, ids). Prices, sizes and pips become the shortest
decimal within the noise (`denoise`): rounded to 12 significant digits, more than any
price has, yet thousands of times a double's rounding error at any magnitude, with
trailing zeros dropped, so a price keeps the decimals its symbol has (`1.0851200000000001`
-> `1.08512`, `2030.1299999999999` -> `2030.13`). Money (balance, equity, gross profit)
keeps the double's shortest text and is rounded to cents when checked: its noise, even
summed over a whole backtest, is far below a cent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Final

import ijson

from backtestdb.errors import InputError
from backtestdb.parsing.fields import normalize_name
from backtestdb.parsing.json_stream import reason
from backtestdb.parsing.records import Scalar

#: Canonical event field -> the keys accepted for it, first the one cTrader writes.
EVENT_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "serial": ("serial",),
    "order_id": ("orderId",),
    "position_id": ("positionId", "position"),
    "event": ("event", "eventType", "action"),
    "time": ("time", "timestamp"),
    "direction": ("type", "tradeType", "direction", "side"),
    "volume": ("volume", "volumeInUnits"),
    "quantity": ("quantity", "lots"),
    "entry_price": ("entryPrice", "openPrice"),
    "close_price": ("closePrice", "exitPrice"),
    "stop_loss": ("sl", "stopLoss"),
    "take_profit": ("tp", "takeProfit"),
    "gross_profit": ("grossProfit", "gross"),
    "pips": ("pips",),
    "balance": ("balance",),
    "equity": ("equity",),
}
_LOOKUP: Final = {
    normalize_name(name): canonical for canonical, names in EVENT_FIELDS.items() for name in names
}
#: Significant digits kept of a price, size or pips (see the module docstring).
SIGNIFICANT: Final = 12
_DENOISE_FORMAT: Final = f".{SIGNIFICANT}g"
#: Whole floats below this are exact ints (2**53: a double's integer precision).
WHOLE: Final = 2**53
#: Fields whose float noise is removed by `denoise`; money is rounded to cents instead.
DENOISED: Final = frozenset(
    {"volume", "quantity", "entry_price", "close_price", "stop_loss", "take_profit", "pips"}
)
_HEAD_BYTES: Final = 4096
_BOM: Final = b"\xef\xbb\xbf"
_WHITESPACE: Final = b" \t\r\n"
#: A top-level object that is itself an event (JSON Lines, or one event alone).
_EVENT_OBJECT: Final = re.compile(rb'\{\s*"(serial|positionId)"\s*:', re.IGNORECASE)
EMPTY_MESSAGE: Final = (
    "{file} is empty: cTrader leaves an empty file when the backtest's report crashed; "
    "run the backtest again or ingest its report"
)


@dataclass(slots=True)
class RawEvent:
    """One event as written (numbers denoised, as text), keyed by canonical field.
    `row` is its 1-based position in the file; `problem` says why it cannot be read."""

    row: int
    fields: dict[str, Scalar] = field(default_factory=dict)
    problem: str | None = None

    @property
    def closes(self) -> bool:
        """An event carrying a close price and a balance closes its position (whatever its
        name: "Position closed", "Stop Loss Hit", "Take Profit Hit"...)."""
        return self.fields.get("close_price") is not None and self.fields.get("balance") is not None


def looks_like_events(head: bytes) -> bool:
    """Whether a file starting with `head` is an events.json: its top level is an array, or
    an object keyed like an event. A report is an object, an HTML report starts with `<`."""
    text = head.removeprefix(_BOM).lstrip(_WHITESPACE)
    return text.startswith(b"[") or _EVENT_OBJECT.match(text) is not None


def denoise(number: float) -> str:
    """The shortest decimal within a double's noise, as text (see the module docstring):
    `format`'s "g" rounds correctly and drops trailing zeros, in C."""
    return format(number, _DENOISE_FORMAT)


class EventReader:
    """Iterate to get the file's events in order (or `items`, then `raw` each); `columns`
    maps each canonical field read so far to its key as written (for errors that name the
    user's key)."""

    def __init__(self, stream: IO[bytes], file: str) -> None:
        self.file = file
        self.columns: dict[str, str] = {}
        #: Key as written -> (canonical field or None, denoised).
        self._keys: dict[str, tuple[str | None, bool]] = {}
        self._items = _items(stream, file)

    def __iter__(self) -> Iterator[RawEvent]:
        for row, item in self._items:
            yield self.raw(row, item)

    def items(self) -> Iterator[tuple[int, Any]]:
        """(1-based row, decoded item) of each event, instead of iterating the RawEvents."""
        return self._items

    def raw(self, row: int, item: Any) -> RawEvent:
        """The RawEvent of one decoded item."""
        if not isinstance(item, dict):
            return RawEvent(row, problem="event is not a JSON object")
        return RawEvent(row, self._fields(item))

    def _fields(self, item: dict[str, Any]) -> dict[str, Scalar]:
        # `scalar` inlined for the types ijson gives (millions of values on a big file).
        fields: dict[str, Scalar] = {}
        keys, columns = self._keys, self.columns
        for key, value in item.items():
            known = keys.get(key)
            canonical, noisy = known if known is not None else self.field_of(key)
            if canonical is None or canonical in fields:
                continue
            if canonical not in columns:  # the first key seen of a field names it
                columns[canonical] = key
            kind = type(value)
            if kind is float:
                if value.is_integer() and abs(value) < WHOLE:
                    fields[canonical] = int(value)
                else:
                    fields[canonical] = format(value, _DENOISE_FORMAT) if noisy else repr(value)
            elif kind is str or kind is int or value is None:
                fields[canonical] = value
            else:
                fields[canonical] = scalar(value, noisy)
        return fields

    def field_of(self, key: str) -> tuple[str | None, bool]:
        """A key's canonical field (None: ignored) and whether its numbers are denoised.
        Only reading an event (`raw`) makes its keys `columns`."""
        known = self._keys.get(key)
        if known is None:
            canonical = _LOOKUP.get(normalize_name(key))
            known = self._keys[key] = (canonical, canonical in DENOISED)
        return known


def scalar(value: Any, noisy: bool = False) -> Scalar:
    """A JSON value as a Scalar: a whole number as an int, other numbers as text
    (`denoise`d when `noisy`)."""
    if type(value) is float:
        if value.is_integer() and abs(value) < WHOLE:
            return int(value)
        return denoise(value) if noisy else repr(value)
    if value is None or isinstance(value, str | int | bool):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _items(stream: IO[bytes], file: str) -> Iterator[tuple[int, Any]]:
    """(1-based row, decoded item) of every event, streamed."""
    head = stream.read(_HEAD_BYTES)
    if not head.strip(_WHITESPACE):
        error = InputError(file, "file is empty")
        error.message = EMPTY_MESSAGE.format(file=file)
        raise error
    if not looks_like_events(head):
        raise InputError(file, "not an events.json: expected a JSON array of position events")
    stream.seek(len(head) - len(head.removeprefix(_BOM)))
    start = head.removeprefix(_BOM).lstrip(_WHITESPACE)[:1]
    # An array's items, or (JSON Lines) every top-level object.
    prefix, several = ("item", False) if start == b"[" else ("", True)
    row = 0
    try:
        # Floats: the file's numbers are doubles; `denoise` reads them back as decimals.
        items = ijson.items(stream, prefix, multiple_values=several, use_float=True)
        for row, item in enumerate(items, 1):
            yield row, item
    except ijson.JSONError as exc:
        raise InputError(file, f"invalid JSON: {reason(exc)}", row=row + 1) from None
