"""The same ingest through the CLI and through the API stores identical rows."""

from __future__ import annotations

import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from backtestdb import models
from backtestdb.cli import app
from tests.api.conftest import ingest
from tests.conftest import BASIC

IGNORED = {"id", "backtest_id", "created_at", "updated_at", "source_files", "content_hash"}


def stored(engine: Engine, backtest_id: str) -> dict[str, object]:
    key = uuid.UUID(backtest_id)
    with engine.connect() as connection:
        summary = connection.execute(
            select(models.Backtest.__table__).where(models.Backtest.id == key)
        ).one()
        tables = {
            table.name: [
                tuple(v for k, v in row._mapping.items() if k not in IGNORED)
                for row in connection.execute(
                    select(table).where(table.c.backtest_id == key).order_by(*table.primary_key)
                )
            ]
            for table in (models.Trade.__table__, models.Parameter.__table__,
                          models.DailySummary.__table__)
        }  # fmt: skip
    return {
        "summary": {k: v for k, v in summary._mapping.items() if k not in IGNORED},
        **tables,
    }


def test_cli_and_api_store_identical_rows(client: TestClient, engine: Engine) -> None:
    files = {"json_file": BASIC / "report.json", "csv_file": BASIC / "history.csv"}
    by_api = ingest(client, {"name": "same", "initial_balance": "10000"}, **files).json()
    result = CliRunner().invoke(
        app,
        ["ingest", str(BASIC / "report.json"), "--csv", str(BASIC / "history.csv"),
         "--name", "same", "--initial-balance", "10000", "--force", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    by_cli = json.loads(result.stdout)
    assert by_cli["backtest_id"] != by_api["backtest_id"]
    api_rows, cli_rows = (
        stored(engine, by_api["backtest_id"]),
        stored(engine, by_cli["backtest_id"]),
    )
    assert len(api_rows["trades"]) == 200
    assert api_rows == cli_rows
