"""Money in integer cents, and percents of integers: the arithmetic every figure shares.

The database stores money with 2 decimals, so balances computed from the stored
(cent-rounded) profits add up exactly, and integer arithmetic keeps the per-row cost low
on million-trade files. Money rounds half-up to cents, percents half-up to their places.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")
BASIS = Decimal("0.0001")


def to_cents(amount: Decimal) -> int:
    """Round half-up to whole cents."""
    return int(amount.scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def money_text(cents: int) -> str:
    """Cents as PostgreSQL input text: 12345 -> "123.45", -5 -> "-0.05"."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}{whole}.{fraction:02d}"


def ratio_text(part: int, whole: int, places: int) -> str:
    """part / whole * 100, half-up to `places` decimals, for part >= 0 and whole > 0."""
    if part == 0 or whole <= 0:
        return "0"
    scale = 10**places
    units = (part * 100 * scale * 2 // whole + 1) // 2
    integer, fraction = divmod(units, scale)
    return f"{integer}.{fraction:0{places}d}"


def percent(part: int, whole: int, places: int = 2) -> Decimal:
    return Decimal(ratio_text(part, whole, places)) if whole > 0 else ZERO
