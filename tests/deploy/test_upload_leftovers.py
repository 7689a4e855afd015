"""Upload leftovers under DATA_DIR/tmp (a server killed mid-request leaves its folder): past
STALE_UPLOAD_AGE they go at start-up and with `maintenance clean-jobs --yes`; an upload
written to lately (a live request's) stays."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from backtestdb.cli import app
from backtestdb.config import Settings
from backtestdb.maintenance.upkeep import STALE_UPLOAD_AGE, remove_stale_uploads, stale_uploads
from tests.api.conftest import make_client

__all__ = ["make_client"]  # the API tests' client fixture, for the start-up test
runner = CliRunner()


def backdate(path: Path, age: timedelta, *, tree: bool = True) -> None:
    when = time.time() - age.total_seconds()
    for item in [*(path.rglob("*") if tree and path.is_dir() else []), path]:
        os.utime(item, (when, when))


def make_leftovers(folder: Path) -> dict[str, Path]:
    """Two stale entries (a killed request's upload folder, a stray file) and three live."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in
             ("upload-old", "stray.csv", "upload-arriving", "upload-young", "upload-new")}  # fmt: skip
    for name, path in paths.items():
        if name.endswith(".csv"):
            path.write_bytes(b"Symbol,Net\n")
        else:
            path.mkdir()
            (path / "0").write_bytes(b"x" * 1000)
    backdate(paths["upload-old"], STALE_UPLOAD_AGE * 2)
    backdate(paths["stray.csv"], STALE_UPLOAD_AGE + timedelta(minutes=1))
    # Still arriving: the folder was made two days ago, its file was written to just now.
    backdate(paths["upload-arriving"], STALE_UPLOAD_AGE * 2, tree=False)
    backdate(paths["upload-young"], STALE_UPLOAD_AGE - timedelta(hours=1))
    return paths


def names(folder: Path) -> set[str]:
    return {entry.name for entry in folder.iterdir()}


def test_leftovers_untouched_for_a_day_go_and_live_uploads_stay(tmp_path: Path) -> None:
    paths = make_leftovers(tmp_path / "tmp")
    assert timedelta(days=1) == STALE_UPLOAD_AGE
    assert stale_uploads(tmp_path / "tmp") == [paths["stray.csv"], paths["upload-old"]]
    assert remove_stale_uploads(tmp_path / "tmp") == 2
    assert names(tmp_path / "tmp") == {"upload-arriving", "upload-young", "upload-new"}
    assert remove_stale_uploads(tmp_path / "tmp") == 0
    assert remove_stale_uploads(tmp_path / "missing") == 0


def clean_jobs(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["maintenance", "clean-jobs", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_clean_jobs_removes_the_upload_leftovers(settings: Settings) -> None:
    make_leftovers(settings.upload_tmp_dir)
    assert clean_jobs() == {
        "older_than": "30d", "would_delete": 0, "uploads_would_remove": 2, "dry_run": True}  # fmt: skip
    assert len(names(settings.upload_tmp_dir)) == 5
    assert clean_jobs("--yes") == {
        "older_than": "30d", "deleted": 0, "uploads_removed": 2, "dry_run": False}  # fmt: skip
    assert names(settings.upload_tmp_dir) == {"upload-arriving", "upload-young", "upload-new"}


def test_the_server_removes_the_upload_leftovers_at_start_up(
    settings: Settings, make_client: Callable[..., TestClient]
) -> None:
    make_leftovers(settings.upload_tmp_dir)
    client = make_client()  # entering it runs the lifespan's start-up
    assert client.get("/health").status_code == 200
    assert names(settings.upload_tmp_dir) == {"upload-arriving", "upload-young", "upload-new"}
