"""The closed-trade balance and its drawdown over time, downsampled for charts.

The curve is the stored `trades.balance_after` and `drawdown` in trade order, after the
initial balance. With more points than asked for, trades fall into equal buckets of
consecutive trade numbers and each bucket keeps its highest balance, lowest balance and
deepest drawdown: every peak and trough that matters survives, so the maximum drawdown
shown is exactly the stored one. The first and the last point are always kept.

Bucketing runs in SQL (one aggregate, then the chosen rows): reading a million trades
into Python for a 1,000-point chart took half a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, func, literal, or_, select
from sqlalchemy.orm import Session

from backtestdb.models import Backtest, Trade
from backtestdb.money import from_cents, percent, to_cents

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


def point(number: int, time: datetime, balance: Decimal, drawdown: Decimal) -> Point:
    cents, fall = to_cents(balance), to_cents(drawdown)
    return Point(number, time, number, cents, fall, cents + fall)


def equity_curve(session: Session, backtest: Backtest, points: int = 1000) -> Curve:
    if not MIN_POINTS <= points <= MAX_POINTS:
        raise ValueError(f"points must be {MIN_POINTS} to {MAX_POINTS}")
    count = session.scalar(select(func.count()).where(Trade.backtest_id == backtest.id)) or 0
    start = to_cents(backtest.initial_balance)
    first = Point(0, backtest.testing_start, None, start, 0, start)
    columns = (Trade.trade_number, Trade.close_time, Trade.balance_after, Trade.drawdown)
    mine = Trade.backtest_id == backtest.id
    if count + 1 <= points:
        rows = session.execute(select(*columns).where(mine).order_by(Trade.trade_number))
        return Curve(count + 1, [first, *(point(*row) for row in rows)])
    # Up to three points per bucket, plus the first and the last: never more than asked.
    size = math.ceil(count / ((points - 2) // 3))
    bucket = ((Trade.trade_number - 1) / literal(size)).cast(Integer)
    extremes = (
        select(
            bucket.label("bucket"),
            func.max(Trade.balance_after).label("high"),
            func.min(Trade.balance_after).label("low"),
            func.max(Trade.drawdown).label("deep"),
        )
        .where(mine)
        .group_by(bucket)
        .subquery()
    )
    chosen = (
        select(*columns, extremes.c.high, extremes.c.low, extremes.c.deep)
        .join(extremes, extremes.c.bucket == bucket)
        .where(
            mine,
            or_(
                Trade.balance_after == extremes.c.high,
                Trade.balance_after == extremes.c.low,
                Trade.drawdown == extremes.c.deep,
                Trade.trade_number == count,
            ),
        )
        .order_by(Trade.trade_number)
    )
    kept: list[Point] = [first]
    seen: set[tuple[int, str]] = set()
    for number, time, balance, drawdown, high, low, deep in session.execute(chosen):
        # Ties keep the first row of each kind in a bucket.
        kinds = {k for k, hit in (("h", balance == high), ("l", balance == low),
                                  ("d", drawdown == deep)) if hit}  # fmt: skip
        group = (number - 1) // size
        new = {(group, kind) for kind in kinds} - seen
        if new or number == count:
            seen |= new
            kept.append(point(number, time, balance, drawdown))
    return Curve(count + 1, kept)


def max_drawdown(points: list[Point]) -> tuple[Decimal, Decimal]:
    deepest = max(points, key=lambda p: p.drawdown)
    return from_cents(deepest.drawdown), percent(deepest.drawdown, deepest.peak)
