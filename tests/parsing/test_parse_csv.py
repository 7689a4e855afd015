"""History CSV parsing: encodings, separators, header variants, file-level errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from backtestdb.errors import InputError, RowError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_history_csv
from backtestdb.parsing.records import Trade

DATA = Path(__file__).resolve().parent.parent / "data"
BASIC_CSV = (DATA / "basic" / "history.csv").read_bytes()
HEADER = "Deal ID,Symbol,Opening Direction,Opening Time,Closing Time,Entry Price,Closing Price,Net"


def trades_of(data: bytes, file: str = "history.csv") -> list[Trade]:
    validator = TradeValidator(parse_history_csv(io.BytesIO(data), file))
    trades = list(validator)
    assert validator.errors == []
    return trades


def input_error(data: bytes, file: str = "history.csv") -> InputError:
    with pytest.raises(InputError) as info:
        list(parse_history_csv(io.BytesIO(data), file).rows)
    return info.value


def rewrite(transform_rows: object = None, *, delimiter: str = ",") -> str:
    """The basic sample re-written through the csv module (optionally transformed)."""
    rows = list(csv.reader(io.StringIO(BASIC_CSV.decode())))
    if callable(transform_rows):
        rows = transform_rows(rows)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_basic_sample() -> None:
    source = parse_history_csv(io.BytesIO(BASIC_CSV), "history.csv")
    assert source.columns["close_time"] == "Closing Time (UTC+0)"
    assert source.utc_offsets == {"open_time": timedelta(0), "close_time": timedelta(0)}
    assert source.decimal_comma is False
    trades = trades_of(BASIC_CSV)
    assert len(trades) == 200
    first = trades[0]
    assert first.row == 1
    assert first.deal_id == "2"
    assert first.symbol == "EURUSD"
    assert first.direction == "buy"
    assert first.open_time == datetime(2024, 1, 2, 1, 43, 50, 846000, tzinfo=UTC)
    assert first.close_time == datetime(2024, 1, 2, 16, 9, 14, 251000, tzinfo=UTC)
    assert first.entry_price == Decimal("1.08418")
    assert first.exit_price == Decimal("1.08391")
    assert first.profit == Decimal("-3.35")
    assert first.commission == Decimal("-0.65")
    assert first.balance == Decimal("9996.65")
    assert first.label == "MACross"
    assert first.comment is None
    assert first.extra == {}  # "Closing Direction" is recognised, derived, not stored
    assert sum(t.profit for t in trades) == Decimal("452.42")
    assert trades[-1].deal_id == "400"
    assert trades[-1].balance == Decimal("10452.42")


def test_multi_symbol_sample() -> None:
    trades = trades_of((DATA / "multi_symbol_history.csv").read_bytes())
    assert len(trades) == 1000
    assert sum(t.profit for t in trades) == Decimal("9721.67")
    assert {t.symbol for t in trades} == {"EURUSD", "GBPUSD", "XAUUSD"}
    assert trades[0].open_time == datetime(2024, 1, 3, 3, 22, 56, 869000, tzinfo=UTC)


def test_non_seekable_stream_is_read_in_order() -> None:
    class OnlyRead(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer):  # type: ignore[no-untyped-def]
            chunk = self._data.read(min(len(buffer), 1000))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    stream = OnlyRead(BASIC_CSV)
    trades = list(TradeValidator(parse_history_csv(stream, "history.csv")))  # type: ignore[arg-type]
    assert len(trades) == 200
    assert not stream.closed


def test_semicolon_and_decimal_comma() -> None:
    def to_comma(rows: list[list[str]]) -> list[list[str]]:
        return [rows[0]] + [[c.replace(".", ",") for c in row] for row in rows[1:]]

    data = rewrite(to_comma, delimiter=";").encode()
    assert data.startswith(b"Deal ID;Symbol;")
    source = parse_history_csv(io.BytesIO(data), "history.csv")
    assert source.decimal_comma is True
    trades = list(TradeValidator(source))
    assert len(trades) == 200
    assert trades[0].entry_price == Decimal("1.08418")
    assert sum(t.profit for t in trades) == Decimal("452.42")


def test_tab_separated_with_decimal_comma_detected_from_first_row() -> None:
    data = (
        b"Symbol\tDirection\tOpen Time\tClose Time\tOpen Price\tClose Price\tProfit\n"
        b"EURUSD\tBuy\t02/01/2024 10:00:00\t02/01/2024 11:00:00\t1,08418\t1,08391\t-3,35\n"
    )
    source = parse_history_csv(io.BytesIO(data), "history.tsv")
    assert source.decimal_comma is True
    [trade] = list(TradeValidator(source))
    assert trade.entry_price == Decimal("1.08418")
    assert trade.profit == Decimal("-3.35")


def test_reordered_columns_give_the_same_trades() -> None:
    def reverse(rows: list[list[str]]) -> list[list[str]]:
        return [row[::-1] for row in rows]

    assert trades_of(rewrite(reverse).encode()) == trades_of(BASIC_CSV)


def test_lowercased_header_and_alternative_names() -> None:
    data = (
        b"id;symbol;side;entry time (utc+0);close time;open price;exit price;profit usd\n"
        b"7;EURUSD;long;02.01.2024 10:00:00;02.01.2024 11:30:00;1,1;1,2;10,5\n"
        b"8;EURUSD;SHORT;2024-01-02T12:00:00Z;2024-01-02T13:00:00Z;1,2;1,1;20\n"
    )
    first, second = trades_of(data)
    assert (first.deal_id, first.direction, second.direction) == ("7", "buy", "sell")
    assert first.close_time == datetime(2024, 1, 2, 11, 30, tzinfo=UTC)
    assert first.profit == Decimal("10.5")
    assert second.exit_price == Decimal("1.1")


def test_crlf_bom_and_utf16_give_the_same_trades() -> None:
    expected = trades_of(BASIC_CSV)
    crlf = BASIC_CSV.replace(b"\n", b"\r\n")
    assert trades_of(crlf) == expected
    assert trades_of(b"\xef\xbb\xbf" + crlf) == expected
    assert trades_of(BASIC_CSV.decode().encode("utf-16")) == expected
    assert trades_of(b"\xfe\xff" + BASIC_CSV.decode().encode("utf-16-be")) == expected


@pytest.mark.parametrize(
    ("suffix", "offset"),
    [
        ("(UTC+4)", timedelta(hours=4)),
        ("(UTC-3)", timedelta(hours=-3)),
        ("(UTC+05:30)", timedelta(hours=5, minutes=30)),
        ("(GMT+2)", timedelta(hours=2)),
        ("(UTC)", timedelta(0)),
    ],
)
def test_time_zone_in_header(suffix: str, offset: timedelta) -> None:
    data = (
        f"Symbol,Direction,Opening Time {suffix},Closing Time {suffix},Entry Price,"
        "Closing Price,Net\n"
        "EURUSD,Buy,02/01/2024 10:00:00.000,02/01/2024 12:00:00.500,1.1,1.2,1\n"
    ).encode()
    source = parse_history_csv(io.BytesIO(data), "history.csv")
    assert source.utc_offsets == {"open_time": offset, "close_time": offset}
    assert source.columns["open_time"] == f"Opening Time {suffix}"
    [trade] = list(TradeValidator(source))
    assert trade.open_time == datetime(2024, 1, 2, 10, tzinfo=UTC) - offset
    assert trade.close_time == datetime(2024, 1, 2, 12, 0, 0, 500000, tzinfo=UTC) - offset


def test_utc_plus_4_sample_row_is_four_hours_earlier() -> None:
    data = BASIC_CSV.replace(b"(UTC+0)", b"(UTC+4)")
    first = trades_of(data)[0]
    assert first.open_time == datetime(2024, 1, 1, 21, 43, 50, 846000, tzinfo=UTC)


def test_quoted_fields_and_unknown_columns_are_kept() -> None:
    data = (
        f"{HEADER},Comment,Magic Number\n"
        "1,EURUSD,Buy,02/01/2024 10:00:00,02/01/2024 11:00:00,1.1,1.2,"
        '"1,500.5","said ""hi"", then left",42\n'
    ).encode()
    source = parse_history_csv(io.BytesIO(data), "history.csv")
    [raw] = list(source.rows)
    assert raw.fields["comment"] == 'said "hi", then left'
    assert raw.fields["profit"] == "1,500.5"
    assert raw.extra == {"Magic Number": "42"}
    [trade] = list(TradeValidator(parse_history_csv(io.BytesIO(data), "history.csv")))
    assert trade.extra == {"Magic Number": "42"}
    assert trade.comment == 'said "hi", then left'
    assert trade.profit == Decimal("1500.5")


def test_values_are_raw_strings_and_empty_is_none() -> None:
    data = f"{HEADER},Label\n 5 ,EURUSD,Buy,x,y,1.1,1.2,3,\n".encode()
    [raw] = list(parse_history_csv(io.BytesIO(data), "history.csv").rows)
    assert raw.row == 1
    assert raw.fields["deal_id"] == "5"
    assert raw.fields["open_time"] == "x"
    assert raw.fields["label"] is None


def test_header_only_file_has_no_trades() -> None:
    assert trades_of(BASIC_CSV.split(b"\n")[0] + b"\n") == []


def test_blank_lines_are_skipped_but_counted() -> None:
    lines = BASIC_CSV.split(b"\n")
    data = b"\n".join([lines[0], lines[1], b"", lines[2], b"", b""])
    trades = trades_of(data)
    assert [t.row for t in trades] == [1, 3]


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t"])
def test_empty_file(data: bytes) -> None:
    error = input_error(data)
    assert error.errors[0].file == "history.csv"
    assert error.errors[0].message == "file is empty"


def test_binary_file() -> None:
    error = input_error(bytes(range(256)) * 4)
    assert "not a text CSV file" in error.errors[0].message
    assert str(error).startswith("history.csv: not a text CSV file")


def test_undecodable_start_is_not_text() -> None:
    assert "not a text CSV file" in input_error(b"Sym\xe9bole,Dur\xe9e\n1,2\n").message


def row_errors(data: bytes, file: str = "history.csv") -> tuple[list[Trade], list[RowError]]:
    validator = TradeValidator(parse_history_csv(io.BytesIO(data), file))
    return list(validator), validator.errors


def test_row_with_wrong_number_of_cells_names_the_row() -> None:
    # One bad row among good ones: a row error, and the rows after it are still read.
    lines = BASIC_CSV.split(b"\n")
    data = b"\n".join([*lines[:3], lines[3] + b",extra,cells", *lines[4:6]])
    trades, errors = row_errors(data)
    assert [(e.row, e.column, e.message) for e in errors] == [
        (3, None, "row has 20 cells but the header has 18 (an unquoted separator in a cell?)")
    ]
    assert [t.row for t in trades] == [1, 2, 4, 5]


def test_trailing_separator_is_tolerated() -> None:
    lines = BASIC_CSV.split(b"\n")
    assert len(trades_of(b"\n".join([lines[0], lines[1] + b","]))) == 1


def test_invalid_utf8_in_a_later_row_names_the_row() -> None:
    lines = BASIC_CSV.split(b"\n")
    bad = lines[150].replace(b"MACross", b"MAC\xffross")
    data = b"\n".join([*lines[:150], bad, *lines[151:]])
    error = input_error(data)
    assert error.errors[0].row == 150
    assert "UTF-8" in error.errors[0].message


def test_unterminated_quote_is_an_error() -> None:
    data = f'{HEADER}\n1,EURUSD,Buy,a,b,1,2,"3\n'.encode()
    trades, errors = row_errors(data)
    assert trades == []
    assert [(e.row, e.message) for e in errors] == [
        (1, "row has 1 cells but the header has 8 (a truncated line?)")
    ]


def test_missing_required_column_lists_names_looked_for() -> None:
    data = b"Deal ID,Symbol,Opening Direction,Opening Time,Entry Price,Closing Price,Net\n"
    error = input_error(data)
    assert str(error) == (
        "history.csv: required column 'close_time' not found "
        "(looked for: Closing Time, Close Time, Exit Time). "
        "Closest layout: account statement (Deals section). "
        "Columns found: Deal ID, Symbol, Opening Direction, Opening Time, Entry Price, "
        "Closing Price, Net. Missing for that layout: Closing Time (UTC+8), Closing Quantity, "
        "Commissions, Pips, Balance USD"
    )
