"""`backtestdb runs …` against the test database (the grid of conftest.py)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backtestdb.cli import app
from backtestdb.config import Settings
from backtestdb.models import Backtest, Run

runner = CliRunner()


def invoke(*args: str) -> tuple[int, Any]:
    result = runner.invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_list_and_show(settings: Settings, grid_run: uuid.UUID) -> None:
    code, listing = invoke("runs")
    assert code == 0
    assert listing["total"] == 1
    assert (listing["items"][0]["id"], listing["items"][0]["pass_count"]) == (str(grid_run), 20)
    code, detail = invoke("runs", "show", str(grid_run), "--limit", "3")
    assert code == 0
    assert [p["pass_number"] for p in detail["passes"]] == [16, 5, 6]
    assert (detail["total"], detail["varying_parameters"]) == (20, ["A", "B"])
    code, filtered = invoke(
        "runs", "show", str(grid_run), "--sort", "pass_number", "--filter", "param.A=5",
        "--filter", "min_net_profit=10",
    )  # fmt: skip
    assert code == 0
    assert [p["pass_number"] for p in filtered["passes"]] == [1, 2, 3]
    code, missing = invoke("runs", "show", str(uuid.uuid4()))
    assert code == 1
    assert "not found" in missing["detail"]
    code, bad = invoke("runs", "show", str(grid_run), "--filter", "min_profit=1")
    assert code == 1
    assert "unknown metric 'profit'" in bad["detail"]
    typo = runner.invoke(app, ["runs", "show", str(grid_run), "--filter", "A=5"])
    assert typo.exit_code == 2
    assert "give min_<metric>=N" in typo.output


def test_human_output(settings: Settings, grid_run: uuid.UUID) -> None:
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0, listing.output
    assert "1 runs" in listing.output
    assert str(grid_run) in listing.output
    shown = runner.invoke(app, ["runs", "show", str(grid_run)])
    assert shown.exit_code == 0, shown.output
    assert "20 passes" in shown.output
    assert "500.00" in shown.output
    grid = runner.invoke(
        app, ["runs", "sensitivity", str(grid_run), "--parameter", "A", "--parameter", "B"]
    )
    assert grid.exit_code == 0, grid.output
    assert "mean net_profit: A down, B across" in grid.output
    robust = runner.invoke(app, ["runs", "robustness", str(grid_run)])
    assert robust.exit_code == 0, robust.output
    assert "508.33" in robust.output


def test_sensitivity_and_robustness(settings: Settings, grid_run: uuid.UUID) -> None:
    code, found = invoke("runs", "sensitivity", str(grid_run), "--parameter", "B")
    assert code == 0
    assert [(c["values"]["B"], c["count"], c["mean"]) for c in found["cells"]] == [
        (0.5, 5, 66.0),
        (1.5, 5, 66.0),
        (2.5, 5, 4.9),
        (10.0, 5, 98.0),
    ]
    code, two = invoke(
        "runs", "sensitivity", str(grid_run), "--parameter", "A", "--parameter", "B",
        "--metric", "total_trades",
    )  # fmt: skip
    assert code == 0
    assert (two["parameters"], len(two["cells"]), two["cells"][0]["mean"]) == (["A", "B"], 20, 1.0)
    code, bad = invoke("runs", "sensitivity", str(grid_run), "--parameter", "Z")
    assert code == 1
    assert bad["detail"] == "parameter: unknown parameter 'Z'; the run's parameters: A, B, C"
    code, robust = invoke("runs", "robustness", str(grid_run), "--metric", "net_profit")
    assert code == 0
    spike = robust["items"][0]
    assert (spike["pass_number"], spike["neighbours"], spike["neighbour_mean"]) == (16, 3, -8.33)


def counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as session:
        runs = session.scalar(select(func.count()).select_from(Run)) or 0
        backtests = session.scalar(select(func.count()).select_from(Backtest)) or 0
    return runs, backtests


def test_delete_asks_first(
    settings: Settings, grid_run: uuid.UUID, factory: sessionmaker[Session]
) -> None:
    kept = runner.invoke(app, ["runs", "delete", str(grid_run)], input="n\n")
    assert kept.exit_code == 1
    assert "Delete run 'Grid EURUSD' and its 20 backtests?" in kept.output
    assert "Nothing deleted." in kept.output
    assert counts(factory) == (1, 20)
    deleted = runner.invoke(app, ["runs", "delete", str(grid_run)], input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert f"Deleted run {grid_run} and its 20 backtests" in deleted.output
    assert counts(factory) == (0, 0)


def test_delete_yes_and_json(
    settings: Settings, grid_run: uuid.UUID, factory: sessionmaker[Session]
) -> None:
    code, out = invoke("runs", "delete", str(grid_run), "--yes")
    assert (code, out) == (0, {"deleted": str(grid_run), "backtests": 20})
    assert counts(factory) == (0, 0)
    code, missing = invoke("runs", "delete", str(grid_run), "--yes")
    assert code == 1
    assert missing["detail"] == f"Run {grid_run} not found"
