"""Figures from daily balance returns: Sharpe, Sortino, CAGR, Calmar, best and worst days.

A day is a UTC calendar day of the trades' close. The return series covers every weekday
from the first to the last close day, plus any weekend day with trades: a weekday without
a closed trade is a 0 % day (FX trades Monday to Friday, so leaving those days out would
overstate the ratios). The first day's return is measured against the initial balance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from backtestdb.money import BASIS, from_cents

YEAR_DAYS = 365.25
#: Ratios beyond this do not fit NUMERIC(14,4); they mean "no meaningful value".
LIMIT = 1e9


@dataclass(frozen=True, slots=True)
class ReturnFigures:
    days_per_year: int
    return_days: int
    sharpe_ratio: Decimal | None
    sortino_ratio: Decimal | None
    cagr_percent: Decimal | None
    calmar_ratio: Decimal | None
    best_day: date | None
    best_day_net: Decimal | None
    worst_day: date | None
    worst_day_net: Decimal | None
    best_month: str | None
    best_month_net: Decimal | None
    worst_month: str | None
    worst_month_net: Decimal | None


def rounded(value: float | None, places: Decimal = BASIS) -> Decimal | None:
    if value is None or not math.isfinite(value) or abs(value) >= LIMIT:
        return None
    return Decimal(repr(value)).quantize(places, rounding=ROUND_HALF_UP)


class ReturnsAccumulator:
    """Per-day net and end balance, per-month net (cents); only these stay in memory."""

    def __init__(self, initial: int, days_per_year: int) -> None:
        self.initial = self.balance = initial
        self.days_per_year = days_per_year
        self.days: dict[date, list[int]] = {}
        self.months: dict[str, int] = {}

    def add(self, when: datetime, profit: int, balance: int) -> None:
        utc = when.astimezone(UTC)
        day = self.days.get(utc.date())
        if day is None:
            day = self.days[utc.date()] = [0, balance]
        day[0] += profit
        day[1] = balance
        self.balance = balance
        month = f"{utc.year:04d}-{utc.month:02d}"
        self.months[month] = self.months.get(month, 0) + profit

    def daily_returns(self) -> list[float]:
        if not self.days:
            return []
        returns: list[float] = []
        previous = self.initial
        day, last = min(self.days), max(self.days)
        while day <= last:
            entry = self.days.get(day)
            if entry is not None or day.weekday() < 5:
                end = entry[1] if entry is not None else previous
                returns.append(end / previous - 1 if previous > 0 else 0.0)
                previous = end
            day += timedelta(days=1)
        return returns

    def result(self, period_days: Decimal, max_drawdown_percent: Decimal) -> ReturnFigures:
        returns = self.daily_returns()
        sharpe = sortino = None
        annual = math.sqrt(self.days_per_year)
        if len(returns) >= 2:
            mean = sum(returns) / len(returns)
            variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
            if variance > 0:
                sharpe = mean / math.sqrt(variance) * annual
            downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
            if downside > 0:
                sortino = mean / downside * annual
        cagr = self.cagr(float(period_days))
        calmar = None
        if cagr is not None and max_drawdown_percent > 0:
            calmar = float(cagr) / float(max_drawdown_percent)
        best_day = max(self.days, key=lambda d: (self.days[d][0], -d.toordinal()), default=None)
        worst_day = min(self.days, key=lambda d: (self.days[d][0], d), default=None)
        best_month = max(self.months, key=lambda m: (self.months[m], _negated(m)), default=None)
        worst_month = min(self.months, key=lambda m: (self.months[m], m), default=None)
        return ReturnFigures(
            days_per_year=self.days_per_year,
            return_days=len(returns),
            sharpe_ratio=rounded(sharpe),
            sortino_ratio=rounded(sortino),
            cagr_percent=cagr,
            calmar_ratio=rounded(calmar),
            best_day=best_day,
            best_day_net=None if best_day is None else from_cents(self.days[best_day][0]),
            worst_day=worst_day,
            worst_day_net=None if worst_day is None else from_cents(self.days[worst_day][0]),
            best_month=best_month,
            best_month_net=None if best_month is None else from_cents(self.months[best_month]),
            worst_month=worst_month,
            worst_month_net=None if worst_month is None else from_cents(self.months[worst_month]),
        )

    def cagr(self, period_days: float) -> Decimal | None:
        """Compound annual growth in percent; none for a period under a day, where
        annualising turns noise into absurd numbers."""
        if period_days < 1 or self.initial <= 0 or not self.days:
            return None
        growth = self.balance / self.initial
        if growth <= 0:
            return Decimal(-100)
        try:
            value = (growth ** (YEAR_DAYS / period_days) - 1) * 100
        except OverflowError:
            return None
        return rounded(value)


def _negated(month: str) -> tuple[int, int]:
    # Earliest month wins a tie for "best" too, like the days.
    year, number = month.split("-")
    return (-int(year), -int(number))
