"""A run built directly in the database: a 5 x 4 grid over A (int) and B (float) with a
known plateau and a known spike, and the constant C.

net_profit by A (down) and B (across); pass number = 4 * row + column + 1:

          B=0.5    1.5     2.5    10.0
    A=5    20.00   30.00   10.00   -5.00
    A=10  100.00  100.00   12.50    0.00
    A=15  100.00  100.00   15.00    5.00
    A=20  100.00  100.00  -20.00  500.00      <- 500.00 is the spike
    A=25   10.00    0.01    7.00  -10.00

The plateau is A in 10..20, B in 0.5..1.5 (100.00). The values are chosen so that text
order would differ from numeric order on both axes ("10" < "5", "10.0" < "2.5").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.models import Backtest, Parameter, Run
from backtestdb.server import create_app

A_VALUES = (5, 10, 15, 20, 25)
B_VALUES = (0.5, 1.5, 2.5, 10.0)
PROFITS = (
    ("20.00", "30.00", "10.00", "-5.00"),
    ("100.00", "100.00", "12.50", "0.00"),
    ("100.00", "100.00", "15.00", "5.00"),
    ("100.00", "100.00", "-20.00", "500.00"),
    ("10.00", "0.01", "7.00", "-10.00"),
)


def add_pass(
    session: Session,
    run: Run,
    number: int,
    parameters: dict[str, tuple[str | None, str]],
    **metrics: object,
) -> Backtest:
    """A backtest of the run with parameters {name: (text, value_type)}."""
    backtest = Backtest(
        id=uuid.uuid4(),
        name=f"{run.name} pass {number}",
        symbol="EURUSD",
        period="h1",
        initial_balance=Decimal("10000.00"),
        run_id=run.id,
        pass_number=number,
        **metrics,
    )
    session.add(backtest)
    session.flush()
    for name, (value, value_type) in parameters.items():
        session.add(
            Parameter(backtest_id=backtest.id, name=name, value=value, value_type=value_type)
        )
    return backtest


def make_run(session: Session, name: str, kind: str = "optimization") -> Run:
    run = Run(id=uuid.uuid4(), name=name, kind=kind, symbol="EURUSD", period="h1")
    session.add(run)
    session.flush()
    return run


def third(number: int) -> Decimal:
    return (Decimal(number) / 3).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@pytest.fixture
def grid_run(factory: sessionmaker[Session]) -> uuid.UUID:
    """The grid above: 20 passes; total_trades is the pass number, profit_factor the pass
    number / 3 to 4 decimals (0.3333, 0.6667, 1.0000…), NULL on the passes of A=25."""
    with factory.begin() as session:
        run = make_run(session, "Grid EURUSD")
        for row, a in enumerate(A_VALUES):
            for column, b in enumerate(B_VALUES):
                number = 4 * row + column + 1
                parameters = {"A": (str(a), "int"), "B": (repr(b), "float"), "C": ("x", "string")}
                add_pass(
                    session,
                    run,
                    number,
                    parameters,
                    net_profit=Decimal(PROFITS[row][column]),
                    total_trades=number,
                    profit_factor=None if a == 25 else third(number),
                )
        run.pass_count = 20
        return run.id


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:  # the lifespan disposes the engine
        yield client
