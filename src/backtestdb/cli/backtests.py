"""`list`, `show`, `delete` and `jobs` (and `ingest`, from cli/ingest.py): thin commands over
the jobs and backtests services."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.table import Table

from backtestdb import backtests, jobs
from backtestdb.cli import analytics, ingest
from backtestdb.cli.output import (
    JsonFlag,
    console,
    dump,
    fail,
    print_json,
    row_table,
    summary_table,
)
from backtestdb.config import get_settings
from backtestdb.db import get_engine, session_factory
from backtestdb.errors import BacktestdbError
from backtestdb.schemas import BacktestDetail, BacktestOut, JobOut
from backtestdb.storage import open_storage


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
    app.command()(ingest.ingest)
    app.command("list")(list_)
    app.command()(show)
    app.command()(delete)
    app.command("jobs")(jobs_)
