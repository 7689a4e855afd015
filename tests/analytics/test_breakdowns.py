"""Breakdowns in SQL agree with Python's own bucketing, on both backends, to the cent."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.analytics.breakdowns import GROUP_BYS, breakdown
from backtestdb.errors import NotFound
from backtestdb.ingest.summary import DailyAccumulator
from backtestdb.money import to_cents

T0 = datetime(2023, 12, 25, tzinfo=UTC)


def python_key(group_by: str, close: datetime, symbol: str, direction: str) -> str | int:
    day = close.date()
    return {
        "symbol": symbol,
        "direction": direction,
        "hour": close.hour,
        "weekday": close.isoweekday(),
        "day": day.isoformat(),
        "week": (day - timedelta(days=day.weekday())).isoformat(),
        "month": f"{close.year:04d}-{close.month:02d}",
        "year": f"{close.year:04d}",
    }[group_by]


def store(session: Session, spec: list[tuple[int, int, str, str]]) -> uuid.UUID:
    backtest = models.Backtest(name="property", initial_balance=Decimal(100_000))
    session.add(backtest)
    session.flush()
    rows = []
    for number, (minutes, cents, symbol, direction) in enumerate(spec, 1):
        close = T0 + timedelta(minutes=minutes, microseconds=number)
        profit = Decimal(cents).scaleb(-2)
        rows.append(
            {
                "backtest_id": backtest.id, "trade_number": number, "symbol": symbol,
                "direction": direction, "open_time": close - timedelta(hours=1),
                "close_time": close, "entry_price": Decimal(1), "exit_price": Decimal(1),
                "commission": Decimal(0), "swap": Decimal(0), "profit": profit,
                "balance_after": Decimal(0), "drawdown": Decimal(0),
                "drawdown_percent": Decimal(0),
            }
        )  # fmt: skip
    if rows:
        session.execute(insert(models.Trade), rows)
        # Calendar groupings read daily_summary, which an ingest writes beside the trades.
        daily = DailyAccumulator()
        for row in rows:
            daily.add(row["close_time"].date().isoformat(), to_cents(row["profit"]), 0)
        session.execute(
            insert(models.DailySummary),
            [{"backtest_id": backtest.id, **day} for day in daily.rows()],
        )
    return backtest.id


trades = st.lists(
    st.tuples(
        st.integers(0, 60 * 24 * 400),  # past a month, a year and a DST date
        st.integers(-99_999_99, 99_999_99),
        st.sampled_from(["EURUSD", "GBPUSD", "XAUUSD"]),
        st.sampled_from(["buy", "sell"]),
    ),
    max_size=40,
)


@settings(
    max_examples=8,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(spec=trades)
def test_every_group_by_matches_python_and_sums_to_the_total(
    factory: sessionmaker[Session], spec: list[tuple[int, int, str, str]]
) -> None:
    with factory() as session:
        backtest_id = store(session, spec)
        total = sum(cents for _m, cents, _s, _d in spec)
        for group_by in GROUP_BYS:
            expected: dict[str | int, list[int]] = defaultdict(list)
            for number, (minutes, cents, symbol, direction) in enumerate(spec, 1):
                close = T0 + timedelta(minutes=minutes, microseconds=number)
                expected[python_key(group_by, close, symbol, direction)].append(cents)
            groups = breakdown(session, backtest_id, group_by)
            assert [g.key for g in groups] == sorted(expected), group_by
            for group in groups:
                cents = expected[group.key]
                assert group.trades == len(cents)
                assert group.net_profit == Decimal(sum(cents)).scaleb(-2)
                assert group.winning_trades == sum(1 for c in cents if c > 0)
                assert group.losing_trades == sum(1 for c in cents if c < 0)
            assert sum(g.net_profit for g in groups) == Decimal(total).scaleb(-2), group_by
        session.rollback()


def test_unknown_backtest_and_group_by(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        with pytest.raises(NotFound):
            breakdown(session, uuid.uuid4(), "month")
        with pytest.raises(ValueError, match="group_by"):
            breakdown(session, uuid.uuid4(), "minute")
