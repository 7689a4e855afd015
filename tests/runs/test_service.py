"""The runs service: lists, passes with typed parameters, top passes, delete with files."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import runs
from backtestdb.backtests import BacktestQuery
from backtestdb.config import Settings
from backtestdb.errors import InvalidRequest, NotFound
from backtestdb.models import Backtest, Parameter, Run
from backtestdb.runs.schemas import PassOut
from backtestdb.storage import open_storage
from tests.runs.conftest import add_pass, make_run


@pytest.mark.parametrize(
    ("text", "value_type", "value"),
    [
        ("5", "int", 5),
        ("0.5", "float", 0.5),
        ("inf", "float", "inf"),  # no place in an order nor in JSON
        ("true", "bool", True),
        ("false", "bool", False),
        (None, "null", None),
        ("x", "string", "x"),
        ('{"a": 1}', "json", '{"a": 1}'),
        ("five", "int", "five"),  # not what its type says: kept as written
    ],
)
def test_typed_value(text: str | None, value_type: str, value: object) -> None:
    found = runs.typed_value(text, value_type)
    assert (found, type(found)) == (value, type(value))


def test_list_runs_sorted_and_filtered(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        for name, count in (("Beta", 2), ("Alpha", 5), ("Gamma 50%", 1)):
            make_run(session, name, "batch").pass_count = count
    with factory() as session:
        by_name, total = runs.list_runs(session, sort="name")
        by_count, _ = runs.list_runs(session, sort="-pass_count", limit=2, offset=1)
        named, named_total = runs.list_runs(session, name="a 50%")
        with pytest.raises(InvalidRequest, match="sort by one of: name, kind"):
            runs.list_runs(session, sort="net_profit")
    assert total == 3
    assert [r.name for r in by_name] == ["Alpha", "Beta", "Gamma 50%"]
    assert [r.pass_count for r in by_count] == [2, 1]
    assert ([r.name for r in named], named_total) == (["Gamma 50%"], 1)


def test_passes_sorted_and_filtered(factory: sessionmaker[Session], grid_run: uuid.UUID) -> None:
    with factory() as session:
        best, total = runs.list_passes(session, grid_run, BacktestQuery(sort=runs.PASS_SORT))
        query = BacktestQuery(sort="pass_number")
        query.add_params([("min_net_profit", "100"), ("param.A", "20")])
        filtered, filtered_total = runs.list_passes(session, grid_run, query)
        top = runs.top_passes(session, grid_run, "net_profit", 2)
        names = runs.run_parameters(session, grid_run)
        rows = [PassOut.of(p) for p in best[:1]]
    assert total == 20
    assert [p.backtest.pass_number for p in best[:3]] == [16, 5, 6]
    assert best[0].parameters == {"A": 20, "B": 10.0, "C": "x"}
    assert ([p.backtest.pass_number for p in filtered], filtered_total) == ([13, 14, 16], 3)
    assert top == [best[0].backtest.id, best[1].backtest.id]
    assert (names.varying, names.constant, names.names) == (["A", "B"], ["C"], ["A", "B", "C"])
    assert (rows[0].pass_number, rows[0].net_profit, rows[0].total_trades) == (
        16,
        Decimal("500.00"),
        16,
    )


def test_pass_out_holds_every_metric() -> None:
    assert set(runs.METRICS) | {"pass_number"} <= set(PassOut.model_fields)


def test_a_parameter_some_passes_lack_varies(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        run = make_run(session, "Partial")
        add_pass(session, run, 1, {"A": ("1", "int"), "B": ("2", "int")})
        add_pass(session, run, 2, {"A": ("1", "int")})
        run_id = run.id
    with factory() as session:
        names = runs.run_parameters(session, run_id)
    assert (names.varying, names.constant) == (["B"], ["A"])


def test_delete_run_removes_its_backtests_and_files(
    factory: sessionmaker[Session], settings: Settings, grid_run: uuid.UUID
) -> None:
    storage = open_storage(settings)
    with factory.begin() as session:
        other = make_run(session, "Other")
        kept = add_pass(session, other, 1, {"A": ("1", "int")}).id
        ids = list(session.scalars(select(Backtest.id).where(Backtest.run_id == grid_run)))
    for backtest_id in (ids[0], kept):
        storage.folder(backtest_id).mkdir(parents=True)
        (storage.folder(backtest_id) / "report.json").write_text("{}")
    with factory.begin() as session:
        assert runs.delete_run(session, grid_run, storage) == 20
    with factory() as session:
        assert session.get(Run, grid_run) is None
        left = session.scalars(select(Backtest.id)).all()
        parameters = session.scalar(select(func.count()).select_from(Parameter))
        with pytest.raises(NotFound, match=f"Run {grid_run} not found"):
            runs.delete_run(session, grid_run, storage)
    assert (left, parameters) == ([kept], 1)
    assert not storage.folder(ids[0]).exists()
    assert (storage.folder(kept) / "report.json").exists()
