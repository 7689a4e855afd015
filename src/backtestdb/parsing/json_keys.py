"""Reading decoded report JSON: keys matched loosely, numbers and texts checked against
the columns that will hold them. Shared by the full report and the CLI summary."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from backtestdb.errors import InputError

# A module import, not names: values imports backtestdb.parsing, which imports us.
from backtestdb.parsing import values
from backtestdb.parsing.fields import normalize_name

#: What the backtests columns hold: money NUMERIC(18,2) (the bound trades use too),
#: percents NUMERIC(7,2), counts INTEGER.
MONEY_LIMIT = Decimal("1e15")
PERCENT_LIMIT = Decimal("1e5")
COUNT_LIMIT = Decimal(2**31)
RATIO_LIMIT = Decimal("1e10")  # a profit factor: NUMERIC(14,4)


class Keys:
    """Case- and punctuation-insensitive view of one JSON object."""

    def __init__(self, obj: dict[str, Any], path: str) -> None:
        self.obj = obj
        self.path = path
        self.keys = {normalize_name(key): key for key in obj}

    def key(self, *names: str) -> str | None:
        for name in names:
            key = self.keys.get(normalize_name(name))
            if key is not None:
                return key
        return None

    def get(self, *names: str) -> Any:
        key = self.key(*names)
        return None if key is None else self.obj[key]

    def column(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def to_number(value: Any, file: str, column: str, limit: Decimal = MONEY_LIMIT) -> Decimal | None:
    """A JSON number (or numeric text) as a Decimal; None stays None."""
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("expected a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        number = values.to_decimal(value, decimal_comma=False)
        if not number.is_finite() or abs(number) >= limit:
            raise ValueError(f"must be below {limit:.0e} in absolute value")
        return number
    except ValueError as exc:
        raise InputError(file, str(exc), column=column, value=short(value)) from exc


def to_count(value: Any, file: str, column: str) -> int | None:
    """A JSON number that must be whole (a trade count)."""
    number = to_number(value, file, column, COUNT_LIMIT)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise InputError(file, "expected a whole number", column=column, value=short(value))
    return int(number)


def to_ratio(value: Any) -> Decimal | None:
    """A profit factor when it is a finite number, else None: cTrader writes none (or NaN)
    without losing trades, and a ratio is never worth refusing the report for."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = values.to_decimal(value, decimal_comma=False)
    except ValueError:
        return None
    return number if number.is_finite() and abs(number) < RATIO_LIMIT else None


def limited_text(section: Keys, name: str, limit: int, file: str) -> Any:
    """A summary text as found; longer than its column is an error, not a truncation."""
    key = section.key(name)
    value = None if key is None else section.obj[key]
    if isinstance(value, str) and len(value) > limit:
        raise InputError(
            file, f"longer than {limit} characters", column=section.column(name),
            value=short(value),
        )  # fmt: skip
    return value


def short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
