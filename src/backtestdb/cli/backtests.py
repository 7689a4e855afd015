"""`ingest`, `list`, `show`, `delete` and `jobs`: thin commands over the ingest, jobs and
backtests services."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from backtestdb import backtests, jobs
from backtestdb.cli import analytics
from backtestdb.cli.output import (
    JsonFlag,
    console,
    dump,
    errors_console,
    fail,
    print_json,
    row_table,
    summary_table,
)
from backtestdb.config import get_settings
from backtestdb.db import get_engine, session_factory
from backtestdb.errors import BacktestdbError
from backtestdb.ingest import IngestRequest, OnError
from backtestdb.schemas import BacktestDetail, BacktestOut, JobOut, Reconciliation
from backtestdb.storage import SourceFile, open_storage


def parse_balance(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        balance = Decimal(value.strip())
    except InvalidOperation:
        raise typer.BadParameter(f"{value!r} is not a number") from None
    if not balance.is_finite() or balance < 0:
        raise typer.BadParameter(f"{value!r} must be a finite amount >= 0")
    return balance


def source(role: Any, path: Path | None) -> SourceFile | None:
    return SourceFile(role, path.name, path) if path is not None else None


def ingest(
    report: Annotated[
        Path | None, typer.Argument(help="cTrader report, JSON or HTML (or an events.json)")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="History CSV (the trade source)")] = None,
    params: Annotated[
        Path | None, typer.Option(help="Parameters: JSON, .cbotset or key=value")
    ] = None,
    events: Annotated[
        Path | None, typer.Option(help="events.json: position events (the trade source)")
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="The events' symbol. Default: the report's, Chart.Symbol")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Default: the file's name")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    initial_balance: Annotated[str | None, typer.Option(help="Default: from the report")] = None,
    force: Annotated[bool, typer.Option(help="Store again even if identical")] = False,
    on_error: Annotated[
        str, typer.Option(help="strict: any bad row fails; skip: drop bad rows")
    ] = "strict",
    as_json: JsonFlag = False,
) -> None:
    """Ingest a backtest export into the database and print its summary."""
    for path in (report, csv, params, events):
        if path is not None and not path.is_file():
            raise typer.BadParameter(f"{path} is not a file")
    if on_error not in ("strict", "skip"):
        raise typer.BadParameter("--on-error takes strict or skip")
    policy: OnError = "skip" if on_error == "skip" else "strict"
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True,
                  console=errors_console, disable=as_json) as progress:  # fmt: skip
        task = progress.add_task("Ingesting…")
        request = IngestRequest(
            report=source("report", report),
            csv=source("history", csv),
            parameters=source("parameters", params),
            events=source("events", events),
            symbol=symbol,
            name=name,
            description=description,
            initial_balance=parse_balance(initial_balance),
            on_error=policy,
            force=force,
            on_progress=lambda n: progress.update(task, description=f"Ingesting… {n:,} trades"),
        )
        try:
            job, outcome = jobs.run_ingest(session_factory(get_engine()), request, get_settings())
        except BacktestdbError as error:
            progress.stop()
            fail(error, as_json)
            return
    backtest = BacktestOut.model_validate(outcome.backtest)
    if as_json:
        warnings = [w.as_dict() for w in outcome.warnings]
        print_json(
            {
                "job_id": str(job.id),
                "backtest_id": str(backtest.id),
                "status": job.status,
                "message": outcome.message,
                "backtest": dump(backtest),
                "warnings": warnings,
            }
        )
        return
    console.print(f"[green]{outcome.message}[/]  job {job.id}")
    console.print(summary_table(backtest))
    checked = outcome.backtest.reconciliation
    reconciliation = Reconciliation.model_validate(checked) if checked is not None else None
    console.print(analytics.reconciliation_table(reconciliation))
    if outcome.warnings:
        console.print(row_table("Warnings", [w.as_dict() for w in outcome.warnings]))


def list_(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List backtests, newest first."""
    with session_factory(get_engine())() as session:
        items, total = backtests.list_backtests(session, limit=limit, offset=offset)
        rows = [BacktestOut.model_validate(b) for b in items]
    if as_json:
        print_json({"items": [dump(r) for r in rows], "total": total})
        return
    table = Table(title=f"{total} backtests", title_justify="left")
    for column in (
        "id",
        "name",
        "symbol",
        "trades",
        "win rate %",
        "net profit",
        "max DD %",
        "created",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), r.name, r.symbol or ", ".join(r.symbols), str(r.total_trades),
                      str(r.win_rate), str(r.net_profit), str(r.max_balance_drawdown_percent),
                      r.created_at.strftime("%Y-%m-%d %H:%M"))  # fmt: skip
    console.print(table)


def show(
    backtest_id: uuid.UUID,
    as_json: JsonFlag = False,
    text: Annotated[bool, typer.Option("--text", help="A plain-English paragraph")] = False,
) -> None:
    """Show one backtest with its parameters and its reconciliation with the report."""
    if text:
        analytics.print_text(backtest_id, as_json)
        return
    with session_factory(get_engine())() as session:
        try:
            detail = BacktestDetail.model_validate(backtests.get_backtest(session, backtest_id))
        except BacktestdbError as error:
            fail(error, as_json)
            return
    if as_json:
        print_json(dump(detail))
        return
    console.print(summary_table(BacktestOut.model_validate(detail)))
    table = Table(title="Parameters", title_justify="left")
    for column in ("name", "value", "type", "group"):
        table.add_column(column)
    for p in detail.parameters:
        table.add_row(p.name, p.value or "", p.value_type, p.group or "")
    console.print(table)
    console.print(analytics.reconciliation_table(detail.reconciliation))


def delete(backtest_id: uuid.UUID, as_json: JsonFlag = False) -> None:
    """Delete a backtest, its trades, parameters, daily rows and raw files."""
    storage = open_storage(get_settings())
    try:
        with session_factory(get_engine()).begin() as session:
            backtests.delete_backtest(session, backtest_id, storage)
    except BacktestdbError as error:
        fail(error, as_json)
    if as_json:
        print_json({"deleted": str(backtest_id)})
    else:
        console.print(f"Deleted backtest {backtest_id}")


def jobs_(
    job_id: Annotated[uuid.UUID | None, typer.Argument()] = None,
    status: Annotated[str | None, typer.Option(help="pending, running, completed, failed")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List recent ingestion jobs, or show one with its row errors."""
    with session_factory(get_engine())() as session:
        try:
            found = [jobs.get_job(session, job_id)] if job_id else jobs.list_jobs(session, status)
        except BacktestdbError as error:
            fail(error, as_json)
            return
        rows = [JobOut.model_validate(j) for j in found]
    if as_json:
        print_json(dump(rows[0]) if job_id else [dump(r) for r in rows])
        return
    table = Table(title="Jobs", title_justify="left")
    for column in ("id", "status", "backtest", "trades", "errors", "message", "created"):
        table.add_column(column, overflow="fold")
    for j in rows:
        created = j.created_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(j.id), j.status, str(j.backtest_id or ""), str(j.trades_ingested),
                      str(j.error_count), j.error_message or "", created)  # fmt: skip
    console.print(table)
    if job_id and rows[0].errors:
        console.print(row_table("Errors", [e.model_dump() for e in rows[0].errors]))


def register(app: typer.Typer) -> None:
    app.command()(ingest)
    app.command("list")(list_)
    app.command()(show)
    app.command()(delete)
    app.command("jobs")(jobs_)
