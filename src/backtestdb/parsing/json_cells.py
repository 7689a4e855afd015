"""Decoded JSON values (a report's trade items) as the text cells the columnar ingest
path reads, a block of items at a time.

Each canonical field becomes one column of the text the validator would read the value
as: a string as written, an int in decimal, a float as `repr` writes it (what
`to_decimal` reads), a missing key or null as a null cell. A value this cannot carry
(a bool, an object or array, a float where a time, id or text is due, text with space or
a "no value" mark at an edge, which the row path reads unlike a CSV cell) makes its row
odd: the ingest gives that row to the validator as the row path builds it
(`records.item_raw`), which stays the one definition of valid.

Blocks come from decoded items (`block_cells`), or, in the streamed first pass, from
items that all have one shape: their values in the shape's key order (`shaped_cells`).
Int and float columns stay typed until `texts_of` makes them text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.parsing.fields import JSON_LOOKUP, normalize_name
from backtestdb.parsing.records import EMPTY_MARKS, item_raw, scalar_of

NUMBER_FIELDS: Final = frozenset(
    {"entry_price", "exit_price", "quantity", "volume", "commission", "swap", "pips"}
    | {"gross_profit", "profit", "balance"}
)
TIME_FIELDS: Final = frozenset({"open_time", "close_time"})
#: The ints whose decimal text is epoch milliseconds to `to_utc` (11-13 digits): an int
#: time outside them is read otherwise as a number than as text, so its row is odd.
_EPOCH_MS_INTS: Final = (10**10, 10**13)
#: Text the row path reads unlike a CSV cell: space or other odd characters at an edge
#: (the comment is kept unstripped), or a "no value" mark (a value to the validator).
_ODD_EDGE: Final = r"^[^\x21-\x7e]|[^\x21-\x7e]$"
_MARKS: Final = pa.array(sorted(EMPTY_MARKS))
KeyFields = dict[str, str | None]
#: `json.dumps(value, ensure_ascii=False)`, without the encoder dumps builds per call.
json_text: Final = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(slots=True)
class BlockCells:
    """One block's cells: per canonical field found in it its `typed_of` array (`texts_of`
    makes it text), the odd rows, and the stored JSON of each row's extra keys."""

    fields: dict[str, Any]
    odd: Any
    extra: Any

    @property
    def rows(self) -> int:
        return len(self.odd)


def key_field(key: str) -> str | None:
    """The canonical trade field of an item's key (None: an extra key)."""
    return JSON_LOOKUP.get(normalize_name(key))


def meet_key(key: str, key_fields: KeyFields, columns: dict[str, str]) -> None:
    """Note a key the first pass meets: its field, and the field's first key."""
    if key not in key_fields:
        canonical = key_fields[key] = key_field(key)
        if canonical is not None:
            columns.setdefault(canonical, key)


def meet_keys(keys: Iterable[str], key_fields: KeyFields, columns: dict[str, str]) -> None:
    """`meet_key` of each key, in order."""
    for key in keys:
        meet_key(key, key_fields, columns)


def block_cells(block: list[dict[str, Any]], key_fields: KeyFields) -> BlockCells:
    """The cells of decoded items (every key of theirs in `key_fields`)."""
    keys: dict[str, list[str]] = {}
    for key in dict.fromkeys(k for item in block for k in item):
        name = key_fields[key]
        if name is not None:
            keys.setdefault(name, []).append(key)
    twice = any(len(found) > 1 for found in keys.values())
    unknown = frozenset(key for key, name in key_fields.items() if name is None)
    columns = _by_item(block, key_fields, list(keys)) if twice else _by_key(block, keys)
    extra = _extra(block, key_fields, None if twice else unknown) if twice or unknown else None
    return _cells(dict(zip(keys, columns, strict=True)), len(block), extra)


def shaped_cells(
    columns: list[list[Any]], keys: Sequence[str], key_fields: KeyFields, rows: int
) -> BlockCells:
    """The cells of items of one shape: `columns[i]` holds every item's value of
    `keys[i]` (an item's first key of a field wins, as `item_raw` has it; the other keys
    are extra)."""
    fields: dict[str, Sequence[Any]] = {}
    extra_at: list[int] = []
    for at, key in enumerate(keys):
        name = key_fields[key]
        if name is None or name in fields:
            extra_at.append(at)
        else:
            fields[name] = columns[at]
    extra: list[str | None] | None = None
    if extra_at:
        named = [keys[at] for at in extra_at]
        extra = [
            json_text(dict(zip(named, map(scalar_of, values), strict=True)))
            for values in zip(*(columns[at] for at in extra_at), strict=True)
        ]
    return _cells(fields, rows, extra)


def _cells(
    columns: dict[str, Sequence[Any]], rows: int, extra: list[str | None] | None
) -> BlockCells:
    fields, odd = {}, pa.array([False] * rows, pa.bool_())
    for name, values in columns.items():
        fields[name], bad = typed_of(values, name)
        odd = pc.or_(odd, bad)
    texts = pa.nulls(rows, pa.string()) if extra is None else pa.array(extra, pa.string())
    return BlockCells(fields, odd, texts)


def _by_key(block: list[dict[str, Any]], keys: dict[str, list[str]]) -> list[Sequence[Any]]:
    """Each field's values, by its one key."""
    named = [found[0] for found in keys.values()]
    values: Iterator[Sequence[Any]]
    try:  # every item has every key: the common case, transposed in C
        if len(named) > 1:
            values = iter(zip(*map(itemgetter(*named), block), strict=True))
        else:
            values = iter([[item[key] for item in block] for key in named])
    except KeyError:
        values = iter([[item.get(key) for item in block] for key in named])
    return list(values)


