"""Values as written in an export -> Python values: numbers, UTC times, directions.

Hand-written rather than strptime/locale based because they run once per value on files
with millions of rows; pure, and shared by validation and the report parser.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from backtestdb.parsing.fields import DIRECTION_ALIASES
from backtestdb.parsing.records import Direction, Scalar

MIN_YEAR: Final = 1970
MAX_YEAR: Final = 2100

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MAX_EPOCH_MS = int((datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1000)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{3})+")
_IGNORED_IN_NUMBERS = str.maketrans("", "", " \u00a0\u202f\u2009'")
_CTRADER_TIME = re.compile(
    r"(\d{1,2})([/.])(\d{1,2})\2(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
)
# "20 Aug 2026 21:56:13.342" and "20 Aug 2026 09:34:21": the History tab's own form.
_MONTH_TIME = re.compile(
    r"(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ -](\d{4})[ T,]+"
    r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
)
_MONTHS: Final = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
         ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
         ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")),
        start=1,
    )
    for name in names
}  # fmt: skip
# A quantity with its unit: "13.8 Lots", "1 428 Lots", "10 Indices".
_WITH_UNIT = re.compile(r"(.*?\d\.?)\s*([^\W\d_][^\d]{0,15})")
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


def split_unit(value: Scalar) -> tuple[Scalar, str | None]:
    """A quantity as written and its unit: "13.8 Lots" -> ("13.8", "Lots"); "2" -> ("2", None)."""
    if type(value) is not str:
        return value, None
    match = _WITH_UNIT.fullmatch(value.strip())
    if match is None:
        return value, None
    return match.group(1), match.group(2).strip()


def to_utc(value: Scalar, *, offset: timedelta = timedelta(0)) -> datetime:
    """Parse epoch milliseconds, cTrader "dd/MM/yyyy HH:mm:ss.fff" or "dd MMM yyyy HH:mm:ss.fff"
    (milliseconds optional in both) or ISO 8601 to aware UTC.

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
    if (named := _MONTH_TIME.fullmatch(text)) is not None:
        return _from_month_name(named, text, offset)
    if _EPOCH_MS_TEXT.fullmatch(text):
        return _from_epoch_ms(int(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a time: {text!r} (expected dd/MM/yyyy HH:mm:ss.fff, dd MMM yyyy HH:mm:ss.fff "
            "or ISO 8601)"
        ) from None
    if parsed.tzinfo is None:
        return _check_year(parsed.replace(tzinfo=UTC) - offset, text)
    return _check_year(parsed.astimezone(UTC), text)


def _from_month_name(match: re.Match[str], text: str, offset: timedelta) -> datetime:
    day, month_name, year, hour, minute, second, fraction = match.groups()
    month = _MONTHS.get(month_name.casefold())
    if month is None:
        raise ValueError(f"not a time: {text!r} (unknown month {month_name!r})")
    micros = int(fraction.ljust(6, "0")) if fraction else 0
    try:
        local = datetime(
            int(year), month, int(day), int(hour), int(minute), int(second or 0), micros
        )
    except ValueError as exc:
        raise ValueError(f"not a valid time: {text!r} ({exc})") from None
    return _check_year(local.replace(tzinfo=UTC) - offset, text)


def _from_epoch_ms(value: float) -> datetime:
    # No math.isfinite: it converts to float, which a 400-digit int overflows; NaN and
    # the infinities fail the comparison anyway.
    if not 0 <= value < MAX_EPOCH_MS:
        raise ValueError(f"epoch milliseconds out of range ({MIN_YEAR}-{MAX_YEAR}): {value}")
    return EPOCH + timedelta(milliseconds=value)


def _check_year(moment: datetime, text: str) -> datetime:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"year out of range ({MIN_YEAR}-{MAX_YEAR}): {text!r}")
    return moment


def to_direction(value: Scalar) -> Direction:
    direction = DIRECTION_ALIASES.get(str(value).strip().casefold()) if value is not None else None
    if direction is None:
        raise ValueError("unknown direction (expected Buy or Sell)")
    return direction
