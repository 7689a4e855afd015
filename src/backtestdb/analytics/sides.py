"""Trade figures of one side (all, long or short trades), accumulated in cents (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from backtestdb.money import BASIS, CENT, from_cents, percent


def ratio(numerator: Decimal | int, denominator: Decimal | int, places: Decimal) -> Decimal:
    return (Decimal(numerator) / Decimal(denominator)).quantize(places, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class SideFigures:
    """Figures of all trades, or of the long (buy) or short (sell) ones."""

    total_trades: int
    winning_trades: int
    losing_trades: int
    net_profit: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    profit_factor: Decimal | None
    win_rate: Decimal
    average_trade: Decimal | None
    expectancy: Decimal | None
    average_win: Decimal | None
    average_loss: Decimal | None
    payoff_ratio: Decimal | None
    largest_win: Decimal | None
    largest_loss: Decimal | None
    max_consecutive_wins: int
    max_consecutive_losses: int
    #: None when the file has no such column (`analytics.store.known_fees`), never 0.
    commissions: Decimal | None
    swaps: Decimal | None


class SideAccumulator:
    __slots__ = (
        "commissions", "gross_loss", "gross_profit", "largest_loss", "largest_win", "losses",
        "losses_run", "max_losses_run", "max_wins_run", "swaps", "total", "wins", "wins_run",
    )  # fmt: skip

    def __init__(self) -> None:
        self.total = self.wins = self.losses = 0
        self.gross_profit = self.gross_loss = self.commissions = self.swaps = 0
        self.largest_win: int | None = None
        self.largest_loss: int | None = None
        self.wins_run = self.losses_run = self.max_wins_run = self.max_losses_run = 0

    def add(self, profit: int, commission: int, swap: int) -> None:
        self.total += 1
        self.commissions += commission
        self.swaps += swap
        if profit > 0:
            self.wins += 1
            self.gross_profit += profit
            self.largest_win = profit if self.largest_win is None else max(self.largest_win, profit)
            self.wins_run += 1
            self.losses_run = 0
            self.max_wins_run = max(self.max_wins_run, self.wins_run)
        elif profit < 0:
            self.losses += 1
            self.gross_loss += profit
            low = self.largest_loss
            self.largest_loss = profit if low is None else min(low, profit)
            self.losses_run += 1
            self.wins_run = 0
            self.max_losses_run = max(self.max_losses_run, self.losses_run)
        else:
            # A break-even trade neither wins nor loses: it ends both runs.
            self.wins_run = self.losses_run = 0

    def result(self) -> SideFigures:
        net = self.gross_profit + self.gross_loss
        average = ratio(net, self.total * 100, CENT) if self.total else None
        payoff = None
        if self.wins and self.losses:
            payoff = ratio(self.gross_profit * self.losses, -self.gross_loss * self.wins, BASIS)
        return SideFigures(
            total_trades=self.total,
            winning_trades=self.wins,
            losing_trades=self.losses,
            net_profit=from_cents(net),
            gross_profit=from_cents(self.gross_profit),
            gross_loss=from_cents(self.gross_loss),
            profit_factor=ratio(self.gross_profit, -self.gross_loss, BASIS)
            if self.gross_loss
            else None,
            win_rate=percent(self.wins, self.total),
            average_trade=average,
            expectancy=average,
            average_win=ratio(self.gross_profit, self.wins * 100, CENT) if self.wins else None,
            average_loss=ratio(self.gross_loss, self.losses * 100, CENT) if self.losses else None,
            payoff_ratio=payoff,
            largest_win=None if self.largest_win is None else from_cents(self.largest_win),
            largest_loss=None if self.largest_loss is None else from_cents(self.largest_loss),
            max_consecutive_wins=self.max_wins_run,
            max_consecutive_losses=self.max_losses_run,
            commissions=from_cents(self.commissions),
            swaps=from_cents(self.swaps),
        )
