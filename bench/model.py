"""The one trade model behind every generated export.

A seeded, endless stream of trades in integer cents, integer price points and epoch
milliseconds, drawn exactly as the original bench/generate.py drew them, so every writer of
the same (trades, seed, capital, symbols) describes the same trades and the same totals.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SYMBOLS = {
    "EURUSD": (108500, 5, 10, 100_000),
    "GBPUSD": (127000, 5, 10, 100_000),
    "XAUUSD": (203000, 2, 1, 100),
}
ALL_SYMBOLS: tuple[str, ...] = tuple(SYMBOLS)
START = datetime(2020, 1, 2, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START_MS = (START - EPOCH) // timedelta(milliseconds=1)
MAX_HOLD_MS = 36_000_000  # no trade is held longer: bounds the reordering buffers
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Trade:
    number: int  # 1, 2, 3... in close order
    symbol: str
    decimals: int
    pip: int  # pip size in price points
    lot: int  # units per lot
    opened_ms: int  # epoch milliseconds, UTC
    closed_ms: int
    buy: bool
    entry: int  # price points
    exit: int
    move: int  # points in the trade's favour
    volume: int  # units
    gross: int  # cents
    commission: int
    swap: int
    net: int
    balance: int  # account balance right after this trade closed
    comment: str

    @property
    def deal_id(self) -> int:
        return self.number * 2

    @property
    def order_id(self) -> int:
        return self.number * 2 - 1

    @property
    def pips_tenths(self) -> int:
        return self.move * 10 // self.pip

    def points_value(self, points: int) -> int:
        """Cents that `points` of price move are worth for this trade's volume."""
        scale: int = 10**self.decimals
        return points * self.volume * 100 // scale

    def level(self, points: int) -> int:
        """The price `points` in the trade's favour from entry (negative: against it)."""
        return self.entry + (points if self.buy else -points)


def iter_trades(
    seed: int = 7,
    capital_cents: int = 1_000_000,
    symbols: Sequence[str] = ALL_SYMBOLS,
    whole_seconds: bool = False,
    *,
    edge: int = 0,
) -> Iterator[Trade]:
    """The endless trade stream. `symbols` and `whole_seconds` change the instruments and
    the sub-second times, nothing else: the random draws are the same. `edge` price
    points are added to every trade's move (in its favour) after the draws, so results can
    depend on a cBot's parameters while the draws stay the same."""
    rng = random.Random(seed)
    balance = capital_cents
    close = START_MS
    number = 0
    while True:
        number += 1
        symbol = symbols[number % len(symbols)]
        base, decimals, pip, lot = SYMBOLS[symbol]
        # About 5 minutes apart: a million trades span ten years, as a busy cBot's would.
        close += rng.randint(6_000, 600_000)
        opened = close - rng.randint(60_000, MAX_HOLD_MS)
        buy = rng.random() < 0.52
        entry = base + rng.randint(-2000, 2000)
        move = rng.randint(-300, 320) + edge
        volume = lot // 10
        gross = move * volume * 100 // 10**decimals
        commission = -(volume * entry * 6 // 10**decimals // 10_000 + 1)
        swap = -rng.randint(0, 90) if rng.random() < 0.4 else 0
        net = gross + commission + swap
        balance += net
        cut = 1000 if whole_seconds else 1
        yield Trade(
            number, symbol, decimals, pip, lot, opened - opened % cut, close - close % cut,
            buy, entry, entry + (move if buy else -move), move, volume, gross, commission,
            swap, net, balance, "" if number % 7 else 'note, "quoted"',
        )  # fmt: skip


def floating_gross(trade: Trade) -> int:
    """The floating gross of an open position half-way through its life (cents)."""
    return trade.points_value(trade.move // 2)


@dataclass(slots=True)
class Totals:
    """What a writer wrote: count and sums of the closed trades (written rows only)."""

    trades: int = 0
    net_cents: int = 0
    initial_cents: int = 0
    final_cents: int = 0  # balance after the last-closing written trade
    gross_cents: int = 0
    commission_cents: int = 0
    swap_cents: int = 0
    pips_tenths: int = 0
    open_positions: int = 0  # events.json and the statement's Positions section
    events: int = 0  # events.json objects written

    def add(self, trade: Trade) -> None:
        self.trades += 1
        self.net_cents += trade.net
        self.gross_cents += trade.gross
        self.commission_cents += trade.commission
        self.swap_cents += trade.swap
        self.pips_tenths += trade.pips_tenths
        self.final_cents = trade.balance
