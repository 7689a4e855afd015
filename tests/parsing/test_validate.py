"""Row validation: typed conversions, per-row errors naming file, row and column."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from backtestdb.errors import RowError
from backtestdb.ingest.validation import (
    TradeValidator,
    to_decimal,
    to_direction,
    to_utc,
    validate_trades,
)
from backtestdb.parsing import parse_history_csv
from backtestdb.parsing.records import RawTrade, TradeSource

HEADER = (
    "Deal ID,Symbol,Opening Direction,Opening Time (UTC+0),Closing Time (UTC+0),"
    "Entry Price,Closing Price,Net"
)
GOOD = "02/01/2024 10:00:00.000,02/01/2024 11:00:00.000,1.1,1.2,5"


def check(*rows: str, max_errors: int = 1000) -> tuple[list[int], list[RowError], int]:
    data = "\n".join([HEADER, *rows]).encode()
    validator = TradeValidator(
        parse_history_csv(io.BytesIO(data), "history.csv"), max_errors=max_errors
    )
    return [t.row for t in validator], validator.errors, validator.error_count


def test_non_numeric_price_at_row_3() -> None:
    rows, errors, count = check(
        f"1,EURUSD,Buy,{GOOD}",
        f"2,EURUSD,Buy,{GOOD}",
        "3,EURUSD,Buy,02/01/2024 10:00:00.000,02/01/2024 11:00:00.000,abc,1.2,5",
        f"4,EURUSD,Buy,{GOOD}",
    )
    assert rows == [1, 2, 4]
    assert count == 1
    assert errors == [
        RowError(
            file="history.csv",
            message="not a number: 'abc'",
            row=3,
            column="Entry Price",
            value="abc",
        )
    ]
    assert str(errors[0]) == (
        "history.csv, row 3, column 'Entry Price': not a number: 'abc' (value 'abc')"
    )


def test_missing_close_time() -> None:
    rows, [error], _ = check("1,EURUSD,Buy,02/01/2024 10:00:00.000,,1.1,1.2,5")
    assert rows == []
    assert (error.row, error.column, error.message, error.value) == (
        1,
        "Closing Time (UTC+0)",
        "missing value",
        None,
    )


def test_close_before_open() -> None:
    _, [error], _ = check("1,EURUSD,Buy,02/01/2024 10:00:00.000,02/01/2024 09:59:59.999,1,1,5")
    assert (error.row, error.column, error.message, error.value) == (
        1,
        "Closing Time (UTC+0)",
        "close time is before open time",
        "02/01/2024 09:59:59.999",
    )


def test_unknown_direction() -> None:
    _, [error], _ = check(f"1,EURUSD,Hold,{GOOD}")
    assert (error.row, error.column, error.value) == (1, "Opening Direction", "Hold")
    assert error.message == "unknown direction (expected Buy or Sell)"


def test_empty_symbol() -> None:
    _, [error], _ = check(f"1,EURUSD,Buy,{GOOD}", f"2, ,Buy,{GOOD}")
    assert (error.file, error.row, error.column, error.message) == (
        "history.csv",
        2,
        "Symbol",
        "missing value",
    )


def test_duplicate_deal_id_names_first_row() -> None:
    rows, [error], _ = check(f"7,EURUSD,Buy,{GOOD}", f"8,EURUSD,Buy,{GOOD}", f"7,X,Sell,{GOOD}")
    assert rows == [1, 2]
    assert (error.row, error.column, error.value) == (3, "Deal ID", "7")
    assert error.message == "duplicate deal id, first seen in row 1"


def test_several_errors_in_one_row_are_all_reported() -> None:
    _, errors, count = check("1,EURUSD,Up,yesterday,02/01/2024 11:00:00,0,1.2,x")
    assert count == 4
    assert [e.column for e in errors] == [
        "Opening Direction",
        "Opening Time (UTC+0)",
        "Entry Price",
        "Net",
    ]
    assert errors[2].message == "price must be above 0 and below 1e11"


def test_errors_are_capped_but_counted() -> None:
    rows, errors, count = check(*[f"{i},EURUSD,Hold,{GOOD}" for i in range(5)], max_errors=2)
    assert rows == []
    assert [e.row for e in errors] == [1, 2]
    assert count == 5


def test_out_of_range_values() -> None:
    _, errors, _ = check(
        "1,EURUSD,Buy,02/01/1960 10:00:00,02/01/2024 11:00:00,1.123456789,1.2,5",
        "2,EURUSD,Buy,02/01/2024 10:00:00,02/01/2024 11:00:00,1.1,1.2,1e15",
    )
    assert [(e.row, e.column, e.message) for e in errors] == [
        (1, "Opening Time (UTC+0)", "year out of range (1970-2100): '02/01/1960 10:00:00'"),
        (1, "Entry Price", "more than 8 decimal places"),
        (2, "Net", "must be below 1e15 in absolute value"),
    ]


def test_json_style_values_and_defaults() -> None:
    raw = RawTrade(
        row=1,
        fields={
            "deal_id": 2.0,
            "symbol": " EURUSD ",
            "direction": "Short",
            "open_time": 1704159830846,
            "close_time": 1704211754251,
            "entry_price": 1.08418,
            "exit_price": 1.08391,
            "profit": -3.35,
            "label": "",
            "comment": "  ",
            "pips": 1.50000000000,
        },
        extra={"magic": 42},
    )
    source = TradeSource(file="r.json", rows=iter([raw]), columns={"deal_id": "id"})
    validator = validate_trades(source)
    [trade] = list(validator)
    assert trade.deal_id == "2"
    assert trade.symbol == "EURUSD"
    assert trade.direction == "sell"
    assert trade.open_time == datetime(2024, 1, 2, 1, 43, 50, 846000, tzinfo=UTC)
    assert trade.entry_price == Decimal("1.08418")
    assert trade.profit == Decimal("-3.35")
    assert trade.commission == Decimal(0)
    assert trade.swap == Decimal(0)
    assert trade.pips == Decimal("1.5")
    assert trade.quantity is None
    assert trade.label is None
    assert trade.comment is None
    assert trade.extra == {"magic": 42}


def test_bad_json_values_name_the_key() -> None:
    raw = RawTrade(row=4, fields={"deal_id": True, "symbol": "X", "close_time": "soon"})
    source = TradeSource(
        file="report.json", rows=iter([raw]), columns={"deal_id": "id", "close_time": "closeTime"}
    )
    validator = TradeValidator(source)
    assert list(validator) == []
    assert str(validator.errors[0]) == "report.json, row 4, column 'direction': missing value"
    by_column = {e.column: e for e in validator.errors}
    assert by_column["id"].message == "expected a deal id, got a boolean"
    assert by_column["id"].value == "True"
    assert str(by_column["closeTime"]).startswith("report.json, row 4, column 'closeTime': not a")


@pytest.mark.parametrize(
    ("value", "decimal_comma", "expected"),
    [
        ("1.08418", False, "1.08418"),
        (" -3.35 ", False, "-3.35"),
        (10000, False, "10000"),
        (0.1, False, "0.1"),
        ("1,5", True, "1.5"),
        ("1,500", False, "1500"),
        ("1 234,56", True, "1234.56"),
        ("1\u00a0234.56", False, "1234.56"),
        ("1.234.567,8", True, "1234567.8"),
        ("1,234,567.8", False, "1234567.8"),
        ("1.234,5", False, "1234.5"),
        ("1.5", True, "1.5"),
        ("+2", False, "2"),
        ("\u22122.5", False, "-2.5"),
        ("1e-5", False, "0.00001"),
    ],
)
def test_to_decimal(value: str | int | float, decimal_comma: bool, expected: str) -> None:
    assert to_decimal(value, decimal_comma=decimal_comma) == Decimal(expected)


@pytest.mark.parametrize(
    "value", ["", "  ", "NaN", "Infinity", "-inf", "abc", "1,5", "1.2.3", "1,23.4", True, None]
)
def test_to_decimal_rejects(value: str | bool | None) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - messages are checked elsewhere
        to_decimal(value, decimal_comma=False)


def test_to_decimal_rejects_non_finite_float() -> None:
    with pytest.raises(ValueError, match="finite"):
        to_decimal(float("nan"), decimal_comma=False)


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("02/01/2024 01:43:50.846", timedelta(0), datetime(2024, 1, 2, 1, 43, 50, 846000)),
        ("02/01/2024 10:00:00.000", timedelta(hours=4), datetime(2024, 1, 2, 6)),
        ("02/01/2024 10:00:00", timedelta(hours=-3), datetime(2024, 1, 2, 13)),
        ("02.01.2024 10:00:00.5", timedelta(0), datetime(2024, 1, 2, 10, 0, 0, 500000)),
        ("2/1/2024 10:00", timedelta(0), datetime(2024, 1, 2, 10)),
        ("2024-01-02T01:43:50.846Z", timedelta(hours=4), datetime(2024, 1, 2, 1, 43, 50, 846000)),
        ("2024-01-02T05:00:00+04:00", timedelta(0), datetime(2024, 1, 2, 1)),
        ("2024-01-02 10:00:00", timedelta(hours=2), datetime(2024, 1, 2, 8)),
        (1704159830846, timedelta(hours=4), datetime(2024, 1, 2, 1, 43, 50, 846000)),
        (1704159830846.0, timedelta(0), datetime(2024, 1, 2, 1, 43, 50, 846000)),
        ("1704159830846", timedelta(0), datetime(2024, 1, 2, 1, 43, 50, 846000)),
    ],
)
def test_to_utc(value: str | int | float, offset: timedelta, expected: datetime) -> None:
    result = to_utc(value, offset=offset)
    assert result == expected.replace(tzinfo=UTC)
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    ["", "yesterday", "31/02/2024 10:00:00", "02/01/1969 10:00:00", "2101-01-01T00:00:00Z", -1],
)
def test_to_utc_rejects(value: str | int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        to_utc(value, offset=timedelta(0))


def test_to_direction() -> None:
    assert [to_direction(v) for v in ("Buy", "LONG", "b", "sell", "Short", " S ")] == [
        "buy",
        "buy",
        "buy",
        "sell",
        "sell",
        "sell",
    ]
    with pytest.raises(ValueError, match="unknown direction"):
        to_direction("flat")
