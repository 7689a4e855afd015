"""The summary `ctrader-cli backtest` prints on stdout: one flat object of figures.

`{"Equity":10000000, "NetProfit":0, "AverageTrade":-, "ProfitFactor":-, "Fitness":0.5}`
is not JSON: a bare `-` stands for "no value". It is a report without trades. Its keys are
those of cTrader's fitness arguments (Equity, NetProfit, TotalTrades, WinningTrades,
LosingTrades, AverageTrade, ProfitFactor, MaxBalanceDrawdown, MaxEquityDrawdown and their
`…Percentages`, SharpeRatio, SortinoRatio) plus Fitness; every key is kept verbatim.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from decimal import Decimal
from typing import Any

from backtestdb.errors import InputError
from backtestdb.parsing.fields import load_json, normalize_name
from backtestdb.parsing.json_keys import (
    PERCENT_LIMIT,
    Keys,
    limited_text,
    to_count,
    to_number,
    to_ratio,
)
from backtestdb.parsing.records import Report, ReportSummary, TradeSource

#: A JSON string (kept as it is), or a `-` standing alone as the value after a `:`.
_STRING_OR_BARE_DASH = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")|(:\s*)-(?=\s*[,}])')
#: Cheap first look (strings not excluded): a text without it has no bare dash.
_MAYBE_BARE_DASH = re.compile(r":\s*-\s*[,}]")

#: ReportSummary field -> the keys that give it, the first found wins.
_MONEY: dict[str, tuple[str, ...]] = {
    "starting_capital": ("StartingCapital", "InitialBalance"),
    "ending_balance": ("Balance", "EndingBalance"),
    "ending_equity": ("Equity", "EndingEquity"),
    "net_profit": ("NetProfit",),
    "max_balance_drawdown": ("MaxBalanceDrawdown",),
    "max_equity_drawdown": ("MaxEquityDrawdown",),
    "commissions": ("Commissions", "Commission"),
    "swaps": ("Swaps", "Swap"),
}
_PERCENTS: dict[str, tuple[str, ...]] = {
    "max_balance_drawdown_percent": (
        "MaxBalanceDrawdownPercentages", "MaxBalanceDrawdownPercent",
    ),
    "max_equity_drawdown_percent": ("MaxEquityDrawdownPercentages", "MaxEquityDrawdownPercent"),
}  # fmt: skip
_COUNTS: dict[str, tuple[str, ...]] = {
    "total_trades": ("TotalTrades",),
    "winning_trades": ("WinningTrades",),
    "losing_trades": ("LosingTrades",),
}
_OTHERS = ("ProfitFactor", "AverageTrade", "Fitness", "SharpeRatio", "SortinoRatio")
#: A flat object with one of these keys is a CLI summary (normalized names).
_KNOWN = frozenset(
    normalize_name(name)
    for names in (*_MONEY.values(), *_PERCENTS.values(), *_COUNTS.values(), _OTHERS)
    for name in names
)


def may_have_bare_dashes(text: str) -> bool:
    """False when `text` certainly has no bare `-` value (a quick look, strings included)."""
    return _MAYBE_BARE_DASH.search(text) is not None


def loads_with_bare_dashes(text: str, file: str) -> Any:
    """The JSON of `text` read with each bare `-` value as null. A text that is still not
    JSON is an error at its place in `text` (not in the text with the nulls written in)."""
    repaired, nulls = _with_nulls(text)
    try:
        json.loads(repaired, parse_constant=str)
    except json.JSONDecodeError as exc:
        # Each null written before the error moved it 3 characters to the right.
        position = exc.pos - 3 * bisect_left(nulls, exc.pos)
        line = text.count("\n", 0, position) + 1
        column = position - text.rfind("\n", 0, position)
        raise InputError(file, f"invalid JSON at line {line}, column {column}: {exc.msg}") from None
    except (RecursionError, ValueError):
        pass  # load_json says these
    return load_json(repaired, file)


def bare_dashes_as_null(text: str) -> str:
    """`text` with every bare `-` value (`"ProfitFactor":-`) written as null. Strings are
    matched whole first, so a `-` inside one is never touched; `-12.5` stays a number."""
    return _with_nulls(text)[0]


def _with_nulls(text: str) -> tuple[str, list[int]]:
    """`bare_dashes_as_null(text)`, and where each null it wrote starts in it."""
    parts: list[str] = []
    nulls: list[int] = []
    length = last = 0
    for match in _STRING_OR_BARE_DASH.finditer(text):
        if match.group(2) is None:
            continue  # a string
        dash = match.end() - 1
        parts.append(text[last:dash])
        length += dash - last
        nulls.append(length)
        parts.append("null")
        length += 4
        last = dash + 1
    parts.append(text[last:])
    return "".join(parts), nulls


def is_cli_summary(obj: dict[str, Any]) -> bool:
    """A flat object (no nested object or list) with at least one figure the CLI prints."""
    return all(not isinstance(value, dict | list) for value in obj.values()) and any(
        normalize_name(key) in _KNOWN for key in obj
    )


def report_from_cli_summary(obj: dict[str, Any], file: str) -> Report:
    """A summary-only Report: the figures the CLI printed, no parameters, no trades."""
    top = Keys(obj, "")

    def found(names: tuple[str, ...]) -> tuple[Any, str]:
        key = top.key(*names)
        return (None, "") if key is None else (obj[key], key)

    figures: dict[str, Any] = {}
    for name, names in _MONEY.items():
        value, key = found(names)
        figures[name] = to_number(value, file, key)
    for name, names in _PERCENTS.items():
        value, key = found(names)
        figures[name] = to_number(value, file, key, PERCENT_LIMIT)
    for name, names in _COUNTS.items():
        value, key = found(names)
        figures[name] = to_count(value, file, key)
    if figures["starting_capital"] is None:
        figures["starting_capital"] = _starting_capital(figures)
    symbol = limited_text(top, "Symbol", 64, file)
    period = limited_text(top, "Period", 32, file) or limited_text(top, "TimeFrame", 32, file)
    summary = ReportSummary(
        symbol=symbol if isinstance(symbol, str) else None,
        symbols=[symbol] if isinstance(symbol, str) else [],
        period=period if isinstance(period, str) else None,
        profit_factor=to_ratio(top.get("ProfitFactor")),
        reported=dict(obj),
        **figures,
    )
    return Report(file, summary, [], TradeSource(file=file, rows=iter(()), columns={}))


def _starting_capital(figures: dict[str, Any]) -> Decimal | None:
    """The balance (else the equity) less the net profit: what the run started with."""
    net_profit: Decimal | None = figures["net_profit"]
    end: Decimal | None = figures["ending_balance"]
    if end is None:
        end = figures["ending_equity"]
    return None if end is None or net_profit is None else end - net_profit
