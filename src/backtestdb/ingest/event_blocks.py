"""A block of events.json events checked a column at a time: the fast lane of
`ingest.events`.

Each canonical field's values are taken from the block's decoded items at once, read as
`EventReader` reads them (a whole float as an int, a price denoised, money as `repr`)
and converted as `EventChecker`'s fast conversions convert them, in the same functions,
a column per list comprehension. An event every field of which is in such a common form
is `ok`: its COPY text and the values its trade needs are ready. Any other event goes
through the checker (`EventChecker.check`), which stays the one definition of a valid
event and records its errors. The lane errs only one way: an `ok` event is one the
checker would take with the same values (the serial's uniqueness is left to the caller,
which checks it in file order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import chain
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.ingest.event_rows import (
    DIRECTION_SPELLINGS,
    MAX_LENGTHS,
    MAX_SERIAL,
    NUMBERS,
    PLAIN,
    SHORT,
    UNSET_WHEN_ZERO,
    UNSTORABLE,
    Bounds,
    Event,
)
from backtestdb.ingest.writers.postgres import NULL, text
from backtestdb.parsing.events_json import SIGNIFICANT, WHOLE, scalar
from backtestdb.parsing.values import EPOCH, MAX_EPOCH_MS

_DENOISE: Final = f".{SIGNIFICANT}g"
#: The number texts the fast conversion takes (`event_rows.PLAIN`, up to `SHORT` long).
_PLAIN: Final = f"^(?:{PLAIN.pattern})$"
_MONEY: Final = frozenset(name for name, bounds in NUMBERS.items() if bounds.decimals is None)
#: The number fields in the order of a trade_events COPY line (`writers.events`).
_LINE_NUMBERS: Final = (
    *("volume", "quantity", "entry_price", "close_price", "stop_loss", "take_profit"),
    *("gross_profit", "pips", "balance", "equity"),
)
#: The values of an event its trade may need (`event_trades.position_trade`).
TRADE_VALUES: Final = (
    *("direction", "entry_price", "close_price", "quantity", "volume", "pips"),
    *("gross_profit", "balance"),
)
_BAD: Final = object()  # a value the fast lane leaves to the checker
#: A -0.0 as `.12g` and `repr` write it: the reader reads it as the int 0.
_NEGATIVE_ZEROS: Final = pa.array(["-0", "-0.0"])


@dataclass(slots=True)
class EventBlock:
    """A block's events: `ok[i]` says event i was read here, then `lines[i]` is its COPY
    body, and `values` hold its trade's values (texts; times in epoch ms)."""

    first_row: int
    items: list[Any]
    ok: list[bool]
    serial: list[Any]
    position: list[Any]
    closes: list[bool]
    equity_cents: list[int | None]
    lines: list[str | None]
    times: list[Any]
    values: dict[str, list[Any]]
    #: (index, field, key) of each field first met in the block, that the file's
    #: `EventReader.columns` does not name yet, in the order they are met.
    new_columns: list[tuple[int, str, str]] = field(default_factory=list)

    def event(self, index: int) -> Event:
        """The Event of an ok event, with the values its trade reads."""
        found: dict[str, Any] = {name: column[index] for name, column in self.values.items()}
        found["time"] = EPOCH + timedelta(milliseconds=self.times[index])
        if found["balance"] is not None:
            found["balance"] = Decimal(found["balance"])
        row = self.first_row + index
        return Event(row, self.position[index], self.closes[index], found)


def event_block(
    first_row: int, items: list[Any], key_of: Callable[[str], tuple[str | None, bool]],
    columns: dict[str, str],
) -> EventBlock:  # fmt: skip
    """The block of `items` (the file's events from `first_row` on); `key_of` gives a key's
    canonical field (`EventReader.field_of`), `columns` the fields named so far."""
    n = len(items)
    ok = [type(item) is dict for item in items]  # any other item: the checker says why
    objects = items if all(ok) else [item if type(item) is dict else {} for item in items]
    keys: dict[str, list[str]] = {}
    for key in dict.fromkeys(chain.from_iterable(objects)):
        name = key_of(key)[0]
        if name is not None:
            keys.setdefault(name, []).append(key)
    values = {name: _values(objects, found, ok) for name, found in keys.items()}
    texts: dict[str, list[Any]] = {}
    for name in ("serial", "position_id", "order_id", "event", "time", "direction"):
        texts[name] = _converted(name, values.get(name, [None] * n), ok)
    for name, bounds in NUMBERS.items():
        texts[name] = _number_texts(name, bounds, values.get(name), ok, n)
    closes = [
        close is not None and balance is not None
        for close, balance in zip(
            values.get("close_price", [None] * n), values.get("balance", [None] * n),
            strict=True,
        )
    ]  # fmt: skip
    return EventBlock(
        first_row, items, ok, texts["serial"], texts["position_id"], closes,
        _cents(texts["equity"], ok), _lines(texts, ok), texts["time"],
        {name: texts[name] for name in TRADE_VALUES}, _new_columns(objects, keys, columns),
    )  # fmt: skip


