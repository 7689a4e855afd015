"""bench/trees.py and bench/reports.py: cTrader's folder trees, the parameter grid, the
edge that makes results depend on it, and reports that agree with their trades."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bench.events import write_events
from bench.generate import main
from bench.reports import ReportSpec, report_document, write_report_html
from bench.trees import Params, axes, edge_of, grid, write_tree
from typer.testing import CliRunner

from backtestdb.cli import app
from backtestdb.config import Settings
from backtestdb.parsing import parse_report

INSTANCE = Path("cBots", "MACross", "EURUSD h1")
EDGE_CENTS = 10  # what a point of edge adds to each trade's net (cents)
SPIKE = {"FastPeriod": 5, "SlowPeriod": 90}
CENTRE = {"FastPeriod": 15, "SlowPeriod": 40}


def files(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


def digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def report_of(folder: Path) -> dict[str, Any]:
    """The JSON a pass folder's report holds (report.json, or the one report.html embeds)."""
    if (folder / "report.json").exists():
        loaded: dict[str, Any] = json.loads((folder / "report.json").read_text())
        return loaded
    page = (folder / "report.html").read_text()
    start = page.index('id="backtesting-report">') + len('id="backtesting-report">')
    embedded = page[start : page.index("</script>", start)]
    assert "</" not in embedded
    loaded = json.loads(embedded.replace("<\\/", "</"))
    return loaded


def cents(value: float) -> int:
    return round(Decimal(str(value)) * 100)


def neighbours(point: Params, points: list[Params]) -> list[Params]:
    """The grid points one step away from `point` in any varying parameter (Chebyshev)."""
    steps = {"FastPeriod": 5, "SlowPeriod": 10, "StopLossPips": 10}
    varying = [name for name in steps if name in point]
    return [
        other
        for other in points
        if other != point and all(abs(int(other[n]) - int(point[n])) <= steps[n] for n in varying)
    ]


def test_optimization_tree_of_reports_and_events(tmp_path: Path) -> None:
    result = write_tree(tmp_path, passes=12, trades=30)
    assert result.instance == tmp_path / INSTANCE
    folders = sorted((tmp_path / INSTANCE / "Optimization").iterdir(), key=lambda p: int(p.name))
    assert [f.name for f in folders] == [str(n) for n in range(1, 13)]
    for folder in folders:
        assert files(folder) == {"report.html", "events.json", "log.txt", "parameters.cbotset"}
    assert [p.folder for p in result.passes] == folders
    assert result.trades == 12 * 30
    log = (folders[0] / "log.txt").read_text().splitlines()
    assert log[0] == (
        '01/01/2020 00:00:00.000 | Info | cBot "MACross" was started successfully for EURUSD, h1.'
    )
    assert log[-1].endswith("| Info | Backtesting was stopped: end of the testing period reached.")


def test_json_reports_and_the_backtesting_folder(tmp_path: Path) -> None:
    write_tree(tmp_path / "j", passes=2, trades=5, report_format="json")
    folder = tmp_path / "j" / INSTANCE / "Optimization" / "2"
    assert files(folder) == {"report.json", "events.json", "log.txt", "parameters.cbotset"}
    result = write_tree(tmp_path / "b", tree="backtesting", trades=5)
    assert [p.folder for p in result.passes] == [tmp_path / "b" / INSTANCE / "Backtesting"]
    assert files(result.passes[0].folder) == {
        "report.html", "events.json", "log.txt", "parameters.cbotset",
    }  # fmt: skip
    with pytest.raises(ValueError, match="one backtest"):
        write_tree(tmp_path / "x", tree="backtesting", passes=2)


def test_csv_tree_names_the_history_export_as_ctrader(tmp_path: Path) -> None:
    result = write_tree(tmp_path, passes=3, trades=20, sources="csv")
    folder = tmp_path / INSTANCE / "Optimization" / "3"
    name = "2026-08-20 21-56-13 History - MACross (EURUSD, h1, 5, 40, 10000, Close).csv"
    assert files(folder) == {name, "log.txt", "parameters.cbotset"}
    rows = list(csv.DictReader(io.StringIO((folder / name).read_text())))
    net = sum(Decimal(row["Net $"]) for row in rows)
    assert (len(rows), net * 100) == (20, result.passes[2].totals.net_cents)


def test_cbotset_holds_the_pass_parameters_over_the_grid(tmp_path: Path) -> None:
    result = write_tree(tmp_path, passes=20, trades=2)
    expected = [
        {"FastPeriod": fast, "SlowPeriod": slow, "Volume": 10000, "Source": "Close"}
        for fast in (5, 10, 15) for slow in range(20, 110, 10)
    ][:20]  # fmt: skip
    assert grid(20) == expected
    for number, params in enumerate(expected, start=1):
        folder = tmp_path / INSTANCE / "Optimization" / str(number)
        cbotset = json.loads((folder / "parameters.cbotset").read_text())
        assert cbotset == {"Chart": {"Symbol": "EURUSD", "Period": "h1"}, "Parameters": params}
        listed = {p["propertyName"]: p["value"] for p in report_of(folder)["parameters"]}
        assert listed == params
    assert [p.params for p in result.passes] == expected


