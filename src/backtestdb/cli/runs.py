"""`runs`: list runs, show one with its passes, sensitivity, robustness, delete a run."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer
from rich.table import Table

from backtestdb import backtests, runs
from backtestdb.cli.output import JsonFlag, console, dump, errors_console, fail, print_json
from backtestdb.config import get_settings
from backtestdb.db import get_engine, session_factory
from backtestdb.errors import BacktestdbError
from backtestdb.runs.analysis import value_key
from backtestdb.runs.schemas import (
    PassOut,
    RobustnessOut,
    RunDetail,
    RunOut,
    SensitivityCell,
    SensitivityOut,
)
from backtestdb.storage import open_storage

app = typer.Typer(help="Runs: an optimisation's passes or a named batch.", no_args_is_help=False)

MetricOption = Annotated[
    str, typer.Option("--metric", help="A numeric summary column: " + ", ".join(runs.METRICS))
]
#: The figures beside each pass in `runs show`, and their headings.
PASS_COLUMNS = {
    "net_profit": "net profit",
    "total_trades": "trades",
    "win_rate": "win rate %",
    "profit_factor": "profit factor",
    "max_balance_drawdown_percent": "max DD %",
}


def shown(value: object) -> str:
    """A value as a person reads it: empty for none, bools as true/false."""
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, bool) else str(value)


@app.callback(invoke_without_command=True)
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    sort: Annotated[str, typer.Option(help="A run column, - in front for descending")] = (
        "-created_at"
    ),
    name: Annotated[str | None, typer.Option(help="Case-insensitive part of the name")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List runs, newest first; `runs show ID` shows one with its passes."""
    if ctx.invoked_subcommand is not None:
        return
    with session_factory(get_engine())() as session:
        try:
            items, total = runs.list_runs(session, limit=limit, offset=offset, sort=sort, name=name)
        except BacktestdbError as error:
            fail(error, as_json)
            return
        rows = [RunOut.model_validate(r) for r in items]
    if as_json:
        print_json({"items": [dump(r) for r in rows], "total": total})
        return
    table = Table(title=f"{total} runs", title_justify="left")
    table.add_column("id", no_wrap=True)  # whole, to copy into `runs show`
    for column in ("name", "kind", "symbol", "period", "passes", "created"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(str(r.id), r.name, r.kind, r.symbol or "", r.period or "",
                      str(r.pass_count), r.created_at.strftime("%Y-%m-%d %H:%M"))  # fmt: skip
    console.print(table)


def parsed_filters(filters: list[str]) -> list[tuple[str, str]]:
    """`--filter` values as the API's query pairs; only the list's dynamic filters."""
    pairs = []
    for item in filters:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key.startswith(("min_", "max_", backtests.PARAMETER_PREFIX)):
            raise typer.BadParameter(
                f"{item!r}: give min_<metric>=N, max_<metric>=N or param.<Name>=V"
            )
        pairs.append((key, value))
    return pairs


@app.command()
def show(
    run_id: uuid.UUID,
    sort: Annotated[str, typer.Option(help="A summary column, - in front for descending")] = (
        runs.PASS_SORT
    ),
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    filters: Annotated[
        list[str] | None,
        typer.Option(
            "--filter", help="min_<metric>=N, max_<metric>=N or param.<Name>=V; repeat for more"
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a run and its passes (best net profit first) with their parameters."""
    query = backtests.BacktestQuery(sort=sort)
    with session_factory(get_engine())() as session:
        try:
            run = runs.get_run(session, run_id)
            query.add_params(parsed_filters(filters or []))
            passes, total = runs.list_passes(session, run_id, query, limit=limit, offset=offset)
            names = runs.run_parameters(session, run_id)
        except BacktestdbError as error:
            fail(error, as_json)
            return
        detail = RunDetail(run=RunOut.model_validate(run), passes=[PassOut.of(p) for p in passes],
                           total=total, limit=limit, offset=offset, parameters=names.names,
                           varying_parameters=names.varying)  # fmt: skip
    if as_json:
        print_json(dump(detail))
        return
    console.print(run_table(detail.run))
    table = Table(title=f"{total} passes", title_justify="left")
    for column in ("pass", *detail.varying_parameters, *PASS_COLUMNS.values()):
        table.add_column(column, justify="right")
    for p in detail.passes:
        values = [shown(p.parameters.get(n)) for n in detail.varying_parameters]
        table.add_row(shown(p.pass_number), *values, *(shown(getattr(p, c)) for c in PASS_COLUMNS))
    console.print(table)


def run_table(run: RunOut) -> Table:
    table = Table(title=f"Run {run.id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for field, value in run.model_dump().items():
        table.add_row(field, shown(value))
    return table


@app.command()
def sensitivity(
    run_id: uuid.UUID,
    parameters: Annotated[
        list[str], typer.Option("--parameter", help="A parameter; give two for the grid")
    ],
    metric: MetricOption = "net_profit",
    as_json: JsonFlag = False,
) -> None:
    """Count, mean, min and max of a metric for each value of one parameter (or two)."""
    with session_factory(get_engine())() as session:
        try:
            found = SensitivityOut.of(runs.sensitivity(session, run_id, parameters, metric))
        except BacktestdbError as error:
            fail(error, as_json)
            return
    if as_json:
        print_json(dump(found))
        return
    console.print(cells_table(found))
    if len(found.parameters) == 2:
        console.print(grid_table(found))


def cells_table(found: SensitivityOut) -> Table:
    table = Table(title=f"{found.metric} by {', '.join(found.parameters)}", title_justify="left")
    for column in (*found.parameters, "count", "mean", "min", "max"):
        table.add_column(column, justify="right")
    for c in found.cells:
        values = [shown(c.values[name]) for name in found.parameters]
        table.add_row(*values, str(c.count), str(c.mean), str(c.min), str(c.max))
    return table


def grid_table(found: SensitivityOut) -> Table:
    """The means as a grid: the first parameter's values down, the second's across."""
    first, second = found.parameters
    rows: dict[str, dict[str, SensitivityCell]] = {}
    for c in found.cells:  # sorted by the first value, then the second
        rows.setdefault(shown(c.values[first]), {})[shown(c.values[second])] = c
    seconds = {value_key(c.values[second]): c.values[second] for c in found.cells}
    across = [shown(value) for _key, value in sorted(seconds.items())]
    table = Table(title=f"mean {found.metric}: {first} down, {second} across", title_justify="left")
    table.add_column(f"{first} \\ {second}", justify="right")
    for value in across:
        table.add_column(value, justify="right")
    for value, cells in rows.items():
        table.add_row(value, *(str(cells[b].mean) if b in cells else "" for b in across))
    return table


def varying(found: RobustnessOut) -> list[str]:
    """The parameters whose value differs between the passes: the others say nothing."""
    names = sorted({name for item in found.items for name in item.parameters})
    return [n for n in names if len({shown(i.parameters.get(n)) for i in found.items}) > 1]


@app.command()
def robustness(
    run_id: uuid.UUID, metric: MetricOption = "net_profit", as_json: JsonFlag = False
) -> None:
    """Each pass's metric beside the mean over its neighbours (one step in one parameter)."""
    with session_factory(get_engine())() as session:
        try:
            rows = runs.robustness(session, run_id, metric)
        except BacktestdbError as error:
            fail(error, as_json)
            return
    found = RobustnessOut.of(run_id, metric, rows)
    if as_json:
        print_json(dump(found))
        return
    names = varying(found)
    table = Table(title=f"{metric} beside the neighbours' mean", title_justify="left")
    for column in ("pass", *names, metric, "neighbours", "mean", "min", "max", "difference"):
        table.add_column(column, justify="right")
    for i in found.items:
        values = [shown(i.parameters.get(n)) for n in names]
        table.add_row(shown(i.pass_number), *values, str(i.metric), str(i.neighbours),
                      shown(i.neighbour_mean), shown(i.neighbour_min), shown(i.neighbour_max),
                      shown(i.difference))  # fmt: skip
    console.print(table)


@app.command()
def delete(
    run_id: uuid.UUID,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a run and every backtest in it (trades, parameters, days, raw files)."""
    factory = session_factory(get_engine())
    try:
        with factory() as session:
            run = RunOut.model_validate(runs.get_run(session, run_id))
            count = runs.count_passes(session, run_id)
    except BacktestdbError as error:
        fail(error, as_json)
        return
    question = f"Delete run {run.name!r} and its {count} backtests?"
    if not yes and not typer.confirm(question, err=True):
        errors_console.print("Nothing deleted.")
        raise typer.Exit(1)
    try:
        with factory.begin() as session:
            deleted = runs.delete_run(session, run_id, open_storage(get_settings()))
    except BacktestdbError as error:
        fail(error, as_json)
        return
    if as_json:
        print_json({"deleted": str(run_id), "backtests": deleted})
    else:
        console.print(f"Deleted run {run_id} and its {deleted} backtests")
