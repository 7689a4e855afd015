"""The inputs of bench/ingest.py: the same trades in every form backtestdb ingests.

Each input is generated once per (layout, trades) under $TMPDIR/backtestdb-bench, written
aside and renamed (a run stopped half-way leaves nothing a later run would take for the
whole file), with what the writer wrote kept beside it: the count of closed trades and
the net profit they must add up to. Seed 7 and 10,000.00 of capital throughout; the CSV
layouts hold the model's three symbols, the reports and events.json its EURUSD stream
(events.json has no symbol key), the same draws either way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bench.common import WORK
from bench.events import write_events
from bench.generate import EXPORT_TIME, backtest_file_name, write_history, write_layout
from bench.model import Totals
from bench.report_stream import write_report_html, write_report_json
from bench.reports import ReportSpec

CSV_LAYOUTS = ("full", "default", "backtest", "statement")
OTHER_FORMS = ("report-json", "report-html", "events")
LAYOUTS = CSV_LAYOUTS + OTHER_FORMS
CAPITAL_CENTS = 1_000_000
INITIAL = "10000"
SYMBOL = "EURUSD"


@dataclass(frozen=True, slots=True)
class Input:
    """One generated file, how the CLI is told about it, and what it must store."""

    layout: str
    path: Path
    trades: int  # closed trades written
    net: Decimal  # their net profit: the final balance minus the initial one

    def ingest_args(self) -> list[str]:
        """`backtestdb ingest` arguments naming this file (the report gives its capital)."""
        if self.layout in CSV_LAYOUTS:
            return ["--csv", str(self.path), "--initial-balance", INITIAL]
        if self.layout == "events":
            return ["--events", str(self.path), "--symbol", SYMBOL, "--initial-balance", INITIAL]
        return [str(self.path)]


def written_aside(path: Path, write: Callable[[TextIO], object]) -> None:
    """Write `path` under a name of this process's, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    with partial.open("w", newline="", encoding="utf-8") as out:
        write(out)
    partial.replace(path)


def history(trades: int) -> Path:
    """The full History CSV of `trades` trades (bench/generate.py's original file)."""
    path = WORK / f"history_{trades}.csv"
    if not path.exists():
        written_aside(path, lambda out: write_history(out, trades))
    return path


def last_balance(path: Path) -> Decimal:
    """The Balance cell of a full History CSV's last line."""
    with path.open("rb") as stream:
        stream.seek(max(0, path.stat().st_size - 400))
        last_line = stream.read().decode().strip().splitlines()[-1]
    return Decimal(last_line.rsplit(",", 1)[1])


def full_input(trades: int) -> Input:
    """The full layout: its figures read off the file itself, as bench/ingest.py always did
    (the cache predates the totals files)."""
    path = history(trades)
    return Input("full", path, trades, last_balance(path) - Decimal(INITIAL))


def file_name(layout: str, trades: int) -> Path:
    if layout == "backtest":
        name = backtest_file_name(EXPORT_TIME, "MACross", SYMBOL, "h1", ["10", "20", "0.1"])
        return WORK / f"backtest_{trades}" / name
    names = {"report-json": "report.json", "report-html": "report.html"}
    if layout in names:
        return WORK / f"{layout}_{trades}" / names[layout]
    if layout == "events":
        return WORK / f"events_{trades}" / "events.json"
    return WORK / f"{layout}_{trades}.csv"


def writer(layout: str, trades: int) -> Callable[[TextIO], Totals]:
    spec = ReportSpec(trades=trades, capital_cents=CAPITAL_CENTS, symbol=SYMBOL)
    if layout == "report-json":
        return lambda out: write_report_json(out, spec)
    if layout == "report-html":
        return lambda out: write_report_html(out, spec)
    if layout == "events":
        return lambda out: write_events(out, trades, capital_cents=CAPITAL_CENTS, symbol=SYMBOL)
    return lambda out: write_layout(out, layout, trades, capital_cents=CAPITAL_CENTS)


def bench_input(layout: str, trades: int) -> Input:
    """The cached input of `layout` (one of LAYOUTS) for `trades` trades."""
    if layout == "full":
        return full_input(trades)
    path = file_name(layout, trades)
    sums = path.parent / f"{path.name}.totals.json"
    if not (path.exists() and sums.exists()):
        totals: list[Totals] = []
        written_aside(path, lambda out: totals.append(writer(layout, trades)(out)))
        done = {"trades": totals[0].trades, "net_cents": totals[0].net_cents}
        written_aside(sums, lambda out: out.write(json.dumps(done)))
    done = json.loads(sums.read_text())
    return Input(layout, path, done["trades"], Decimal(done["net_cents"]) / 100)
