"""A report's trades (decoded JSON items) as the blocks of text cells `cells.normalise`
reads, so reports take the columnar path of History CSVs.

Each canonical field becomes one column of the text the validator would read the value
as: a string as written, an int in decimal, a float as `repr` writes it (what
`to_decimal` reads), a missing key or null as an empty cell. A value this cannot carry
(a bool, an object or array, a float where a time, id or text is due, text with space or
a "no value" mark at an edge, which the row path reads unlike a CSV cell) makes its row
odd: that row goes to the validator as the row path builds it (`TradeSource.item_raw`),
which stays the one definition of valid.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.ingest.columnar.cells import Plan, normalise
from backtestdb.ingest.columnar.rows import checked_trades
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing.records import (
    EMPTY_MARKS,
    TRADE_FIELDS,
    RawTrade,
    TradeSource,
    scalar_of,
)

#: Items per block: about the Arrow work of a 1 MiB History CSV block.
BLOCK_ITEMS: Final = 8192
_NUMBERS: Final = frozenset(
    {"entry_price", "exit_price", "quantity", "volume", "commission", "swap", "pips"}
    | {"gross_profit", "profit", "balance"}
)
_TIMES: Final = frozenset({"open_time", "close_time"})
#: Text the row path reads unlike a CSV cell: space or other odd characters at an edge
#: (the comment is kept unstripped), or a "no value" mark (a value to the validator).
_ODD_EDGE: Final = r"^[^\x21-\x7e]|[^\x21-\x7e]$"
_MARKS: Final = pa.array(sorted(EMPTY_MARKS))


@dataclass(slots=True)
class ItemBlock:
    first_row: int
    items: list[dict[str, Any]]
    #: One text column per field of `item_plan`'s source, in its order.
    table: pa.Table
    #: Rows the cells cannot stand for: the validator reads them.
    odd: Any
    #: The stored JSON of each row's unknown keys (null: none).
    extra: Any
    source: TradeSource

    def raw(self, index: int, row: int) -> RawTrade:
        return self.source.item_raw(row, self.items[index])


def item_plan(source: TradeSource) -> Plan:
    """The Plan of a report's blocks: a column per canonical field found, and the fees
    always (a report item without one has none: 0, as the validator reads it)."""
    found = set(source.columns) | {"commission", "swap"}
    fields = [name for name in TRADE_FIELDS if name in found]
    cells = TradeSource(
        file=source.file,
        rows=iter(()),
        columns=source.columns,
        header=fields,
        indexes={name: index for index, name in enumerate(fields)},
    )
    return Plan.of(cells)


def item_blocks(source: TradeSource, plan: Plan, size: int | None = None) -> Iterator[ItemBlock]:
    """The report's items in blocks (`BLOCK_ITEMS`), as text cells (`item_plan`'s columns)."""
    size = size or BLOCK_ITEMS
    assert source.items is not None
    items, key_fields, fields = source.items, source.item_fields, plan.source.header
    # Keys per field, in first-seen order; a field with two keys is read item by item
    # (an item's first such key wins, the others are extra).
    keys: dict[str, list[str]] = {name: [] for name in fields}
    for key, name in key_fields.items():
        if name is not None:
            keys[name].append(key)
    twice = any(len(found) > 1 for found in keys.values())
    unknown = frozenset(key for key, name in key_fields.items() if name is None)
    row = 1
    while block := list(islice(items, size)):
        columns = _by_item(block, key_fields, fields) if twice else _by_key(block, keys)
        texts, odd = [], pa.array([False] * len(block), pa.bool_())
        for name, values in zip(fields, columns, strict=True):
            text, bad = _texts(values or [None] * len(block), name)
            texts.append(text)
            odd = pc.or_(odd, bad)
        if twice or unknown:
            extra = _extra(block, source, None if twice else unknown)
        else:
            extra = pa.nulls(len(block), pa.string())
        table = pa.table(texts, names=fields)
        yield ItemBlock(row, block, table, odd, extra, source)
        row += len(block)


def _by_key(block: list[dict[str, Any]], keys: dict[str, list[str]]) -> list[Sequence[Any]]:
    """Each field's values (none: the field has no key), by its one key."""
    named = [found[0] for found in keys.values() if found]
    values: Iterator[Sequence[Any]]
    try:  # every item has every key: the common case, transposed in C
        if len(named) > 1:
            values = iter(zip(*map(itemgetter(*named), block), strict=True))
        else:
            values = iter([[item[key] for item in block] for key in named])
    except KeyError:
        values = iter([[item.get(key) for item in block] for key in named])
    return [next(values) if found else [] for found in keys.values()]


