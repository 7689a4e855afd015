"""One block of History CSV cells normalised and checked a whole column at a time.

`normalise` turns a block's string columns into the stored values of its rows and a mask
of the rows it could check; a row outside the mask goes to `TradeValidator` (see
`columnar.rows`), which stays the one definition of valid. The mask errs only one way:
every row it takes, the validator would take with the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.ingest.columnar import numbers, times
from backtestdb.ingest.validation import MAX_LENGTHS
from backtestdb.parsing.fields import DIRECTION_ALIASES
from backtestdb.parsing.records import EMPTY_MARKS, TradeSource

_EMPTY = pa.array(["", *sorted(EMPTY_MARKS)])
_ALIASES = pa.array(sorted(DIRECTION_ALIASES))
_DIRECTIONS = pa.array([DIRECTION_ALIASES[name] for name in sorted(DIRECTION_ALIASES)])
# A cell whose first or last character is not printable ASCII: Python's strip and
# Arrow's may differ there, so the validator reads it.
_ODD_EDGE = r"^[^\x21-\x7e]|[^\x21-\x7e]$"
_JSON_ESCAPED = '[\x00-\x1f"\\\\]'
_NUMBER_FIELDS = (
    *("entry_price", "exit_price", "quantity", "volume", "commission", "swap", "pips"),
    *("gross_profit", "profit", "balance"),
)
_CENTS = ("commission", "swap", "profit", "balance")
#: The stored values of a block's rows, as columns: what `carry` and `encode` read.
COLUMNS = (
    *("row", "deal_id", "symbol", "direction", "open_us", "close_us", "entry_price"),
    *("exit_price", "quantity", "volume", "commission", "swap", "pips", "gross_profit"),
    *("profit", "profit_c", "commission_c", "swap_c", "balance_c", "label", "comment"),
    *("extra", "quantity_unit"),
)
TYPES: dict[str, pa.DataType] = {
    name: pa.int64() if name in ("row", "open_us", "close_us") or name.endswith("_c")
    else pa.string()
    for name in COLUMNS
}  # fmt: skip


@dataclass(slots=True)
class Plan:
    """What every block of one file is read with."""

    source: TradeSource
    open_offset: timedelta = timedelta(0)
    close_offset: timedelta = timedelta(0)
    extra_keys: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, source: TradeSource) -> Plan:
        offsets = source.utc_offsets
        return cls(
            source,
            offsets.get("open_time", timedelta(0)),
            offsets.get("close_time", timedelta(0)),
            [json.dumps(name, ensure_ascii=False) for name, _ in source.extra_columns],
        )

    def has(self, name: str) -> bool:
        return name in self.source.indexes


@dataclass(slots=True)
class Normalised:
    """A block's stored values (`COLUMNS`) and the rows they are right for (`ok`)."""

    values: dict[str, Any]
    ok: Any


def trimmed(column: Any) -> tuple[Any, Any]:
    """(cell text stripped, null for empty or "—"; rows whose edges Arrow may trim
    unlike Python)."""
    text = pc.utf8_trim_whitespace(column)
    odd = None
    if not pc.all(pc.string_is_ascii(column)).as_py():
        odd = pc.match_substring_regex(text, _ODD_EDGE)
    return pc.if_else(pc.is_in(text, value_set=_EMPTY), None, text), odd


class _Checks:
    """The `ok` mask, narrowed one check at a time."""

    def __init__(self, rows: int) -> None:
        self.ok: Any = pa.array([True] * rows, pa.bool_())

    def require(self, condition: Any) -> None:
        self.ok = pc.and_(self.ok, pc.fill_null(condition, False))


def normalise(table: pa.Table, first_row: int, plan: Plan) -> Normalised:
    """The stored values of every row of a block of string columns (in header order)."""
    source, n = plan.source, table.num_rows
    checks = _Checks(n)
    cells: dict[str, Any] = {}
    for name, index in source.indexes.items():
        cells[name], odd = trimmed(table.column(index))
        if odd is not None:
            checks.require(pc.invert(odd))
    values: dict[str, Any] = {"row": pa.array(range(first_row, first_row + n), pa.int64())}
    _texts(cells, values, checks, plan)
    _times(cells, values, checks, plan)
    _numbers(cells, values, checks, plan)
    values["extra"] = _extra(table, checks, plan)
    return Normalised(values, checks.ok)


