"""The CLI as a user runs it: exit codes, messages naming file/row/column, nothing half-written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from backtestdb.cli import app
from backtestdb.config import Settings
from tests.conftest import BASIC, row_counts

runner = CliRunner()
HEADER, *ROWS = list(csv.reader(io.StringIO((BASIC / "history.csv").read_text())))


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue())
    return path


def mutated_csv(tmp_path: Path, row: int, column: str, value: str) -> Path:
    """The basic History CSV with one cell changed; `row` is the 1-based data row."""
    rows = [list(r) for r in ROWS]
    rows[row - 1][HEADER.index(column)] = value
    return write_rows(tmp_path / "history.csv", HEADER, rows)


def invoke(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_ingest_list_show_delete(settings: Settings) -> None:
    code, out = invoke(
        "ingest", str(BASIC / "report.json"), "--params", str(BASIC / "parameters.cbotset")
    )
    assert code == 0
    assert out["message"] == "Successfully ingested 200 trades"
    backtest = out["backtest"]
    assert isinstance(backtest, dict)
    assert backtest["net_profit"] == 452.42
    assert backtest["win_rate"] == 54.5
    code, listing = invoke("list")
    assert code == 0
    assert listing["total"] == 1
    code, detail = invoke("show", str(out["backtest_id"]))
    assert code == 0
    params = {p["name"]: (p["value"], p["value_type"], p["group"]) for p in detail["parameters"]}  # type: ignore[attr-defined,index]
    assert params["FastPeriod"] == ("9", "int", "Moving Averages")
    assert params["UseTrailing"] == ("true", "bool", "Risk")
    code, _ = invoke("delete", str(out["backtest_id"]))
    assert code == 0
    code, missing = invoke("show", str(out["backtest_id"]))
    assert code == 1
    assert "not found" in str(missing["detail"])


def test_human_output_prints_summary_table(settings: Settings) -> None:
    result = runner.invoke(app, ["ingest", str(BASIC / "report.json")])
    assert result.exit_code == 0, result.output
    assert "Successfully ingested 200 trades" in result.output
    assert "452.42" in result.output


BAD_INPUTS = {
    "non-numeric price": ("csv", lambda t: mutated_csv(t, 3, "Entry Price", "abc"), 3, "Entry Price"),
    "missing close time": ("csv", lambda t: mutated_csv(t, 5, "Closing Time (UTC+0)", ""), 5, "Closing Time (UTC+0)"),
    "close before open": ("csv", lambda t: mutated_csv(t, 7, "Closing Time (UTC+0)", "01/01/2024 00:00:00.000"), 7, "Closing Time (UTC+0)"),
    "unknown direction": ("csv", lambda t: mutated_csv(t, 2, "Opening Direction", "Sideways"), 2, "Opening Direction"),
    "empty symbol": ("csv", lambda t: mutated_csv(t, 4, "Symbol", ""), 4, "Symbol"),
    "duplicated deal id": ("csv", lambda t: mutated_csv(t, 6, "Deal ID", "2"), 6, "Deal ID"),
    "missing required column": ("csv", lambda t: write_rows(t / "history.csv", HEADER[:14] + HEADER[15:], [r[:14] + r[15:] for r in ROWS]), None, None),
    "empty file": ("csv", lambda t: _write(t / "history.csv", b""), None, None),
    "binary file": ("report", lambda t: _write(t / "report.json", bytes(range(256)) * 4), None, None),
    "truncated JSON": ("report", lambda t: _write(t / "report.json", (BASIC / "report.json").read_bytes()[:5000]), None, None),
    "HTML without report": ("report", lambda t: _write(t / "report.html", b"<html><body><p>no data</p></body></html>"), None, None),
}  # fmt: skip


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_cleanly(
    case: str, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    assert invoke("ingest", str(BASIC / "report.json"), "--name", "kept")[0] == 0
    before = row_counts(engine)
    kind, make, row, column = BAD_INPUTS[case]
    bad = make(tmp_path)
    args = (
        ["ingest", str(BASIC / "report.json"), "--csv", str(bad)]
        if kind == "csv"
        else ["ingest", str(bad)]
    )
    code, out = invoke(*args)
    assert code == 1
    errors = out["errors"]
    assert isinstance(errors, list)
    assert errors, out
    assert errors[0]["file"] == bad.name
    assert (errors[0]["row"], errors[0]["column"]) == (row, column)
    after = row_counts(engine)
    assert after == {**before, "ingestion_jobs": before["ingestion_jobs"] + 1}
    job_code, job = invoke("jobs", str(out["job_id"]))
    assert job_code == 0
    assert job["status"] == "failed"


def test_duplicate_deal_id_names_first_row(settings: Settings, tmp_path: Path) -> None:
    code, out = invoke("ingest", "--csv", str(mutated_csv(tmp_path, 6, "Deal ID", "2")))
    assert code == 1
    assert "row 1" in out["errors"][0]["message"]  # type: ignore[index]


def test_missing_column_lists_names_looked_for(settings: Settings, tmp_path: Path) -> None:
    # Net is one of the four columns a trade needs (symbol, direction, closing time, net).
    bad = write_rows(tmp_path / "h.csv", HEADER[:14] + HEADER[15:], [r[:14] + r[15:] for r in ROWS])
    code, out = invoke("ingest", "--csv", str(bad), "--initial-balance", "10000")
    assert code == 1
    assert "Net Profit" in str(out["detail"])
    assert "profit" in str(out["detail"])


def test_reingest_twice_one_backtest_force_two(settings: Settings, engine: Engine) -> None:
    for _ in range(2):
        assert invoke("ingest", str(BASIC / "report.json"))[0] == 0
    assert row_counts(engine)["backtests"] == 1
    assert invoke("ingest", str(BASIC / "report.json"), "--force")[0] == 0
    assert row_counts(engine)["backtests"] == 2


def test_utc_offset_header_moves_times(settings: Settings, tmp_path: Path) -> None:
    header = [h.replace("(UTC+0)", "(UTC+4)") for h in HEADER]
    path = write_rows(tmp_path / "h.csv", header, ROWS)
    code, _ = invoke("ingest", "--csv", str(path))
    assert code == 0
    from sqlalchemy import text

    from backtestdb.db import get_engine

    with get_engine().connect() as connection:
        first = connection.execute(
            text("SELECT open_time FROM trades WHERE trade_number = 1")
        ).scalar_one()
    # Written 02/01/2024 01:43:50.846 at UTC+4 -> 2024-01-01 21:43:50.846 UTC.
    assert str(first).startswith("2024-01-01 21:43:50.846")


def test_unmigrated_postgres_gives_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backtestdb import db
    from backtestdb.config import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    db.reset_engine()
    try:
        result = runner.invoke(app, ["list"])
    finally:
        get_settings.cache_clear()
        db.reset_engine()
    assert result.exit_code != 0
    assert "Cannot reach the database" in str(result.exception)
