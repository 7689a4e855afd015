"""Folder trees as cTrader desktop writes them: one backtest, or an optimisation's passes.

Under OUT: `cBots/<cBot>/<SYMBOL> <tf>/Backtesting/` (one backtest) or
`cBots/<cBot>/<SYMBOL> <tf>/Optimization/<n>/` for n = 1..N. Each folder holds, for the
`report-events` sources, `report.html` (or `report.json`), `events.json`, `log.txt` and
`parameters.cbotset`; for `csv`, the backtest History CSV under cTrader's name,
`parameters.cbotset` and `log.txt`. Every pass has the same seed, so its trades differ
only by the edge its parameters give: a pass's results are an exact function of them.

The grid. FastPeriod = 5, 10, 15, ... (index i), SlowPeriod = 20, 30, 40, ... (j) and,
above 120 passes, StopLossPips = 10, 20, 30, ... (k); Volume and Source are constant.
Pass n is the n-th grid point in lexicographic order (FastPeriod slowest). Sizes: two
parameters, SlowPeriod has max(9, ceil(sqrt N)) values and FastPeriod as many as N needs;
three, with m = ceil(cbrt N), SlowPeriod max(9, m), StopLossPips max(3, min(m, N // (4 *
SlowPeriod's))) and FastPeriod as many as N needs (1,000 passes: 10 x 10 x 10).

The edge (price points added to every trade's move, bench/model.py), `edge_of`:
  * the spike: (i, j, k) = (0, 7, 0), FastPeriod 5, SlowPeriod 90 (StopLossPips 10): 60;
  * else by d, the Chebyshev distance in grid steps from the plateau's centre (2, 2, 1),
    FastPeriod 15, SlowPeriod 40 (StopLossPips 20): 40 at d = 0, 36 at d = 1 (the
    plateau: the centre and its neighbours), 24 at d = 2, 8 at d = 3, -8 from d = 4 on.
A point of edge e nets exactly 10 * e * trades cents more than one of edge 0 (every
symbol's trades are worth 10 cents a point), so the spike nets most, every plateau point
more than any of the spike's neighbours (all at d >= 4). The spike is pass 8 (two
parameters) or 7 * len(StopLossPips) + 1; the plateau is whole from 36 passes on (two
parameters) and for every N above 120.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice, product
from math import isqrt
from pathlib import Path
from typing import TextIO

from bench.events import write_events
from bench.layouts import PLAIN, backtest_file_name, write_backtest
from bench.model import EPOCH, SYMBOLS, Totals, Trade, iter_trades
from bench.reports import (
    Parameter,
    ReportSpec,
    testing_period,
    write_report_html,
    write_report_json,
)

TREES = ("backtesting", "optimization")
SOURCES = ("report-events", "csv")
REPORT_FORMATS = ("html", "json")
THREE_PARAMETERS_ABOVE = 120
SPIKE = (0, 7, 0)
SPIKE_EDGE = 60
CENTRE = (2, 2, 1)
FALL_OFF = (40, 36, 24, 8)  # edge at distance 0, 1, 2, 3 from the plateau's centre
BACKGROUND = -8
#: name -> (group, display name) in the report
INFO = {
    "FastPeriod": ("Moving Averages", "Fast Period"),
    "SlowPeriod": ("Moving Averages", "Slow Period"),
    "StopLossPips": ("Risk", "Stop Loss (pips)"),
    "Volume": ("Trade", "Volume (units)"),
    "Source": ("Moving Averages", "Source"),
}
Params = dict[str, int | str]
# The moment History exports are named by: bench/generate.py's EXPORT_TIME (which imports
# this module, so it cannot be imported from there).
EXPORT_TIME = datetime(2026, 8, 20, 21, 56, 13)


def fast(i: int) -> int:
    return 5 * (i + 1)


def slow(j: int) -> int:
    return 20 + 10 * j


def stop(k: int) -> int:
    return 10 * (k + 1)


def ceil_cbrt(n: int) -> int:
    root = max(1, int(n ** (1 / 3)))
    while root**3 < n:
        root += 1
    while root > 1 and (root - 1) ** 3 >= n:
        root -= 1
    return root


def axes(passes: int) -> dict[str, list[int]]:
    """The varying parameters' values, in grid order; their product has >= passes points."""
    if passes <= THREE_PARAMETERS_ABOVE:
        slows = max(9, isqrt(passes - 1) + 1)  # ceil(sqrt(passes))
        fasts = -(-passes // slows)
        return {"FastPeriod": [fast(i) for i in range(fasts)],
                "SlowPeriod": [slow(j) for j in range(slows)]}  # fmt: skip
    root = ceil_cbrt(passes)
    slows = max(9, root)
    stops = max(3, min(root, passes // (4 * slows)))
    fasts = -(-passes // (slows * stops))
    return {
        "FastPeriod": [fast(i) for i in range(fasts)],
        "SlowPeriod": [slow(j) for j in range(slows)],
        "StopLossPips": [stop(k) for k in range(stops)],
    }


def constants(symbol: str) -> Params:
    return {"Volume": SYMBOLS[symbol][3] // 10, "Source": "Close"}


def grid(passes: int, symbol: str = "EURUSD") -> list[Params]:
    """Every pass's parameters (pass n is item n - 1): the varying ones, then constants."""
    varying = axes(passes)
    points = islice(product(*varying.values()), passes)
    return [{**dict(zip(varying, point, strict=True)), **constants(symbol)} for point in points]


def indices(params: Params) -> tuple[int, ...]:
    """The grid point's (i, j[, k]) from its parameter values."""
    found = [int(params["FastPeriod"]) // 5 - 1, (int(params["SlowPeriod"]) - 20) // 10]
    if "StopLossPips" in params:
        found.append(int(params["StopLossPips"]) // 10 - 1)
    return tuple(found)


def edge_of(params: Params) -> int:
    """The price points a pass with these parameters gains on every trade (module doc)."""
    point = indices(params)
    if point == SPIKE[: len(point)]:
        return SPIKE_EDGE
    distance = max(abs(a - b) for a, b in zip(point, CENTRE, strict=False))
    return FALL_OFF[distance] if distance < len(FALL_OFF) else BACKGROUND


@dataclass(slots=True)
class PassTotals:
    number: int  # 1..N; 1 for the Backtesting folder
    folder: Path
    params: Params
    edge: int
    totals: Totals  # the trades the pass's files describe


@dataclass(slots=True)
class TreeTotals:
    instance: Path  # cBots/<cBot>/<SYMBOL> <tf>
    passes: list[PassTotals] = field(default_factory=list)

    @property
    def trades(self) -> int:
        return sum(p.totals.trades for p in self.passes)

    @property
    def net_cents(self) -> int:
        return sum(p.totals.net_cents for p in self.passes)


@dataclass(frozen=True, slots=True)
class PassSpec:
    """What every pass of a tree shares."""

    trades: int
    sources: str = "report-events"
    report_format: str = "html"
    seed: int = 7
    cbot: str = "MACross"
    symbol: str = "EURUSD"
    timeframe: str = "h1"
    capital_cents: int = 1_000_000

    def report(self, params: Params, edge: int) -> ReportSpec:
        listed = tuple(Parameter(*INFO[name], name, value) for name, value in params.items())
        return ReportSpec(
            self.trades, self.seed, self.capital_cents, self.symbol, self.timeframe,
            self.cbot, edge, listed,
        )  # fmt: skip


def time_text(ms: int) -> str:
    at = EPOCH + timedelta(milliseconds=ms)
    return f"{at:%d/%m/%Y %H:%M:%S}.{at.microsecond // 1000:03d}"


def write_log(out: TextIO, spec: PassSpec, params: Params, trades: Sequence[Trade]) -> None:
    """A few journal lines as cTrader's log.txt has them."""
    period = testing_period(list(trades))
    start, end = period["startDate"] or 0, period["endDate"] or 0
    values = ", ".join(f"{name}={value}" for name, value in params.items())
    chart = f"{spec.symbol}, {spec.timeframe}"
    lines = [
        (start, f'cBot "{spec.cbot}" was started successfully for {chart}.'),
        (start, f"Parameters: {values}"),
        *[(t.closed_ms, f"Position #{t.number} closed") for t in trades[:3]],
        (end, "Backtesting was stopped: end of the testing period reached."),
    ]  # fmt: skip
    out.writelines(f"{time_text(ms)} | Info | {text}\n" for ms, text in lines)


def write_pass(folder: Path, spec: PassSpec, number: int, params: Params) -> PassTotals:
    """One backtest's files in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    edge = edge_of(params)
    chart = {"Chart": {"Symbol": spec.symbol, "Period": spec.timeframe}, "Parameters": params}
    (folder / "parameters.cbotset").write_text(json.dumps(chart, indent=2) + "\n")
    model = iter_trades(spec.seed, spec.capital_cents, (spec.symbol,), edge=edge)
    with (folder / "log.txt").open("w", encoding="utf-8") as out:
        write_log(out, spec, params, list(islice(model, spec.trades)))
    if spec.sources == "csv":
        values = [str(value) for value in params.values()]
        name = backtest_file_name(EXPORT_TIME, spec.cbot, spec.symbol, spec.timeframe, values)
        with (folder / name).open("w", newline="", encoding="utf-8") as out:
            totals = write_backtest(
                out, spec.trades, spec.seed, spec.capital_cents,
                forms=PLAIN, symbols=(spec.symbol,), edge=edge,
            )  # fmt: skip
        return PassTotals(number, folder, params, edge, totals)
    writer = write_report_html if spec.report_format == "html" else write_report_json
    with (folder / f"report.{spec.report_format}").open("w", encoding="utf-8") as out:
        totals = writer(out, spec.report(params, edge))
    with (folder / "events.json").open("w", encoding="utf-8") as out:
        events = write_events(
            out, spec.trades, spec.seed, spec.capital_cents, spec.symbol, edge=edge
        )
    totals.events = events.events
    return PassTotals(number, folder, params, edge, totals)


def write_tree(
    out: Path, *, tree: str = "optimization", passes: int = 1, trades: int = 500,
    sources: str = "report-events", report_format: str = "html", seed: int = 7,
    cbot: str = "MACross", symbol: str = "EURUSD", timeframe: str = "h1",
    capital_cents: int = 1_000_000,
) -> TreeTotals:  # fmt: skip
    """Write a Backtesting folder (passes must be 1) or an Optimization folder of passes."""
    if tree not in TREES or sources not in SOURCES or report_format not in REPORT_FORMATS:
        raise ValueError(f"unknown tree {tree!r}, sources {sources!r} or format {report_format!r}")
    if passes < 1 or (tree == "backtesting" and passes != 1):
        raise ValueError("a Backtesting folder holds one backtest; an Optimization 1 or more")
    spec = PassSpec(trades, sources, report_format, seed, cbot, symbol, timeframe, capital_cents)
    instance = out / "cBots" / cbot / f"{symbol} {timeframe}"
    result = TreeTotals(instance)
    points = grid(passes, symbol)
    if tree == "backtesting":
        result.passes.append(write_pass(instance / "Backtesting", spec, 1, points[0]))
        return result
    for number, params in enumerate(points, start=1):
        folder = instance / "Optimization" / str(number)
        result.passes.append(write_pass(folder, spec, number, params))
    return result


def describe(result: TreeTotals, *, only: Iterable[int] = ()) -> str:
    """One line per pass asked for (default: none) and the tree's totals."""
    wanted = set(only)
    lines = [
        f"pass {p.number}: {p.params} edge {p.edge}, {p.totals.trades} trades, "
        f"net {p.totals.net_cents / 100:.2f}"
        for p in result.passes
        if p.number in wanted
    ]
    count = len(result.passes)
    lines.append(
        f"{count} pass{'' if count == 1 else 'es'}, {result.trades} trades, net "
        f"{result.net_cents / 100:.2f} -> {result.instance}"
    )
    return "\n".join(lines)
