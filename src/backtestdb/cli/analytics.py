"""Analytics commands (`stats`, `compare`, `export`) and the analytics parts of `show`.

`cli.app` registers them with `register(app)`.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from backtestdb import backtests
from backtestdb.analytics import breakdowns, compare, export
from backtestdb.analytics.schemas import ComparisonOut, GroupOut
from backtestdb.analytics.summary_text import summary_text
from backtestdb.cli.output import JsonFlag, console, errors_console, fail, print_json
from backtestdb.db import get_engine, session_factory
from backtestdb.errors import BacktestdbError
from backtestdb.schemas import Reconciliation


def stats(
    backtest_id: uuid.UUID,
    by: Annotated[str, typer.Option("--by", help=" | ".join(breakdowns.GROUP_BYS))] = "month",
    as_json: JsonFlag = False,
) -> None:
    """Trades, wins, net, average and profit factor per group (UTC close time)."""
    if by not in breakdowns.GROUP_BYS:
        raise typer.BadParameter(f"--by takes one of {', '.join(breakdowns.GROUP_BYS)}")
    with session_factory(get_engine())() as session:
        try:
            groups = [
                GroupOut.model_validate(g) for g in breakdowns.breakdown(session, backtest_id, by)
            ]
        except BacktestdbError as error:
            fail(error, as_json)
            return
    if as_json:
        print_json([g.model_dump(mode="json") for g in groups])
        return
    table = Table(title=f"Backtest {backtest_id} by {by}", title_justify="left")
    for column in ("group", "trades", "wins", "win rate %", "net", "average", "profit factor"):
        table.add_column(column, justify="left" if column == "group" else "right")
    for g in groups:
        table.add_row(g.label, str(g.trades), str(g.winning_trades), str(g.win_rate),
                      str(g.net_profit), str(g.average_trade),
                      "" if g.profit_factor is None else str(g.profit_factor))  # fmt: skip
    console.print(table)


def compare_(
    backtest_ids: Annotated[list[str], typer.Argument(help="2 to 20 backtest ids")],
    as_json: JsonFlag = False,
) -> None:
    """Metrics side by side (best marked with *) and the parameters that differ."""
    with session_factory(get_engine())() as session:
        try:
            found = compare.compare(session, compare.parse_ids(backtest_ids))
        except BacktestdbError as error:
            fail(error, as_json)
            return
        ids = [b.id for b in found.backtests]
        names = {b.id: b.name for b in found.backtests}
        out = ComparisonOut.of(found)
    if as_json:
        print_json(out.model_dump(mode="json"))
        return
    table = Table(title="Comparison", title_justify="left")
    table.add_column("metric")
    for i in ids:
        table.add_column(f"{names[i]}\n{str(i)[:8]}", justify="right")
    for m in found.metrics:
        cells = [("" if m.values[i] is None else str(m.values[i])) + (" *" if i in m.best else "")
                 for i in ids]  # fmt: skip
        table.add_row(m.metric, *cells)
    console.print(table)
    if found.parameters:
        differing = Table(title="Parameters that differ", title_justify="left")
        differing.add_column("parameter")
        for i in ids:
            differing.add_column(str(i)[:8])
        for p in found.parameters:
            differing.add_row(
                p.name, *("—" if p.values[i] is None else str(p.values[i]) for i in ids)
            )
        console.print(differing)


def export_(
    backtest_id: uuid.UUID,
    format: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Default: stdout (CSV)")
    ] = None,
) -> None:
    """Write the trades as CSV or Parquet, streamed (memory stays flat)."""
    if format not in ("csv", "parquet"):
        raise typer.BadParameter("--format takes csv or parquet")
    if format == "parquet" and output is None:
        raise typer.BadParameter("Parquet is binary: give -o FILE")
    factory = session_factory(get_engine())
    with factory() as session:
        try:
            backtests.require_backtest(session, backtest_id)
        except BacktestdbError as error:
            fail(error, False)
    if format == "parquet":
        assert output is not None
        with output.open("wb") as binary:
            for chunk in export.trades_parquet(factory, backtest_id):
                binary.write(chunk)
    elif output is None:
        for text in export.trades_csv(factory, backtest_id):
            sys.stdout.write(text)
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            for text in export.trades_csv(factory, backtest_id):
                out.write(text)
    if output is not None:
        errors_console.print(f"Wrote {output}")


def print_text(backtest_id: uuid.UUID, as_json: bool) -> None:
    """`show --text`: the plain-English summary."""
    with session_factory(get_engine())() as session:
        try:
            text = summary_text(session, backtests.get_backtest(session, backtest_id))
        except BacktestdbError as error:
            fail(error, as_json)
            return
    if as_json:
        print_json({"id": str(backtest_id), "text": text})
    else:
        sys.stdout.write(text + "\n")


def reconciliation_table(reconciliation: Reconciliation | None) -> Table | str:
    """What `show` prints about the report check."""
    if reconciliation is None:
        return "Reconciliation: no report to compare with"
    table = Table(title=f"Reconciliation: {reconciliation.status}", title_justify="left")
    for column in ("metric", "reported", "computed", "difference", ""):
        table.add_column(column)
    for item in reconciliation.items:
        if not item.matches:
            table.add_row(item.metric, str(item.reported), str(item.computed),
                          str(item.difference), "differs")  # fmt: skip
    return table if table.row_count else f"Reconciliation: {reconciliation.status}"


def register(app: typer.Typer) -> None:
    app.command()(stats)
    app.command("compare")(compare_)
    app.command("export")(export_)