def _texts(cells: dict[str, Any], values: dict[str, Any], checks: _Checks, plan: Plan) -> None:
    for name in ("deal_id", "symbol", "label", "comment"):
        text = cells.get(name)
        values[name] = text if text is not None else pa.nulls(len(values["row"]), pa.string())
        if name in MAX_LENGTHS and text is not None:
            checks.require(
                pc.or_(pc.is_null(text), pc.less_equal(pc.utf8_length(text), MAX_LENGTHS[name]))
            )
    checks.require(pc.is_valid(cells["symbol"]))
    written = cells["direction"]
    checks.require(pc.string_is_ascii(written))
    found = pc.index_in(pc.utf8_lower(written), value_set=_ALIASES)
    checks.require(pc.is_valid(found))
    values["direction"] = pc.take(_DIRECTIONS, found)


def _times(cells: dict[str, Any], values: dict[str, Any], checks: _Checks, plan: Plan) -> None:
    close = times.micros(cells["close_time"], plan.close_offset)
    checks.require(pc.is_valid(close))
    values["close_us"] = close
    if not plan.has("open_time"):
        values["open_us"] = pa.nulls(len(close), pa.int64())
        return
    opened = times.micros(cells["open_time"], plan.open_offset)
    checks.require(pc.is_valid(opened))
    checks.require(pc.greater_equal(close, opened))
    values["open_us"] = opened


def _numbers(cells: dict[str, Any], values: dict[str, Any], checks: _Checks, plan: Plan) -> None:
    comma, rows = plan.source.decimal_comma, len(values["row"])
    units: list[Any] = []
    for name in _NUMBER_FIELDS:
        text = cells.get(name)
        if text is None:
            values[name] = pa.nulls(rows, pa.string())
            if name in _CENTS:
                values[name + "_c"] = pa.nulls(rows, pa.int64())
            continue
        if name in ("quantity", "volume"):
            text, unit = numbers.split_units(text)
            units.append(unit)
        checked = numbers.numbers(text, name, decimal_comma=comma)
        checks.require(checked.ok)
        if name in ("profit", "entry_price", "exit_price"):
            checks.require(pc.invert(checked.empty))
        stored = checked.text
        if name in ("commission", "swap"):
            stored = pc.fill_null(stored, "0")
        values[name] = stored
        if name in _CENTS:
            values[name + "_c"] = numbers.cents(stored)
    for name in ("commission", "swap"):
        values[name + "_c"] = pc.fill_null(values[name + "_c"], 0)
    values["quantity_unit"] = pc.coalesce(*units) if units else pa.nulls(rows, pa.string())


def _extra(table: pa.Table, checks: _Checks, plan: Plan) -> Any:
    """The unknown columns as the JSON object `stored_rows.trade_fields` writes."""
    source, rows = plan.source, table.num_rows
    if not source.extra_columns:
        return pa.nulls(rows, pa.string())
    parts: list[Any] = []
    size: Any = pa.array([0] * rows, pa.int64())
    for number, ((name, index), key) in enumerate(
        zip(source.extra_columns, plan.extra_keys, strict=True)
    ):
        value, odd = trimmed(table.column(index))
        if odd is not None:
            checks.require(pc.invert(odd))
        checks.require(
            pc.invert(pc.fill_null(pc.match_substring_regex(value, _JSON_ESCAPED), False))
        )
        size = pc.add(size, pc.add(pc.fill_null(pc.utf8_length(value), 0), len(name)))
        quoted = pc.binary_join_element_wise('"', value, '"', "")
        parts.append(("{" if number == 0 else ", ") + key + ": ")
        parts.append(pc.fill_null(quoted, "null"))
    checks.require(pc.less_equal(size, source.max_extra_chars))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")