def _by_item(
    block: list[dict[str, Any]], key_fields: KeyFields, fields: list[str]
) -> list[Sequence[Any]]:
    """Each field's values as `item_raw` reads them (the raw values, not scalars)."""
    columns: dict[str, list[Any]] = {name: [None] * len(block) for name in fields}
    for index, item in enumerate(block):
        seen: set[str] = set()
        for key, value in item.items():
            name = key_fields[key]
            if name is not None and name not in seen:
                seen.add(name)
                columns[name][index] = value
    return [columns[name] for name in fields]


def _extra(
    block: list[dict[str, Any]], key_fields: KeyFields, unknown: frozenset[str] | None
) -> list[str | None]:
    """`item_raw`'s extra of each item as stored JSON; `unknown`: the keys that are all of
    it (no field has two keys), else None."""
    texts: list[str | None] = []
    for index, item in enumerate(block):
        if unknown is None:
            extra = item_raw(index + 1, item, key_fields).extra
        else:
            extra = {key: scalar_of(value) for key, value in item.items() if key in unknown}
        texts.append(json_text(extra) if extra else None)
    return texts


def typed_of(values: Sequence[Any], name: str) -> tuple[Any, Any]:
    """(the column's values as an Arrow array, its odd rows). An int64 or double array
    becomes its cells later (`texts_of`), where the time it takes can overlap the
    database's; anything else is its cells already. None (no value) stays null, apart
    from "": the cells of a row that is not odd are what the validator reads it as, even
    in the errors it names them in (`json_spool` keeps no other copy of the row)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if kinds <= {str}:
        return text_cells(pa.array(values, pa.string()))
    if kinds == {int}:
        try:
            return int_cells(pa.array(values, pa.int64()), name)
        except (OverflowError, pa.ArrowInvalid):
            return one_by_one(values, name)
    if kinds == {float} and name in NUMBER_FIELDS:
        return pa.array(values, pa.float64()), nothing_odd(len(values))
    return one_by_one(values, name)


def nothing_odd(rows: int) -> Any:
    return pa.array([False] * rows, pa.bool_())


def text_cells(text: Any) -> tuple[Any, Any]:
    """`typed_of` of a string array: a text with an odd edge, or a mark, is odd."""
    if text.null_count == len(text):
        return text, nothing_odd(len(text))
    edge = pc.or_(pc.match_substring_regex(text, _ODD_EDGE), pc.is_in(text, value_set=_MARKS))
    return text, pc.fill_null(edge, False)  # a mark with space around has an odd edge


def int_cells(ints: Any, name: str) -> tuple[Any, Any]:
    """`typed_of` of an int64 array: a time outside epoch milliseconds' digits is odd."""
    if name in TIME_FIELDS:
        low, high = _EPOCH_MS_INTS
        digits = pc.and_(pc.greater_equal(ints, low), pc.less(ints, high))
        return ints, pc.invert(pc.fill_null(digits, True))
    return ints, nothing_odd(len(ints))


def texts_of(typed: Any) -> Any:
    """The cells of `typed_of`'s array."""
    if pa.types.is_integer(typed.type):
        return pc.cast(typed, pa.string())
    if pa.types.is_floating(typed.type):
        return float_texts(typed)
    return typed


def float_texts(values: Any) -> Any:
    """`repr` of each float (null stays null), from Arrow's text where that is repr's: it
    writes the same shortest digits, but drops a whole number's ".0", and its exponent
    forms differ (repr's start below 1e-4 and from 1e16): those go through repr."""
    floats = values if isinstance(values, pa.Array) else pa.array(values, pa.float64())
    text = pc.cast(floats, pa.string())
    size = pc.abs(floats)
    apart = pc.or_(
        pc.match_substring(text, "e"),
        pc.or_(pc.and_(pc.less(size, 1e-4), pc.greater(size, 0)), pc.greater_equal(size, 1e16)),
    )
    whole = pc.and_(pc.is_finite(floats), pc.equal(floats, pc.floor(floats)))
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    if not pc.any(apart).as_py():
        return text
    texts = text.to_pylist()
    for index in pc.indices_nonzero(pc.fill_null(apart, False)).to_pylist():
        texts[index] = repr(floats[index].as_py())
    return pa.array(texts, pa.string())


def one_by_one(values: Sequence[Any], name: str) -> tuple[Any, Any]:
    """The general case, a value at a time: mixed kinds, big ints, bools, objects."""
    texts: list[str | None] = []
    odd: list[bool] = []
    for value in values:
        kind = type(value)
        if value is None:
            texts.append(None)
            odd.append(False)
        elif kind is int:
            texts.append(str(value))
            low, high = _EPOCH_MS_INTS
            odd.append(name in TIME_FIELDS and not low <= value < high)
        elif kind is float and name in NUMBER_FIELDS:
            texts.append(repr(value))
            odd.append(False)
        elif kind is str:
            texts.append(value)
            odd.append(value.strip() in EMPTY_MARKS)
        else:  # bool, object, array, or a float where no number is due
            texts.append(str(scalar_of(value)))
            odd.append(True)
    text = pa.array(texts, pa.string())
    edge = pc.fill_null(pc.match_substring_regex(text, _ODD_EDGE), False)
    return text, pc.or_(pa.array(odd, pa.bool_()), edge)
