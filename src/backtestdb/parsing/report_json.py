"""The cTrader JSON report (`ctrader-cli backtest --report-json`), also embedded in HTML.

A file that starts with `{` may also be the summary `ctrader-cli` prints on stdout; that
one is read by `parsing.cli_summary`. Keys are found by name, never by their order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from backtestdb.errors import InputError

# A module import, not names: values imports backtestdb.parsing, which imports us.
from backtestdb.parsing import cli_summary, values
from backtestdb.parsing.fields import (
    JSON_FIELDS,
    JSON_LOOKUP,
    decode_text,
    load_json,
    missing_required,
    normalize_name,
)
from backtestdb.parsing.json_keys import (
    MONEY_LIMIT,
    PERCENT_LIMIT,
    Keys,
    limited_text,
    short,
    to_count,
    to_number,
    to_ratio,
)
from backtestdb.parsing.json_stream import Deferred
from backtestdb.parsing.parameters import parameters_from_json
from backtestdb.parsing.records import Report, ReportSummary, TradeSource

#: Top-level keys that are rows or parameters, not statistics (normalized names).
_NOT_REPORTED = frozenset({"history", "positions", "orders", "entries", "parameters", "points"})
#: A report with one of these (objects) is a report even without a trade list.
_SUMMARY_SECTIONS = ("main", "tradeStatistics", "equity")
#: Streams the items of an array the first pass left in the file (`json_stream`).
ItemsOf = Callable[[Deferred], Iterator[Any]]


def parse_report_json(data: bytes, file: str) -> Report:
    """The whole-file reader (see `report_file` for the streamed one)."""
    if not data.strip():
        raise InputError(file, "file is empty")
    return report_from_json_text(decode_text(data, file, what="JSON report"), file)


def report_from_json_text(text: str, file: str) -> Report:
    return report_from_decoded(_decoded(text, file), file)


def report_from_decoded(obj: Any, file: str, items_of: ItemsOf | None = None) -> Report:
    """The Report of decoded JSON: a full report, or the CLI's summary-only object."""
    if not isinstance(obj, dict):
        raise InputError(file, f"expected a JSON object, found {type(obj).__name__}")
    if cli_summary.is_cli_summary(obj):
        return cli_summary.report_from_cli_summary(obj, file)
    return report_from_object(obj, file, items_of)


def _decoded(text: str, file: str) -> Any:
    """The JSON of `text`. The CLI's summary writes a bare `-` for "no value", which is not
    JSON: a text that does not parse is read again with those as null."""
    try:
        return load_json(text, file)
    except InputError:
        if not cli_summary.may_have_bare_dashes(text):
            raise
    return cli_summary.loads_with_bare_dashes(text, file)


def report_from_object(obj: dict[str, Any], file: str, items_of: ItemsOf | None = None) -> Report:
    """Build a Report from the decoded JSON; the trades stay lazy (in the file, when the
    first streamed pass deferred them: `items_of` reads them)."""
    top = Keys(obj, "")
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
        trades=_trade_source(items, file, where, items_of),
    )


def _history_items(top: Keys, file: str) -> tuple[list[Any], str]:
    history_key = top.key("history")
    if history_key is not None:
        history = top.obj[history_key]
        if isinstance(history, list):
            return history, history_key
        if isinstance(history, dict):
            inner = Keys(history, history_key)
            items_key = inner.key("items")
            if items_key is not None and isinstance(history[items_key], list):
                return history[items_key], inner.column(items_key)
    trades_key = top.key("trades")
    if trades_key is not None and isinstance(top.obj[trades_key], list):
        return top.obj[trades_key], trades_key
    # A summary without its trades (an optimisation pass): no trades, not an error.
    if any(isinstance(top.get(name), dict) for name in _SUMMARY_SECTIONS):
        return [], "history.items"
    raise InputError(
        file,
        "not a cTrader report: no trade list and no summary (looked for: history.items, "
        "history, trades; main, tradeStatistics, equity)",
        column="history.items",
    )


def _trade_source(items: list[Any], file: str, where: str, items_of: ItemsOf | None) -> TradeSource:
    if isinstance(items, Deferred) and items_of is not None:
        return _deferred_source(items, file, where, items_of)
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
    return _source(file, iter(items), key_fields, columns)


def _deferred_source(items: Deferred, file: str, where: str, items_of: ItemsOf) -> TradeSource:
    """`_trade_source` of items left in the file: the first pass noted their keys."""
    if items.first_not_object is not None:
        raise InputError(
            file, "trade is not a JSON object", row=items.first_not_object, column=where
        )
    if items.size:
        missing_required(items.columns, JSON_FIELDS, file, kind="key", where=f" in {where}")
    source = _source(file, _lazy(items_of, items), items.key_fields, dict(items.columns))
    source.item_spool = items.spool
    return source