def test_grid_sizes_and_lexicographic_order() -> None:
    assert axes(100) == {
        "FastPeriod": list(range(5, 55, 5)), "SlowPeriod": list(range(20, 120, 10)),
    }  # fmt: skip
    assert axes(1000) == {
        "FastPeriod": list(range(5, 55, 5)), "SlowPeriod": list(range(20, 120, 10)),
        "StopLossPips": list(range(10, 110, 10)),
    }  # fmt: skip
    points = grid(1000)
    assert len(points) == len({json.dumps(p, sort_keys=True) for p in points}) == 1000
    assert points[0] == {
        "FastPeriod": 5, "SlowPeriod": 20, "StopLossPips": 10, "Volume": 10000, "Source": "Close",
    }  # fmt: skip
    assert (points[1]["StopLossPips"], points[10]["SlowPeriod"]) == (20, 30)
    assert points[-1] == {**points[0], "FastPeriod": 50, "SlowPeriod": 110, "StopLossPips": 100}
    keys = [(p["FastPeriod"], p["SlowPeriod"], p["StopLossPips"]) for p in points]
    assert keys == sorted(keys)
    for passes in (1, 7, 36, 99, 120, 121, 151, 500, 1000, 2000):
        sizes = [len(values) for values in axes(passes).values()]
        assert len(grid(passes)) == passes
        assert len(sizes) == (2 if passes <= 120 else 3)
        product = 1
        for size in sizes:
            product *= size
        assert product >= passes


@pytest.mark.parametrize("passes", [36, 100, 121, 1000])
def test_a_plateau_and_a_lone_spike(passes: int) -> None:
    """The spike beats every plateau point, which beats every neighbour of the spike."""
    points = grid(passes)
    spike = [p for p in points if edge_of(p) == 60]
    assert len(spike) == 1
    assert {k: spike[0][k] for k in SPIKE} == SPIKE
    plateau = [p for p in points if edge_of(p) >= 36]
    assert len(plateau) == (27 if passes > 120 else 9) + 1  # the spike is no plateau point
    centre = [p for p in plateau if edge_of(p) == 40]
    assert [{k: p[k] for k in CENTRE} for p in centre] == [CENTRE]
    plateau.remove(spike[0])
    around = neighbours(spike[0], points)
    assert len(around) == (5 if passes <= 120 else 11)
    assert max(edge_of(p) for p in around) == -8
    # Every plateau point has plateau neighbours; the plateau falls off gradually.
    assert all(any(edge_of(q) >= 36 for q in neighbours(p, points)) for p in plateau)
    assert sorted({edge_of(p) for p in points}) == [-8, 8, 24, 36, 40, 60]


def test_results_are_an_exact_function_of_the_parameters(tmp_path: Path) -> None:
    result = write_tree(tmp_path, passes=40, trades=25)
    by_edge = {p.edge: p.totals.net_cents for p in result.passes}
    base = by_edge[-8] + 8 * EDGE_CENTS * 25
    assert all(p.totals.net_cents == base + p.edge * EDGE_CENTS * 25 for p in result.passes)
    spike = next(p for p in result.passes if p.number == 8)
    assert spike.params == {**grid(1)[0], **SPIKE}
    plateau = [p for p in result.passes if p.edge in (36, 40)]
    around = [p for p in result.passes if p.params in neighbours(spike.params, grid(40))]
    assert (len(plateau), len(around)) == (9, 5)
    assert spike.totals.net_cents > max(p.totals.net_cents for p in plateau)
    assert min(p.totals.net_cents for p in plateau) > max(p.totals.net_cents for p in around)


def test_the_same_tree_twice_is_the_same_bytes(tmp_path: Path) -> None:
    for sources in ("report-events", "csv"):
        first = write_tree(tmp_path / sources / "a", passes=3, trades=15, sources=sources)
        again = write_tree(tmp_path / sources / "b", passes=3, trades=15, sources=sources)
        assert digest(first.instance) == digest(again.instance)
        assert [p.totals for p in first.passes] == [p.totals for p in again.passes]


def test_report_figures_are_the_trades_sums(tmp_path: Path) -> None:
    result = write_tree(tmp_path, passes=8, trades=60)
    for done in result.passes:
        report, totals = report_of(done.folder), done.totals
        items = report["history"]["items"]
        main = report["main"]
        assert len(items) == totals.trades == 60
        assert cents(main["netProfit"]) == totals.net_cents == sum(cents(i["net"]) for i in items)
        assert cents(main["startingCapital"]) == totals.initial_cents == 1_000_000
        assert cents(main["endingBalance"]) == totals.final_cents
        assert totals.final_cents - totals.initial_cents == totals.net_cents
        statistics = report["tradeStatistics"]
        assert statistics["totalTrades"] == {
            "all": 60,
            "long": sum(i["direction"] == "Buy" for i in items),
            "short": sum(i["direction"] == "Sell" for i in items),
        }
        assert cents(statistics["commissions"]["all"]) == totals.commission_cents
        assert cents(statistics["swaps"]["all"]) == totals.swap_cents
        assert (main["symbol"], main["period"], report["usedSymbols"]) == (
            "EURUSD",
            "h1",
            ["EURUSD"],
        )
        period = main["testingPeriod"]
        assert period["startDate"] <= min(i["entryTime"] for i in items)
        assert period["endDate"] >= max(i["closeTime"] for i in items)
        assert period["startDate"] % 86_400_000 == period["endDate"] % 86_400_000 == 0
        # The product's parser reads the same figures.
        summary = parse_report((done.folder / "report.html").read_bytes(), "report.html").summary
        assert summary.net_profit == Decimal(totals.net_cents) / 100
        assert summary.total_trades == 60