def _values(items: list[dict[str, Any]], keys: list[str], ok: list[bool]) -> list[Any]:
    """A field's value in each item: of its one key; of a field with more keys, of the one
    an item has (an item with two of them: the checker reads it)."""
    if len(keys) == 1:
        return [item.get(keys[0]) for item in items]
    found = []
    for index, item in enumerate(items):
        present = [key for key in keys if key in item]
        if len(present) > 1:
            ok[index] = False
        found.append(item[present[0]] if present else None)
    return found


def _new_columns(
    items: list[dict[str, Any]], keys: dict[str, list[str]], columns: dict[str, str]
) -> list[tuple[int, str, str]]:
    """Where each field not in `columns` is first met, and by which key (`keys` holds
    each field's keys in the order they are met)."""
    found = []
    for name, named in keys.items():
        if name not in columns:
            key = named[0]
            found.append((next(i for i, item in enumerate(items) if key in item), name, key))
    return sorted(found, key=lambda met: met[0])  # stable: an item's keys keep their order


def _converted(name: str, values: list[Any], ok: list[bool]) -> list[Any]:
    """A text, time or serial column as the fast conversion gives it; `ok` narrowed."""
    if name == "serial":
        found = [_whole(v) for v in values]
        found = [v if type(v) is int and 0 <= v <= MAX_SERIAL else _BAD for v in found]
    elif name == "time":
        found = [_whole(v) for v in values]
        found = [v if type(v) is int and 0 <= v < MAX_EPOCH_MS else _BAD for v in found]
    elif name == "direction":
        found = [
            None if v is None else DIRECTION_SPELLINGS.get(v, _BAD) if type(v) is str else _BAD
            for v in values
        ]
    else:
        found = _ids(values, MAX_LENGTHS[name], ints=name != "event", optional=name == "order_id")
    for index, value in enumerate(found):
        if value is _BAD:
            ok[index] = False
    return found


def _whole(value: Any) -> Any:
    """A whole float as the reader gives it: an int."""
    if type(value) is float and value.is_integer() and abs(value) < WHOLE:
        return int(value)
    return value


def _ids(values: list[Any], limit: int, *, ints: bool, optional: bool) -> list[Any]:
    """Ids and event names: an int as text (`ints`), a text stripped, not empty, at most
    `limit` characters, storable; None only when `optional`."""
    found: list[Any] = []
    for value in values:
        kind = type(value)
        if kind is str:
            value = value.strip()
            found.append(value if value and len(value) <= limit else _BAD)
        elif kind is int and ints:
            value = str(value)
            found.append(value if len(value) <= limit else _BAD)
        elif value is None and optional:
            found.append(None)
        else:
            found.append(_BAD)
    strings = [v for v in found if type(v) is str]
    if UNSTORABLE.search("".join(strings)):
        found = [_BAD if type(v) is str and UNSTORABLE.search(v) else v for v in found]
    return found


def _number_texts(
    name: str, bounds: Bounds, values: list[Any] | None, ok: list[bool], n: int
) -> list[Any]:
    """A number column's stored texts (money in cents), None where there is none."""
    if values is None:
        return [None] * n
    found, bad = _as_read(values, noisy=bounds.decimals is not None)
    texts = pa.array(found, pa.string())
    refused = pc.and_(pc.is_valid(texts), pc.invert(_taken(texts, bounds)))
    if name in UNSET_WHEN_ZERO:  # a stop of 0: none set (before the bounds, as FAST)
        zero = pc.fill_null(pc.equal(texts, "0"), False)
        refused = pc.and_(refused, pc.invert(zero))
        texts = pc.if_else(zero, None, texts)
    for index in (*bad, *pc.indices_nonzero(refused).to_pylist()):
        ok[index] = False
    texts = pc.if_else(refused, None, texts)
    return (_in_cents(texts) if name in _MONEY else texts).to_pylist()  # type: ignore[no-any-return]


