"""Parameter files: flat JSON, .cbotset, JSON list and key=value text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtestdb.errors import InputError
from backtestdb.parsing import Chart, chart_of, parse_parameters, parse_report_json

DATA = Path(__file__).resolve().parent.parent / "data" / "basic"
EXPECTED = [
    ("FastPeriod", "9", "int"),
    ("SlowPeriod", "21", "int"),
    ("Volume", "10000", "int"),
    ("StopLossPips", "20", "int"),
    ("UseTrailing", "true", "bool"),
    ("Source", "Close", "string"),
]
TEXT_FORM = b"""# MACross settings
; exported by hand
// another comment style

FastPeriod=9
SlowPeriod = 21
Volume= 10000
StopLossPips =20
UseTrailing=TRUE
Source="Close"
"""


def triples(data: bytes, file: str) -> list[tuple[str, str | None, str]]:
    return [(p.name, p.value, p.value_type) for p in parse_parameters(data, file)]


@pytest.mark.parametrize("name", ["parameters.json", "parameters.cbotset"])
def test_sample_files(name: str) -> None:
    assert triples((DATA / name).read_bytes(), name) == EXPECTED


def test_text_form() -> None:
    assert triples(TEXT_FORM, "params.txt") == EXPECTED
    assert triples(TEXT_FORM.replace(b"\n", b"\r\n"), "params.txt") == EXPECTED


def test_report_parameters_match() -> None:
    report = parse_report_json((DATA / "report.json").read_bytes(), "report.json")
    assert [(p.name, p.value, p.value_type) for p in report.parameters] == EXPECTED


def test_json_list_form() -> None:
    data = json.dumps(
        [
            {"name": "FastPeriod", "value": 9, "group": "MA"},
            {"displayName": "Slow Period", "value": 2.5},
            {"PropertyName": "Mode", "Value": None},
        ]
    ).encode()
    params = parse_parameters(data, "p.json")
    assert [(p.name, p.value, p.value_type, p.group) for p in params] == [
        ("FastPeriod", "9", "int", "MA"),
        ("Slow Period", "2.5", "float", None),
        ("Mode", None, "null", None),
    ]
    assert params[1].display_name == "Slow Period"


def test_value_types() -> None:
    data = json.dumps(
        {"a": 1.0, "b": False, "c": None, "d": [1, 2], "e": {"x": 1}, "f": "9", "g": -3}
    ).encode()
    assert triples(data, "p.json") == [
        ("a", "1.0", "float"),
        ("b", "false", "bool"),
        ("c", None, "null"),
        ("d", "[1, 2]", "json"),
        ("e", '{"x": 1}', "json"),
        ("f", "9", "string"),
        ("g", "-3", "int"),
    ]


def test_text_value_inference() -> None:
    data = b"a=1.5\nb=-2\nc=false\nd=hello world\ne='7'\nf=\ng=1e3\nh = x=y\n[Section]\n"
    assert triples(data, "p.txt") == [
        ("a", "1.5", "float"),
        ("b", "-2", "int"),
        ("c", "false", "bool"),
        ("d", "hello world", "string"),
        ("e", "7", "string"),
        ("f", "", "string"),
        ("g", "1e3", "float"),
        ("h", "x=y", "string"),
    ]


def test_cbotset_keys_are_case_insensitive_and_chart_is_ignored() -> None:
    data = b'{"chart": {"symbol": "EURUSD"}, "PARAMETERS": {"X": 1}}'
    assert triples(data, "p.cbotset") == [("X", "1", "int")]


def test_text_line_without_equals_names_the_row() -> None:
    with pytest.raises(InputError) as info:
        parse_parameters(b"# header\nFastPeriod=9\nSlowPeriod 21\n", "params.txt")
    error = info.value.errors[0]
    assert (error.file, error.row, error.message) == (
        "params.txt",
        3,
        "expected a name=value line",
    )


def test_duplicate_text_parameter() -> None:
    with pytest.raises(InputError) as info:
        parse_parameters(b"a=1\nb=2\na=3\n", "params.txt")
    assert info.value.errors[0].row == 3
    assert "first in row 1" in info.value.errors[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b" \n\t", "file is empty"),
        (b'{"FastPeriod": 9,', "invalid JSON at line 1, column 18: Expecting property name"),
        (bytes(range(256)) * 4, "not a parameters file (binary content)"),
        (b"[1, 2]", "parameter is not a JSON object"),
        (b'[{"value": 1}]', "parameter has no name (looked for: propertyName, name, displayName)"),
        (b"5", "expected a name=value line"),
    ],
)
def test_rejects(data: bytes, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_parameters(data, "p")
    assert info.value.errors[0].message.startswith(message)


@pytest.mark.parametrize(
    ("data", "chart"),
    [
        ((DATA / "parameters.cbotset").read_bytes(), Chart("EURUSD", "h1")),
        (
            b'{"Chart": {"Symbol": "NAS100.cash", "Period": "m1"}, "Parameters": {"A": 1}}',
            Chart("NAS100.cash", "m1"),
        ),
        (b'{"chart": {"symbol": " US30.cash ", "TimeFrame": "h4"}}', Chart("US30.cash", "h4")),
        (b'{"CHART": {"SYMBOL": "XAUUSD", "Timeframe": "d1"}}', Chart("XAUUSD", "d1")),
        (b'{"Chart": {"Symbol": "EURUSD"}, "Parameters": {}}', Chart("EURUSD", None)),
        (b'{"Chart": {"Symbol": "", "Period": null}}', Chart(None, None)),
        (b'{"Chart": null, "Parameters": {}}', Chart()),
        ((DATA / "parameters.json").read_bytes(), Chart()),
        (b"[]", Chart()),
        (TEXT_FORM, Chart()),
        (b"", Chart()),
    ],
)
def test_chart_block(data: bytes, chart: Chart) -> None:
    assert chart_of(data, "p.cbotset") == chart


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            b'{"Chart": {"Symbol": 5}}',
            "p.cbotset, column 'Chart.Symbol': expected text, such as \"EURUSD\" (value '5')",
        ),
        (
            b'{"Chart": {"Period": ["m1"]}}',
            "p.cbotset, column 'Chart.Period': expected text, such as \"h1\" (value '[\"m1\"]')",
        ),
        (
            b'{"Chart": {"Period": "' + b"m" * 33 + b'"}}',
            f"p.cbotset, column 'Chart.Period': longer than 32 characters (value '{'m' * 33}')",
        ),
        (b'{"Chart": ', "p.cbotset: invalid JSON at line 1, column 10: Expecting value"),
    ],
)
def test_chart_block_rejects(data: bytes, error: str) -> None:
    with pytest.raises(InputError) as info:
        chart_of(data, "p.cbotset")
    assert str(info.value) == error
