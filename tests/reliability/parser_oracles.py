"""What every parser promises, as checks shared by the hypothesis tests and fuzz/ targets.

A parser either returns typed records that the database can store, or raises a
BacktestdbError naming the file (and the row/column where there is one): never anything
else. "Storable" is checked here, at the parser's edge, because a value the parser lets
through that PostgreSQL then refuses surfaces as an internal error with no file or row.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtestdb.errors import BacktestdbError, RowError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_history_csv, parse_parameters, parse_report
from backtestdb.parsing.records import Parameter, Report, Trade, TradeSource

#: Column limits of the schema (models.py): text length, and |x| below 10**(precision-scale).
TRADE_TEXT = {"deal_id": 64, "symbol": 64, "label": 255, "comment": None}
SUMMARY_TEXT = {"symbol": 64, "period": 32}
SUMMARY_LIMITS = {
    "starting_capital": Decimal("1e16"), "ending_balance": Decimal("1e16"),
    "ending_equity": Decimal("1e16"), "net_profit": Decimal("1e16"),
    "max_balance_drawdown": Decimal("1e16"), "max_equity_drawdown": Decimal("1e16"),
    "max_balance_drawdown_percent": Decimal("1e5"), "max_equity_drawdown_percent": Decimal("1e5"),
    "commissions": Decimal("1e16"), "swaps": Decimal("1e16"),
}  # fmt: skip
PARAMETER_TEXT = {"name": 255, "group": 255, "display_name": 255, "value": None}


class BrokenPromise(AssertionError):
    """A parser broke its contract (the hypothesis tests and fuzz targets report these)."""


def storable_text(value: str, limit: int | None, where: str) -> None:
    # PostgreSQL text and jsonb hold neither NUL nor lone surrogates (not UTF-8).
    if "\x00" in value:
        raise BrokenPromise(f"{where}: NUL character passed through: {value[:40]!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise BrokenPromise(f"{where}: not encodable as UTF-8: {value[:40]!r}") from error
    if limit is not None and len(value) > limit:
        raise BrokenPromise(f"{where}: {len(value)} characters, column holds {limit}")


def storable_json(value: Any, where: str) -> None:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (ValueError, RecursionError) as error:
        raise BrokenPromise(f"{where}: not storable as JSON: {error}") from error
    storable_text(text, None, where)
    if "\\u0000" in text:
        raise BrokenPromise(f"{where}: JSON holds \\u0000, which jsonb refuses")


def check_error(error: BacktestdbError, file: str) -> None:
    if not error.errors:
        # Errors without rows (e.g. "nothing to ingest") are not the parsers' to raise.
        raise BrokenPromise(f"error without a file: {error.message}")
    for row in error.errors:
        check_row_error(row, file)
    if file not in error.message:
        raise BrokenPromise(f"message does not name {file!r}: {error.message}")


def check_row_error(error: RowError, file: str) -> None:
    if error.file != file:
        raise BrokenPromise(f"error names {error.file!r}, not {file!r}")
    if error.row is not None and error.row < 1:
        raise BrokenPromise(f"row {error.row} is not 1-based")


def check_trade(trade: Trade, file: str) -> None:
    where = f"{file} row {trade.row}"
    # The opening time, the prices and the fees may be missing (a file without their
    # column); when there, they must be storable.
    if trade.open_time is not None and (
        not isinstance(trade.open_time, datetime) or trade.open_time.tzinfo is None
    ):
        raise BrokenPromise(f"{where}: open_time not an aware datetime")
    if not isinstance(trade.close_time, datetime) or trade.close_time.tzinfo is None:
        raise BrokenPromise(f"{where}: close_time not an aware datetime")
    if trade.direction not in ("buy", "sell"):
        raise BrokenPromise(f"{where}: direction {trade.direction!r}")
    for name in ("entry_price", "exit_price", "commission", "swap", "profit"):
        value = getattr(trade, name)
        if value is None and name != "profit":
            continue
        if not isinstance(value, Decimal) or not value.is_finite():
            raise BrokenPromise(f"{where}: {name} = {value!r}")
    if trade.quantity_unit is not None:
        storable_text(trade.quantity_unit, 16, f"{where} quantity_unit")
    for name, limit in TRADE_TEXT.items():
        value = getattr(trade, name)
        if value is not None:
            storable_text(value, limit, f"{where} {name}")
    storable_json(trade.extra, f"{where} extra")


def check_trades(source: TradeSource, file: str) -> tuple[list[Trade], TradeValidator]:
    validator = TradeValidator(source, max_errors=50)
    trades = list(validator)
    for trade in trades:
        check_trade(trade, file)
    for error in validator.errors:
        check_row_error(error, file)
        if error.row is None:
            raise BrokenPromise(f"row error without a row: {error}")
    return trades, validator


def check_report_summary(report: Report) -> None:
    summary = report.summary
    for name, limit in SUMMARY_TEXT.items():
        value = getattr(summary, name)
        if value is not None:
            storable_text(value, limit, f"{report.file} summary {name}")
    for name, bound in SUMMARY_LIMITS.items():
        value = getattr(summary, name)
        if value is not None and not (value.is_finite() and abs(value) < bound):
            raise BrokenPromise(f"{report.file} summary {name} = {value} does not fit")
    if summary.total_trades is not None and not 0 <= summary.total_trades < 2**31:
        raise BrokenPromise(f"{report.file} summary total_trades = {summary.total_trades}")
    storable_json(summary.symbols, f"{report.file} symbols")
    storable_json(summary.reported, f"{report.file} reported statistics")


def check_parameters(parameters: list[Parameter], file: str) -> None:
    for parameter in parameters:
        for name, limit in PARAMETER_TEXT.items():
            value = getattr(parameter, name)
            if value is not None:
                storable_text(value, limit, f"{file} parameter {name}")
        if parameter.value_type == "float" and parameter.value is not None:
            float(parameter.value)  # must read back
    names = [p.name for p in parameters]
    if len(names) != len(set(names)):
        raise BrokenPromise(f"{file}: duplicate parameter names {names}")


def run_history_csv(data: bytes, file: str = "history.csv") -> list[Trade] | BacktestdbError:
    """Parse and validate a History CSV; returns the trades or the (checked) error."""
    try:
        trades, _ = check_trades(parse_history_csv(io.BytesIO(data), file), file)
    except BacktestdbError as error:
        check_error(error, file)
        return error
    return trades


def run_report(data: bytes, file: str = "report.json") -> Report | BacktestdbError:
    try:
        report = parse_report(data, file)
        check_report_summary(report)
        check_parameters(report.parameters, file)
        check_trades(report.trades, file)
    except BacktestdbError as error:
        check_error(error, file)
        return error
    return report


def run_parameters(data: bytes, file: str = "parameters.json") -> Any:
    try:
        parameters = parse_parameters(data, file)
        check_parameters(parameters, file)
    except BacktestdbError as error:
        check_error(error, file)
        return error
    return parameters
