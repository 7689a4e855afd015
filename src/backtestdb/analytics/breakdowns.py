"""Per-group trade statistics, computed in SQL (one GROUP BY; nothing is loaded per trade).

Trades group by the UTC time of their close, like `daily_summary`. Money is summed as
integer cents on both backends (SQLite would otherwise sum floats), so the groups' nets
add up exactly to the backtest's net profit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

from sqlalchemy import BigInteger, ColumnElement, Integer, case, cast, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from backtestdb.analytics.sides import ratio
from backtestdb.backtests import require_backtest
from backtestdb.models import DailySummary, Trade
from backtestdb.money import BASIS, CENT, from_cents, percent

GroupBy = Literal["symbol", "direction", "hour", "weekday", "day", "week", "month", "year"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def time_key(column: Any, unit: str, dialect: str) -> ColumnElement[Any]:
    """A UTC time bucket of `column` as the same value on both backends: hour 0-23,
    ISO weekday 1 (Monday) - 7, and text `yyyy-mm-dd` (day; week: its Monday),
    `yyyy-mm`, `yyyy`. The backends' date functions differ; only this function knows."""
    if dialect == "postgresql":
        utc = func.timezone("UTC", column)
        if unit == "hour":
            return cast(func.extract("hour", utc), Integer)
        if unit == "weekday":
            return cast(func.extract("isodow", utc), Integer)
        if unit == "week":
            return func.to_char(func.date_trunc("week", utc), "YYYY-MM-DD")
        pattern = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[unit]
        return func.to_char(utc, pattern)
    # SQLite keeps UTC times as naive ISO text, which its date functions read directly.
    if unit == "hour":
        return cast(func.strftime("%H", column), Integer)
    if unit == "weekday":
        sunday_first = cast(func.strftime("%w", column), Integer)
        return (sunday_first + 6) % 7 + 1
    if unit == "week":
        # Back six days, then forward to the next Monday: the Monday on or before.
        return func.date(column, "-6 days", "weekday 1")
    pattern = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[unit]
    return func.strftime(pattern, column)


def group_key(group_by: str, dialect: str) -> ColumnElement[Any] | InstrumentedAttribute[str]:
    if group_by == "symbol":
        return Trade.symbol
    if group_by == "direction":
        return Trade.direction
    return time_key(Trade.close_time, group_by, dialect)


@dataclass(frozen=True, slots=True)
class Group:
    key: str | int
    label: str
    trades: int
    winning_trades: int
    losing_trades: int
    win_rate: Decimal
    net_profit: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    average_trade: Decimal
    profit_factor: Decimal | None


def cents(column: Any) -> ColumnElement[Any]:
    return cast(func.round(column * 100), BigInteger)


def breakdown(session: Session, backtest_id: uuid.UUID, group_by: str) -> list[Group]:
    """Trades, wins, win rate, net, average and profit factor per group, ordered by key."""
    if group_by not in GROUP_BYS:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BYS)}")
    require_backtest(session, backtest_id)
    dialect = session.get_bind().dialect.name
    if group_by in CALENDAR:
        return calendar_breakdown(session, backtest_id, group_by, dialect)
    key = group_key(group_by, dialect).label("key")
    won, lost = Trade.profit > 0, Trade.profit < 0
    profit = cents(Trade.profit)
    query = (
        select(
            key,
            func.count().label("trades"),
            func.sum(case((won, 1), else_=0)).label("wins"),
            func.sum(case((lost, 1), else_=0)).label("losses"),
            func.coalesce(func.sum(case((won, profit), else_=literal(0))), 0).label("gross_profit"),
            func.coalesce(func.sum(case((lost, profit), else_=literal(0))), 0).label("gross_loss"),
        )
        .where(Trade.backtest_id == backtest_id)
        .group_by(key)
        .order_by(key)
    )
    return [as_group(group_by, *row) for row in session.execute(query)]


#: Groupings that are unions of UTC close days: summed from daily_summary (a row a day)
#: instead of the trades (a million rows for a big backtest: about a second).
CALENDAR = ("day", "week", "month", "year")


def day_key(unit: str, dialect: str) -> ColumnElement[Any]:
    """`time_key` of a DailySummary.trade_date: the same text keys as for close times."""
    column = DailySummary.trade_date
    if dialect == "postgresql":
        if unit == "week":
            return func.to_char(func.date_trunc("week", column), "YYYY-MM-DD")
        pattern = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[unit]
        return func.to_char(column, pattern)
    return time_key(column, unit, dialect)


def calendar_breakdown(
    session: Session, backtest_id: uuid.UUID, group_by: str, dialect: str
) -> list[Group]:
    key = day_key(group_by, dialect).label("key")
    query = (
        select(
            key,
            func.sum(DailySummary.total_trades),
            func.sum(DailySummary.winning_trades),
            func.sum(DailySummary.losing_trades),
            func.sum(cents(DailySummary.gross_profit)),
            func.sum(cents(DailySummary.gross_loss)),
        )
        .where(DailySummary.backtest_id == backtest_id)
        .group_by(key)
        .order_by(key)
    )
    return [as_group(group_by, k, int(n), *rest) for k, n, *rest in session.execute(query)]


def as_group(
    group_by: str, key: Any, trades: int, wins: Any, losses: Any, gross: Any, loss: Any
) -> Group:
    # PostgreSQL sums bigints into NUMERIC: back to whole ints (cents, counts).
    wins, losses, gross, loss = int(wins), int(losses), int(gross), int(loss)
    net = gross + loss
    label = WEEKDAYS[int(key) - 1] if group_by == "weekday" else str(key)
    return Group(
        key=int(key) if group_by in ("hour", "weekday") else str(key),
        label=label,
        trades=trades,
        winning_trades=wins,
        losing_trades=losses,
        win_rate=percent(wins, trades),
        net_profit=from_cents(net),
        gross_profit=from_cents(gross),
        gross_loss=from_cents(loss),
        average_trade=ratio(net, trades * 100, CENT),
        profit_factor=ratio(gross, -loss, BASIS) if loss else None,
    )
