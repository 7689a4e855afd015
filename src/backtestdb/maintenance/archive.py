"""`backtestdb maintenance archive`: old backtests out of the database into bundles.

A bundle (format in `bundle`) is written into a hidden `.partial` folder,
read back and checked (row counts, the trade checksum, every file's sha256), flushed to
disk and only then renamed into place; the backtest is deleted last, in its own
transaction, and only if it did not change meanwhile. A crash at any point leaves either
the backtest in the database or a complete bundle, and at worst both.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine, select

from backtestdb import models
from backtestdb.analytics.store import STREAM_BATCH
from backtestdb.backtests import delete_backtest
from backtestdb.db import Base, session_factory
from backtestdb.errors import Conflict, NotFound
from backtestdb.maintenance.bundle import (
    ARCHIVE_TRADE_COLUMNS,
    ARCHIVE_TRADE_SCHEMA,
    BACKTEST,
    DAILY,
    EVENTS,
    FILES,
    FORMAT,
    MANIFEST,
    PARAMETERS,
    TRADES,
    VERSION,
    BundleError,
    TradeChecksum,
    archived_trades,
    bundle_files,
    check_trade_columns,
    encode_row,
    file_sha256,
    fsync_tree,
    load_manifest,
    table_of,
    verify_files,
    write_json,
)
from backtestdb.models import utcnow
from backtestdb.storage import Storage


@dataclass(frozen=True, slots=True)
class Archived:
    backtest_id: str
    path: str
    trades: int
    parameters: int
    days: int
    files: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def old_backtests(engine: Engine, older_than: timedelta, now: datetime | None = None) -> list[Any]:
    """(id, name, created_at, total_trades) of backtests created before now - older_than."""
    cutoff = (now or utcnow()) - older_than
    b = models.Backtest
    query = (
        select(b.id, b.name, b.created_at, b.total_trades)
        .where(b.created_at < cutoff)
        .order_by(b.created_at, b.id)
    )
    with engine.connect() as connection:
        return list(connection.execute(query))


def archive_backtest(
    engine: Engine, backtest_id: uuid.UUID, root: Path, storage: Storage
) -> Archived:
    """Write the bundle `root/<id>/`, verify it, then delete the backtest."""
    check_trade_columns()
    final = root / str(backtest_id)
    if final.exists():
        raise Conflict(f"{final} already exists; move it away or restore it first")
    partial = root / f".{backtest_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)  # a crashed earlier attempt's leftovers
    partial.mkdir(parents=True)
    try:
        manifest = write_bundle(engine, backtest_id, partial, storage)
        verify_bundle(partial)
        fsync_tree(partial)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    try:
        delete_if_unchanged(engine, backtest_id, manifest["updated_at"], storage)
    except BaseException:
        # The backtest stays; so the bundle must go, or a restore would later clash with it.
        shutil.rmtree(final, ignore_errors=True)
        raise
    counts = manifest["counts"]
    return Archived(str(backtest_id), str(final), counts["trades"], counts["parameters"],
                    counts["days"], len(manifest["raw_files"]))  # fmt: skip


def write_bundle(
    engine: Engine, backtest_id: uuid.UUID, folder: Path, storage: Storage
) -> dict[str, Any]:
    # One transaction, so the rows are a consistent snapshot on PostgreSQL too.
    with engine.connect() as connection, connection.begin():
        backtest = connection.execute(
            select(table_of(models.Backtest)).where(models.Backtest.id == backtest_id)
        ).mappings().first()  # fmt: skip
        if backtest is None:
            raise NotFound(f"Backtest {backtest_id} not found")
        write_json(folder / BACKTEST, encode_row(backtest))
        parameters = child_rows(connection, models.Parameter, backtest_id)
        write_json(folder / PARAMETERS, parameters)
        days = child_rows(connection, models.DailySummary, backtest_id)
        write_json(folder / DAILY, days)
        if events := child_rows(connection, models.TradeEvent, backtest_id):
            write_json(folder / EVENTS, events)
        checksum = write_trades(connection, backtest_id, folder / TRADES)
        jobs = connection.scalars(
            select(models.IngestionJob.id).where(models.IngestionJob.backtest_id == backtest_id)
        )
        job_ids = sorted(str(job) for job in jobs)
    raw = copy_raw_files(storage.folder(backtest_id), folder / FILES)
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "backtest_id": str(backtest_id),
        "archived_at": utcnow().isoformat(),
        "updated_at": backtest["updated_at"].isoformat(),
        "backend": engine.dialect.name,
        "counts": {
            "trades": checksum.count,
            "parameters": len(parameters),
            "days": len(days),
            "events": len(events),
        },
        "trades_sha256": checksum.hexdigest(),
        # The jobs stay in the database (unlinked by the delete); a restore links them again.
        "job_ids": job_ids,
        "raw_files": raw,
        "files": {str(p): file_sha256(folder / p) for p in bundle_files(folder)},
    }
    write_json(folder / MANIFEST, manifest)
    return manifest


def child_rows(
    connection: Connection, model: type[Base], backtest_id: uuid.UUID
) -> list[dict[str, Any]]:
    table = table_of(model)
    order = list(table.primary_key.columns)
    query = select(table).where(table.c.backtest_id == backtest_id).order_by(*order)
    return [encode_row(row) for row in connection.execute(query).mappings()]


def write_trades(connection: Connection, backtest_id: uuid.UUID, path: Path) -> TradeChecksum:
    """Stream the trades into Parquet, one row group per batch: memory stays flat."""
    query = archived_trades(backtest_id)
    checksum = TradeChecksum()
    extra_index = ARCHIVE_TRADE_COLUMNS.index("extra")
    with pq.ParquetWriter(path, ARCHIVE_TRADE_SCHEMA, compression="zstd") as writer:
        for batch in connection.execute(query).partitions(STREAM_BATCH):
            rows = [tuple(row) for row in batch]
            checksum.add(rows)
            columns = list(zip(*rows, strict=True))
            columns[extra_index] = tuple(to_json_text(v) for v in columns[extra_index])
            arrays = [
                pa.array(values, type=ARCHIVE_TRADE_SCHEMA.field(i).type)
                for i, values in enumerate(columns)
            ]
            writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=ARCHIVE_TRADE_SCHEMA))
    return checksum


def to_json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def read_trade_batches(
    path: Path, batch_size: int = STREAM_BATCH
) -> Iterator[list[dict[str, Any]]]:
    """The archived trades back, batch by batch, as dicts with Python values."""
    parquet = pq.ParquetFile(path)
    if tuple(parquet.schema_arrow.names) != ARCHIVE_TRADE_COLUMNS:
        raise BundleError(f"{path}: unexpected columns {parquet.schema_arrow.names}")
    for batch in parquet.iter_batches(batch_size=batch_size):
        rows = batch.to_pylist()
        for row in rows:
            row["extra"] = None if row["extra"] is None else json.loads(row["extra"])
        yield rows


def verify_bundle(folder: Path) -> dict[str, Any]:
    """Read the bundle back: files against the manifest, trades against the checksum."""
    manifest = load_manifest(folder)
    verify_files(folder, manifest)
    parquet = pq.ParquetFile(folder / TRADES)
    if parquet.metadata.num_rows != manifest["counts"]["trades"]:
        raise BundleError(f"{folder / TRADES}: {parquet.metadata.num_rows} rows, expected "
                          f"{manifest['counts']['trades']}")  # fmt: skip
    checksum = TradeChecksum()
    for rows in read_trade_batches(folder / TRADES):
        checksum.add(tuple(row[name] for name in ARCHIVE_TRADE_COLUMNS) for row in rows)
    if checksum.hexdigest() != manifest["trades_sha256"]:
        raise BundleError(f"{folder / TRADES}: trades differ from the database's")
    return manifest


def copy_raw_files(source: Path, target: Path) -> list[str]:
    target.mkdir()
    names: list[str] = []
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.is_file():
                shutil.copyfile(path, target / path.name)
                names.append(path.name)
    return names


def delete_if_unchanged(
    engine: Engine, backtest_id: uuid.UUID, updated_at: str, storage: Storage
) -> None:
    with session_factory(engine).begin() as session:
        # Locked on PostgreSQL until the delete commits: no refresh can slip in between.
        current = session.scalar(
            select(models.Backtest.updated_at)
            .where(models.Backtest.id == backtest_id)
            .with_for_update()
        )
        if current is None or current.isoformat() != updated_at:
            raise Conflict(f"Backtest {backtest_id} changed while being archived; not deleted")
        delete_backtest(session, backtest_id, storage)
