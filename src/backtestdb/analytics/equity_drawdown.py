"""The maximum equity drawdown of an equity series (pure): the largest fall of equity from
its running peak, and that fall in percent of the peak it fell from.

Fed by `ingest.events` with each event's equity of an events.json, in time order; the
first equity (the starting balance) is the first peak. Money in integer cents, like
`backtestdb.money`, so the figure is exact to the cent.
"""

from __future__ import annotations

from decimal import Decimal

from backtestdb.money import from_cents, percent, to_cents


class EquityDrawdown:
    def __init__(self) -> None:
        self.peak: int | None = None
        self.largest = 0
        self.largest_peak = 0

    def add(self, equity: Decimal | None) -> None:
        """One equity in time order; None (an event without equity) is passed over."""
        if equity is not None:
            self.add_cents(to_cents(equity))

    def add_cents(self, cents: int | None) -> None:
        """One equity in cents; None is passed over."""
        if cents is None:
            return
        if self.peak is None or cents > self.peak:
            self.peak = cents
        fall = self.peak - cents
        if fall > self.largest:
            self.largest, self.largest_peak = fall, self.peak

    def result(self) -> tuple[Decimal | None, Decimal | None]:
        """(amount, percent of its peak, 2 dp); (None, None) when no event had an equity."""
        if self.peak is None:
            return None, None
        return from_cents(self.largest), percent(self.largest, self.largest_peak)
