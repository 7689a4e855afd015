"""Acceptance: a batch killed after some passes, run again, completes its run with no
duplicate; Ctrl-C stops after the current backtest and says how far it got. Real CLI
processes on both backends, every wait bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bench.trees import TreeTotals, write_tree
from sqlalchemy import Engine, func, select

from backtestdb.models import Backtest, Run

PASSES = 20
CLI = [sys.executable, "-m", "backtestdb", "ingest"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> TreeTotals:
    return write_tree(tmp_path_factory.mktemp("tree"), passes=PASSES, trades=2000, sources="csv")


def environment(database_url: str, data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir)}


def stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Backtest)) or 0


def wait_for_passes(engine: Engine, process: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + 120
    while stored(engine) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the batch ended or stalled first: {process.communicate()}")
        time.sleep(0.05)


def test_killed_batch_run_again_completes_its_run(
    database_url: str, engine: Engine, tree: TreeTotals, tmp_path: Path
) -> None:
    env = environment(database_url, tmp_path / "data")
    folder = str(tree.instance / "Optimization")
    process = subprocess.Popen([*CLI, folder, "--json"], env=env, stdout=subprocess.DEVNULL)
    wait_for_passes(engine, process, 4)
    process.kill()
    process.wait(timeout=30)
    before = stored(engine)
    assert 4 <= before < PASSES

    again = subprocess.run([*CLI, folder, "--json"], env=env, capture_output=True, timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    statuses = [item["status"] for item in json.loads(again.stdout)["items"]]
    assert statuses.count("already stored") == before
    assert statuses.count("ingested") == PASSES - before
    with engine.connect() as connection:
        numbers = connection.scalars(select(Backtest.pass_number)).all()
        runs = connection.execute(select(Run.name, Run.pass_count)).all()
    assert sorted(numbers) == list(range(1, PASSES + 1))  # none twice, none missing
    assert runs == [("MACross EURUSD h1 Optimization", PASSES)]


def test_ctrl_c_stops_after_the_current_backtest(
    database_url: str, engine: Engine, tree: TreeTotals, tmp_path: Path
) -> None:
    env = environment(database_url, tmp_path / "data")
    folder = str(tree.instance / "Optimization")
    process = subprocess.Popen([*CLI, folder], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    wait_for_passes(engine, process, 2)
    process.send_signal(signal.SIGINT)
    out, _err = process.communicate(timeout=120)
    assert process.returncode == 130
    done = stored(engine)
    assert 2 <= done < PASSES
    text = " ".join(out.decode().split())
    assert f"Stopped after {done} of {PASSES} backtests. Run the same command again" in text


SIGNALLED_READ = """
import io, os, signal
import pyarrow.csv
import importlib
cli = importlib.import_module("backtestdb.cli.app")  # the package exports the Typer app as `app`

class Signalling(io.BytesIO):
    def read(self, size=-1):  # pyarrow is inside read_csv when it calls this
        os.kill(os.getpid(), signal.SIGINT)
        return super().read(size)

def command():
    seen = []
    signal.signal(signal.SIGINT, lambda number, frame: seen.append(number))
    table = pyarrow.csv.read_csv(Signalling(b"a,b\\n1,2\\n3,4\\n"))
    print(table.num_rows, seen)

cli.app = command
cli.main()
"""


def test_a_ctrl_c_during_a_read_reaches_the_command_not_pyarrow() -> None:
    # The signal lands while pyarrow reads, every time: its own handler would cancel the
    # read (ArrowCancelled), and the backtest being read would fail instead of finishing.
    done = subprocess.run([sys.executable, "-c", SIGNALLED_READ], capture_output=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().split() == ["2", "[2]"]
