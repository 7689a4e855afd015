"""The figures of a cTrader report, computed from the model's trades in integer cents.

They follow the definitions backtestdb reconciles a report with (docs/metrics.md): sides
(all, long = buy, short = sell), balance drawdown over closing balances from the starting
capital, equity drawdown over the equity of every events.json event, ROI on the starting
capital. Ratios and percents round half-up to 2 dp, as the report prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from bench.events import CLOSE, MODIFY, time_ordered
from bench.model import EPOCH, Trade, floating_gross


def rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero."""
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return -quotient if numerator < 0 else quotient


def hundredths(numerator: int, denominator: int) -> float:
    """numerator / denominator, half-up to 2 dp."""
    return rounded(numerator * 100, denominator) / 100


def dollars(cents: int | None) -> float | None:
    return None if cents is None else cents / 100


@dataclass(slots=True)
class Side:
    """Counts and sums of one side's trades (net in cents, fees apart)."""

    total: int = 0
    wins: int = 0
    losses: int = 0
    gross_profit: int = 0
    gross_loss: int = 0
    largest_win: int | None = None
    largest_loss: int | None = None
    wins_run: int = 0
    losses_run: int = 0
    max_wins_run: int = 0
    max_losses_run: int = 0
    commissions: int = 0
    swaps: int = 0

    def add(self, trade: Trade) -> None:
        net = trade.net
        self.total += 1
        self.commissions += trade.commission
        self.swaps += trade.swap
        if net > 0:
            self.wins += 1
            self.gross_profit += net
            self.largest_win = max(net, self.largest_win or net)
            self.wins_run, self.losses_run = self.wins_run + 1, 0
        elif net < 0:
            self.losses += 1
            self.gross_loss += net
            self.largest_loss = min(net, self.largest_loss or net)
            self.wins_run, self.losses_run = 0, self.losses_run + 1
        else:  # break-even ends both runs
            self.wins_run = self.losses_run = 0
        self.max_wins_run = max(self.max_wins_run, self.wins_run)
        self.max_losses_run = max(self.max_losses_run, self.losses_run)

    @property
    def net(self) -> int:
        return self.gross_profit + self.gross_loss

    def statistics(self) -> dict[str, float | int | None]:
        """This side's value of every tradeStatistics figure."""
        return {
            "netProfit": self.net / 100,
            "profitFactor": hundredths(self.gross_profit, -self.gross_loss)
            if self.gross_loss
            else None,
            "totalTrades": self.total,
            "winningTrades": self.wins,
            "losingTrades": self.losses,
            "averageTrade": hundredths(self.net, self.total * 100) if self.total else None,
            "largestWinningTrade": dollars(self.largest_win),
            "largestLosingTrade": dollars(self.largest_loss),
            "maxConsecutiveWinningTrades": self.max_wins_run,
            "maxConsecutiveLosingTrades": self.max_losses_run,
            "commissions": self.commissions / 100,
            "swaps": self.swaps / 100,
        }


def trade_statistics(trades: Iterable[Trade]) -> dict[str, dict[str, float | int | None]]:
    """tradeStatistics: {figure: {all, long, short}}, trades in close order."""
    sides = {"all": Side(), "long": Side(), "short": Side()}
    for trade in trades:
        sides["all"].add(trade)
        sides["long" if trade.buy else "short"].add(trade)
    figures = {name: side.statistics() for name, side in sides.items()}
    return {key: {name: figures[name][key] for name in sides} for key in figures["all"]}


@dataclass(slots=True)
class Drawdown:
    """The largest fall from a running peak, and the peak it fell from (cents)."""

    peak: int
    largest: int = 0
    largest_peak: int = 0

    def add(self, value: int) -> None:
        self.peak = max(self.peak, value)
        if self.peak - value > self.largest:
            self.largest, self.largest_peak = self.peak - value, self.peak

    def percent(self) -> float:
        return hundredths(self.largest * 100, self.largest_peak) if self.largest else 0.0


@dataclass(slots=True)
class EquityCurve:
    """Per closed trade: (close ms, balance, min equity, max equity) since the previous
    close, in cents; and both drawdowns. Equity is events.json's: balance plus the floating
    gross bench/events.py gives a position after its modification."""

    capital_cents: int
    points: list[tuple[int, int, int, int]] = field(default_factory=list)
    balance: Drawdown = field(init=False)
    equity: Drawdown = field(init=False)

    def __post_init__(self) -> None:
        self.balance = Drawdown(self.capital_cents)
        self.equity = Drawdown(self.capital_cents)


def equity_curve(model: Iterator[Trade], trades: int, capital_cents: int) -> EquityCurve:
    """The curve of the first `trades` trades of `model` (one symbol), as in events.json."""
    curve = EquityCurve(capital_cents)
    floating: dict[int, int] = {}
    balance = low = high = capital_cents
    open_gross = 0
    for time, stage, trade in time_ordered(model, trades):
        if stage == MODIFY:
            floating[trade.number] = floating_gross(trade)
            open_gross += floating[trade.number]
        elif stage == CLOSE:
            open_gross -= floating.pop(trade.number, 0)
            balance = trade.balance
            curve.balance.add(balance)
        equity = balance + open_gross
        curve.equity.add(equity)
        low, high = min(low, equity), max(high, equity)
        if stage == CLOSE:
            curve.points.append((time, balance, low, high))
            low = high = equity
    return curve


def month_start_ms(ms: int) -> int:
    at = EPOCH + timedelta(milliseconds=ms)
    first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - EPOCH) // timedelta(milliseconds=1)


def monthly(trades: Iterable[Trade], capital_cents: int) -> tuple[list[object], list[object]]:
    """profitsLosses ({timestamp, profit, loss}) and roi ({timestamp, value}) by close month."""
    months: dict[int, list[int]] = {}
    for trade in trades:
        sums = months.setdefault(month_start_ms(trade.closed_ms), [0, 0])
        sums[0 if trade.net > 0 else 1] += trade.net
    profits: list[object] = [
        {"timestamp": ms, "profit": gain / 100, "loss": loss / 100}
        for ms, (gain, loss) in months.items()
    ]
    roi: list[object] = [
        {"timestamp": ms, "value": hundredths((gain + loss) * 100, capital_cents)}
        for ms, (gain, loss) in months.items()
    ]
    return profits, roi
