"""Summary figures of a backtest, computed in one pass over its trades (pure).

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

CENT = Decimal("0.01")
BASIS = Decimal("0.0001")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(part: Decimal | int, whole: Decimal | int, quantum: Decimal = CENT) -> Decimal:
    if not whole:
        return ZERO.quantize(quantum)
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(quantum, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BalancePoint:
    """Where one trade leaves the account."""

    balance_after: Decimal
    drawdown: Decimal
    drawdown_percent: Decimal


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


@dataclass(slots=True)
class SummaryAccumulator:
    """Feed trades in close-time order with `add`; read the figures with `summary()`."""

    initial_balance: Decimal
    balance: Decimal = ZERO
    peak: Decimal = ZERO
    max_drawdown: Decimal = ZERO
    max_drawdown_peak: Decimal = ZERO
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO
    commissions: Decimal = ZERO
    swaps: Decimal = ZERO
    total: int = 0
    wins: int = 0
    losses: int = 0

    def __post_init__(self) -> None:
        self.balance = self.peak = self.max_drawdown_peak = self.initial_balance

    def add(
        self, profit: Decimal, commission: Decimal = ZERO, swap: Decimal = ZERO
    ) -> BalancePoint:
        self.total += 1
        if profit > 0:
            self.wins += 1
            self.gross_profit += profit
        elif profit < 0:
            self.losses += 1
            self.gross_loss += profit
        self.commissions += commission
        self.swaps += swap
        self.balance += profit
        self.peak = max(self.peak, self.balance)
        drawdown = self.peak - self.balance
        if drawdown > self.max_drawdown:
            self.max_drawdown, self.max_drawdown_peak = drawdown, self.peak
        return BalancePoint(self.balance, drawdown, percent(drawdown, self.peak, BASIS))

    def summary(self) -> Summary:
        profit_factor = (
            (self.gross_profit / -self.gross_loss).quantize(BASIS, rounding=ROUND_HALF_UP)
            if self.gross_loss
            else None
        )
        return Summary(
            initial_balance=self.initial_balance,
            ending_balance=round_money(self.balance),
            net_profit=round_money(self.balance - self.initial_balance),
            gross_profit=round_money(self.gross_profit),
            gross_loss=round_money(self.gross_loss),
            total_trades=self.total,
            winning_trades=self.wins,
            losing_trades=self.losses,
            win_rate=percent(self.wins, self.total),
            profit_factor=profit_factor,
            max_balance_drawdown=round_money(self.max_drawdown),
            max_balance_drawdown_percent=percent(self.max_drawdown, self.max_drawdown_peak),
            commissions=round_money(self.commissions),
            swaps=round_money(self.swaps),
        )


@dataclass(slots=True)
class Day:
    trade_date: date
    total_trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0
    gross_profit: Decimal = ZERO
    gross_loss: Decimal = ZERO
    end_balance: Decimal = ZERO

    @property
    def net_profit(self) -> Decimal:
        return self.gross_profit + self.gross_loss

    @property
    def win_rate(self) -> Decimal:
        return percent(self.winning_trades, self.total_trades)

    def as_row(self) -> dict[str, object]:
        return {
            "trade_date": self.trade_date,
            "total_trades": self.total_trades,
            "winning_trades": self.winning_trades,
            "losing_trades": self.losing_trades,
            "gross_profit": round_money(self.gross_profit),
            "gross_loss": round_money(self.gross_loss),
            "net_profit": round_money(self.net_profit),
            "win_rate": self.win_rate,
            "end_balance": round_money(self.end_balance),
        }


@dataclass(slots=True)
class DailyAccumulator:
    """Per UTC close day: counts, profit and the balance after the day's last trade."""

    days: dict[date, Day] = field(default_factory=dict)

    def add(self, close_date: date, profit: Decimal, balance_after: Decimal) -> None:
        day = self.days.get(close_date)
        if day is None:
            day = self.days[close_date] = Day(close_date)
        day.total_trades += 1
        if profit > 0:
            day.winning_trades += 1
            day.gross_profit += profit
        elif profit < 0:
            day.losing_trades += 1
            day.gross_loss += profit
        day.end_balance = balance_after

    def rows(self) -> list[dict[str, object]]:
        return [self.days[key].as_row() for key in sorted(self.days)]
