"""`backtestdb stats`, `compare`, `export` and `show --text` / reconciliation."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backtestdb.cli import app
from backtestdb.config import Settings
from tests.analytics.conftest import ingest_and_refresh
from tests.conftest import BASIC

runner = CliRunner()


def test_stats_compare_export_show(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    first, _ = ingest_and_refresh(factory, settings, BASIC / "report.json")
    second, _ = ingest_and_refresh(factory, settings, csv=BASIC / "history.csv")
    one, two = str(first.id), str(second.id)

    result = runner.invoke(app, ["stats", one, "--by", "year", "--json"])
    assert result.exit_code == 0, result.output
    [year] = json.loads(result.stdout)
    assert year["key"] == "2024"
    assert year["net_profit"] == 452.42
    assert year["trades"] == 200
    table = runner.invoke(app, ["stats", one, "--by", "weekday"])
    assert table.exit_code == 0
    assert "Friday" in table.stdout
    assert runner.invoke(app, ["stats", one, "--by", "minute"]).exit_code == 2

    result = runner.invoke(app, ["compare", one, two, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    net = next(m for m in body["metrics"] if m["metric"] == "net_profit")
    assert net["values"] == {one: 452.42, two: 452.42}
    assert net["best"] == [one, two]
    assert len(body["parameters"]) == 6
    assert runner.invoke(app, ["compare", one]).exit_code == 1
    assert "*" in runner.invoke(app, ["compare", one, two]).stdout

    out = tmp_path / "trades.csv"
    assert runner.invoke(app, ["export", one, "--format", "csv", "-o", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 200
    assert rows[-1]["balance_after"] == "10452.42"
    parquet = tmp_path / "trades.parquet"
    result = runner.invoke(app, ["export", one, "--format", "parquet", "-o", str(parquet)])
    assert result.exit_code == 0
    assert pq.read_table(parquet).num_rows == 200
    assert runner.invoke(app, ["export", str(uuid.uuid4()), "-o", str(out)]).exit_code == 1

    result = runner.invoke(app, ["show", one, "--text"])
    assert result.exit_code == 0
    assert "It closed 200 trades" in result.stdout
    result = runner.invoke(app, ["show", one])
    assert "Reconciliation: reconciled" in result.stdout
    shown = json.loads(runner.invoke(app, ["show", one, "--json"]).stdout)
    assert shown["reconciliation"]["status"] == "reconciled"
    assert "no report" in runner.invoke(app, ["show", two]).stdout
