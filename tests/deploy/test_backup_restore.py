"""scripts/backup.sh and scripts/restore.sh on a real PostgreSQL database and real files."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.conftest import BASIC
from tests.deploy.conftest import (
    SCRIPTS,
    app_env,
    libpq_url,
    recreate_database,
    run,
    run_ok,
)

pytestmark = pytest.mark.postgres

TABLES = ("backtests", "trades", "parameters", "daily_summary", "ingestion_jobs")
#: The basic sample: 200 trades over 96 UTC days, 6 parameters, net profit 452.42.
EXPECTED_COUNTS = {"backtests": 1, "trades": 200, "parameters": 6, "daily_summary": 96,
                   "ingestion_jobs": 1}  # fmt: skip


def snapshot(name: str) -> dict[str, object]:
    """Row counts, a checksum of every table's rows, and the trades' profit total."""
    state: dict[str, object] = {}
    with psycopg.connect(libpq_url(name)) as connection:
        for table in TABLES:
            count, digest = connection.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                f" FROM {table} t"
            ).fetchone() or (None, None)
            state[f"{table}.count"] = count
            state[f"{table}.md5"] = digest
        state["trades.ordered_md5"], state["trades.profit"] = connection.execute(
            "SELECT md5(string_agg(t::text, '|' ORDER BY backtest_id, trade_number)), sum(profit)"
            " FROM trades t"
        ).fetchone() or (None, None)
    return state


def files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_backup_drop_restore_round_trip(make_database: Callable[[], str], tmp_path: Path) -> None:
    name = make_database()
    # The SQLAlchemy form, as the app is configured; the scripts convert it for libpq.
    env = app_env(tmp_path, libpq_url(name).replace("postgresql://", "postgresql+psycopg://"),
                  BACKUP_DIR=str(tmp_path / "backups"), BACKUP_STAMP="20250101T000000Z")  # fmt: skip
    run_ok(["backtestdb", "db", "upgrade"], env, tmp_path)
    run_ok(["backtestdb", "ingest", str(BASIC / "report.json"), "--csv", str(BASIC / "history.csv"),
            "--params", str(BASIC / "parameters.cbotset"), "--json"], env, tmp_path)  # fmt: skip
    before, stored = snapshot(name), files(Path(env["STORAGE_DIR"]))
    assert {t: before[f"{t}.count"] for t in TABLES} == EXPECTED_COUNTS
    assert before["trades.profit"] == Decimal("452.42")
    assert sorted(Path(p).name for p in stored) == ["history.csv", "parameters.cbotset",
                                                    "report.json"]  # fmt: skip

    result = run_ok(["bash", str(SCRIPTS / "backup.sh")], env, tmp_path)
    backup = tmp_path / "backups" / "backtestdb-20250101T000000Z"
    assert f"backup written to {backup}" in result.stdout
    assert sorted(p.name for p in backup.iterdir()) == ["SHA256SUMS", "database.dump",
                                                        "files.tar.gz"]  # fmt: skip

    recreate_database(name)
    for path in sorted(Path(env["STORAGE_DIR"]).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    with psycopg.connect(libpq_url(name)) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)
    assert files(Path(env["STORAGE_DIR"])) == {}

    run_ok(["bash", str(SCRIPTS / "restore.sh"), "20250101T000000Z"], env, tmp_path)
    assert snapshot(name) == before
    assert files(Path(env["STORAGE_DIR"])) == stored
    # The restored database is usable by the app as it was.
    listed = run_ok(["backtestdb", "list", "--json"], env, tmp_path)
    assert '"total": 1' in listed.stdout


def test_backup_keeps_the_newest(make_database: Callable[[], str], tmp_path: Path) -> None:
    env = app_env(tmp_path, libpq_url(make_database()), BACKUP_DIR=str(tmp_path / "b"), KEEP="2")
    for stamp in ("20250101T000000Z", "20250102T000000Z", "20250103T000000Z"):
        run_ok(["bash", str(SCRIPTS / "backup.sh")], {**env, "BACKUP_STAMP": stamp}, tmp_path)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "backtestdb-20250102T000000Z",
        "backtestdb-20250103T000000Z",
    ]
    again = run(["bash", str(SCRIPTS / "backup.sh")], {**env, "BACKUP_STAMP": "20250103T000000Z"},
                tmp_path)  # fmt: skip
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_restore_refuses_a_corrupt_backup(make_database: Callable[[], str], tmp_path: Path) -> None:
    env = app_env(tmp_path, libpq_url(make_database()), BACKUP_DIR=str(tmp_path / "b"),
                  BACKUP_STAMP="s1")  # fmt: skip
    run_ok(["bash", str(SCRIPTS / "backup.sh")], env, tmp_path)
    with (tmp_path / "b" / "backtestdb-s1" / "database.dump").open("ab") as dump:
        dump.write(b"tampered")
    result = run(["bash", str(SCRIPTS / "restore.sh"), str(tmp_path / "b" / "backtestdb-s1")],
                 env, tmp_path)  # fmt: skip
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr


def test_scripts_refuse_bad_input(tmp_path: Path) -> None:
    env = app_env(tmp_path, f"sqlite:///{tmp_path}/db.sqlite3", BACKUP_DIR=str(tmp_path / "b"))
    backup = run(["bash", str(SCRIPTS / "backup.sh")], env, tmp_path)
    assert backup.returncode == 1
    assert "backup.sh backs up PostgreSQL" in backup.stderr
    restore = run(["bash", str(SCRIPTS / "restore.sh"), "nope"], env, tmp_path)
    assert restore.returncode == 1
    assert "no backup 'nope'" in restore.stderr
    usage = run(["bash", str(SCRIPTS / "restore.sh")], env, tmp_path)
    assert usage.returncode == 1
    assert "usage:" in usage.stderr
