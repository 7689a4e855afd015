"""`backtestdb maintenance archive` / `restore-archive`: a round trip loses nothing.

On SQLite and PostgreSQL: the sample is ingested, archived (its rows and raw files leave
the database), restored, and compared row for row, file for file, with the same ids.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from backtestdb import models
from backtestdb.cli import app
from backtestdb.config import Settings
from backtestdb.maintenance import archive as maintenance_archive
from backtestdb.maintenance.bundle import TRADES, encode_row, table_of
from tests.conftest import BASIC, SPARSE_NULLS
from tests.event_files import events_file

runner = CliRunner()
CHILDREN = (models.Trade, models.Parameter, models.DailySummary)


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def ingest_sample(*extra: str) -> str:
    out = cli("ingest", str(BASIC / "report.json"), "--csv", str(BASIC / "history.csv"),
              "--params", str(BASIC / "parameters.cbotset"), *extra)  # fmt: skip
    return str(out["backtest_id"])


def backdate(engine: Engine, backtest_id: str, days: int) -> None:
    with engine.begin() as connection:
        b = models.Backtest
        when = models.utcnow() - timedelta(days=days)
        connection.execute(update(b).where(b.id == uuid.UUID(backtest_id)).values(created_at=when))


def snapshot(engine: Engine, backtest_id: str) -> dict[str, Any]:
    """Every row of the backtest, in key order, plus a checksum of the ordered trades."""
    key = uuid.UUID(backtest_id)
    found: dict[str, Any] = {}
    with engine.connect() as connection:
        for model in (models.Backtest, *CHILDREN):
            table = table_of(model)
            column = table.c.id if model is models.Backtest else table.c.backtest_id
            query = select(table).where(column == key).order_by(*table.primary_key.columns)
            found[table.name] = [encode_row(r) for r in connection.execute(query).mappings()]
    trades = [tuple(sorted(r.items())) for r in found["trades"]]
    found["trades_sha256"] = hashlib.sha256(repr(trades).encode()).hexdigest()
    return found


def counts(engine: Engine, backtest_id: str) -> dict[str, int]:
    key = uuid.UUID(backtest_id)
    with engine.connect() as connection:
        found = {"backtests": connection.scalar(
            select(func.count()).where(models.Backtest.id == key))}  # fmt: skip
        for model in CHILDREN:
            query = select(func.count()).where(model.backtest_id == key)  # type: ignore[attr-defined]
            found[model.__tablename__] = connection.scalar(query)
    return found


def raw_files(settings: Settings, backtest_id: str) -> dict[str, bytes]:
    folder = settings.effective_storage_dir / backtest_id
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_archive_then_restore_round_trip(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    old = ingest_sample()
    recent = ingest_sample("--force")
    backdate(engine, old, 400)
    before, files_before = snapshot(engine, old), raw_files(settings, old)
    assert len(before["trades"]) > 0
    assert len(before["parameters"]) > 0
    assert len(files_before) == 3
    with engine.connect() as connection:
        jobs_before = connection.scalar(select(func.count()).select_from(models.IngestionJob))
    archive = tmp_path / "archive"

    dry = cli("maintenance", "archive", "--older-than", "365d", "--to", str(archive))
    assert dry == {"older_than": "365d", "would_archive": [old], "dry_run": True}
    assert not archive.exists()
    assert counts(engine, old)["trades"] == len(before["trades"])

    done = cli("maintenance", "archive", "--older-than", "365d", "--to", str(archive), "--yes")
    assert [a["backtest_id"] for a in done["archived"]] == [old]
    bundle = archive / old
    assert sorted(p.name for p in bundle.iterdir()) == [
        "backtest.json", "daily.json", "files", "manifest.json", "parameters.json",
        "trades.parquet"]  # fmt: skip
    assert sorted(p.name for p in (bundle / "files").iterdir()) == sorted(files_before)
    assert counts(engine, old) == {"backtests": 0, "trades": 0, "parameters": 0,
                                   "daily_summary": 0}  # fmt: skip
    assert raw_files(settings, old) == {}
    assert counts(engine, recent)["trades"] == len(before["trades"])  # untouched
    with engine.connect() as connection:  # jobs are left, unlinked
        assert connection.scalar(select(func.count()).select_from(models.IngestionJob)) == (
            jobs_before
        )

    restored = cli("maintenance", "restore-archive", str(archive))["restored"]
    assert restored == [{"path": str(bundle), "backtest_id": old,
                         "trades": len(before["trades"]), "files": 3, "jobs_linked": 1,
                         "error": None}]  # fmt: skip
    assert snapshot(engine, old) == before
    assert raw_files(settings, old) == files_before
    assert cli("show", old)["id"] == old

    # Restoring again is refused: the id exists.
    again = cli("maintenance", "restore-archive", str(bundle), code=1)["restored"]
    assert "already exists" in again[0]["error"]
    assert snapshot(engine, old) == before


def test_restore_refuses_a_damaged_bundle(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    backtest_id = ingest_sample()
    archive = tmp_path / "archive"
    cli("maintenance", "archive", "--older-than", "0m", "--to", str(archive), "--yes")
    trades = archive / backtest_id / TRADES
    data = bytearray(trades.read_bytes())
    data[len(data) // 2] ^= 0xFF
    trades.write_bytes(bytes(data))
    result = cli("maintenance", "restore-archive", str(archive), code=1)["restored"]
    assert "checksum mismatch" in result[0]["error"]
    assert counts(engine, backtest_id)["backtests"] == 0
    assert raw_files(settings, backtest_id) == {}


def test_a_failed_verification_keeps_the_backtest(
    settings: Settings, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backtest_id = ingest_sample()
    before = snapshot(engine, backtest_id)

    def broken(folder: Path) -> None:
        raise maintenance_archive.BundleError("read back differs")

    monkeypatch.setattr(maintenance_archive, "verify_bundle", broken)
    archive = tmp_path / "archive"
    result = runner.invoke(
        app, ["maintenance", "archive", "--older-than", "0m", "--to", str(archive), "--yes"]
    )
    assert isinstance(result.exception, maintenance_archive.BundleError)
    assert snapshot(engine, backtest_id) == before
    assert len(raw_files(settings, backtest_id)) == 3
    assert list(archive.iterdir()) == []  # no bundle, no partial folder


def test_archive_covers_every_trade_column() -> None:
    maintenance_archive.check_trade_columns()


def test_round_trip_keeps_missing_values_null(
    settings: Settings, engine: Engine, tmp_path: Path, sparse_backtest: str
) -> None:
    """A backtest from cTrader's default History layout: NULL opening times, prices, fees
    and deal ids, NULL fee totals and the quantity unit come back as they were."""
    before = snapshot(engine, sparse_backtest)
    [backtest] = before["backtests"]
    assert (backtest["commissions"], backtest["swaps"]) == (None, None)
    assert len(before["trades"]) == 200
    for trade in before["trades"]:
        assert [trade[name] for name in SPARSE_NULLS] == [None] * len(SPARSE_NULLS)
        assert trade["quantity_unit"] == "Lots"
    archive = tmp_path / "archive"
    done = cli("maintenance", "archive", "--older-than", "0m", "--to", str(archive), "--yes")
    assert [a["backtest_id"] for a in done["archived"]] == [sparse_backtest]
    assert counts(engine, sparse_backtest)["trades"] == 0
    bundled = pq.read_table(archive / sparse_backtest / TRADES)
    assert [bundled.column(name).null_count for name in SPARSE_NULLS] == [200] * len(SPARSE_NULLS)
    assert set(bundled.column("quantity_unit").to_pylist()) == {"Lots"}
    restored = cli("maintenance", "restore-archive", str(archive))["restored"]
    assert [(r["backtest_id"], r["trades"], r["error"]) for r in restored] == [
        (sparse_backtest, 200, None)
    ]
    assert snapshot(engine, sparse_backtest) == before


def test_round_trip_keeps_the_trade_events(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """An events.json backtest's trade_events go into the bundle and come back."""
    path, totals = events_file(tmp_path, trades=12)
    backtest = str(cli("ingest", str(path), "--symbol", "EURUSD")["backtest_id"])
    key = uuid.UUID(backtest)
    table = table_of(models.TradeEvent)

    def stored_events() -> list[dict[str, Any]]:
        query = select(table).where(table.c.backtest_id == key).order_by(table.c.serial)
        with engine.connect() as connection:
            return [encode_row(r) for r in connection.execute(query).mappings()]

    before = stored_events()
    assert len(before) == totals.events
    backdate(engine, backtest, 400)
    archive = tmp_path / "archive"
    cli("maintenance", "archive", "--older-than", "365d", "--to", str(archive), "--yes")
    assert json.loads((archive / backtest / "manifest.json").read_text())["counts"]["events"] == (
        totals.events
    )
    assert stored_events() == []
    cli("maintenance", "restore-archive", str(archive))
    assert stored_events() == before
