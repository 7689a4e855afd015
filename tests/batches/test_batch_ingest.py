"""Acceptance: a generated Optimization folder ingests as one run; again, it adds nothing;
a failing pass does not stop the others; `--run` names a batch. On both backends."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from bench.trees import TreeTotals, write_tree
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backtestdb.cli import app
from backtestdb.config import Settings
from backtestdb.models import Backtest, Parameter, Run
from tests.conftest import row_counts

runner = CliRunner()


def ingest(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["ingest", *args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def cents(value: int) -> Decimal:
    return Decimal(value) / 100


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> TreeTotals:
    return write_tree(tmp_path_factory.mktemp("tree"), passes=20, trades=30, sources="csv")


def test_twenty_passes_are_one_run_and_again_add_nothing(
    settings: Settings, factory: sessionmaker[Session], tree: TreeTotals
) -> None:
    code, out = ingest(str(tree.instance / "Optimization"))
    assert code == 0
    items = out["items"]
    assert isinstance(items, list)
    assert [i["status"] for i in items] == ["ingested"] * 20
    assert [i["path"] for i in items] == [f"Optimization/{n}" for n in range(1, 21)]
    [run] = out["runs"]  # type: ignore[misc]
    assert (run["name"], run["kind"], run["pass_count"]) == (
        "MACross EURUSD h1 Optimization", "optimization", 20,
    )  # fmt: skip
    with factory() as session:
        stored = session.scalars(select(Backtest).order_by(Backtest.pass_number)).all()
        assert [b.pass_number for b in stored] == list(range(1, 21))
        assert {b.run_id for b in stored} == {stored[0].run_id}
        assert [b.name for b in stored] == [f"MACross EURUSD h1 pass {n}" for n in range(1, 21)]
        assert [b.net_profit for b in stored] == [cents(p.totals.net_cents) for p in tree.passes]
        assert [b.total_trades for b in stored] == [30] * 20
        fast = session.scalars(
            select(Parameter.value).where(Parameter.name == "FastPeriod")
            .join(Backtest).order_by(Backtest.pass_number)
        ).all()  # fmt: skip
        assert fast == [str(p.params["FastPeriod"]) for p in tree.passes]
        run_row = session.get_one(Run, stored[0].run_id)
        assert (run_row.cbot, run_row.symbol, run_row.period, run_row.pass_count) == (
            "MACross", "EURUSD", "h1", 20,
        )  # fmt: skip

    code, again = ingest(str(tree.instance / "Optimization"))
    assert code == 0
    assert [i["status"] for i in again["items"]] == ["already stored"] * 20  # type: ignore[union-attr]
    assert again["runs"] == out["runs"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Backtest)) == 20
        assert session.scalar(select(func.count()).select_from(Run)) == 1


def test_a_failing_pass_is_listed_and_the_rest_ingested(
    settings: Settings, engine: Engine, tree: TreeTotals, tmp_path: Path
) -> None:
    copied = tmp_path / "Optimization"
    shutil.copytree(tree.instance / "Optimization", copied)
    [broken] = (copied / "2").glob("*.csv")
    lines = broken.read_text().splitlines()
    lines[3] = lines[3].replace("Buy", "Up").replace("Sell", "Up")
    broken.write_text("\n".join(lines) + "\n")
    (copied / "3" / "again.csv").write_text(broken.read_text())
    result = runner.invoke(app, ["ingest", str(copied), "--json"])
    assert result.exit_code == 1
    items = json.loads(result.stdout)["items"]
    statuses = {i["path"]: i["status"] for i in items}
    assert statuses["Optimization/2"] == "failed"
    assert statuses["Optimization/3"] == "failed"
    assert sum(s == "ingested" for s in statuses.values()) == 18
    reasons = {i["path"]: i["reason"] for i in items}
    assert reasons["Optimization/2"] == (
        "Validation failed with 1 row error; nothing was stored; "
        f"{broken.name}, row 3, column 'Type': unknown direction (expected Buy or Sell) "
        "(value 'Up')"
    )
    assert reasons["Optimization/3"].startswith("holds 2 History CSV files")
    assert row_counts(engine)["backtests"] == 18


def test_run_names_a_batch_of_loose_backtests(
    settings: Settings, factory: sessionmaker[Session], tree: TreeTotals
) -> None:
    folders = [str(p.folder) for p in tree.passes[:3]]
    code, out = ingest(*folders, "--run", "my sweep")
    assert code == 0
    [run] = out["runs"]  # type: ignore[misc]
    assert (run["name"], run["kind"], run["pass_count"]) == ("my sweep", "batch", 3)
    code, more = ingest(str(tree.passes[3].folder), "--run", "my sweep")
    assert more["runs"][0]["id"] == run["id"]  # type: ignore[index]
    assert more["runs"][0]["pass_count"] == 4  # type: ignore[index]


def test_name_is_for_one_backtest(settings: Settings, tree: TreeTotals) -> None:
    result = runner.invoke(app, ["ingest", str(tree.instance), "--name", "x"])
    assert result.exit_code == 2
    assert "--name names one backtest" in result.output


def test_deleting_a_pass_recounts_its_run(
    settings: Settings, factory: sessionmaker[Session], tree: TreeTotals
) -> None:
    _code, out = ingest(*(str(p.folder) for p in tree.passes[:2]), "--run", "pair")
    first = out["items"][0]["backtest_id"]  # type: ignore[index]
    result = runner.invoke(app, ["delete", str(first)])
    assert result.exit_code == 0
    with factory() as session:
        assert session.scalars(select(Run.pass_count)).all() == [1]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_worker_processes_store_what_one_process_stores(
    settings: Settings, factory: sessionmaker[Session], tree: TreeTotals, jobs: str
) -> None:
    code, out = ingest(str(tree.instance / "Optimization"), "--jobs", jobs)
    assert code == 0
    items = out["items"]
    assert isinstance(items, list)
    assert [(i["path"], i["status"]) for i in items] == [
        (f"Optimization/{n}", "ingested") for n in range(1, 21)
    ]
    with factory() as session:
        stored = session.execute(
            select(Backtest.pass_number, Backtest.net_profit).order_by(Backtest.pass_number)
        ).all()
        assert stored == [(p.number, cents(p.totals.net_cents)) for p in tree.passes]
        assert session.scalars(select(Run.pass_count)).all() == [20]
