"""A known optimisation run written straight into the database for the runs pages' tests.

Six passes over FastPeriod (5, 10, 15) x SlowPeriod (20, 40), Label "Trend" in every pass.
Net profit per pass (FastPeriod, SlowPeriod):

    (5, 20) 100.00   (5, 40) 120.00
    (10, 20) 150.00  (10, 40) 900.00   <- pass 4: a lone spike (neighbour mean 73.33)
    (15, 20) 130.00  (15, 40) -50.00

so the top 3 by net profit are passes 4, 3 and 5. A backtest outside the run ("Outsider",
net 5,000.00) must never show up among the passes, nor among the top ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from backtestdb.backtests import recount_passes
from backtestdb.models import Backtest, Parameter, Run, Trade

START = datetime(2024, 1, 1, tzinfo=UTC)
INITIAL = Decimal("10000.00")
#: pass number -> FastPeriod, SlowPeriod, net profit, trades, win rate, profit factor,
#: max balance drawdown %, Sharpe.
PASSES: dict[int, tuple[int, int, str, int, str, str, str, str]] = {
    1: (5, 20, "100.00", 10, "50.00", "1.2000", "5.00", "0.8000"),
    2: (5, 40, "120.00", 12, "55.00", "1.3000", "4.50", "0.9000"),
    3: (10, 20, "150.00", 14, "60.00", "1.5000", "4.00", "1.1000"),
    4: (10, 40, "900.00", 16, "65.00", "3.1000", "2.50", "2.4000"),
    5: (15, 20, "130.00", 18, "45.00", "1.4000", "6.00", "1.0000"),
    6: (15, 40, "-50.00", 20, "40.00", "0.9000", "8.00", "-0.3000"),
}
TOP_3 = (4, 3, 5)


@dataclass(frozen=True, slots=True)
class KnownRun:
    run_id: uuid.UUID
    passes: dict[int, uuid.UUID]
    outsider: uuid.UUID
    other_run: uuid.UUID


def _parameters(backtest_id: uuid.UUID, fast: int, slow: int) -> list[Parameter]:
    rows = [("FastPeriod", str(fast), "int"), ("SlowPeriod", str(slow), "int")]
    rows.append(("Label", "Trend", "string"))
    return [Parameter(backtest_id=backtest_id, name=n, value=v, value_type=t) for n, v, t in rows]


def _trades(backtest_id: uuid.UUID, net: Decimal) -> list[Trade]:
    """Two trades that end at the pass's net profit (+10.00, then the rest)."""
    balance, peak, found = INITIAL, INITIAL, []
    for number, profit in enumerate((Decimal("10.00"), net - Decimal("10.00")), start=1):
        balance += profit
        peak = max(peak, balance)
        found.append(
            Trade(
                backtest_id=backtest_id,
                trade_number=number,
                symbol="EURUSD",
                direction="buy",
                close_time=START + timedelta(days=number),
                profit=profit,
                balance_after=balance,
                drawdown=peak - balance,
                drawdown_percent=((peak - balance) / peak * 100).quantize(Decimal("0.0001")),
            )
        )
    return found


def _backtest(name: str, run_id: uuid.UUID | None, number: int | None, net: str) -> Backtest:
    return Backtest(
        id=uuid.uuid4(),
        name=name,
        symbol="EURUSD",
        period="h1",
        testing_start=START,
        testing_end=START + timedelta(days=30),
        initial_balance=INITIAL,
        ending_balance=INITIAL + Decimal(net),
        net_profit=Decimal(net),
        run_id=run_id,
        pass_number=number,
    )


def add_known_run(session: Session, *, trades: bool = False) -> KnownRun:
    """The run above, a second run of two passes, and the outsider; flushed, not committed."""
    run = Run(
        id=uuid.uuid4(), name="Opt MACross", kind="optimization", cbot="MACross",
        symbol="EURUSD", period="h1", testing_start=START, testing_end=START + timedelta(days=30),
    )  # fmt: skip
    other = Run(id=uuid.uuid4(), name="Other batch", kind="batch")
    session.add_all([run, other])
    session.flush()
    passes: dict[int, uuid.UUID] = {}
    for number, (fast, slow, net, count, win, factor, drawdown, sharpe) in PASSES.items():
        backtest = _backtest(f"MACross pass {number}", run.id, number, net)
        backtest.total_trades = count
        backtest.win_rate = Decimal(win)
        backtest.profit_factor = Decimal(factor)
        backtest.max_balance_drawdown_percent = Decimal(drawdown)
        backtest.sharpe_ratio = Decimal(sharpe)
        session.add(backtest)
        session.flush()
        session.add_all(_parameters(backtest.id, fast, slow))
        if trades:
            session.add_all(_trades(backtest.id, Decimal(net)))
        passes[number] = backtest.id
    for number, net in ((1, "10.00"), (2, "20.00")):
        session.add(_backtest(f"Other pass {number}", other.id, number, net))
    outsider = _backtest("Outsider", None, None, "5000.00")
    session.add(outsider)
    session.flush()
    for run_id in (run.id, other.id):
        recount_passes(session, run_id)
    return KnownRun(run.id, passes, outsider.id, other.id)


def add_small_runs(session: Session) -> tuple[uuid.UUID, uuid.UUID]:
    """A run whose two passes differ in FastPeriod only, and a run with no pass yet."""
    single = Run(id=uuid.uuid4(), name="Single", kind="batch")
    empty = Run(id=uuid.uuid4(), name="Empty", kind="optimization")
    session.add_all([single, empty])
    session.flush()
    for number, fast, net in ((1, 5, "30.00"), (2, 10, "70.00")):
        backtest = _backtest(f"Single pass {number}", single.id, number, net)
        session.add(backtest)
        session.flush()
        session.add_all(_parameters(backtest.id, fast, 20))
    session.flush()
    recount_passes(session, single.id)
    return single.id, empty.id


def remove_runs(engine: Engine) -> None:
    """The shared `engine` fixture empties the backtest tables after each test; the runs
    go here (their backtests only lose the link until then)."""
    with engine.begin() as connection:
        connection.execute(delete(Run))
