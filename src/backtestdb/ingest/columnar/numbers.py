"""Number cells of a whole column at a time: the forms `parsing.values.to_decimal` takes,
turned into the text `str(Decimal)` gives, checked against the bounds `validation` sets.

Only a subset of what the validator accepts passes here (plain digits, grouping by space,
NBSP, narrow NBSP, comma or point, the file's decimal mark): any other cell is null in
`text` and false in `ok`, and its row goes to the validator. A test compares these
columns with `to_decimal` on many generated cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

_IGNORED = "[ \u00a0\u202f\u2009']"
_PLAIN = r"^-?\d+(?:\.\d+)?$"
# (pattern, characters removed, comma becomes point): the grouped forms of each mark.
_COMMA_FORMS = (
    (r"^-?\d+,\d+$", "", True),
    (r"^-?\d{1,3}(?:\.\d{3})+,\d+$", ".", True),
    (r"^-?\d{1,3}(?:\.\d{3}){2,}$", ".", False),
    (r"^-?\d{1,3}(?:,\d{3}){2,}$", ",", False),
    (r"^-?\d{1,3}(?:,\d{3})+\.\d+$", ",", False),
)
_POINT_FORMS = (
    (r"^-?\d{1,3}(?:,\d{3})+\.\d+$", ",", False),
    (r"^-?\d{1,3}(?:,\d{3})+$", ",", False),
    (r"^-?\d{1,3}(?:\.\d{3})+,\d+$", ".", True),
)
# What the validator's bounds and places allow, as text `str(Decimal)` leaves unchanged
# (no leading zeros, no "0.000000x" that it would write in exponent form).
_PRICE = r"^(?:0|[1-9]\d{0,10})(?:\.\d{1,8})?$"
_SIZE = r"^(?:0|[1-9]\d{0,14})(?:\.\d{1,4})?$"
_PIPS = r"^-?(?:0|[1-9]\d{0,10})(?:\.\d{1,4})?$"
_MONEY = r"^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,2})?$"
BOUNDS: dict[str, str] = {
    "entry_price": _PRICE,
    "exit_price": _PRICE,
    "quantity": _SIZE,
    "volume": _SIZE,
    "pips": _PIPS,
    "commission": _MONEY,
    "swap": _MONEY,
    "gross_profit": _MONEY,
    "profit": _MONEY,
    "balance": _MONEY,
}
#: What `str(Decimal)` writes in exponent form (below 1e-6), with or without a minus.
_TINY = "0.000000"
_NONZERO = "[1-9]"
CENTS_TYPE = pa.decimal128(18, 2)
_HUNDRED = pa.scalar(100, pa.decimal128(3, 0))
# "13.8 Lots": the number and the unit (letters only; anything else goes to the validator).
UNIT = r"^(?P<n>.*?\d\.?)[\s\x{a0}\x{202f}]*(?P<u>[A-Za-z][A-Za-z .]{0,15})$"


@dataclass(slots=True)
class Numbers:
    """One column's numbers: canonical text (null where empty or not taken), whether the
    cell was taken (an empty cell is), and whether it was empty."""

    text: Any
    ok: Any
    empty: Any


def canonical(cells: Any, *, decimal_comma: bool) -> Any:
    """Canonical text of each number cell, null where the form is not one taken here."""
    plain = pc.match_substring_regex(cells, _PLAIN)
    if pc.all(pc.or_kleene(plain, pc.is_null(cells))).as_py():
        return cells
    cleaned = pc.replace_substring(pc.replace_substring_regex(cells, _IGNORED, ""), "\u2212", "-")
    result = pc.if_else(pc.match_substring_regex(cleaned, _PLAIN), cleaned, None)
    for pattern, removed, comma_point in _COMMA_FORMS if decimal_comma else _POINT_FORMS:
        match = pc.match_substring_regex(cleaned, pattern)
        if not pc.any(match).as_py():
            continue
        changed = pc.replace_substring(cleaned, removed, "") if removed else cleaned
        if comma_point:
            changed = pc.replace_substring(changed, ",", ".")
        result = pc.if_else(match, changed, result)
    return result


def numbers(cells: Any, field: str, *, decimal_comma: bool) -> Numbers:
    """Check one column of trimmed cells (null: empty) against the field's bounds."""
    empty = pc.is_null(cells)
    # The bounds only take plain numbers: where every cell fits them as written, the
    # canonical text is the cell itself (one regex pass instead of two).
    text, fits = cells, pc.match_substring_regex(cells, BOUNDS[field])
    if not pc.all(pc.or_kleene(fits, empty)).as_py():
        text = canonical(cells, decimal_comma=decimal_comma)
        fits = pc.match_substring_regex(text, BOUNDS[field])
    if field in ("entry_price", "exit_price"):
        fits = pc.and_(fits, pc.match_substring_regex(text, _NONZERO))
    if field in ("entry_price", "exit_price", "pips", "quantity", "volume"):
        tiny = pc.or_(pc.starts_with(text, _TINY), pc.starts_with(text, "-" + _TINY))
        fits = pc.and_(fits, pc.invert(tiny))
    fits = pc.fill_null(fits, False)
    ok = pc.or_(empty, fits)
    return Numbers(pc.if_else(fits, text, None), ok, empty)


def cents(text: Any) -> Any:
    """Integer cents of canonical money text with at most two decimals (null stays null)."""
    return pc.cast(pc.multiply(pc.cast(text, CENTS_TYPE), _HUNDRED), pa.int64())


def split_units(cells: Any) -> tuple[Any, Any]:
    """(number part, unit) of quantity cells: "13.8 Lots" -> ("13.8", "Lots")."""
    if not pc.any(pc.match_substring_regex(cells, "[A-Za-z]")).as_py():
        return cells, pa.nulls(len(cells), pa.string())  # no unit: the common case
    parts = pc.extract_regex(cells, UNIT)
    has_unit = pc.fill_null(pc.is_valid(parts), False)
    number = pc.if_else(has_unit, pc.struct_field(parts, "n"), cells)
    unit = pc.if_else(has_unit, pc.utf8_trim_whitespace(pc.struct_field(parts, "u")), None)
    return number, unit
