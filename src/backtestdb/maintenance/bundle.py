"""The archive bundle format shared by `maintenance archive` and `restore-archive`.

One folder per backtest, named by its id, self-contained and readable without backtestdb:

    <id>/manifest.json    format version, counts, sha256 of every other file, trade checksum
    <id>/backtest.json    every column of the backtests row
    <id>/parameters.json  its parameters rows; daily.json its daily_summary rows
    <id>/events.json      its trade_events rows (an events.json ingest's), when it has any
    <id>/trades.parquet   its trades in file order (TRADE_SCHEMA plus `extra` as JSON text)
    <id>/files/           the raw source files, as kept in STORAGE_DIR/<id>/

Rows are written as JSON by column type (exact decimals as strings, times in ISO 8601 UTC),
so they come back with the same values on either backend.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import JSON, Date, Integer, Numeric, Select, Table, Uuid, select

from backtestdb import models
from backtestdb.analytics.export import TRADE_COLUMNS, trade_schema
from backtestdb.analytics.store import STREAM_BATCH
from backtestdb.db import Base, UTCDateTime

FORMAT = "backtestdb-archive"
VERSION = 1
MANIFEST = "manifest.json"
BACKTEST = "backtest.json"
PARAMETERS = "parameters.json"
DAILY = "daily.json"
EVENTS = "events.json"
TRADES = "trades.parquet"
FILES = "files"
#: The trades' columns in the Parquet file: the export's, plus the unknown source columns.
ARCHIVE_TRADE_COLUMNS: tuple[str, ...] = (*TRADE_COLUMNS, "extra")
ARCHIVE_TRADE_SCHEMA = trade_schema().append(pa.field("extra", pa.string()))
_HASH_CHUNK = 1024 * 1024


class BundleError(Exception):
    """A bundle is incomplete, damaged, or cannot hold the data without loss."""


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def archived_trades(backtest_id: uuid.UUID) -> Select[Any]:
    """A backtest's trades as a bundle holds them, in trade order, streamed."""
    trade = table_of(models.Trade)
    return (
        select(*(trade.c[name] for name in ARCHIVE_TRADE_COLUMNS))
        .where(trade.c.backtest_id == backtest_id)
        .order_by(trade.c.trade_number)
        .execution_options(yield_per=STREAM_BATCH)
    )


def check_trade_columns() -> None:
    """Refuse to archive when the trades table has a column the Parquet schema would drop
    (a later migration): an archive that silently loses a column is worse than none."""
    stored = {c.name for c in table_of(models.Trade).columns} - {"backtest_id"}
    missing = stored - set(ARCHIVE_TRADE_COLUMNS)
    if missing:
        raise BundleError(f"trades columns not covered by the archive format: {sorted(missing)}")


def encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(name): encode_value(value) for name, value in row.items()}


def decode_row(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON row back to Python values by the column types; unknown keys are refused."""
    unknown = set(data) - {c.name for c in table.columns}
    if unknown:
        raise BundleError(f"{table.name}: columns unknown to this database: {sorted(unknown)}")
    row: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in data:
            continue
        value = data[column.name]
        kind = column.type
        if value is None or isinstance(kind, JSON):
            row[column.name] = value
        elif isinstance(kind, UTCDateTime):
            row[column.name] = datetime.fromisoformat(value)
        elif isinstance(kind, Date):
            row[column.name] = date.fromisoformat(value)
        elif isinstance(kind, Uuid):
            row[column.name] = uuid.UUID(value)
        elif isinstance(kind, Numeric):
            row[column.name] = Decimal(value)
        elif isinstance(kind, Integer):
            row[column.name] = int(value)
        else:
            row[column.name] = value
    return row


def canonical(value: Any) -> str:
    """One value as checksummed: equal numbers hash alike whatever their stored scale."""
    if value is None:
        return "\x00"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


class TradeChecksum:
    """sha256 over the trades' canonical values in order: computed from the database while
    archiving, from the Parquet file to verify it, and from the database after a restore."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self.count = 0

    def add(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self._digest.update("\x1f".join(canonical(v) for v in row).encode() + b"\x1e")
            self.count += 1

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(folder: Path) -> list[Path]:
    """Every file of a bundle but its manifest, relative to the folder, sorted."""
    found = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
    return sorted(p for p in found if p != Path(MANIFEST))


def write_json(path: Path, data: Any) -> None:
    with path.open("w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=1, ensure_ascii=False, sort_keys=True)
        stream.write("\n")
        stream.flush()
        os.fsync(stream.fileno())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BundleError(f"{path}: unreadable ({error})") from error


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder of the bundle to disk before the rows are deleted."""
    for path in [*sorted(folder.rglob("*")), folder]:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def verify_files(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Every file the manifest lists is there with its checksum, and no other."""
    listed: dict[str, str] = manifest.get("files", {})
    present = {str(p) for p in bundle_files(folder)}
    if present != set(listed):
        missing, extra = sorted(set(listed) - present), sorted(present - set(listed))
        raise BundleError(f"{folder}: files missing {missing}, unexpected {extra}")
    for name, digest in listed.items():
        if file_sha256(folder / name) != digest:
            raise BundleError(f"{folder / name}: checksum mismatch (damaged)")


def load_manifest(folder: Path) -> dict[str, Any]:
    manifest = read_json(folder / MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{folder}: not a backtestdb archive bundle")
    if manifest.get("version") != VERSION:
        raise BundleError(f"{folder}: bundle version {manifest.get('version')} not supported")
    return manifest


def is_bundle(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()
