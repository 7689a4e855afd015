"""Parsers for cTrader backtest exports: history CSV, JSON/HTML reports, parameter files,
and the conversions of their values (`values`).

Pure: parsers only read and map names; every value stays as written until
`ingest.validation`. Imports nothing of backtestdb but its own records and `errors`.
"""

from __future__ import annotations

from backtestdb.errors import InputError
from backtestdb.parsing.fields import decode_text
from backtestdb.parsing.history_csv import parse_history_csv
from backtestdb.parsing.parameters import Chart, chart_of, parse_parameters
from backtestdb.parsing.records import Report
from backtestdb.parsing.report_html import parse_report_html, report_from_html_text
from backtestdb.parsing.report_json import parse_report_json, report_from_json_text

__all__ = [
    "Chart",
    "chart_of",
    "parse_history_csv",
    "parse_parameters",
    "parse_report",
    "parse_report_html",
    "parse_report_json",
]


def parse_report(data: bytes, file: str) -> Report:
    """Parse a JSON or HTML report, whichever `data` is (file names can lie)."""
    if not data.strip():
        raise InputError(file, "file is empty")
    text = decode_text(data, file, what="cTrader report")
    start = text.lstrip()[:1]
    if start == "{":
        return report_from_json_text(text, file)
    if start == "<":
        return report_from_html_text(text, file)
    raise InputError(file, "not a cTrader report (expected JSON or HTML)")