def test_report_events_and_csv_describe_the_same_trades(tmp_path: Path) -> None:
    reports = write_tree(tmp_path / "r", passes=8, trades=40)
    exports = write_tree(tmp_path / "c", passes=8, trades=40, sources="csv")
    for report_pass, csv_pass in zip(reports.passes, exports.passes, strict=True):
        assert report_pass.totals.net_cents == csv_pass.totals.net_cents
        assert report_pass.totals.final_cents == csv_pass.totals.final_cents
        items = report_of(report_pass.folder)["history"]["items"]
        events = json.loads((report_pass.folder / "events.json").read_text())
        closes = {e["positionId"] * 2: e["time"] for e in events if "closePrice" in e}
        (export,) = csv_pass.folder.glob("*.csv")
        rows = list(csv.DictReader(io.StringIO(export.read_text())))
        times = {int(r["ID"]): utc_ms(r["Closing time (UTC+1)"], hours=1) for r in rows}
        assert {i["id"]: i["closeTime"] for i in items} == closes == times


def utc_ms(cell: str, hours: int) -> int:
    local = datetime.strptime(cell, "%d/%m/%Y %H:%M:%S.%f").replace(tzinfo=UTC)
    return (local - timedelta(hours=hours) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1
    )


def test_report_events_totals_match(tmp_path: Path) -> None:
    spec = ReportSpec(trades=30, seed=5, edge=12)
    _document, totals = report_document(spec)
    events = write_events(io.StringIO(), 30, 5, edge=12)
    assert (totals.trades, totals.net_cents, totals.final_cents, totals.open_positions) == (
        events.trades, events.net_cents, events.final_cents, events.open_positions,
    )  # fmt: skip


def test_html_report_escapes_the_end_of_its_script() -> None:
    out = io.StringIO()
    write_report_html(out, ReportSpec(trades=3, cbot="X</script><b>"))
    page = out.getvalue()
    assert page.count("</script>") == 1
    report = parse_report(page.encode(), "report.html")
    assert report.summary.total_trades == 3
    assert {row.fields["label"] for row in report.trades.rows} == {"X</script><b>"}


def test_generate_cli_writes_a_tree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--tree", "optimization", "--passes", "3", "--trades", "4", "--out", str(tmp_path),
          "--sources", "csv", "--cbot", "Grid", "--timeframe", "m5"])  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "cBots/Grid/EURUSD m5/Optimization").iterdir()) == [
        "1", "2", "3",
    ]  # fmt: skip
    assert capsys.readouterr().out.strip().startswith("3 passes, 12 trades, net ")
    with pytest.raises(SystemExit):
        main(["--tree", "backtesting", "--passes", "2", "--trades", "4", "--out", str(tmp_path)])


def test_cli_ingests_a_pass_folder_reconciled(settings: Settings, tmp_path: Path) -> None:
    """One pass's report.html + events.json + parameters.cbotset through `backtestdb
    ingest`: the generator's trade count and net profit, and nothing to reconcile."""
    result = write_tree(tmp_path, passes=8, trades=120)
    done = result.passes[7]  # the spike
    folder = done.folder
    runner = CliRunner()
    ingested = runner.invoke(app, [
        "ingest", str(folder / "report.html"), "--events", str(folder / "events.json"),
        "--params", str(folder / "parameters.cbotset"), "--json",
    ])  # fmt: skip
    assert ingested.exit_code == 0, ingested.output
    backtest_id = json.loads(ingested.stdout)["backtest_id"]
    shown = runner.invoke(app, ["show", str(backtest_id), "--json"])
    assert shown.exit_code == 0, shown.output
    stored = json.loads(shown.stdout)
    assert stored["total_trades"] == done.totals.trades == 120
    assert round(Decimal(str(stored["net_profit"])) * 100) == done.totals.net_cents
    assert stored["reconciliation"]["status"] == "reconciled", stored["reconciliation"]
    compared = {item["metric"] for item in stored["reconciliation"]["items"]}
    assert {"net_profit", "ending_balance", "max_equity_drawdown", "profit_factor"} <= compared
    assert {p["name"]: p["value"] for p in stored["parameters"]} == {
        name: str(value) for name, value in done.params.items()
    }
