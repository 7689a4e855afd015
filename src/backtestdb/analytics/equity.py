"""The closed-trade balance and its drawdown over time, downsampled for charts.

The curve is streamed in close-time order (ties in the figures' canonical order, so its
drawdown is the figures' drawdown). With more points than asked for, the points fall into
equal buckets and each bucket keeps its highest balance, lowest balance and deepest
drawdown: every peak and trough that matters survives, so the maximum drawdown shown is
exactly the real one. The first and the last point are always kept.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backtestdb.analytics.figures import TradeRow, tie_key
from backtestdb.analytics.store import STREAM_BATCH
from backtestdb.metrics import from_cents, percent, to_cents
from backtestdb.models import Backtest, Trade

MIN_POINTS = 10
MAX_POINTS = 10_000


@dataclass(frozen=True, slots=True)
class Point:
    index: int
    time: datetime | None
    trade_number: int | None
    balance: int
    drawdown: int
    peak: int

    def as_dict(self) -> dict[str, object]:
        return {
            "time": self.time,
            "trade_number": self.trade_number,
            "balance": from_cents(self.balance),
            "drawdown": from_cents(self.drawdown),
            "drawdown_percent": percent(self.drawdown, self.peak, 4),
        }


@dataclass(frozen=True, slots=True)
class Curve:
    total_points: int
    points: list[Point]


def ordered_trades(session: Session, backtest_id: object) -> Iterator[tuple[TradeRow, int]]:
    query = (
        select(
            Trade.close_time, Trade.open_time, Trade.profit, Trade.commission, Trade.swap,
            Trade.direction, Trade.symbol, Trade.trade_number,
        )
        .where(Trade.backtest_id == backtest_id)
        .order_by(Trade.close_time, Trade.trade_number)
        .execution_options(yield_per=STREAM_BATCH)
    )  # fmt: skip
    rows = ((TradeRow(*row[:7]), row[7]) for row in session.execute(query))
    for _close, group in itertools.groupby(rows, key=lambda pair: pair[0].close_time):
        yield from sorted(group, key=lambda pair: tie_key(pair[0]))


def balance_points(session: Session, backtest: Backtest) -> Iterator[Point]:
    """The initial balance, then the balance after each trade, with the drawdown."""
    balance = peak = to_cents(backtest.initial_balance)
    index = 0
    for row, number in ordered_trades(session, backtest.id):
        if index == 0:
            yield Point(0, backtest.testing_start or row.open_time, None, balance, 0, peak)
        index += 1
        balance += to_cents(row.profit)
        peak = max(peak, balance)
        yield Point(index, row.close_time, number, balance, peak - balance, peak)
    if index == 0:
        yield Point(0, backtest.testing_start, None, balance, 0, peak)


def equity_curve(session: Session, backtest: Backtest, points: int = 1000) -> Curve:
    if not MIN_POINTS <= points <= MAX_POINTS:
        raise ValueError(f"points must be {MIN_POINTS} to {MAX_POINTS}")
    count = session.scalar(select(func.count()).where(Trade.backtest_id == backtest.id)) or 0
    total = count + 1
    stream = balance_points(session, backtest)
    if total <= points:
        return Curve(total, list(stream))
    # Up to three points per bucket, plus the first and the last: never more than asked.
    size = math.ceil(total / ((points - 2) // 3))
    kept: list[Point] = []
    last: Point | None = None
    for _bucket, members in itertools.groupby(stream, key=lambda p: p.index // size):
        high = low = deep = first = None
        for point in members:
            first = first or point
            if high is None or point.balance > high.balance:
                high = point
            if low is None or point.balance < low.balance:
                low = point
            if deep is None or point.drawdown > deep.drawdown:
                deep = point
            last = point
        chosen = {p.index: p for p in (high, low, deep) if p is not None}
        if first is not None and first.index == 0:
            chosen[0] = first
        kept.extend(chosen[i] for i in sorted(chosen))
    if last is not None and kept[-1].index != last.index:
        kept.append(last)
    return Curve(total, kept)


def max_drawdown(points: list[Point]) -> tuple[Decimal, Decimal]:
    deepest = max(points, key=lambda p: p.drawdown)
    return from_cents(deepest.drawdown), percent(deepest.drawdown, deepest.peak)