def _as_read(values: list[Any], *, noisy: bool) -> tuple[list[Any], list[int]]:
    """(each number's text as the reader gives it, null where it is none or is not a
    number; the indexes of the latter). A whole float is read as an int, so its text is
    the int's: `.12g` writes that up to 1e12 (beyond, an exponent: refused), and money's
    `repr` ("10000.0") is the same amount once in cents; -0.0 is refused (`_taken`)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds <= {float}:
        if noisy:
            return [None if v is None else format(v, _DENOISE) for v in values], []
        return [None if v is None else repr(v) for v in values], []
    found: list[Any] = []
    bad: list[int] = []
    for index, value in enumerate(values):
        kind = type(value)
        if value is None:
            found.append(None)
        elif kind is float or kind is int:
            found.append(str(scalar(value, noisy)))  # the reader's own reading
        else:  # text, bools, objects: the checker reads them
            found.append(None)
            bad.append(index)
    return found, bad


def _in_cents(texts: Any) -> Any:
    """Plain decimal texts rounded half up to cents, as Decimal's quantize writes them
    (the sign kept: "-0.001" is "-0.00")."""
    parts = pc.extract_regex(texts, r"^(?P<sign>-?)(?P<whole>\d+)(?:\.(?P<fraction>\d*))?$")
    sign, whole = pc.struct_field(parts, "sign"), pc.struct_field(parts, "whole")
    fraction = pc.utf8_rpad(pc.fill_null(pc.struct_field(parts, "fraction"), ""), 3, "0")
    cents = pc.add(
        pc.multiply(pc.cast(whole, pa.int64()), 100),
        pc.cast(pc.utf8_slice_codeunits(fraction, 0, 2), pa.int64()),
    )
    up = pc.greater_equal(pc.utf8_slice_codeunits(fraction, 2, 3), "5")
    cents = pc.add(cents, pc.cast(up, pa.int64()))
    units = pc.divide(cents, 100)  # integer division: the amounts are not negative
    hundredths = pc.cast(pc.subtract(cents, pc.multiply(units, 100)), pa.string())
    units, hundredths = pc.cast(units, pa.string()), pc.utf8_lpad(hundredths, 2, "0")
    return pc.binary_join_element_wise(sign, units, ".", hundredths, "")


def _taken(texts: Any, bounds: Bounds) -> Any:
    """Which texts the fast conversion takes: plain and short, in bounds, with few enough
    places (null stays null)."""
    plain = pc.and_(
        pc.match_substring_regex(texts, _PLAIN), pc.less_equal(pc.utf8_length(texts), SHORT)
    )
    plain = pc.and_(plain, pc.invert(pc.is_in(texts, value_set=_NEGATIVE_ZEROS)))
    if bounds.decimals is not None:
        places = pc.subtract(pc.utf8_length(texts), pc.add(pc.find_substring(texts, "."), 1))
        dotted = pc.greater_equal(pc.find_substring(texts, "."), 0)
        few = pc.or_(pc.invert(dotted), pc.less_equal(places, bounds.decimals))
        plain = pc.and_(plain, few)
    numbers = pc.cast(pc.if_else(plain, texts, None), pa.float64())
    high = float(bounds.high)
    if bounds.decimals is None:  # money is rounded to cents first: a margin either side
        high *= 1 - 1e-9
    inside = pc.less(pc.abs(numbers), high)
    low = float(bounds.low)
    above = pc.greater_equal(numbers, low) if bounds.low_allowed else pc.greater(numbers, low)
    return pc.fill_null(pc.and_(plain, pc.and_(inside, above)), False)


def _cents(equity: list[Any], ok: list[bool]) -> list[int | None]:
    return [
        int(v.replace(".", "")) if good and v is not None else None
        for v, good in zip(equity, ok, strict=True)
    ]


def _lines(texts: dict[str, list[Any]], ok: list[bool]) -> list[str | None]:
    """The COPY body of each ok event (`writers.events.event_line`'s text)."""
    moments = pa.array([t if good else None for t, good in zip(texts["time"], ok, strict=True)])
    stamps = pc.cast(pc.cast(moments, pa.timestamp("ms")), pa.timestamp("us"))
    times = pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S").to_pylist()
    columns: list[Sequence[Any]] = [
        [str(v) if good else None for v, good in zip(texts["serial"], ok, strict=True)],
        *(_copy_texts(texts[name]) for name in ("position_id", "order_id", "event")),
        [NULL if t is None else t + "+00:00" for t in times],
        [NULL if v is None else v for v in texts["direction"]],
        *([NULL if v is None else v for v in texts[name]] for name in _LINE_NUMBERS),
    ]
    return [
        "\t".join(cells) if good else None
        for cells, good in zip(zip(*columns, strict=True), ok, strict=True)
    ]


def _copy_texts(values: list[Any]) -> list[str]:
    return [NULL if v is None or v is _BAD else text(v) for v in values]
