"""Routine database upkeep: `backtestdb maintenance clean-jobs | vacuum | stats | archive |
restore-archive`.

The functions take an engine so tests (and a future scheduler) can call them directly;
the typer commands below are a thin layer over them.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import ColumnElement, Engine, delete, func, select, text

from backtestdb import models
from backtestdb.config import get_settings
from backtestdb.db import get_engine
from backtestdb.models import utcnow
from backtestdb.storage import open_storage

app = typer.Typer(help="Database upkeep: old jobs, VACUUM, sizes, archives.", no_args_is_help=True)
console = Console()

#: Jobs in these states are done; pending/running ones are never cleaned.
FINISHED_STATUSES = ("completed", "failed")
#: Every table backtestdb owns, parents first (the order `stats` prints them in).
TABLES = (models.Backtest, models.Trade, models.Parameter, models.DailySummary,
          models.IngestionJob)  # fmt: skip
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


def parse_age(value: str) -> timedelta:
    """`30d`, `12h`, `90m` or `2w` as a timedelta; anything else is a usage error."""
    match = _AGE.match(value)
    if match is None:
        raise typer.BadParameter(f"{value!r}: use a number and a unit m, h, d or w (e.g. 30d)")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def _old_finished_jobs(cutoff: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    # A job finished when it failed or completed; older rows may lack finished_at, so
    # their creation time stands in for it.
    finished = func.coalesce(models.IngestionJob.finished_at, models.IngestionJob.created_at)
    return (models.IngestionJob.status.in_(FINISHED_STATUSES), finished < cutoff)


def count_old_jobs(engine: Engine, older_than: timedelta, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - older_than
    query = select(func.count()).select_from(models.IngestionJob)
    with engine.connect() as connection:
        return connection.scalar(query.where(*_old_finished_jobs(cutoff))) or 0


def delete_old_jobs(engine: Engine, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete finished jobs older than `older_than`; backtests are untouched (jobs only
    point at them). Returns the number deleted."""
    cutoff = (now or utcnow()) - older_than
    with engine.begin() as connection:
        result = connection.execute(delete(models.IngestionJob).where(*_old_finished_jobs(cutoff)))
        return result.rowcount or 0


def vacuum(engine: Engine) -> str:
    """VACUUM ANALYZE on PostgreSQL, VACUUM on SQLite. Returns the statement run."""
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "VACUUM"
    # Neither database allows VACUUM inside a transaction block.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statement))
    return statement


@dataclass(frozen=True, slots=True)
class TableStats:
    name: str
    rows: int
    #: Table + indexes + TOAST, in bytes; None where the backend cannot tell (SQLite).
    total_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class DatabaseStats:
    backend: str
    database_bytes: int | None
    tables: list[TableStats] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def collect_stats(engine: Engine) -> DatabaseStats:
    with engine.connect() as connection:
        counts = {
            table.__tablename__: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }
        if engine.dialect.name == "postgresql":
            sizes = {
                name: connection.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": name})
                for name in counts
            }
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
            tables = [TableStats(n, c, int(sizes[n] or 0)) for n, c in counts.items()]
            return DatabaseStats("postgresql", int(size or 0), tables)
        tables = [TableStats(n, c) for n, c in counts.items()]
        return DatabaseStats(engine.dialect.name, _sqlite_file_size(engine), tables)


def _sqlite_file_size(engine: Engine) -> int | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    return path.stat().st_size if path.is_file() else None


def _human(size: int | None) -> str:
    if size is None:
        return "-"
    if size < 1024:
        return f"{size} B"
    amount = size / 1024
    for unit in ("KiB", "MiB"):
        if amount < 1024:
            return f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.command("clean-jobs")
