"""Reports as cTrader really writes them: usedSymbols objects, any key order, an entity-
escaped HTML report, a report without trades, and the summary `ctrader-cli` prints."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backtestdb.errors import InputError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_report, parse_report_html, parse_report_json
from backtestdb.parsing.cli_summary import bare_dashes_as_null
from backtestdb.parsing.records import Report, ReportSummary, Trade

DATA = Path(__file__).resolve().parent.parent / "data" / "basic"
REPORT_JSON = (DATA / "report.json").read_bytes()
REPORT_HTML = (DATA / "report.html").read_text()
SCRIPT_OPEN = '<script type="application/json" id="backtesting-report">'
TRADE = {
    "symbol": "EURUSD",
    "direction": "Buy",
    "closeTime": 1704211754251,
    "net": -3.35,
}
CLI_SUMMARY = (
    b'{"Equity":10000000, "NetProfit":0, "AverageTrade":-, "ProfitFactor":-, "Fitness":0.5}'
)
CLI_SUMMARY_NEGATIVE = b"""{"Equity":9987.5, "NetProfit":-12.5, "TotalTrades":3,
 "WinningTrades":1, "LosingTrades":2, "AverageTrade":-4.17, "ProfitFactor":0.45,
 "MaxEquityDrawdown":20.25, "MaxEquityDrawdownPercentages":0.2, "MaxBalanceDrawdown":15,
 "MaxBalanceDrawdownPercentages":0.15, "SharpeRatio": - , "Label":"a:-, b", "Fitness":-
}"""


def trades(report: Report) -> list[Trade]:
    validator = TradeValidator(report.trades)
    result = list(validator)
    assert validator.errors == []
    return result


def report_with(**top: Any) -> bytes:
    return json.dumps({"history": {"items": [TRADE]}, **top}).encode()


def reversed_keys(value: Any) -> Any:
    """The same JSON with every object's keys in the opposite order."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def escaped_page(escape: Any) -> bytes:
    start = REPORT_HTML.index(SCRIPT_OPEN) + len(SCRIPT_OPEN)
    end = REPORT_HTML.index("</script>", start)
    return (REPORT_HTML[:start] + escape(REPORT_HTML[start:end]) + REPORT_HTML[end:]).encode()


def test_used_symbols_objects_give_names_and_the_period() -> None:
    used = [
        {"symbol": "NAS100.cash", "period": "m1", "baseAsset": "NAS100", "quoteAsset": "USD"},
        {"Symbol": "US30.cash", "Period": "h1", "baseAsset": "US30"},
        {"symbol": "NAS100.cash", "period": "m5"},
    ]
    summary = parse_report_json(report_with(usedSymbols=used), "r.json").summary
    assert (summary.symbol, summary.symbols, summary.period) == (
        None,
        ["NAS100.cash", "US30.cash"],
        "m1",
    )
    assert summary.reported == {"usedSymbols": used}

    one = parse_report_json(report_with(usedSymbols=used[:1]), "r.json").summary
    assert (one.symbol, one.symbols, one.period) == ("NAS100.cash", ["NAS100.cash"], "m1")

    # main's own symbol and period win; the period is the main symbol's.
    main = {"symbol": "US30.cash"}
    summary = parse_report_json(report_with(main=main, usedSymbols=used), "r.json").summary
    assert (summary.symbol, summary.period) == ("US30.cash", "h1")
    main = {"symbol": "US30.cash", "period": "d1"}
    summary = parse_report_json(report_with(main=main, usedSymbols=used), "r.json").summary
    assert (summary.symbol, summary.symbols, summary.period) == (
        "US30.cash",
        ["NAS100.cash", "US30.cash"],
        "d1",
    )


def test_used_symbol_too_long_names_its_place() -> None:
    used = ["EURUSD", {"symbol": "X" * 65}]
    with pytest.raises(InputError) as info:
        parse_report_json(report_with(usedSymbols=used), "r.json")
    assert str(info.value.errors[0]).startswith(
        "r.json, column 'usedSymbols[1].symbol': longer than 64 characters"
    )


def test_key_order_does_not_matter_main_after_entries() -> None:
    reordered = reversed_keys(json.loads(REPORT_JSON))
    keys = list(reordered)
    assert keys.index("entries") < keys.index("main") == len(keys) - 1
    plain = parse_report_json(REPORT_JSON, "report.json")
    report = parse_report_json(json.dumps(reordered).encode(), "report.json")
    assert report.summary == plain.summary
    assert report.summary.starting_capital == Decimal("10000")
    assert report.summary.total_trades == 200
    assert report.summary.winning_trades == 109
    assert report.summary.profit_factor == Decimal("1.28")
    assert report.parameters == plain.parameters
    assert trades(report) == trades(plain)


@pytest.mark.parametrize(
    "escape",
    [
        html.escape,  # &quot; &amp; &lt; &gt; &#x27;
        lambda text: text.replace("&", "&amp;").replace('"', "&#34;"),
    ],
    ids=["named", "numeric"],
)
def test_entity_escaped_html_report_is_the_plain_one(escape: Any) -> None:
    page = escaped_page(escape)
    assert b"&quot;main&quot;" in page or b"&#34;main&#34;" in page
    plain = parse_report_html(REPORT_HTML.encode(), "report.html")
    report = parse_report(page, "report.html")
    assert report.summary == plain.summary
    assert report.summary.net_profit == Decimal("452.42")
    assert report.parameters == plain.parameters
    stored = trades(report)
    assert stored == trades(plain)
    assert len(stored) == 200


