"""`backtestdb maintenance restore-archive`: bundles back into the database.

A bundle is verified before anything is written (every file's sha256, the trade checksum);
its rows go back in one transaction with their original ids and values, the trade checksum
is computed again from the database before the commit, and the raw files return to
STORAGE_DIR/<id>/. A backtest whose id (or identical content) is already stored is refused.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from backtestdb import models
from backtestdb.analytics.store import STREAM_BATCH
from backtestdb.errors import BacktestdbError, Conflict, NotFound
from backtestdb.maintenance.archive import read_trade_batches, verify_bundle
from backtestdb.maintenance.bundle import (
    BACKTEST,
    DAILY,
    EVENTS,
    FILES,
    PARAMETERS,
    TRADES,
    BundleError,
    TradeChecksum,
    archived_trades,
    decode_row,
    is_bundle,
    read_json,
    table_of,
)
from backtestdb.storage import Storage


@dataclass(frozen=True, slots=True)
class Restored:
    path: str
    backtest_id: str | None = None
    trades: int = 0
    files: int = 0
    jobs_linked: int = 0
    #: Why this bundle was not restored; None when it was.
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_bundles(path: Path) -> list[Path]:
    """`path` itself when it is a bundle, else the bundles directly inside it."""
    if is_bundle(path):
        return [path]
    if not path.is_dir():
        raise NotFound(f"{path} is not a folder")
    # Hidden folders are a crashed archive's `.partial` leftovers, never complete bundles.
    found = [p for p in sorted(path.iterdir()) if not p.name.startswith(".") and is_bundle(p)]
    if not found:
        raise NotFound(f"No archive bundle (a folder with manifest.json) in {path}")
    return found


def restore_all(engine: Engine, path: Path, storage: Storage) -> list[Restored]:
    """Restore every bundle found; one refused bundle does not stop the others."""
    results = []
    for folder in find_bundles(path):
        try:
            results.append(restore_bundle(engine, folder, storage))
        except (BacktestdbError, BundleError) as error:
            results.append(Restored(str(folder), error=str(error)))
    return results


def restore_bundle(engine: Engine, folder: Path, storage: Storage) -> Restored:
    manifest = verify_bundle(folder)
    backtest = decode_row(table_of(models.Backtest), read_json(folder / BACKTEST))
    backtest_id = backtest.get("id")
    if not isinstance(backtest_id, uuid.UUID) or str(backtest_id) != manifest["backtest_id"]:
        raise BundleError(f"{folder}: backtest.json and manifest.json name different ids")
    target = storage.folder(backtest_id)
    created_folder = not target.exists()
    try:
        with engine.begin() as connection:
            refuse_existing(connection, backtest)
            connection.execute(insert(table_of(models.Backtest)), [backtest])
            insert_children(connection, folder, backtest_id)
            count = insert_trades(connection, folder, backtest_id)
            check_stored_trades(connection, backtest_id, manifest)
            linked = link_jobs(connection, backtest_id, manifest.get("job_ids", []))
            # Inside the transaction: a failed copy rolls the rows back.
            files = copy_back(folder / FILES, target)
    except BaseException:
        if created_folder:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return Restored(str(folder), str(backtest_id), count, files, linked)


def refuse_existing(connection: Connection, backtest: dict[str, Any]) -> None:
    b = models.Backtest
    if connection.scalar(select(b.id).where(b.id == backtest["id"])) is not None:
        raise Conflict(f"Backtest {backtest['id']} already exists; not restored")
    digest = backtest.get("content_hash")
    if digest is not None:
        twin = connection.scalar(select(b.id).where(b.content_hash == digest))
        if twin is not None:
            raise Conflict(
                f"Backtest {twin} holds identical files (same content hash) as "
                f"{backtest['id']}; delete it first to restore this one"
            )


def insert_children(connection: Connection, folder: Path, backtest_id: uuid.UUID) -> None:
    children = [(models.Parameter, PARAMETERS), (models.DailySummary, DAILY)]
    if (folder / EVENTS).exists():  # only bundles of events.json ingests have one
        children.append((models.TradeEvent, EVENTS))
    for model, name in children:
        table = table_of(model)
        rows = read_json(folder / name)
        if not isinstance(rows, list):
            raise BundleError(f"{folder / name}: expected a list of rows")
        decoded = [decode_row(table, row) for row in rows]
        if any(row.get("backtest_id") != backtest_id for row in decoded):
            raise BundleError(f"{folder / name}: rows of another backtest")
        if decoded:
            connection.execute(insert(table), decoded)


def insert_trades(connection: Connection, folder: Path, backtest_id: uuid.UUID) -> int:
    table = table_of(models.Trade)
    count = 0
    for rows in read_trade_batches(folder / TRADES, STREAM_BATCH):
        for row in rows:
            row["backtest_id"] = backtest_id
        if rows:
            connection.execute(insert(table), rows)
        count += len(rows)
    return count


def check_stored_trades(
    connection: Connection, backtest_id: uuid.UUID, manifest: dict[str, Any]
) -> None:
    """The trades as the database now holds them must checksum as they did when archived."""
    query = archived_trades(backtest_id)
    checksum = TradeChecksum()
    checksum.add(connection.execute(query))
    if checksum.hexdigest() != manifest["trades_sha256"]:
        raise BundleError(f"Backtest {backtest_id}: restored trades differ from the archive")


def link_jobs(connection: Connection, backtest_id: uuid.UUID, job_ids: list[str]) -> int:
    """Jobs stayed in the database while archived, unlinked; link those still there."""
    if not job_ids:
        return 0
    job = models.IngestionJob
    result = connection.execute(
        update(job)
        .where(job.id.in_([uuid.UUID(j) for j in job_ids]), job.backtest_id.is_(None))
        .values(backtest_id=backtest_id)
    )
    return result.rowcount or 0


def copy_back(source: Path, target: Path) -> int:
    copied = 0
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.is_file():
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target / path.name)
                copied += 1
    return copied
