"""Regression tests for parser bugs found by the fuzzing (docs/reliability.md, "Bugs").

The parsers are the lead's (parsing/, validation.py): these tests fail until the fixes
reported with them land. Each input below made PostgreSQL (or Python) fail with an
internal error, a 500 and a job reason like "internal error: DataError", instead of a 422
naming the file, the row and the column.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backtestdb.errors import InputError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_history_csv, parse_parameters, parse_report
from tests.conftest import BASIC
from tests.reliability.parser_oracles import run_parameters, run_report

REPORT: dict[str, Any] = json.loads((BASIC / "report.json").read_text())
DEEP = 100_000


def report_with(change: str, value: Any) -> bytes:
    """The sample report with one value replaced; `change` is a dotted path."""
    report = json.loads(json.dumps(REPORT))
    *parents, last = change.split(".")
    target: Any = report
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[int(last) if isinstance(target, list) else last] = value
    return json.dumps(report).encode()


@pytest.mark.parametrize(
    ("parse", "data"),
    [(parse_report, b'{"roi": ' + b"[" * DEEP + b"]" * DEEP + b"}"),
     (parse_report, b'<script id="backtesting-report">{"a": ' + b"[" * DEEP + b"</script>"),
     (parse_parameters, b"[" * DEEP),
     (parse_report, b'{"roi": ' + b"1" * 5000 + b"}"),
     (parse_parameters, b'{"Period": ' + b"1" * 5000 + b"}")],
    ids=["report", "html", "parameters", "report-big-int", "parameters-big-int"],
)  # fmt: skip
def test_json_nested_too_deep_or_int_too_long_is_an_input_error(parse: Any, data: bytes) -> None:
    # Was RecursionError / ValueError ("Exceeds the limit (4300 digits)") out of json.loads.
    with pytest.raises(InputError, match=r"input\.json"):
        parse(data, "input.json")


@pytest.mark.parametrize(
    "path",
    ["history.items.0.comment", "history.items.0.symbol", "history.items.0.label",
     "history.items.0.someExtraKey", "roi", "main.symbol", "usedSymbols.0", "parameters.0.value"],
)  # fmt: skip
@pytest.mark.parametrize("text", ["a\u0000b", "a\ud800b"], ids=["nul", "lone-surrogate"])
def test_report_text_with_nul_or_lone_surrogate_is_an_input_error(path: str, text: str) -> None:
    # JSON escapes (\u0000, \ud800) decode to text PostgreSQL refuses (text and jsonb).
    result = run_report(report_with(path, text))
    assert isinstance(result, InputError), result


@pytest.mark.parametrize(
    ("path", "value"),
    [("main.startingCapital", "1e20"), ("main.endingEquity", 1e19),
     ("equity.maxEquityDrawdownPercent", 123456789), ("tradeStatistics.commissions", "1e999999"),
     ("main.symbol", "S" * 100), ("main.period", "p" * 100),
     ("tradeStatistics.totalTrades", 2**40)],
)  # fmt: skip
def test_report_summary_beyond_its_column_is_an_input_error(path: str, value: Any) -> None:
    # Was NumericValueOutOfRange / StringDataRightTruncation from PostgreSQL.
    result = run_report(report_with(path, value))
    assert isinstance(result, InputError), result
    assert result.errors[0].column is not None


def test_report_nan_in_statistics_is_stored_as_text() -> None:
    # json.loads turns NaN/Infinity into floats that jsonb refuses; kept as text, not lost.
    data = (BASIC / "report.json").read_bytes().replace(b'"roi":', b'"roi": NaN, "x":', 1)
    result = run_report(data)
    assert not isinstance(result, InputError), result


@pytest.mark.parametrize(
    "data",
    [b'{"' + b"A" * 300 + b'": 1}', b'{"Source": "a\\u0000b"}', b'{"Source": "\\udc00"}',
     b'[{"name": "A", "value": 1, "group": "' + b"g" * 300 + b'"}]', b"A" * 300 + b"=1"],
    ids=["long-name", "nul-value", "lone-surrogate", "long-group", "long-text-name"],
)  # fmt: skip
def test_parameters_that_do_not_fit_are_input_errors(data: bytes) -> None:
    result = run_parameters(data)
    assert isinstance(result, InputError), result


def test_history_csv_nul_after_the_first_64k_is_a_row_error() -> None:
    # Only the first 64 KiB are checked for NUL; a later one reached COPY
    # ("invalid byte sequence for encoding UTF8: 0x00").
    lines = (BASIC / "history.csv").read_text().splitlines()
    rows = [lines[1].replace("2,", f"{n},", 1) for n in range(1, 1001)]
    rows[-1] = rows[-1].replace("MACross", "MAC\x00ross")
    data = "\n".join([lines[0], *rows]).encode()
    assert len(data) > 64 * 1024
    with pytest.raises(InputError) as caught:
        list(TradeValidator(parse_history_csv(io.BytesIO(data), "h.csv")))
    assert caught.value.errors[0].row == 1000


@pytest.mark.parametrize(
    ("path", "value"),
    [("history.items.0.comment", "a\u0000b"), ("main.startingCapital", "1e20"),
     ("parameters.0.value", "\ud800")],
)  # fmt: skip
def test_hostile_report_upload_answers_422_and_stores_nothing(
    client: TestClient, tmp_path: Path, path: str, value: Any
) -> None:
    data = report_with(path, value)
    response = client.post(
        "/api/v1/ingest", files={"json_file": ("hostile.json", data)}, data={"name": "h"}
    )
    assert response.status_code == 422, response.text
    assert "hostile.json" in response.json()["detail"]
    job = client.get(f"/api/v1/jobs/{response.json()['job_id']}").json()
    assert job["status"] == "failed"
    assert "hostile.json" in job["error_message"]
    assert client.get("/api/v1/backtests").json()["total"] == 0


def test_epoch_time_beyond_float_range_is_an_input_or_row_error() -> None:
    # validation._from_epoch_ms called math.isfinite on a 400-digit int: OverflowError.
    result = run_report(report_with("main.testingPeriod.startDate", 10**400))
    assert isinstance(result, InputError), result
    report = parse_report(report_with("history.items.0.entryTime", 10**400), "r.json")
    validator = TradeValidator(report.trades)
    assert len(list(validator)) == 199
    assert [(e.row, e.column) for e in validator.errors] == [(1, "entryTime")]
