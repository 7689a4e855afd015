"""JSON and HTML reports: summary, parameters, trades, and file-level errors."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from backtestdb.errors import InputError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import (
    parse_history_csv,
    parse_report,
    parse_report_html,
    parse_report_json,
)
from backtestdb.parsing.records import Report, Trade

DATA = Path(__file__).resolve().parent.parent / "data" / "basic"
REPORT_JSON = (DATA / "report.json").read_bytes()
REPORT_HTML = (DATA / "report.html").read_bytes()

TRADE = {
    "id": 2,
    "symbol": "EURUSD",
    "direction": "Buy",
    "entryTime": 1704159830846,
    "closeTime": 1704211754251,
    "entryPrice": 1.08418,
    "closePrice": 1.08391,
    "net": -3.35,
}


def small_report(**top: Any) -> bytes:
    return json.dumps({"history": {"items": [TRADE]}, **top}).encode()


def trades(report: Report) -> list[Trade]:
    validator = TradeValidator(report.trades)
    result = list(validator)
    assert validator.errors == []
    return result


def input_error(parse: Any, data: bytes, file: str) -> InputError:
    with pytest.raises(InputError) as info:
        parse(data, file)
    return info.value


def comparable(trade: Trade) -> tuple[Any, ...]:
    names = (
        "deal_id",
        "symbol",
        "direction",
        "open_time",
        "close_time",
        "entry_price",
        "exit_price",
        "commission",
        "swap",
        "profit",
    )
    return tuple(getattr(trade, name) for name in names)


@pytest.mark.parametrize(
    ("parse", "data", "file"),
    [
        (parse_report_json, REPORT_JSON, "report.json"),
        (parse_report_html, REPORT_HTML, "report.html"),
        (parse_report, REPORT_JSON, "report.json"),
        (parse_report, REPORT_HTML, "report.html"),
    ],
)
def test_basic_report(parse: Any, data: bytes, file: str) -> None:
    report = parse(data, file)
    summary = report.summary
    assert report.file == file
    assert summary.symbol == "EURUSD"
    assert summary.symbols == ["EURUSD"]
    assert summary.period == "h1"
    assert summary.starting_capital == Decimal("10000")
    assert summary.ending_balance == Decimal("10452.42")
    assert summary.ending_equity == Decimal("10452.42")
    assert summary.net_profit == Decimal("452.42")
    assert summary.total_trades == 200
    assert summary.max_balance_drawdown == Decimal("175.68")
    assert summary.max_balance_drawdown_percent == Decimal("1.76")
    assert summary.max_equity_drawdown == Decimal("200.69")
    assert summary.max_equity_drawdown_percent == Decimal("1.94")
    assert summary.commissions == Decimal("-133.18")
    assert summary.swaps == Decimal("-40.0")
    assert summary.testing_start == datetime(2024, 1, 2, tzinfo=UTC)
    assert summary.testing_end == datetime(2024, 5, 14, tzinfo=UTC)
    assert set(summary.reported) == {
        "main",
        "equity",
        "tradeStatistics",
        "usedSymbols",
        "profitsLosses",
        "roi",
    }
    assert "points" not in summary.reported["equity"]
    assert summary.reported["equity"]["maxBalanceDrawdownAbsolute"] == 175.68
    assert summary.reported["tradeStatistics"]["profitFactor"]["all"] == 1.28

    assert [(p.name, p.value, p.value_type) for p in report.parameters] == [
        ("FastPeriod", "9", "int"),
        ("SlowPeriod", "21", "int"),
        ("Volume", "10000", "int"),
        ("StopLossPips", "20", "int"),
        ("UseTrailing", "true", "bool"),
        ("Source", "Close", "string"),
    ]
    assert report.parameters[0].group == "Moving Averages"
    assert report.parameters[0].display_name == "Fast Period"

    assert report.trades.columns["close_time"] == "closeTime"
    result = trades(report)
    assert len(result) == 200
    assert result[0].deal_id == "2"
    assert result[0].open_time == datetime(2024, 1, 2, 1, 43, 50, 846000, tzinfo=UTC)
    assert result[0].close_time == datetime(2024, 1, 2, 16, 9, 14, 251000, tzinfo=UTC)
    assert result[0].profit == Decimal("-3.35")
    assert sum(t.profit for t in result) == Decimal("452.42")


def test_json_html_and_csv_agree() -> None:
    from_json = [comparable(t) for t in trades(parse_report_json(REPORT_JSON, "report.json"))]
    from_html = [comparable(t) for t in trades(parse_report_html(REPORT_HTML, "report.html"))]
    csv_source = parse_history_csv(io.BytesIO((DATA / "history.csv").read_bytes()), "h.csv")
    from_csv = [comparable(t) for t in TradeValidator(csv_source)]
    assert from_json == from_html == from_csv


def test_bom_key_case_order_and_alternative_keys() -> None:
    item = {
        "NET": "12.5",
        "ClosingTime": "2024-01-02T16:09:14.251Z",
        "OPENTIME": 1704159830846,
        "exitPrice": 1.1,
        "openPrice": 1.2,
        "Direction": "short",
        "Symbol": "GBPUSD",
        "positionId": 9,
        "magicNumber": 7,
        "tags": ["a"],
    }
    data = (
        b"\xef\xbb\xbf"
        + json.dumps(
            {"Main": {"StartingCapital": "5000", "Symbol": "GBPUSD"}, "HISTORY": {"Items": [item]}}
        ).encode()
    )
    report = parse_report(data, "r.json")
    assert report.summary.starting_capital == Decimal("5000")
    assert report.summary.symbols == ["GBPUSD"]
    assert report.trades.columns["close_time"] == "ClosingTime"
    [raw] = list(parse_report_json(data, "r.json").trades.rows)
    assert raw.row == 1
    assert raw.fields["close_time"] == "2024-01-02T16:09:14.251Z"
    assert raw.extra == {"magicNumber": 7, "tags": '["a"]'}
    [trade] = trades(report)
    assert (trade.deal_id, trade.direction, trade.profit) == ("9", "sell", Decimal("12.5"))
    assert trade.close_time == datetime(2024, 1, 2, 16, 9, 14, 251000, tzinfo=UTC)
    assert trade.extra == {"magicNumber": 7, "tags": '["a"]'}


def test_unknown_top_level_keys_are_reported_verbatim() -> None:
    report = parse_report_json(small_report(broker={"name": "X"}, positions=[]), "r.json")
    assert report.summary.reported == {"broker": {"name": "X"}}
    assert report.parameters == []


def test_truncated_json_names_line_and_column() -> None:
    error = input_error(parse_report_json, REPORT_JSON[:500], "report.json")
    assert error.message == (
        "report.json: invalid JSON at line 3, column 11: Unterminated string starting at"
    )


def test_not_an_object() -> None:
    error = input_error(parse_report_json, b"[1, 2]", "report.json")
    assert str(error) == "report.json: expected a JSON object, found list"


def test_missing_history_and_summary() -> None:
    error = input_error(parse_report_json, b'{"broker": {}}', "report.json")
    assert error.errors[0].column == "history.items"
    assert error.errors[0].message == (
        "not a cTrader report: no trade list and no summary (looked for: history.items, "
        "history, trades; main, tradeStatistics, equity)"
    )


def test_history_item_lacking_close_time_is_a_row_error() -> None:
    second = {k: v for k, v in TRADE.items() if k != "closeTime"} | {"id": 3}
    data = json.dumps({"history": {"items": [TRADE, second]}}).encode()
    validator = TradeValidator(parse_report_json(data, "report.json").trades)
    assert [t.row for t in validator] == [1]
    [error] = validator.errors
    assert str(error) == "report.json, row 2, column 'closeTime': missing value"


def test_history_items_all_lacking_close_time() -> None:
    item = {k: v for k, v in TRADE.items() if k != "closeTime"}
    data = json.dumps({"history": {"items": [item]}}).encode()
    error = input_error(parse_report_json, data, "report.json")
    assert str(error) == (
        "report.json: required key 'close_time' not found in history.items "
        "(looked for: closeTime, closingTime, exitTime)"
    )


def test_history_item_not_an_object() -> None:
    data = json.dumps({"history": {"items": [TRADE, 5]}}).encode()
    error = input_error(parse_report_json, data, "report.json")
    assert (error.errors[0].row, error.errors[0].column) == (2, "history.items")


def test_empty_history_is_fine() -> None:
    report = parse_report_json(b'{"history": {"items": []}}', "report.json")
    assert list(report.trades.rows) == []


def test_bad_summary_types_name_the_key() -> None:
    error = input_error(parse_report_json, small_report(main={"startingCapital": "lots"}), "r")
    assert (error.errors[0].column, error.errors[0].value) == ("main.startingCapital", "lots")
    error = input_error(parse_report_json, small_report(main={"startingCapital": [1]}), "r")
    assert error.errors[0].message == "expected a number"
    error = input_error(
        parse_report_json, small_report(tradeStatistics={"totalTrades": {"all": 2.5}}), "r"
    )
    assert error.errors[0].column == "tradeStatistics.totalTrades.all"
    error = input_error(parse_report_json, small_report(main=[]), "r")
    assert error.errors[0].column == "main"
    data = small_report(main={"testingPeriod": {"startDate": "soon"}})
    error = input_error(parse_report_json, data, "r")
    assert error.errors[0].column == "main.testingPeriod.startDate"


def test_html_attribute_order_and_case() -> None:
    payload = json.dumps({"history": {"items": [TRADE | {"comment": "</script> ok"}]}})
    escaped = payload.replace("</", "<\\/")
    page = (
        "<!doctype html><html><body><script>var x = 1;</script>"
        "<SCRIPT ID='backtesting-report' TYPE='application/json'>"
        f"{escaped}</SCRIPT></body></html>"
    ).encode()
    [trade] = trades(parse_report(page, "report.html"))
    assert trade.comment == "</script> ok"


def test_html_without_embedded_report() -> None:
    error = input_error(parse_report_html, b"<html><body>Hi</body></html>", "report.html")
    assert str(error) == (
        'report.html: no <script id="backtesting-report"> found: export the report again, '
        "or give the report JSON (--report-json)"
    )


def test_html_with_broken_embedded_json() -> None:
    page = b'<html><script id="backtesting-report" type="application/json">{"a": </script>'
    error = input_error(parse_report_html, page, "report.html")
    assert "invalid JSON at line 1" in error.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"  \n", "file is empty"),
        (b"Deal ID,Symbol\n", "not a cTrader report (expected JSON or HTML)"),
        (bytes(range(256)) * 4, "not a cTrader report (binary content)"),
        (b"\xef\xbb\xbf  \xff{", "not a cTrader report (invalid UTF-8 at line 1, byte 5)"),
    ],
)
def test_parse_report_rejects(data: bytes, message: str) -> None:
    error = input_error(parse_report, data, "upload")
    assert error.errors[0].message == message
    assert error.errors[0].file == "upload"


def test_utf16_report() -> None:
    report = parse_report(REPORT_JSON.decode().encode("utf-16"), "report.json")
    assert report.summary.net_profit == Decimal("452.42")
