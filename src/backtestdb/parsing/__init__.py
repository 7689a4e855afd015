"""Parsers for cTrader backtest exports: history CSV, JSON/HTML reports, parameter files,
and the conversions of their values (`values`).

Pure: parsers only read and map names; every value stays as written until
`ingest.validation`. Imports nothing of backtestdb but its own records and `errors`.
"""

from __future__ import annotations

from backtestdb.parsing.history_csv import parse_history_csv
from backtestdb.parsing.parameters import Chart, chart_of, parse_parameters
from backtestdb.parsing.report_file import (
    parse_report,
    parse_report_file,
    parse_report_html,
    parse_report_json,
)

__all__ = [
    "Chart",
    "chart_of",
    "parse_history_csv",
    "parse_parameters",
    "parse_report",
    "parse_report_file",
    "parse_report_html",
    "parse_report_json",
]
