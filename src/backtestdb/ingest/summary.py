"""Summary figures of a backtest, computed in one pass over its trades (pure).

Money is accumulated in integer cents (`backtestdb.money`).

Definitions (they match `tests/data/basic/expected.json`):
- a trade wins when its net profit > 0 and loses when < 0;
- win rate = winning / total * 100; profit factor = gross profit / |gross loss|;
- the balance starts at the initial balance, which is also the first peak; drawdown is
  peak - balance; the maximum drawdown's percent is that fall divided by the same peak;
- money is rounded half-up to cents, percents to 2 dp (per-trade drawdown % to 4 dp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from backtestdb.money import BASIS, from_cents, percent, to_cents


@dataclass(frozen=True, slots=True)
class Summary:
    initial_balance: Decimal
    ending_balance: Decimal
    net_profit: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: Decimal
    profit_factor: Decimal | None
    max_balance_drawdown: Decimal
    max_balance_drawdown_percent: Decimal
    commissions: Decimal
    swaps: Decimal


class SummaryAccumulator:
    """Feed trades in file order with `add` (cents); read the figures with `summary()`."""

    __slots__ = (
        "balance", "commissions", "gross_loss", "gross_profit", "initial", "losses",
        "max_drawdown", "max_drawdown_peak", "peak", "swaps", "total", "wins",
    )  # fmt: skip

    def __init__(self, initial_balance: Decimal) -> None:
        self.initial = to_cents(initial_balance)
        self.balance = self.peak = self.max_drawdown_peak = self.initial
        self.max_drawdown = self.gross_profit = self.gross_loss = 0
        self.commissions = self.swaps = self.total = self.wins = self.losses = 0

    def add(self, profit: int, commission: int, swap: int) -> tuple[int, int]:
        """Count one trade; returns (balance after it, drawdown from the peak) in cents."""
        self.total += 1
        if profit > 0:
            self.wins += 1
            self.gross_profit += profit
        elif profit < 0:
            self.losses += 1
            self.gross_loss += profit
        self.commissions += commission
        self.swaps += swap
        balance = self.balance = self.balance + profit
        if balance > self.peak:
            self.peak = balance
            return balance, 0
        drawdown = self.peak - balance
        if drawdown > self.max_drawdown:
            self.max_drawdown, self.max_drawdown_peak = drawdown, self.peak
        return balance, drawdown

    def summary(self) -> Summary:
        profit_factor = None
        if self.gross_loss:
            ratio = Decimal(self.gross_profit) / Decimal(-self.gross_loss)
            profit_factor = ratio.quantize(BASIS, rounding=ROUND_HALF_UP)
        return Summary(
            initial_balance=from_cents(self.initial),
            ending_balance=from_cents(self.balance),
            net_profit=from_cents(self.balance - self.initial),
            gross_profit=from_cents(self.gross_profit),
            gross_loss=from_cents(self.gross_loss),
            total_trades=self.total,
            winning_trades=self.wins,
            losing_trades=self.losses,
            win_rate=percent(self.wins, self.total),
            profit_factor=profit_factor,
            max_balance_drawdown=from_cents(self.max_drawdown),
            max_balance_drawdown_percent=percent(self.max_drawdown, self.max_drawdown_peak),
            commissions=from_cents(self.commissions),
            swaps=from_cents(self.swaps),
        )


@dataclass(slots=True)
class Day:
    total_trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0
    gross_profit: int = 0
    gross_loss: int = 0
    end_balance: int = 0

    def as_row(self, trade_date: date) -> dict[str, object]:
        return {
            "trade_date": trade_date,
            "total_trades": self.total_trades,
            "winning_trades": self.winning_trades,
            "losing_trades": self.losing_trades,
            "gross_profit": from_cents(self.gross_profit),
            "gross_loss": from_cents(self.gross_loss),
            "net_profit": from_cents(self.gross_profit + self.gross_loss),
            "win_rate": percent(self.winning_trades, self.total_trades),
            "end_balance": from_cents(self.end_balance),
        }


@dataclass(slots=True)
class DailyAccumulator:
    """Per UTC close day (ISO `yyyy-mm-dd` keys): counts, profit, the day's last balance."""

    days: dict[str, Day] = field(default_factory=dict)

    def add(self, close_day: str, profit: int, balance_after: int) -> None:
        day = self.days.get(close_day)
        if day is None:
            day = self.days[close_day] = Day()
        day.total_trades += 1
        if profit > 0:
            day.winning_trades += 1
            day.gross_profit += profit
        elif profit < 0:
            day.losing_trades += 1
            day.gross_loss += profit
        day.end_balance = balance_after

    def rows(self) -> list[dict[str, object]]:
        return [self.days[key].as_row(date.fromisoformat(key)) for key in sorted(self.days)]
