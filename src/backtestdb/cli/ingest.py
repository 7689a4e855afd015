"""`backtestdb ingest`: one backtest's files, or folders, trees and zip archives of many.

One file (with --csv/--params/--events beside it) prints that backtest's summary, as
before. Folders, zips and several paths are a batch: each backtest in its own
transaction, one bar over the batch, a table at the end (exit 1 when any failed). The
first Ctrl-C stops after the current backtest; a second aborts it (nothing of it stays).
"""

from __future__ import annotations

import signal
from contextlib import ExitStack
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from backtestdb import jobs
from backtestdb.batches import BatchOptions, BatchResult, discover, ingest_batch
from backtestdb.batches.archives import is_archive, unpacked
from backtestdb.batches.batch_runs import named_run
from backtestdb.batches.processes import default_workers
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
from backtestdb.cli.progress import BatchBar, FileProgress, file_bar
from backtestdb.config import get_settings
from backtestdb.db import get_engine, session_factory
from backtestdb.errors import BacktestdbError
from backtestdb.ingest import IngestRequest, OnError
from backtestdb.parsing.file_kinds import HEAD_BYTES, kind_of
from backtestdb.schemas import BacktestOut, Reconciliation
from backtestdb.storage import Role, SourceFile

#: Exit status of a batch stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


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


def source(role: Role, path: Path | None) -> SourceFile | None:
    return SourceFile(role, path.name, path) if path is not None else None


