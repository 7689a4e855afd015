"""Routine upkeep: old finished jobs, upload leftovers, VACUUM, table sizes.

The functions take an engine so the CLI (`backtestdb maintenance`), tests and a future
scheduler call them alike.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, Engine, delete, func, select, text

from backtestdb import models
from backtestdb.models import utcnow

logger = logging.getLogger(__name__)
#: Jobs in these states are done; pending/running ones are never cleaned.
FINISHED_STATUSES = ("completed", "failed")
#: Every table backtestdb owns, parents first (the order `stats` prints them in).
TABLES = (models.Backtest, models.Trade, models.TradeEvent, models.Parameter,
          models.DailySummary, models.IngestionJob)  # fmt: skip
#: Entries under DATA_DIR/tmp untouched for this long are a dead request's upload (a server
#: killed mid-request leaves its folder): far past UPLOAD_TIMEOUT_SECONDS plus any ingest,
#: and a live upload's file is written to as it arrives, so it is always younger.
STALE_UPLOAD_AGE = timedelta(days=1)


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


def stale_uploads(
    folder: Path, older_than: timedelta = STALE_UPLOAD_AGE, now: float | None = None
) -> list[Path]:
    """The entries of `folder` in which nothing was written for `older_than` (by mtime)."""
    if not folder.is_dir():
        return []
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    return sorted(entry for entry in folder.iterdir() if _last_written(entry) < cutoff)


def remove_stale_uploads(
    folder: Path, older_than: timedelta = STALE_UPLOAD_AGE, now: float | None = None
) -> int:
    """Remove the upload leftovers under `folder` (`stale_uploads`); returns how many went.
    One that cannot be removed is logged and left: start-up must not fail on it."""
    removed = 0
    for entry in stale_uploads(folder, older_than, now):
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except FileNotFoundError:
            continue  # another process (a sibling server worker) removed it first
        except OSError as error:
            logger.warning("upload leftover %s not removed: %s", entry, error)
            continue
        removed += 1
    if removed:
        logger.info("removed %d upload leftovers older than %s from %s", removed, older_than,
                    folder)  # fmt: skip
    return removed


def _last_written(entry: Path) -> float:
    # The newest mtime in the tree: a folder's own changes only when a file is added, a
    # file's each time a chunk of the upload is written.
    try:
        newest = entry.lstat().st_mtime
        if entry.is_dir() and not entry.is_symlink():
            for parent, folders, files in os.walk(entry):
                for name in (*folders, *files):
                    newest = max(newest, os.lstat(os.path.join(parent, name)).st_mtime)
    except FileNotFoundError:
        return float("inf")  # gone meanwhile: nothing to remove
    return newest


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
