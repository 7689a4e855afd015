"""Exports read in batches, each its own short transaction: the seams lose and double
nothing, no connection stays checked out between two batches, and a backtest deleted
part-way stops the export with NotFound rather than ending it short (both backends)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.analytics import export
from backtestdb.backtests import BacktestQuery
from backtestdb.config import Settings
from backtestdb.errors import NotFound
from tests.analytics.conftest import ingest_and_refresh
from tests.conftest import BASIC


def sample(factory: sessionmaker[Session], settings: Settings) -> uuid.UUID:
    backtest, _ = ingest_and_refresh(factory, settings, BASIC / "report.json")
    return backtest.id


def checked_out(engine: Engine) -> int:
    return int(engine.pool.checkedout())


def test_batches_hold_no_connection_between_them(
    engine: Engine, factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = sample(factory, settings)
    batches = export.trade_batches(factory, backtest_id, size=64)
    sizes = []
    for batch in batches:
        assert checked_out(engine) == 0  # the batch's session is closed before it is yielded
        sizes.append(len(batch))
    assert sizes == [64, 64, 64, 8]
    numbers = [row.trade_number for batch in export.trade_batches(factory, backtest_id, 64)
               for row in batch]  # fmt: skip
    assert numbers == list(range(1, 201))


def test_csv_in_batches_is_the_csv_in_one(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = sample(factory, settings)
    whole = export.csv_text(export.TRADE_COLUMNS, export.trade_batches(factory, backtest_id, 500))
    seams = export.csv_text(export.TRADE_COLUMNS, export.trade_batches(factory, backtest_id, 7))
    one, many = "".join(whole), "".join(seams)
    assert one == many
    rows = list(csv.DictReader(io.StringIO(one)))
    assert [int(row["trade_number"]) for row in rows] == list(range(1, 201))


def test_an_empty_or_unknown_backtest(factory: sessionmaker[Session]) -> None:
    with pytest.raises(NotFound):
        next(export.trades_csv(factory, uuid.uuid4()))
    assert "".join(export.csv_text(("a", "b"), [])) == "a,b\r\n"
    assert "".join(export.csv_text(("a", "b"), [[]])) == "a,b\r\n"


def test_a_backtest_deleted_mid_export_stops_it(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = sample(factory, settings)
    batches = export.trade_batches(factory, backtest_id, size=64)
    assert len(next(batches)) == 64
    with factory.begin() as session:
        session.execute(delete(models.Backtest).where(models.Backtest.id == backtest_id))
    with pytest.raises(NotFound):
        next(batches)


def test_the_list_export_keeps_the_sort_across_batches(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    ids = [sample(factory, settings) for _ in range(3)]
    with factory.begin() as session:
        for rank, backtest_id in enumerate(ids):
            session.get_one(models.Backtest, backtest_id).name = f"run {2 - rank}"
    matching = select(models.Backtest.id).order_by(models.Backtest.name)
    batches = list(export.backtest_batches(factory, matching, size=2))
    assert [[row.name for row in batch] for batch in batches] == [["run 0", "run 1"], ["run 2"]]
    text = "".join(export.backtests_csv(factory, BacktestQuery(sort="-name")))
    assert [row["name"] for row in csv.DictReader(io.StringIO(text))] == ["run 2", "run 1", "run 0"]
