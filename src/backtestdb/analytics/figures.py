"""The full metric set of a backtest, in one pass over its trades (pure).

Feed trades in close-time order to `FiguresAccumulator.add` (it can sit on a database
stream); `result()` gives the figures. Money is summed in integer cents like
`backtestdb.money`, so the figures shared with the ingest summary agree to the cent.
docs/metrics.md gives every formula and unit.

Trades that close at the same instant have no order of their own (a file may list them
either way), so each such group is processed in a canonical order: results never depend
on how ties were listed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from backtestdb.analytics.returns import ReturnFigures, ReturnsAccumulator
from backtestdb.analytics.sides import SideAccumulator, SideFigures, ratio
from backtestdb.money import BASIS, CENT, ZERO, from_cents, percent, to_cents

__all__ = [
    "CentsRow", "Figures", "FiguresAccumulator", "SideFigures", "TradeRow", "compute", "ratio",
]  # fmt: skip

DAY = Decimal(86400)


class TradeRow(NamedTuple):
    """What the figures need of one trade (money as stored: Decimal, 2 dp)."""

    close_time: datetime
    #: None where the file has no opening time (no holding time then); fees None when
    #: the file has no such column (they count as 0).
    open_time: datetime | None
    profit: Decimal
    commission: Decimal | None
    swap: Decimal | None
    direction: str
    symbol: str


class CentsRow(NamedTuple):
    """The same with money in integer cents: what the ingest pass has at hand."""

    close_time: datetime
    open_time: datetime | None
    profit: int
    commission: int
    swap: int
    direction: str
    symbol: str


def tie_key(row: CentsRow | TradeRow) -> tuple[object, ...]:
    """The canonical order of trades closing at the same instant (money compares alike in
    cents and in Decimals; a missing opening time sorts first, missing fees as 0)."""
    opened = (0, row.open_time) if row.open_time is not None else (-1, row.close_time)
    return (opened, row.symbol, row.direction, row.profit, row.commission or 0, row.swap or 0)


@dataclass(frozen=True, slots=True)
class DrawdownFigures:
    """The largest closed-balance fall, and the longest time spent below a peak."""

    max_amount: Decimal
    max_percent: Decimal
    peak_balance: Decimal
    peak_time: datetime | None
    trough_time: datetime | None
    recovery_time: datetime | None
    longest_days: Decimal
    longest_start: datetime | None
    longest_end: datetime | None


@dataclass(frozen=True, slots=True)
class Figures:
    initial_balance: Decimal
    ending_balance: Decimal
    period_start: datetime | None
    period_end: datetime | None
    period_days: Decimal
    all: SideFigures
    long: SideFigures
    short: SideFigures
    drawdown: DrawdownFigures
    recovery_factor: Decimal | None
    average_holding_hours: Decimal | None
    trades_per_day: Decimal | None
    returns: ReturnFigures
    symbols: list[str] = field(default_factory=list)


class FiguresAccumulator:
    """`add` trades in close-time order, then read `result()`.

    `start` / `end` bound the testing period (default: first open, last close); they set
    the initial peak's date, the period for CAGR and trades per day."""

    def __init__(
        self,
        initial_balance: Decimal,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        days_per_year: int = 252,
    ) -> None:
        self.initial = self.balance = self.peak = self.max_peak = to_cents(initial_balance)
        self.start, self.end = start, end
        self.sides = {"all": SideAccumulator(), "buy": SideAccumulator(), "sell": SideAccumulator()}
        self.returns = ReturnsAccumulator(self.initial, days_per_year)
        self.symbols: set[str] = set()
        self.ties: list[CentsRow] = []
        self.first_open: datetime | None = None
        self.first_close: datetime | None = None
        self.last_close: datetime | None = None
        self.holding = timedelta(0)
        self.held = 0  # trades with an opening time, which the holding time averages over
        self.peak_time: datetime | None = start
        self.underwater = False
        self.max_drawdown = 0
        self.max_peak_time: datetime | None = None
        self.trough_time: datetime | None = None
        self.recovery_time: datetime | None = None
        self.longest = timedelta(0)
        self.longest_start: datetime | None = None
        self.longest_end: datetime | None = None

    def add(self, row: TradeRow) -> None:
        self.add_cents(
            CentsRow(
                row.close_time, row.open_time, to_cents(row.profit),
                to_cents(row.commission or ZERO), to_cents(row.swap or ZERO), row.direction,
                row.symbol,
            )
        )  # fmt: skip

    def add_cents(self, row: CentsRow) -> None:
        if self.ties and row.close_time != self.ties[0].close_time:
            if row.close_time < self.ties[0].close_time:
                raise ValueError("trades must be added in close-time order")
            self._flush()
        self.ties.append(row)

    def _flush(self) -> None:
        for row in sorted(self.ties, key=tie_key) if len(self.ties) > 1 else self.ties:
            self._count(row)
        self.ties.clear()

    def _count(self, row: CentsRow) -> None:
        profit, when, commission, swap = row.profit, row.close_time, row.commission, row.swap
        self.sides["all"].add(profit, commission, swap)
        self.sides["buy" if row.direction == "buy" else "sell"].add(profit, commission, swap)
        self.symbols.add(row.symbol)
        opened = row.open_time
        if opened is not None:
            self.held += 1
            self.holding += row.close_time - opened
            if self.first_open is None or opened < self.first_open:
                self.first_open = opened
        if self.peak_time is None:
            self.peak_time = self.start or opened or row.close_time
        self.first_close = self.first_close or when
        self.last_close = when
        self.balance += profit
        self.returns.add(when, profit, self.balance)
        if self.balance >= self.peak:
            if self.underwater:
                self._episode_ends(when)
            self.peak, self.peak_time = self.balance, when
            return
        self.underwater = True
        drawdown = self.peak - self.balance
        if drawdown > self.max_drawdown:
            self.max_drawdown, self.max_peak = drawdown, self.peak
            self.max_peak_time, self.trough_time, self.recovery_time = self.peak_time, when, None

    def _episode_ends(self, when: datetime | None) -> None:
        """The balance is back at its peak (or the period ended below it, `when` None)."""
        assert self.peak_time is not None
        if when is not None and self.recovery_time is None and self.trough_time is not None:
            # Only the episode holding the maximum can still be unrecovered here.
            self.recovery_time = when
        length = (when or self.period_end or self.peak_time) - self.peak_time
        if length > self.longest:
            self.longest, self.longest_start, self.longest_end = length, self.peak_time, when
        self.underwater = False

    @property
    def period_end(self) -> datetime | None:
        return self.end or self.last_close

    def result(self) -> Figures:
        self._flush()
        if self.underwater:
            self._episode_ends(None)
        start, end = self.start or self.first_open or self.first_close, self.period_end
        seconds = Decimal((end - start).total_seconds()) if start and end else Decimal(0)
        days = max(seconds, Decimal(0)) / DAY
        everything = self.sides["all"].result()
        drawdown = DrawdownFigures(
            max_amount=from_cents(self.max_drawdown),
            max_percent=percent(self.max_drawdown, self.max_peak),
            peak_balance=from_cents(self.max_peak),
            peak_time=self.max_peak_time,
            trough_time=self.trough_time,
            recovery_time=self.recovery_time,
            longest_days=ratio(Decimal(self.longest.total_seconds()), DAY, CENT),
            longest_start=self.longest_start,
            longest_end=self.longest_end,
        )
        total = everything.total_trades
        holding = Decimal(self.holding.total_seconds()) / 3600
        return Figures(
            initial_balance=from_cents(self.initial),
            ending_balance=from_cents(self.balance),
            period_start=start,
            period_end=end,
            period_days=days.quantize(CENT, rounding=ROUND_HALF_UP),
            all=everything,
            long=self.sides["buy"].result(),
            short=self.sides["sell"].result(),
            drawdown=drawdown,
            recovery_factor=ratio(self.balance - self.initial, self.max_drawdown, BASIS)
            if self.max_drawdown
            else None,
            average_holding_hours=ratio(holding, self.held, CENT) if self.held else None,
            trades_per_day=ratio(total, max(days, Decimal(1)), BASIS) if total else None,
            returns=self.returns.result(days, drawdown.max_percent),
            symbols=sorted(self.symbols),
        )


def compute(
    initial_balance: Decimal,
    rows: Iterable[TradeRow],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    days_per_year: int = 252,
) -> Figures:
    """Figures of trades given in any order (sorted here by close time): tests, small sets."""
    accumulator = FiguresAccumulator(
        initial_balance, start=start, end=end, days_per_year=days_per_year
    )
    for row in sorted(rows, key=lambda r: r.close_time.astimezone(UTC)):
        accumulator.add(row)
    return accumulator.result()