def clean_jobs_command(
    older_than: Annotated[str, typer.Option(help="Age: 90m, 12h, 30d or 2w")] = "30d",
    yes: Annotated[bool, typer.Option("--yes", help="Delete; without it, only count")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete finished (completed/failed) ingestion jobs older than --older-than."""
    age = parse_age(older_than)
    engine = get_engine()
    if yes:
        deleted = delete_old_jobs(engine, age)
        if as_json:
            _print_json({"older_than": older_than, "deleted": deleted, "dry_run": False})
        else:
            console.print(f"Deleted {deleted} finished jobs older than {older_than}")
        return
    found = count_old_jobs(engine, age)
    if as_json:
        _print_json({"older_than": older_than, "would_delete": found, "dry_run": True})
    else:
        console.print(f"{found} finished jobs older than {older_than} would be deleted; "
                      "run again with --yes to delete them")  # fmt: skip


@app.command("vacuum")
def vacuum_command(as_json: JsonFlag = False) -> None:
    """Reclaim space and refresh planner statistics (VACUUM ANALYZE / SQLite VACUUM)."""
    statement = vacuum(get_engine())
    if as_json:
        _print_json({"ran": statement})
    else:
        console.print(f"Ran {statement}")


@app.command("stats")
def stats_command(as_json: JsonFlag = False) -> None:
    """Row counts per table; table and database sizes on PostgreSQL."""
    stats = collect_stats(get_engine())
    if as_json:
        _print_json(stats.as_dict())
        return
    title = f"{stats.backend} database, {_human(stats.database_bytes)}"
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("size", justify="right")
    for row in stats.tables:
        table.add_row(row.name, f"{row.rows:,}", _human(row.total_bytes))
    console.print(table)


@app.command("archive")
def archive_command(
    to: Annotated[Path, typer.Option("--to", help="Folder for the bundles (one per backtest)")],
    older_than: Annotated[str, typer.Option(help="Age: 90m, 12h, 30d or 2w")] = "365d",
    yes: Annotated[bool, typer.Option("--yes", help="Archive; without it, only list")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Move backtests created before --older-than into self-contained bundles under --to
    (trades.parquet, backtest/parameters/daily JSON, the raw files), then delete them.
    Each is deleted only once its bundle is written and read back; jobs stay."""
    age = parse_age(older_than)
    engine = get_engine()
    # Imported here: the archive needs pyarrow, which every other command would pay for.
    from backtestdb.maintenance_archive import archive_backtest, old_backtests

    found = old_backtests(engine, age)
    if not yes:
        ids = [str(row.id) for row in found]
        if as_json:
            _print_json({"older_than": older_than, "would_archive": ids, "dry_run": True})
            return
        for row in found:
            console.print(f"{row.id}  {row.created_at:%Y-%m-%d}  {row.total_trades:>9,} trades  "
                          f"{row.name}")  # fmt: skip
        console.print(f"{len(found)} backtests older than {older_than} would be archived to "
                      f"{to}; run again with --yes to archive them")  # fmt: skip
        return
    storage = open_storage(get_settings())
    to.mkdir(parents=True, exist_ok=True)
    done = []
    for row in found:
        done.append(archive_backtest(engine, row.id, to, storage).as_dict())
        if not as_json:
            console.print(f"Archived {row.id} ({row.total_trades:,} trades) to {to / str(row.id)}")
    if as_json:
        _print_json({"older_than": older_than, "archived": done, "dry_run": False})
    else:
        console.print(f"Archived {len(done)} backtests")


@app.command("restore-archive")
def restore_archive_command(
    path: Annotated[Path, typer.Argument(help="One bundle, or a folder of bundles")],
    as_json: JsonFlag = False,
) -> None:
    """Put archived backtests back: same ids and values, raw files too. A backtest whose id
    is already stored is refused (exit 1); the other bundles are still restored."""
    storage = open_storage(get_settings())
    from backtestdb.maintenance_restore import restore_all

    results = restore_all(get_engine(), path, storage)
    if as_json:
        _print_json({"restored": [r.as_dict() for r in results]})
    else:
        for result in results:
            if result.error is None:
                console.print(f"Restored {result.backtest_id} ({result.trades:,} trades, "
                              f"{result.files} files) from {result.path}")  # fmt: skip
            else:
                console.print(f"[red]Not restored[/] {result.path}: {result.error}")
    if any(result.error is not None for result in results):
        raise typer.Exit(1)
