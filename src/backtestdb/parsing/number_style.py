"""Which decimal mark a History CSV uses, told from its first rows (pure).

cTrader writes numbers in the user's locale: "1,08418" (decimal comma), "1,000.00" (a
thousands comma, quoted), "10 018,42" (space grouping). One file uses one style, so it is
decided once per file from the numeric cells of its first rows: a decimal comma where a
comma is followed by other than three digits, a decimal point where a point is, a
thousands comma where commas group threes before a point. A file that shows both is
refused, and so is one whose only commas group threes ("1,000": a thousand, or one?).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from backtestdb.errors import InputError

#: Fields whose cells are numbers (quantities may carry a unit, which is ignored here).
NUMERIC_FIELDS = (
    *("entry_price", "exit_price", "quantity", "volume", "commission", "swap", "pips"),
    *("gross_profit", "profit", "balance"),
)
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'")
_NUMBER_PART = re.compile(r"[+\-\u2212]?(\d[\d.,]*)")
_DECIMAL_COMMA = re.compile(r"\d+,(?:\d{1,2}|\d{4,})|\d{1,3}(?:\.\d{3})+,\d+")
_DECIMAL_POINT = re.compile(
    r"\d+\.(?:\d{1,2}|\d{4,})|\d{1,3}(?:,\d{3})+\.\d+|\d{1,3}(?:,\d{3}){2,}"
)
_COMMA_GROUPED = re.compile(r"\d{1,3},\d{3}")

#: (row, column as written, cell text)
Sample = tuple[int, str, str]


def uses_decimal_comma(samples: Iterable[Sample], file: str, *, separator: str) -> bool:
    """True for a decimal comma, False for a decimal point; InputError when it cannot tell."""
    comma: Sample | None = None
    point: Sample | None = None
    grouped: Sample | None = None
    for sample in samples:
        match = _NUMBER_PART.match(sample[2].translate(_SPACES))
        if match is None:
            continue
        number = match.group(1)
        if comma is None and _DECIMAL_COMMA.fullmatch(number):
            comma = sample
        elif point is None and _DECIMAL_POINT.fullmatch(number):
            point = sample
        elif grouped is None and _COMMA_GROUPED.fullmatch(number):
            grouped = sample
    if comma is not None and point is not None:
        raise InputError(
            file,
            f"mixed decimal marks: {_where(comma)} has a decimal comma but {_where(point)} "
            "has a decimal point; export the file again with one number format",
        )
    if comma is not None or point is not None:
        return comma is not None
    if grouped is not None and separator == ",":
        raise InputError(
            file,
            f"cannot tell the decimal mark: {_where(grouped)} could be a thousands comma or a "
            "decimal comma, and no other number says which; export the file again with "
            "prices (Entry price, Closing price) included, or with ';' between columns if "
            "',' is your decimal mark",
        )
    return separator == ";"


def _where(sample: Sample) -> str:
    row, column, text = sample
    return f"row {row} column {column!r} ({text!r})"
