"""The backtests in a tree: cTrader's Backtesting and Optimization folders, loose files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from backtestdb.batches import discover
from backtestdb.errors import InvalidRequest
from tests.conftest import BASIC


def backtest_folder(folder: Path, *files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copy(BASIC / name, folder / name)
    (folder / "log.txt").write_text("20/08/2026 21:56:13.342 | Info | cBot started\n")
    return folder


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    instance = tmp_path / "cBots" / "MACross" / "EURUSD h1"
    backtest_folder(instance / "Backtesting", "report.html", "parameters.cbotset")
    for number in (10, 2, 1):
        backtest_folder(instance / "Optimization" / str(number), "report.json",
                        "parameters.cbotset")  # fmt: skip
    (instance / "Optimization" / "notes").mkdir()  # no trade source: not a backtest
    return tmp_path / "cBots"


def test_a_cbot_tree_in_natural_order(tree: Path) -> None:
    found = discover([tree])
    assert [f.label for f in found] == [
        "cBots/MACross/EURUSD h1/Backtesting",
        "cBots/MACross/EURUSD h1/Optimization/1",
        "cBots/MACross/EURUSD h1/Optimization/2",
        "cBots/MACross/EURUSD h1/Optimization/10",
    ]
    assert [f.pass_number for f in found] == [None, 1, 2, 10]
    optimization = tree / "MACross" / "EURUSD h1" / "Optimization"
    assert [f.optimization for f in found] == [None, optimization, optimization, optimization]
    backtesting = found[0]
    assert (backtesting.report, backtesting.parameters) == (
        backtesting.folder / "report.html",
        backtesting.folder / "parameters.cbotset",
    )
    assert backtesting.history is None
    assert backtesting.events is None
    assert all(f.problem is None for f in found)


def test_renamed_files_are_known_by_content(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    shutil.copy(BASIC / "history.csv", folder / "trades.txt")
    shutil.copy(BASIC / "parameters.cbotset", folder / "settings.json")
    [found] = discover([folder])
    assert (found.history, found.parameters) == (folder / "trades.txt", folder / "settings.json")
    assert found.label == "run"


def test_the_cli_writes_json_and_html_reports_and_the_json_is_read(tmp_path: Path) -> None:
    folder = backtest_folder(tmp_path / "b", "report.json", "report.html", "parameters.json",
                             "parameters.cbotset")  # fmt: skip
    [found] = discover([folder])
    assert found.report == folder / "report.json"
    assert found.parameters == folder / "parameters.cbotset"
    assert found.problem is None


def test_two_history_csvs_in_one_folder_are_its_problem(tmp_path: Path) -> None:
    folder = backtest_folder(tmp_path / "b", "history.csv")
    shutil.copy(BASIC / "history.csv", folder / "again.csv")
    [found] = discover([folder])
    assert found.problem == (
        "holds 2 History CSV files (again.csv, history.csv): keep one per backtest folder, "
        "or put each backtest in a folder of its own"
    )


def test_loose_files_make_one_backtest_per_folder(tmp_path: Path) -> None:
    folder = backtest_folder(tmp_path / "b", "report.json", "history.csv")
    [found] = discover([folder / "report.json", folder / "history.csv"])
    assert (found.report, found.history) == (folder / "report.json", folder / "history.csv")


def test_symlinked_folders_are_not_followed(tree: Path, tmp_path: Path) -> None:
    os.symlink(tree, tree / "MACross" / "loop")
    assert len(discover([tree])) == 4


def test_no_backtest_says_what_one_is(tmp_path: Path) -> None:
    (tmp_path / "log.txt").write_text("nothing\n")
    with pytest.raises(InvalidRequest) as caught:
        discover([tmp_path])
    assert caught.value.message == (
        f"No backtest found in {tmp_path}: a backtest folder holds a report (report.json or "
        "report.html), a History CSV and/or an events.json, with an optional parameters "
        "file (.cbotset)"
    )