def test_html_report_neither_plain_nor_unescaped_json_says_both() -> None:
    page = b'<script id="backtesting-report">{&quot;main&quot;: {</script>'
    with pytest.raises(InputError) as info:
        parse_report_html(page, "report.html")
    assert info.value.errors[0].message == (
        "the embedded report (backtesting-report) is not JSON: as written, invalid JSON at "
        "line 1, column 2: Expecting property name enclosed in double quotes; with its HTML "
        "entities decoded, invalid JSON at line 1, column 11: Expecting property name "
        "enclosed in double quotes. Export the report again from cTrader, or give its "
        "--report-json file instead"
    )


def test_report_without_history_items_has_no_trades() -> None:
    data = json.dumps({"main": {"startingCapital": 5000, "netProfit": 12.5}}).encode()
    report = parse_report_json(data, "pass.json")
    assert report.summary.starting_capital == Decimal("5000")
    assert report.summary.net_profit == Decimal("12.5")
    assert list(report.trades.rows) == []
    assert report.trades.columns == {}


def test_history_item_with_only_the_required_keys() -> None:
    [trade] = trades(parse_report_json(report_with(), "r.json"))
    assert (trade.symbol, trade.direction, trade.profit) == ("EURUSD", "buy", Decimal("-3.35"))
    assert trade.close_time == datetime(2024, 1, 2, 16, 9, 14, 251000, tzinfo=UTC)
    assert (trade.deal_id, trade.open_time, trade.entry_price, trade.exit_price) == (
        None,
        None,
        None,
        None,
    )
    assert (trade.quantity, trade.volume, trade.pips, trade.balance) == (None, None, None, None)


def test_bare_dashes_become_null_and_nothing_else_changes() -> None:
    text = '{"A":-, "B": -\n, "C":-12.5, "D":"x:-,", "E":"q\\":-,", "F":-0.5,"G":-}'
    assert bare_dashes_as_null(text) == (
        '{"A":null, "B": null\n, "C":-12.5, "D":"x:-,", "E":"q\\":-,", "F":-0.5,"G":null}'
    )
    assert bare_dashes_as_null('{"a": 1}') == '{"a": 1}'


@pytest.mark.parametrize("parse", [parse_report, parse_report_json])
def test_cli_summary(parse: Any) -> None:
    report = parse(CLI_SUMMARY, "stdout.txt")
    assert report.summary == ReportSummary(
        starting_capital=Decimal("10000000"),
        ending_equity=Decimal("10000000"),
        net_profit=Decimal("0"),
        reported={
            "Equity": 10000000,
            "NetProfit": 0,
            "AverageTrade": None,
            "ProfitFactor": None,
            "Fitness": 0.5,
        },
    )
    assert report.parameters == []
    assert list(report.trades.rows) == []


def test_cli_summary_negative_numbers_stay_numbers() -> None:
    report = parse_report(CLI_SUMMARY_NEGATIVE, "stdout.txt")
    assert report.summary == ReportSummary(
        starting_capital=Decimal("10000.0"),
        ending_equity=Decimal("9987.5"),
        net_profit=Decimal("-12.5"),
        total_trades=3,
        winning_trades=1,
        losing_trades=2,
        profit_factor=Decimal("0.45"),
        max_balance_drawdown=Decimal("15"),
        max_balance_drawdown_percent=Decimal("0.15"),
        max_equity_drawdown=Decimal("20.25"),
        max_equity_drawdown_percent=Decimal("0.2"),
        reported={
            "Equity": 9987.5,
            "NetProfit": -12.5,
            "TotalTrades": 3,
            "WinningTrades": 1,
            "LosingTrades": 2,
            "AverageTrade": -4.17,
            "ProfitFactor": 0.45,
            "MaxEquityDrawdown": 20.25,
            "MaxEquityDrawdownPercentages": 0.2,
            "MaxBalanceDrawdown": 15,
            "MaxBalanceDrawdownPercentages": 0.15,
            "SharpeRatio": None,
            "Label": "a:-, b",
            "Fitness": None,
        },
    )


def test_cli_summary_balance_gives_the_starting_capital() -> None:
    data = b'{"Balance":10100, "Equity":10130, "NetProfit":100, "ProfitFactor":-}'
    summary = parse_report(data, "stdout.txt").summary
    assert (summary.starting_capital, summary.ending_balance) == (Decimal(10000), Decimal(10100))


def test_cli_summary_bad_figure_names_the_key() -> None:
    with pytest.raises(InputError) as info:
        parse_report(b'{"Equity":10000, "TotalTrades":2.5, "Fitness":-}', "stdout.txt")
    assert str(info.value) == (
        "stdout.txt, column 'TotalTrades': expected a whole number (value '2.5')"
    )


def test_broken_text_keeps_the_original_error() -> None:
    with pytest.raises(InputError) as info:
        parse_report(b'{"Equity":-, "NetProfit": 5 5}', "stdout.txt")
    assert str(info.value) == (
        "stdout.txt: invalid JSON at line 1, column 29: Expecting ',' delimiter"
    )
