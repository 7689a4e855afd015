"""`add_block` leaves the metric set exactly as `add_cents` of the same rows does, and the
figures computed from the database by blocks are those of its rows one at a time."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.analytics.block_figures import BLOCK_COLUMNS, add_block
from backtestdb.analytics.figures import CentsRow, Figures, FiguresAccumulator, TradeRow
from backtestdb.analytics.store import compute_figures
from backtestdb.config import Settings
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.storage import SourceFile
from tests.conftest import DATA

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2026, 3, 2, tzinfo=UTC)


def micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // timedelta(microseconds=1)


def random_rows(seed: int, count: int) -> list[CentsRow]:
    """Trades in close-time order with many ties, break-evens, equal falls and gaps."""
    draw = random.Random(seed)
    # Odd seeds: a step of 0 or 1 hour, so many trades tie and many falls last alike.
    steps = [0, 0, 0, 1] if seed % 2 else [0, 0, 1, 5, 30, 80]
    rows, close = [], START
    for _ in range(count):
        close += timedelta(hours=draw.choice(steps))
        opened = None if draw.random() < 0.2 else close - timedelta(minutes=draw.randint(0, 900))
        rows.append(
            CentsRow(
                close, opened, draw.choice([-300, -100, -100, 0, 100, 100, 200, 400]),
                draw.choice([0, -7]), draw.choice([0, 3, -2]), draw.choice(["buy", "sell"]),
                draw.choice(["EURUSD", "GBPUSD", "Ünicode"]),
            )
        )  # fmt: skip
    return rows


def block_of(rows: list[CentsRow]) -> pa.Table:
    times = [[micros(r.close_time) for r in rows], [micros(r.open_time) for r in rows]]
    money = [[r[i] for r in rows] for i in (2, 3, 4)]
    texts = [[r.direction for r in rows], [r.symbol for r in rows]]
    arrays = [pa.array(v, pa.int64()) for v in (*times, *money)]
    arrays += [pa.array(v, pa.string()) for v in texts]
    return pa.table(arrays, names=list(BLOCK_COLUMNS))


def by_rows(rows: list[CentsRow], start: datetime | None = None) -> FiguresAccumulator:
    accumulator = FiguresAccumulator(Decimal("1000.00"), start=start)
    for row in rows:
        accumulator.add_cents(row)
    return accumulator


def by_blocks(
    rows: list[CentsRow], cuts: list[int], start: datetime | None = None
) -> FiguresAccumulator:
    accumulator = FiguresAccumulator(Decimal("1000.00"), start=start)
    for first, stop in zip([0, *cuts], [*cuts, len(rows)], strict=True):
        add_block(accumulator, block_of(rows[first:stop]))
    return accumulator


@pytest.mark.parametrize("seed", range(60))
def test_blocks_give_the_figures_of_rows(seed: int) -> None:
    draw = random.Random(seed)
    rows = random_rows(seed, draw.choice([1, 2, 7, 60, 400]))
    cuts = sorted(draw.sample(range(1, len(rows)), min(len(rows) - 1, draw.randint(0, 6))))
    start = START - timedelta(days=3) if seed % 3 == 0 else None
    assert by_blocks(rows, cuts, start).result() == by_rows(rows, start).result()


def test_a_fall_recovered_in_a_later_block() -> None:
    """The deepest fall is in block one, its recovery and a longer episode in block two."""
    hour = timedelta(hours=1)
    profits = [100, -300, 50, 100, 200, -50, -50, 10, 200]
    rows = [
        CentsRow(START + i * hour * (i + 1), None, p, 0, 0, "buy", "EURUSD")
        for i, p in enumerate(profits)
    ]
    blocks = by_blocks(rows, [3])
    figures = blocks.result().drawdown
    assert figures == by_rows(rows).result().drawdown
    assert (figures.max_amount, figures.peak_balance) == (Decimal("3.00"), Decimal("1001.00"))
    assert figures.trough_time == START + 2 * hour
    assert figures.recovery_time == START + 20 * hour  # the 200 at index 4 (5 * 4 hours)


@pytest.mark.parametrize("cuts", [[], [3], [2, 4]])
def test_of_two_equal_episodes_the_first_is_the_longest(cuts: list[int]) -> None:
    hour = timedelta(hours=1)
    rows = [
        CentsRow(START + i * hour, None, p, 0, 0, "buy", "EURUSD")
        for i, p in enumerate([100, -50, 50, -50, 50, 10], start=1)
    ]
    figures = by_blocks(rows, cuts).result().drawdown
    assert figures == by_rows(rows).result().drawdown
    assert (figures.longest_start, figures.longest_end) == (START + hour, START + 3 * hour)


def orm_figures(session: Session, backtest: models.Backtest) -> Figures:
    """The figures from the stored trades read as ORM rows, one at a time (the oracle)."""
    trade = models.Trade
    query = (
        select(trade.close_time, trade.open_time, trade.profit, trade.commission, trade.swap,
               trade.direction, trade.symbol)
        .where(trade.backtest_id == backtest.id)
        .order_by(trade.close_time, trade.trade_number)
    )  # fmt: skip
    accumulator = FiguresAccumulator(
        backtest.initial_balance, start=backtest.testing_start, end=backtest.testing_end
    )
    for row in session.execute(query):
        accumulator.add(TradeRow(*row))
    return accumulator.result()


def test_figures_from_the_database_match_the_rows(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    """Out of close-time order, with ties: the figures are computed from the database."""
    header, *lines = (DATA / "multi_symbol_history.csv").read_text().splitlines()
    twins = [
        ",".join([f"{900_000 + i}", *line.split(",")[1:2], "Sell", "Buy", *line.split(",")[4:]])
        for i, line in enumerate(lines[::7])
    ]  # the same close time as another trade, the other way round
    rows = lines + twins
    random.Random(5).shuffle(rows)
    path = tmp_path / "history.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    request = IngestRequest(
        csv=SourceFile("history", path.name, path), initial_balance=Decimal(25000),
        on_error="skip",
    )  # fmt: skip
    _, outcome = run_ingest(factory, request, settings)
    assert outcome.needs_metrics
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        figures = compute_figures(session, backtest)
        assert figures == orm_figures(session, backtest)
        assert figures.all.total_trades == len(rows)


def test_figures_of_a_backtest_without_trades(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    path = DATA / "multi_symbol_history.csv"
    request = IngestRequest(
        csv=SourceFile("history", path.name, path), initial_balance=Decimal(25000)
    )
    _, outcome = run_ingest(factory, request, settings)
    with factory() as session:
        session.execute(delete(models.Trade))
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        figures = compute_figures(session, backtest)
    assert (figures.all.total_trades, figures.ending_balance) == (0, Decimal("25000.00"))