def _by_item(
    block: list[dict[str, Any]], key_fields: dict[str, str | None], fields: list[str]
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


def _extra(block: list[dict[str, Any]], source: TradeSource, unknown: frozenset[str] | None) -> Any:
    """`item_raw`'s extra of each item as stored JSON; `unknown`: the keys that are all of
    it (no field has two keys), else None."""
    texts: list[str | None] = []
    for index, item in enumerate(block):
        if unknown is None:
            extra = source.item_raw(index + 1, item).extra
        else:
            extra = {key: scalar_of(value) for key, value in item.items() if key in unknown}
        texts.append(json.dumps(extra, ensure_ascii=False) if extra else None)
    return pa.array(texts, pa.string())


def _texts(values: Sequence[Any], name: str) -> tuple[Any, Any]:
    """(the column's cells, its odd rows) for one field's values."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    text: Any
    if kinds <= {str}:
        text = pa.array(values, pa.string())
    elif kinds == {int}:
        try:
            text = pc.cast(pa.array(values, pa.int64()), pa.string())
        except (OverflowError, pa.ArrowInvalid):
            return _one_by_one(values, name)
    elif kinds == {float} and name in _NUMBERS:
        text = _float_texts(values)
    else:
        return _one_by_one(values, name)
    text = pc.fill_null(text, "")
    odd: Any = pa.array([False] * len(values), pa.bool_())
    if str in kinds:  # a mark with space around it has an odd edge already
        odd = pc.or_(pc.match_substring_regex(text, _ODD_EDGE), pc.is_in(text, value_set=_MARKS))
    return text, odd


def _float_texts(values: Sequence[Any]) -> Any:
    """`repr` of each float (null stays null), from Arrow's text where that is repr's: it
    writes the same shortest digits, but drops a whole number's ".0", and its exponent
    forms differ (repr's start below 1e-4 and from 1e16): those go through repr."""
    floats = pa.array(values, pa.float64())
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
        texts[index] = repr(values[index])
    return pa.array(texts, pa.string())


def _one_by_one(values: Sequence[Any], name: str) -> tuple[Any, Any]:
    """The general case, a value at a time: mixed kinds, big ints, bools, objects."""
    texts: list[str] = []
    odd: list[bool] = []
    for value in values:
        kind = type(value)
        if value is None:
            texts.append("")
            odd.append(False)
        elif kind is int:
            texts.append(str(value))
            odd.append(False)
        elif kind is float and name in _NUMBERS:
            texts.append(repr(value))
            odd.append(False)
        elif kind is str:
            texts.append(value)
            odd.append(value.strip() in EMPTY_MARKS)
        else:  # bool, object, array, or a float where no number is due
            texts.append(str(scalar_of(value)))
            odd.append(True)
    text = pa.array(texts, pa.string())
    edge = pc.match_substring_regex(text, _ODD_EDGE)
    return text, pc.or_(pa.array(odd, pa.bool_()), edge)


def valid_items(block: ItemBlock, plan: Plan, validator: TradeValidator) -> pa.Table:
    """The block's valid trades in row order, as `cells.COLUMNS`."""
    normalised = normalise(block.table, block.first_row, plan)
    normalised.values["extra"] = block.extra
    normalised.ok = pc.and_(normalised.ok, pc.invert(block.odd))
    return checked_trades(normalised, validator, block.raw)
