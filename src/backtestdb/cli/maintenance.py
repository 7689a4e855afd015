"""`backtestdb maintenance clean-jobs | vacuum | stats | archive | restore-archive`: thin
commands over `backtestdb.maintenance`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from backtestdb.cli.output import JsonFlag, console, print_json
from backtestdb.config import get_settings
from backtestdb.db import get_engine
from backtestdb.maintenance.upkeep import (
    STALE_UPLOAD_AGE,
    collect_stats,
    count_old_jobs,
    delete_old_jobs,
    remove_stale_uploads,
    stale_uploads,
    vacuum,
)
from backtestdb.storage import open_storage

app = typer.Typer(help="Database upkeep: old jobs, VACUUM, sizes, archives.", no_args_is_help=True)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
_UPLOAD_AGE = f"{STALE_UPLOAD_AGE.total_seconds() / 3600:g}h"


def parse_age(value: str) -> timedelta:
    """`30d`, `12h`, `90m` or `2w` as a timedelta; anything else is a usage error."""
    match = _AGE.match(value)
    if match is None:
        raise typer.BadParameter(f"{value!r}: use a number and a unit m, h, d or w (e.g. 30d)")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


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


@app.command("clean-jobs")
def clean_jobs_command(
    older_than: Annotated[str, typer.Option(help="Age: 90m, 12h, 30d or 2w")] = "30d",
    yes: Annotated[bool, typer.Option("--yes", help="Delete; without it, only count")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete finished (completed/failed) ingestion jobs older than --older-than, and the
    upload leftovers under DATA_DIR/tmp older than a day (a killed server's)."""
    age = parse_age(older_than)
    engine = get_engine()
    tmp = get_settings().upload_tmp_dir
    if yes:
        deleted = delete_old_jobs(engine, age)
        removed = remove_stale_uploads(tmp)
        if as_json:
            print_json({"older_than": older_than, "deleted": deleted,
                        "uploads_removed": removed, "dry_run": False})  # fmt: skip
        else:
            console.print(f"Deleted {deleted} finished jobs older than {older_than}, and "
                          f"{removed} upload leftovers older than {_UPLOAD_AGE}")  # fmt: skip
        return
    found = count_old_jobs(engine, age)
    leftovers = len(stale_uploads(tmp))
    if as_json:
        print_json({"older_than": older_than, "would_delete": found,
                    "uploads_would_remove": leftovers, "dry_run": True})  # fmt: skip
    else:
        console.print(f"{found} finished jobs older than {older_than} and {leftovers} upload "
                      f"leftovers older than {_UPLOAD_AGE} would be deleted; run again "
                      "with --yes to delete them")  # fmt: skip


@app.command("vacuum")
def vacuum_command(as_json: JsonFlag = False) -> None:
    """Reclaim space and refresh planner statistics (VACUUM ANALYZE / SQLite VACUUM)."""
    statement = vacuum(get_engine())
    if as_json:
        print_json({"ran": statement})
    else:
        console.print(f"Ran {statement}")


@app.command("stats")
def stats_command(as_json: JsonFlag = False) -> None:
    """Row counts per table; table and database sizes on PostgreSQL."""
    stats = collect_stats(get_engine())
    if as_json:
        print_json(stats.as_dict())
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
    from backtestdb.maintenance.archive import archive_backtest, old_backtests

    found = old_backtests(engine, age)
    if not yes:
        ids = [str(row.id) for row in found]
        if as_json:
            print_json({"older_than": older_than, "would_archive": ids, "dry_run": True})
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
        print_json({"older_than": older_than, "archived": done, "dry_run": False})
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
    from backtestdb.maintenance.restore import restore_all

    results = restore_all(get_engine(), path, storage)
    if as_json:
        print_json({"restored": [r.as_dict() for r in results]})
    else:
        for result in results:
            if result.error is None:
                console.print(f"Restored {result.backtest_id} ({result.trades:,} trades, "
                              f"{result.files} files) from {result.path}")  # fmt: skip
            else:
                console.print(f"[red]Not restored[/] {result.path}: {result.error}")
    if any(result.error is not None for result in results):
        raise typer.Exit(1)
