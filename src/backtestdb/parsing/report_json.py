"""The cTrader JSON report (`ctrader-cli backtest --report-json`), also embedded in HTML."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtestdb.errors import InputError

# A module import, not names: values imports backtestdb.parsing, which imports us.
from backtestdb.parsing import values
from backtestdb.parsing.fields import (
    JSON_FIELDS,
    JSON_LOOKUP,
    decode_text,
    load_json,
    missing_required,
    normalize_name,
)
from backtestdb.parsing.parameters import parameters_from_json
from backtestdb.parsing.records import RawTrade, Report, ReportSummary, Scalar, TradeSource

#: Top-level keys that are rows or parameters, not statistics (normalized names).
#: What the backtests columns hold: money NUMERIC(18,2) (the bound trades use too),
#: percents NUMERIC(7,2), counts INTEGER.
MONEY_LIMIT = Decimal("1e15")
PERCENT_LIMIT = Decimal("1e5")
COUNT_LIMIT = Decimal(2**31)
_NOT_REPORTED = frozenset({"history", "positions", "orders", "entries", "parameters", "points"})


class _Keys:
    """Case- and punctuation-insensitive view of one JSON object."""

    def __init__(self, obj: dict[str, Any], path: str) -> None:
        self.obj = obj
        self.path = path
        self.keys = {normalize_name(key): key for key in obj}

    def key(self, *names: str) -> str | None:
        for name in names:
            key = self.keys.get(normalize_name(name))
            if key is not None:
                return key
        return None

    def get(self, *names: str) -> Any:
        key = self.key(*names)
        return None if key is None else self.obj[key]

    def column(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key


def parse_report_json(data: bytes, file: str) -> Report:
    if not data.strip():
        raise InputError(file, "file is empty")
    return report_from_json_text(decode_text(data, file, what="JSON report"), file)


def report_from_json_text(text: str, file: str) -> Report:
    obj = load_json(text, file)
    if not isinstance(obj, dict):
        raise InputError(file, f"expected a JSON object, found {type(obj).__name__}")
    return report_from_object(obj, file)


def report_from_object(obj: dict[str, Any], file: str) -> Report:
    """Build a Report from the decoded JSON; the trades stay lazy."""
    top = _Keys(obj, "")
    items, where = _history_items(top, file)
    parameters_key = top.key("parameters")
    parameters = (
        parameters_from_json(obj[parameters_key], file, where=parameters_key)
        if parameters_key is not None and obj[parameters_key] is not None
        else []
    )
    return Report(
        file=file,
        summary=_summary(top, file),
        parameters=parameters,
        trades=_trade_source(items, file, where),
    )


def _history_items(top: _Keys, file: str) -> tuple[list[Any], str]:
    history_key = top.key("history")
    if history_key is not None:
        history = top.obj[history_key]
        if isinstance(history, list):
            return history, history_key
        if isinstance(history, dict):
            inner = _Keys(history, history_key)
            items_key = inner.key("items")
            if items_key is not None and isinstance(history[items_key], list):
                return history[items_key], inner.column(items_key)
    trades_key = top.key("trades")
    if trades_key is not None and isinstance(top.obj[trades_key], list):
        return top.obj[trades_key], trades_key
    raise InputError(
        file,
        "no trade list: 'history.items' not found (looked for: history.items, history, trades)",
        column="history.items",
    )


def _trade_source(items: list[Any], file: str, where: str) -> TradeSource:
    # One pass over the keys (not the values) up front, so `columns` is complete before the
    # first row is validated and a key missing from every item fails fast.
    key_fields: dict[str, str | None] = {}
    columns: dict[str, str] = {}
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InputError(file, "trade is not a JSON object", row=row, column=where)
        for key in item:
            if key not in key_fields:
                canonical = JSON_LOOKUP.get(normalize_name(key))
                key_fields[key] = canonical
                if canonical is not None:
                    columns.setdefault(canonical, key)
    if items:
        missing_required(columns, JSON_FIELDS, file, kind="key", where=f" in {where}")
    return TradeSource(file=file, rows=_rows(items, key_fields), columns=columns)


def _rows(items: list[Any], key_fields: dict[str, str | None]) -> Iterator[RawTrade]:
    for row, item in enumerate(items, start=1):
        fields: dict[str, Scalar] = {}
        extra: dict[str, Scalar] = {}
        for key, value in item.items():
            canonical = key_fields[key]
            scalar = _scalar(value)
            if canonical is None or canonical in fields:
                extra[key] = scalar
            else:
                fields[canonical] = scalar
        yield RawTrade(row=row, fields=fields, extra=extra)


def _scalar(value: Any) -> Scalar:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, ensure_ascii=False)


def _summary(top: _Keys, file: str) -> ReportSummary:
    main = _section(top, "main", file)
    stats = _section(top, "tradeStatistics", file)
    equity = _section(top, "equity", file)

    def number(section: _Keys, *names: str, limit: Decimal = MONEY_LIMIT) -> Decimal | None:
        key = section.key(*names)
        if key is None:
            return None
        value = section.obj[key]
        if isinstance(value, dict):  # tradeStatistics metrics are {all, long, short}
            value = _Keys(value, "").get("all")
            key = f"{key}.all"
        return _decimal(value, file, section.column(key), limit)

    testing = _section(main, "testingPeriod", file)
    total = number(stats, "totalTrades", limit=COUNT_LIMIT)
    if total is not None and total != total.to_integral_value():
        raise InputError(file, "expected a whole number", column="tradeStatistics.totalTrades.all")
    symbol = _limited_text(main, "symbol", 64, file)
    used = top.get("usedSymbols")
    symbols = [s for s in used if isinstance(s, str)] if isinstance(used, list) else []
    if not symbols and isinstance(symbol, str):
        symbols = [symbol]
    period = _limited_text(main, "period", 32, file)
    net_profit = number(main, "netProfit")

    reported: dict[str, Any] = {}
    for key, value in top.obj.items():
        normalized = normalize_name(key)
        if normalized == "equity" and isinstance(value, dict):
            reported[key] = {k: v for k, v in value.items() if normalize_name(k) != "points"}
        elif normalized not in _NOT_REPORTED:
            reported[key] = value

    return ReportSummary(
        symbol=symbol if isinstance(symbol, str) else None,
        symbols=symbols,
        period=period if isinstance(period, str) else None,
        starting_capital=number(main, "startingCapital", "initialBalance"),
        ending_balance=number(main, "endingBalance", "finalBalance"),
        ending_equity=number(main, "endingEquity", "finalEquity"),
        net_profit=net_profit if net_profit is not None else number(stats, "netProfit"),
        total_trades=None if total is None else int(total),
        testing_start=_time(testing, "startDate", file),
        testing_end=_time(testing, "endDate", file),
        max_balance_drawdown=number(equity, "maxBalanceDrawdownAbsolute", "maxBalanceDrawdown"),
        max_balance_drawdown_percent=number(
            equity, "maxBalanceDrawdownPercent", limit=PERCENT_LIMIT
        ),
        max_equity_drawdown=number(equity, "maxEquityDrawdownAbsolute", "maxEquityDrawdown"),
        max_equity_drawdown_percent=number(equity, "maxEquityDrawdownPercent", limit=PERCENT_LIMIT),
        commissions=number(stats, "commissions", "commission"),
        swaps=number(stats, "swaps", "swap"),
        reported=reported,
    )


def _section(parent: _Keys, name: str, file: str) -> _Keys:
    key = parent.key(name)
    if key is None or parent.obj[key] is None:
        return _Keys({}, parent.column(name))
    value = parent.obj[key]
    if not isinstance(value, dict):
        raise InputError(
            file, "expected a JSON object", column=parent.column(key), value=_short(value)
        )
    return _Keys(value, parent.column(key))


def _limited_text(section: _Keys, name: str, limit: int, file: str) -> Any:
    """A summary text as found; longer than its column is an error, not a truncation."""
    key = section.key(name)
    value = None if key is None else section.obj[key]
    if isinstance(value, str) and len(value) > limit:
        raise InputError(
            file, f"longer than {limit} characters", column=section.column(name),
            value=_short(value),
        )  # fmt: skip
    return value


def _decimal(value: Any, file: str, column: str, limit: Decimal = MONEY_LIMIT) -> Decimal | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("expected a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("not a finite number")
        number = values.to_decimal(value, decimal_comma=False)
        if not number.is_finite() or abs(number) >= limit:
            raise ValueError(f"must be below {limit:.0e} in absolute value")
        return number
    except ValueError as exc:
        raise InputError(file, str(exc), column=column, value=_short(value)) from exc


def _time(section: _Keys, name: str, file: str) -> datetime | None:
    key = section.key(name)
    if key is None or section.obj[key] is None:
        return None
    value = section.obj[key]
    try:
        if not isinstance(value, int | float | str):
            raise ValueError("expected epoch milliseconds or a date")
        return values.to_utc(value)
    except ValueError as exc:
        raise InputError(file, str(exc), column=section.column(key), value=_short(value)) from exc


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