def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="A report (JSON or HTML), History CSV or events.json; or folders (walked "
            "recursively: each folder with a report, History CSV or events.json is a "
            "backtest) and .zip archives of them"
        ),
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
    run: Annotated[
        str | None,
        typer.Option(
            help="Make the backtests one run of this name (an Optimization folder is one)"
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            help="Processes for a batch. Default: one per core (up to 4) on PostgreSQL for "
            "batches of 8 or more; 1 on SQLite",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Store again even if identical")] = False,
    on_error: Annotated[
        str, typer.Option(help="strict: any bad row fails; skip: drop bad rows")
    ] = "strict",
    as_json: JsonFlag = False,
) -> None:
    """Ingest backtest exports into the database: one backtest, or a batch of folders."""
    given = paths or []
    for path in (*given, csv, params, events):
        if path is not None and not path.exists():
            raise typer.BadParameter(f"{path}: no such file or folder")
    if on_error not in ("strict", "skip"):
        raise typer.BadParameter("--on-error takes strict or skip")
    policy: OnError = "skip" if on_error == "skip" else "strict"
    balance = parse_balance(initial_balance)
    if one_backtest(given, csv, params, events):
        request = IngestRequest(
            report=source("report", given[0] if given else None),
            csv=source("history", csv),
            parameters=source("parameters", params),
            events=source("events", events),
            symbol=symbol, name=name, description=description, initial_balance=balance,
            on_error=policy, force=force,
        )  # fmt: skip
        ingest_one(by_content(request), run, as_json)
        return
    if name is not None:
        raise typer.BadParameter(
            "--name names one backtest; a batch's backtests are named by their folders "
            "(name the batch with --run)"
        )
    options = BatchOptions(run, description, balance, symbol, policy, force)
    ingest_many(given, options, jobs, as_json)


def one_backtest(given: list[Path], *beside: Path | None) -> bool:
    """One backtest's files (the original form), rather than a batch."""
    if any(path is not None for path in beside):
        if len(given) > 1 or any(p.is_dir() or is_archive(p) for p in given):
            raise typer.BadParameter(
                "--csv, --params and --events go with one report (or alone); for folders "
                "and zips, put each backtest's files in its folder"
            )
        for path in beside:
            if path is not None and not path.is_file():
                raise typer.BadParameter(f"{path} is not a file")
        return True
    if not given:
        raise typer.BadParameter("Give a report, a History CSV, an events.json, folders or zips")
    return len(given) == 1 and given[0].is_file() and not is_archive(given[0])


def by_content(request: IngestRequest) -> IngestRequest:
    """A lone History CSV or parameters file given where the report goes, put in its place."""
    report = request.report
    if report is None or request.csv is not None:
        return request
    with report.path.open("rb") as stream:
        kind = kind_of(stream.read(HEAD_BYTES), report.name)
    if kind == "history":
        request.report, request.csv = None, SourceFile("history", report.name, report.path)
    elif kind == "parameters" and request.parameters is None:
        raise typer.BadParameter(
            f"{report.name} is a parameters file: give it with --params beside a report, "
            "a History CSV or an events.json"
        )
    return request


def ingest_one(request: IngestRequest, run: str | None, as_json: bool) -> None:
    settings, factory = get_settings(), session_factory(get_engine())
    trade_file = request.csv or request.events or request.report
    size = trade_file.path.stat().st_size if trade_file is not None else 0
    progress, task = file_bar(size, disable=as_json)
    request.on_progress = FileProgress(progress, task)
    with progress:
        try:
            if run is not None:
                request.run_id = named_run(factory, request, run)
            job, outcome = jobs.run_ingest(factory, request, settings)
        except BacktestdbError as error:
            progress.stop()
            fail(error, as_json)
            return
    backtest = BacktestOut.model_validate(outcome.backtest)
    if as_json:
        print_json(
            {
                "job_id": str(job.id),
                "backtest_id": str(backtest.id),
                "status": job.status,
                "message": outcome.message,
                "backtest": dump(backtest),
                "warnings": [w.as_dict() for w in outcome.warnings],
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


def ingest_many(given: list[Path], options: BatchOptions, jobs: int | None, as_json: bool) -> None:
    settings, engine = get_settings(), get_engine()
    factory = session_factory(engine)
    with ExitStack() as stack:
        try:
            folders = [
                stack.enter_context(
                    unpacked(p, settings.upload_tmp_dir, settings.max_archive_unpacked_bytes)
                )
                if is_archive(p)
                else p
                for p in given
            ]
            found = discover(folders)
        except BacktestdbError as error:
            fail(error, as_json)
            return
        workers = jobs or default_workers(engine.dialect.name, len(found))
        bar = BatchBar(len(found), disable=as_json)
        stop = StopAfterCurrent(as_json)
        with bar.progress, stop:
            result = ingest_batch(
                factory, settings, found, options,
                progress=bar, should_stop=stop.requested, workers=workers,
            )  # fmt: skip
    show_batch(result, as_json)
    if result.interrupted:
        raise typer.Exit(INTERRUPTED)
    if result.failed:
        raise typer.Exit(1)


class StopAfterCurrent:
    """SIGINT handling for a batch: the first Ctrl-C asks to stop after the current
    backtest, a second one interrupts it (its transaction rolls back)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.stop = False

    def requested(self) -> bool:
        return self.stop

    def __enter__(self) -> StopAfterCurrent:
        self.previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *_: object) -> None:
        signal.signal(signal.SIGINT, self.previous)

    def _on_interrupt(self, _signal: int, _frame: FrameType | None) -> None:
        if self.stop:
            raise KeyboardInterrupt
        self.stop = True
        if not self.quiet:
            errors_console.print(
                "Stopping after the current backtest (Ctrl-C again to abandon it)…"
            )


def show_batch(result: BatchResult, as_json: bool) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    table = Table(title=f"{len(result.items)} of {result.total} backtests", title_justify="left")
    for column in ("backtest", "status", "trades", "net profit", "pass", "id", "reason"):
        table.add_column(column, overflow="fold")
    style = {"ingested": "green", "already stored": "cyan", "failed": "red"}
    for item in result.items:
        table.add_row(
            item.label, f"[{style.get(item.status, '')}]{item.status}[/]", str(item.trades),
            "" if item.net_profit is None else str(item.net_profit),
            "" if item.pass_number is None else str(item.pass_number),
            str(item.backtest_id or ""), item.reason or "",
        )  # fmt: skip
    console.print(table)
    for run in result.runs:
        console.print(
            f"Run [bold]{run['name']}[/]: {run['pass_count']} passes  "
            f"(backtestdb runs show {run['id']})"
        )
    if result.interrupted:
        console.print(
            f"[yellow]Stopped after {len(result.items)} of {result.total} backtests.[/] Run "
            "the same command again to ingest the rest: what is stored is skipped."
        )