def _source(
    file: str, items: Iterator[Any], key_fields: dict[str, str | None], columns: dict[str, str]
) -> TradeSource:
    """The trades as RawTrades (`rows`) and as the items themselves (`items`), one stream."""
    source = TradeSource(file=file, rows=iter(()), columns=columns, item_fields=key_fields)
    source.use_items(items)
    return source


def _lazy(items_of: ItemsOf, items: Deferred) -> Iterator[Any]:
    """The file is opened when the first trade is read."""
    yield from items_of(items)


def _summary(top: Keys, file: str) -> ReportSummary:
    main = _section(top, "main", file)
    stats = _section(top, "tradeStatistics", file)
    equity = _section(top, "equity", file)

    def figure(section: Keys, names: tuple[str, ...]) -> tuple[Any, str]:
        """(value, column) of the first of `names`; tradeStatistics give {all, long, short}."""
        key = section.key(*names)
        if key is None:
            return None, ""
        value = section.obj[key]
        if isinstance(value, dict):
            return Keys(value, "").get("all"), section.column(f"{key}.all")
        return value, section.column(key)

    def number(section: Keys, *names: str, limit: Decimal = MONEY_LIMIT) -> Decimal | None:
        value, column = figure(section, names)
        return to_number(value, file, column, limit)

    def count(*names: str) -> int | None:
        value, column = figure(stats, names)
        return to_count(value, file, column)

    testing = _section(main, "testingPeriod", file)
    symbol, symbols, period = _symbols_and_period(top, main, file)
    net_profit = number(main, "netProfit")

    reported: dict[str, Any] = {}
    for key, value in top.obj.items():
        normalized = normalize_name(key)
        if normalized == "equity" and isinstance(value, dict):
            reported[key] = {k: v for k, v in value.items() if normalize_name(k) != "points"}
        elif normalized not in _NOT_REPORTED:
            reported[key] = value

    return ReportSummary(
        symbol=symbol,
        symbols=symbols,
        period=period,
        starting_capital=number(main, "startingCapital", "initialBalance"),
        ending_balance=number(main, "endingBalance", "finalBalance"),
        ending_equity=number(main, "endingEquity", "finalEquity"),
        net_profit=net_profit if net_profit is not None else number(stats, "netProfit"),
        total_trades=count("totalTrades"),
        winning_trades=count("winningTrades"),
        losing_trades=count("losingTrades"),
        profit_factor=to_ratio(figure(stats, ("profitFactor",))[0]),
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


def _symbols_and_period(
    top: Keys, main: Keys, file: str
) -> tuple[str | None, list[str], str | None]:
    """main.symbol and main.period, else what `usedSymbols` says; and the symbols traded.

    `usedSymbols` lists names, or objects `{symbol, period, baseAsset, …}`."""
    symbol = limited_text(main, "symbol", 64, file)
    period = limited_text(main, "period", 32, file)
    names: list[str] = []
    periods: dict[str, str] = {}
    used = top.get("usedSymbols")
    for index, item in enumerate(used if isinstance(used, list) else []):
        entry = Keys(item if isinstance(item, dict) else {"symbol": item}, f"usedSymbols[{index}]")
        name = _used_text(entry, ("symbol", "symbolName", "name"), 64, file)
        if name is not None:
            names.append(name)
            used_period = _used_text(entry, ("period", "timeFrame"), 32, file)
            if used_period is not None:
                periods.setdefault(name, used_period)
    symbols = list(dict.fromkeys(names))
    if not isinstance(symbol, str):
        symbol = symbols[0] if len(symbols) == 1 else None
    if not isinstance(period, str):
        # The main symbol's period; a multi-symbol run without a main symbol: the first.
        period = periods.get(symbol or "", next(iter(periods.values()), None))
    return symbol, symbols or ([symbol] if symbol else []), period


def _used_text(entry: Keys, names: tuple[str, ...], limit: int, file: str) -> str | None:
    """A name or period in `usedSymbols`, stripped; None unless it is text."""
    key = entry.key(*names)
    value = None if key is None else entry.obj[key]
    if not isinstance(value, str) or not value.strip():
        return None
    if len(value) > limit:
        raise InputError(
            file, f"longer than {limit} characters", column=entry.column(key or ""),
            value=short(value),
        )  # fmt: skip
    return value.strip()


def _section(parent: Keys, name: str, file: str) -> Keys:
    key = parent.key(name)
    if key is None or parent.obj[key] is None:
        return Keys({}, parent.column(name))
    value = parent.obj[key]
    if not isinstance(value, dict):
        raise InputError(
            file, "expected a JSON object", column=parent.column(key), value=short(value)
        )
    return Keys(value, parent.column(key))


def _time(section: Keys, name: str, file: str) -> datetime | None:
    key = section.key(name)
    if key is None or section.obj[key] is None:
        return None
    value = section.obj[key]
    try:
        if not isinstance(value, int | float | str):
            raise ValueError("expected epoch milliseconds or a date")
        return values.to_utc(value)
    except ValueError as exc:
        raise InputError(file, str(exc), column=section.column(key), value=short(value)) from exc
