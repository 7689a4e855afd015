"""bench/generate.py: every export form describes the same trades, to the cent."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bench.events import write_events
from bench.generate import main, write_history, write_layout
from bench.layouts import Forms, backtest_file_name
from bench.model import Totals

N, SEED = 50, 3
CAPITAL = 1_000_000

# Captured from bench/generate.py before it learnt the other layouts.
ORIGINAL_3_TRADES_SEED_7 = (
    "Deal ID,Symbol,Opening Direction,Closing Direction,Opening Time (UTC+0),Closing Time (UTC+0),Entry Price,Closing Price,Closing Quantity,Closing Volume,Swap,Commissions,Pips,Gross,Net,Label,Comment,Balance\n"
    "2,GBPUSD,Buy,Sell,01/01/2020 21:16:02.247,02/01/2020 00:05:45.563,1.25197,1.24971,0.10,10000,0.00,-0.08,-22.6,-22.60,-22.68,bench,,9977.32\n"
    "4,XAUUSD,Sell,Buy,01/01/2020 17:17:29.298,02/01/2020 00:07:30.265,2047.26,2045.07,0.10,10,-0.11,-0.13,219.0,21.90,21.66,bench,,9998.98\n"
    "6,EURUSD,Buy,Sell,01/01/2020 16:26:27.917,02/01/2020 00:15:10.975,1.06871,1.07135,0.10,10000,0.00,-0.07,26.4,26.40,26.33,bench,,10025.31\n"
)

HEADERS = {
    "full": "Deal ID,Symbol,Opening Direction,Closing Direction,Opening Time (UTC+0),Closing Time (UTC+0),Entry Price,Closing Price,Closing Quantity,Closing Volume,Swap,Commissions,Pips,Gross,Net,Label,Comment,Balance",
    "default": '"Symbol","Opening direction","Closing time (UTC+0)","Entry price","Closing price","Closing Quantity","Net €","Balance €"',
    "backtest": "Label,Entry time (UTC+1),Symbol,Quantity,Volume,Type,Entry price,Broker commission,Swaps,Closing price,Closing time (UTC+1),Net $,Pips,Gross $,Balance $,ID",
    "statement": "Deal ID,Order ID,Symbol,Opening Direction,Closing Direction,Opening time (UTC+8),Closing Time (UTC+8),Entry price,Closing price,Closing Quantity,Commissions,Pips,Net USD,Channel,Balance USD",
}
# layout: (net column, balance column, deal id column, closing time column prefix)
COLUMNS = {
    "full": ("Net", "Balance", "Deal ID", "Closing Time"),
    "default": ("Net €", "Balance €", None, "Closing time"),
    "backtest": ("Net $", "Balance $", "ID", "Closing time"),
    "statement": ("Net USD", "Balance USD", "Deal ID", "Closing Time"),
}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
TIME = re.compile(r"(\d\d)(?:/(\d\d)/| ([A-Z][a-z]{2}) )(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?")


def render(layout: str, trades: int = N, **forms: Any) -> tuple[str, Totals]:
    out = io.StringIO()
    totals = write_layout(out, layout, trades, SEED, CAPITAL, forms=Forms(**forms))
    return out.getvalue(), totals


def to_cents(cell: str, decimal_comma: bool = False) -> int:
    """Hand-parse a money cell in any of the forms (grouped, decimal comma, negative)."""
    text = re.sub("[ \u00a0\u202f]", "", cell)
    text = text.replace(".", "") if decimal_comma else text.replace(",", "")
    whole, frac = text.split("," if decimal_comma else ".")
    assert len(frac) == 2, cell
    return (-1 if whole.startswith("-") else 1) * (abs(int(whole)) * 100 + int(frac))


def to_utc(cell: str, offset: int) -> datetime:
    match = TIME.fullmatch(cell)
    assert match, cell
    day, month, name, year, hour, minute, second, ms = match.groups()
    local = datetime(
        int(year), int(month) if month else MONTHS.index(name) + 1, int(day),
        int(hour), int(minute), int(second), int(ms or 0) * 1000, tzinfo=UTC,
    )  # fmt: skip
    return local - timedelta(hours=offset)


def deal_rows(text: str, layout: str, delimiter: str = ",") -> list[dict[str, str]]:
    lines = text.splitlines()
    if layout == "statement":
        assert lines[0] == "Deals"
        lines = lines[1 : lines.index("") - 1]  # up to the TOTALS row
    return list(csv.DictReader(lines, delimiter=delimiter))


def column(rows: list[dict[str, str]], prefix: str) -> str:
    (name,) = [key for key in rows[0] if key.startswith(prefix)]
    return name


def test_write_history_output_is_unchanged() -> None:
    out = io.StringIO()
    assert write_history(out, 3, seed=7) == 1_002_531
    assert (
        out.getvalue().splitlines(keepends=True)[:3]
        == ORIGINAL_3_TRADES_SEED_7.splitlines(keepends=True)[:3]
    )
    assert out.getvalue() == ORIGINAL_3_TRADES_SEED_7


def test_full_layout_is_write_history() -> None:
    out = io.StringIO()
    final = write_history(out, N, SEED)
    text, totals = render("full")
    assert text == out.getvalue()
    assert totals.final_cents == final


@pytest.mark.parametrize("layout", list(HEADERS))
def test_layout_header_rows_and_sums(layout: str) -> None:
    text, totals = render(layout)
    lines = text.splitlines()
    assert lines[1 if layout == "statement" else 0] == HEADERS[layout]
    rows = deal_rows(text, layout)
    net_col, balance_col, _, _ = COLUMNS[layout]
    assert len(rows) == N == totals.trades
    nets = [to_cents(row[net_col]) for row in rows]
    balances = [to_cents(row[balance_col]) for row in rows]
    assert sum(nets) == totals.net_cents
    assert totals.initial_cents == CAPITAL
    assert totals.final_cents == CAPITAL + totals.net_cents
    if layout == "backtest":
        entries = [to_utc(row["Entry time (UTC+1)"], 1) for row in rows]
        assert entries == sorted(entries)
        chained = [b - a for a, b in zip([CAPITAL, *balances], balances, strict=False)]
        assert chained != nets  # entry order: balances do not chain row to row
        by_close = sorted(zip(rows, nets, balances, strict=True), key=lambda r: int(r[0]["ID"]))
        nets = [net for _, net, _ in by_close]
        balances = [balance for _, _, balance in by_close]
    running = CAPITAL
    for net, balance in zip(nets, balances, strict=True):
        running += net
        assert balance == running
    assert balances[-1] == totals.final_cents


def test_every_layout_describes_the_same_trades() -> None:
    totals = {layout: render(layout)[1] for layout in HEADERS}
    assert totals["statement"].open_positions == 2
    assert all(replace(t, open_positions=0) == totals["full"] for t in totals.values())


def test_default_layout_quotes_every_cell() -> None:
    text, _ = render("default", 3)
    for line in text.splitlines():
        assert line.startswith('"')
        assert line.endswith('"')
        assert line.count('","') == 7


def test_statement_sections_and_totals_row() -> None:
    text, totals = render("statement")
    lines = text.splitlines()
    blank = [i for i, line in enumerate(lines) if line == ""]
    assert len(blank) == 3
    assert lines[-1] != ""
    assert [lines[i + 1] for i in blank] == ["Positions", "Orders", "Summary"]
    totals_row = next(csv.reader([lines[blank[0] - 1]]))
    header = HEADERS["statement"].split(",")
    cells = dict(zip(header, totals_row, strict=True))
    assert {k for k, v in cells.items() if v} == {"Commissions", "Pips", "Net USD"}
    assert to_cents(cells["Net USD"]) == totals.net_cents
    assert to_cents(cells["Commissions"]) == totals.commission_cents
    assert cells["Pips"] == f"{totals.pips_tenths / 10:.1f}"
    positions = lines[blank[0] + 2 : blank[1]]
    assert positions[0] == (
        "Position ID,Symbol,Direction,Opening time (UTC+8),Entry price,Quantity,Swap,Commissions,Net USD"
    )
    assert len(positions) - 1 == totals.open_positions == 2
    assert 2 <= blank[2] - blank[1] - 2 <= 3  # Orders: header and a row or two
    assert lines[-2] == "Deposit,Withdrawal,Total net,Equity,Balance"
    deposit, withdrawal, net, _, balance = (to_cents(c) for c in lines[-1].split(","))
    assert (deposit, withdrawal, net, balance) == (CAPITAL, 0, totals.net_cents, totals.final_cents)


def test_month_time_format_and_whole_seconds() -> None:
    plain = deal_rows(render("full")[0], "full")
    month = deal_rows(render("full", time_format="month")[0], "full")
    noms = deal_rows(render("full", time_format="month-noms")[0], "full")
    assert plain[0]["Closing Time (UTC+0)"] == "02/01/2020 00:04:15.523"
    assert month[0]["Closing Time (UTC+0)"] == "02 Jan 2020 00:04:15.523"
    assert month[0]["Opening Time (UTC+0)"] == "01 Jan 2020 21:37:22.998"
    assert noms[0]["Closing Time (UTC+0)"] == "02 Jan 2020 00:04:15"
    slash_noms = deal_rows(render("full", time_format="slash-noms")[0], "full")
    assert slash_noms[0]["Closing Time (UTC+0)"] == "02/01/2020 00:04:15"
    for a, b, c in zip(plain, month, noms, strict=True):
        for key in ("Opening Time (UTC+0)", "Closing Time (UTC+0)"):
            exact = to_utc(a[key], 0)
            assert to_utc(b[key], 0) == exact
            assert to_utc(c[key], 0) == exact.replace(microsecond=0)


@pytest.mark.parametrize(("layout", "offset", "zone"), [
    ("full", -3, "(UTC-3)"), ("default", 5, "(UTC+5)"), ("backtest", 0, "(UTC+0)"),
    ("statement", -11, "(UTC-11)"),
])  # fmt: skip
def test_tz_offset_shifts_times_and_names_the_header(layout: str, offset: int, zone: str) -> None:
    utc = deal_rows(render(layout, tz_offset=0)[0], layout)
    text, _ = render(layout, tz_offset=offset)
    shifted = deal_rows(text, layout)
    header = text.splitlines()[1 if layout == "statement" else 0]
    assert "(UTC" not in header.replace(zone, "")
    close = COLUMNS[layout][3]
    for a, b in zip(utc, shifted, strict=True):
        assert to_utc(b[column(shifted, close)], offset) == to_utc(a[column(utc, close)], 0)


def test_localised_forms_parse_back_to_the_same_sums() -> None:
    forms: dict[str, Any] = {
        "decimal_comma": True,
        "delimiter": ";",
        "thousands": "nbsp",
        "id_prefix": True,
    }
    text, totals = render("statement", **forms, empty_dash=True, time_format="month-noms")
    rows = deal_rows(text, "statement", ";")
    assert sum(to_cents(r["Net USD"], decimal_comma=True) for r in rows) == totals.net_cents
    assert to_cents(rows[-1]["Balance USD"], decimal_comma=True) == totals.final_cents
    assert rows[0]["Balance USD"] == "10\u00a0018,42"
    assert rows[0]["Entry price"] == "1,27473"
    assert rows[0]["Pips"] == "18,5"
    assert rows[0]["Deal ID"] == "DID2"
    assert rows[0]["Order ID"] == "OID1"
    assert re.search(r"^PID\d+;", text, re.MULTILINE)
    assert re.search(r"^OID\d+;", text, re.M)
    assert "\u2014" in text  # a zero swap in Positions


@pytest.mark.parametrize(("thousands", "balance"), [
    ("space", "10 018.42"), ("nbsp", "10\u00a0018.42"), ("nnbsp", "10\u202f018.42"),
    ("comma", "10,018.42"),
])  # fmt: skip
def test_thousands_separators(thousands: str, balance: str) -> None:
    text, totals = render("full", thousands=thousands)
    rows = deal_rows(text, "full")
    assert rows[0]["Balance"] == balance
    assert sum(to_cents(r["Net"]) for r in rows) == totals.net_cents
    if thousands == "comma":
        assert f'"{balance}"' in text  # quoted by the csv writer


def test_empty_dash_quantity_unit_and_id_prefix() -> None:
    text, _ = render("full", empty_dash=True, quantity_unit="Lots", id_prefix=True)
    rows = deal_rows(text, "full")
    assert rows[0]["Deal ID"] == "DID2"
    assert rows[0]["Closing Quantity"] == "0.1 Lots"
    assert rows[0]["Swap"] == "\u2014"
    assert rows[0]["Comment"] == "\u2014"
    assert rows[6]["Comment"] == 'note, "quoted"'
    assert "" not in {cell for row in rows for cell in row.values()}
    units = deal_rows(render("backtest", quantity_unit="Units")[0], "backtest")
    assert {r["Quantity"] for r in units} == {"10 000 Units", "10 Units"}


def test_filtered_export_drops_every_fifth_trade() -> None:
    text, totals = render("full", filtered=True)
    rows = deal_rows(text, "full")
    assert len(rows) == totals.trades == N - N // 5
    assert all(int(r["Deal ID"]) % 10 for r in rows)
    assert sum(to_cents(r["Net"]) for r in rows) == totals.net_cents
    assert to_cents(rows[-1]["Balance"]) == totals.final_cents
    assert totals.final_cents != CAPITAL + totals.net_cents  # no longer chains


def test_truncate_last_cuts_the_last_line_in_half() -> None:
    whole, _ = render("default", 5)
    cut, _ = render("default", 5, truncate_last=True)
    last = whole.splitlines()[-1]
    assert cut == whole[: -len(last) - 1] + last[: len(last) // 2]
    assert not cut.endswith("\n")


def test_forms_reject_ambiguous_combinations() -> None:
    with pytest.raises(ValueError, match="comma"):
        Forms(decimal_comma=True, thousands="comma")


def test_backtest_file_name() -> None:
    when = datetime(2026, 8, 20, 21, 56, 13)
    name = backtest_file_name(when, "MACross", "EURUSD", "h1", ["10", "20", "0.1"])
    assert name == "2026-08-20 21-56-13 History - MACross (EURUSD, h1, 10, 20, 0.1).csv"


def test_events_json() -> None:
    out = io.StringIO()
    totals = write_events(out, N, SEED, CAPITAL)
    events = json.loads(out.getvalue())
    assert (
        [e["serial"] for e in events]
        == list(range(1, len(events) + 1))
        == list(range(1, totals.events + 1))
    )
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert all("equity" in e for e in events)
    assert events[0]["event"] == "Create Position"
    assert events[0]["equity"] == CAPITAL / 100
    closes = [e for e in events if "balance" in e]
    assert all("closePrice" in e for e in closes)
    assert {e["event"] for e in closes} == {"Stop Loss Hit", "Take Profit Hit", "Position closed"}
    assert {e["event"] for e in events} - {e["event"] for e in closes} == {
        "Create Position", "Position Modified (S/L)", "Position Modified (T/P)",
    }  # fmt: skip
    assert len(closes) == totals.trades == N
    balances = [round(e["balance"] * 100) for e in closes]
    assert sum(b - a for a, b in zip([CAPITAL, *balances], balances, strict=False)) == (
        totals.net_cents
    )
    assert balances[-1] == totals.final_cents == CAPITAL + totals.net_cents
    opened = {e["positionId"] for e in events if e["event"] == "Create Position"}
    assert len(opened - {e["positionId"] for e in closes}) == totals.open_positions == 2
    order = [e["positionId"] for e in events]
    assert any(order[i] != order[i + 1] == order[i - 1] for i in range(1, len(order) - 1))
    money = [e[k] for e in events for k in ("balance", "equity", "grossProfit") if k in e]
    assert all(abs(m * 100 - round(m * 100)) < 1e-6 for m in money)
    assert any(len(repr(m).split(".")[1]) > 2 for m in money)  # binary float noise
    prices = [e["entryPrice"] for e in events]
    assert any(len(repr(p).split(".")[1]) > 5 for p in prices)
    assert all(abs(p * 1e5 - round(p * 1e5)) < 1e-6 for p in prices)
    for e in closes:
        if e["event"] == "Take Profit Hit":
            assert e["closePrice"] == e["tp"]
        if e["event"] == "Stop Loss Hit":
            assert e["closePrice"] == e["sl"]


def test_events_describe_the_csv_trades_of_that_symbol() -> None:
    events = write_events(io.StringIO(), N, SEED, CAPITAL, symbol="XAUUSD")
    csv_totals = write_layout(io.StringIO(), "backtest", N, SEED, CAPITAL, symbols=("XAUUSD",))
    assert (events.trades, events.net_cents, events.final_cents) == (
        csv_totals.trades, csv_totals.net_cents, csv_totals.final_cents,
    )  # fmt: skip


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--trades", "3", "--out", str(tmp_path / "history.csv")])
    assert (tmp_path / "history.csv").read_text() == ORIGINAL_3_TRADES_SEED_7
    assert "3 trades, final balance 10025.31" in capsys.readouterr().out
    main(["--trades", "4", "--out", str(tmp_path), "--layout", "backtest", "--events"])
    name = "2026-08-20 21-56-13 History - MACross (EURUSD, h1, 10, 20, 0.1).csv"
    rows = deal_rows((tmp_path / name).read_text(encoding="utf-8"), "backtest")
    assert {r["Symbol"] for r in rows} == {"EURUSD"}
    assert len(rows) == 4
    events = json.loads((tmp_path / "events.json").read_text())
    assert round(events[-1]["equity"] * 100) >= 0
    assert "4 closed and 2 open positions" in capsys.readouterr().out
