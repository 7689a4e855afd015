"""Value forms and the History CSV layouts other than `full`.

`Forms` lists how values are written and `Cells` renders them as cTrader does (time zone,
time format, quantity unit, thousands separator, decimal comma, em dash for empty cells, id
prefixes). The trades come from bench/model.py; the `full` layout and the CLI live in
bench/generate.py, events.json in bench/events.py.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TextIO

from bench.model import (
    ALL_SYMBOLS,
    EPOCH,
    HOUR_MS,
    MAX_HOLD_MS,
    Totals,
    Trade,
    floating_gross,
    iter_trades,
)

TIME_FORMATS = ("slash", "month", "month-noms", "slash-noms")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
QUANTITY_UNITS = ("Lots", "Units", "Indices", "Contracts", "Shares", "Oz")
THOUSANDS = {"none": "", "space": " ", "nbsp": "\u00a0", "nnbsp": "\u202f", "comma": ","}
DELIMITERS = (",", ";", "\t")
DASH = "\u2014"


@dataclass(frozen=True, slots=True)
class Forms:
    """Value forms; the defaults reproduce the original History CSV."""

    tz_offset: int | None = None  # None: the layout's own (full/default 0, backtest 1, ...)
    time_format: str = "slash"
    quantity_unit: str | None = None
    thousands: str = "none"
    decimal_comma: bool = False
    delimiter: str = ","
    empty_dash: bool = False
    id_prefix: bool = False
    filtered: bool = False  # drop every 5th trade
    truncate_last: bool = False  # cut the file's last line in half

    def __post_init__(self) -> None:
        checks = [
            (self.time_format in TIME_FORMATS, f"time format {self.time_format!r}"),
            (self.thousands in THOUSANDS, f"thousands separator {self.thousands!r}"),
            (self.quantity_unit in (None, *QUANTITY_UNITS), f"unit {self.quantity_unit!r}"),
            (self.delimiter in DELIMITERS, f"delimiter {self.delimiter!r}"),
            (not self.decimal_comma or self.thousands != "comma", "decimal and thousands comma"),
        ]
        for ok, what in checks:
            if not ok:
                raise ValueError(f"unsupported value form: {what}")

    @property
    def whole_seconds(self) -> bool:
        return self.time_format.endswith("-noms")


PLAIN = Forms()  # the original History CSV's forms


class Cells:
    """Renders the values of one file in its Forms."""

    def __init__(self, forms: Forms, default_offset: int = 0) -> None:
        self.forms = forms
        self.offset = default_offset if forms.tz_offset is None else forms.tz_offset
        self.zone = f"(UTC{self.offset:+d})"
        self.point = "," if forms.decimal_comma else "."
        self.group = THOUSANDS[forms.thousands]

    def time(self, ms: int) -> str:
        at = EPOCH + timedelta(milliseconds=ms + self.offset * HOUR_MS)
        if self.forms.time_format.startswith("slash"):
            day = f"{at.day:02d}/{at.month:02d}/{at.year}"
        else:
            day = f"{at.day:02d} {MONTHS[at.month - 1]} {at.year}"
        clock = f"{at.hour:02d}:{at.minute:02d}:{at.second:02d}"
        if self.forms.whole_seconds:
            return f"{day} {clock}"
        return f"{day} {clock}.{at.microsecond // 1000:03d}"

    def money(self, cents: int) -> str:
        whole, frac = divmod(abs(cents), 100)
        digits = f"{whole:,}".replace(",", self.group) if self.group else str(whole)
        return f"{'-' if cents < 0 else ''}{digits}{self.point}{frac:02d}"

    def price(self, points: int, decimals: int) -> str:
        whole, frac = divmod(points, 10**decimals)
        return f"{whole}{self.point}{frac:0{decimals}d}"

    def pips(self, tenths: int) -> str:
        whole, frac = divmod(abs(tenths), 10)
        return f"{'-' if tenths < 0 else ''}{whole}{self.point}{frac}"

    def quantity(self, trade: Trade) -> str:
        unit = self.forms.quantity_unit
        if unit is None:
            return self.price(trade.volume * 100 // trade.lot, 2)  # lots: "0.10"
        if unit != "Lots":
            return f"{trade.volume:,} {unit}".replace(",", " ")
        whole, frac = divmod(trade.volume * 100 // trade.lot, 100)
        decimals = f"{frac:02d}".rstrip("0")
        number = f"{whole:,}".replace(",", " ") + (self.point + decimals if decimals else "")
        return f"{number} {unit}"

    def blank(self, text: str) -> str:
        return DASH if self.forms.empty_dash and not text else text

    def swap(self, cents: int) -> str:
        """Zero swap is an empty cell (the em dash) when empty cells are dashed."""
        return DASH if self.forms.empty_dash and not cents else self.money(cents)

    def ident(self, prefix: str, number: int) -> str:
        return f"{prefix}{number}" if self.forms.id_prefix else str(number)


class _HoldLast:
    """Passes writes through, holding the latest back so the last line can be cut."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.pending = ""

    def write(self, text: str) -> int:
        self.out.write(self.pending)
        self.pending = text
        return len(text)

    def finish(self) -> None:
        line = self.pending.rstrip("\n")
        self.out.write(line[: len(line) // 2])


class CsvFile:
    """A csv writer over `out` in the file's delimiter, quoting and truncation."""

    def __init__(self, out: TextIO, forms: Forms, quote_all: bool = False) -> None:
        self.hold = _HoldLast(out) if forms.truncate_last else None
        target: Any = out if self.hold is None else self.hold
        self.writer = csv.writer(
            target,
            delimiter=forms.delimiter,
            lineterminator="\n",
            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        )
        self.row = self.writer.writerow

    def finish(self) -> None:
        if self.hold is not None:
            self.hold.finish()


def chosen(model: Iterator[Trade], trades: int, forms: Forms) -> Iterator[Trade]:
    """The first `trades` trades, less every 5th when the export is filtered."""
    for trade in islice(model, trades):
        if not (forms.filtered and trade.number % 5 == 0):
            yield trade


def by_entry(trades: Iterable[Trade]) -> Iterator[Trade]:
    """Close-ordered trades re-ordered by entry time in a bounded buffer: a trade closing
    later opens no earlier than its close minus MAX_HOLD_MS (less a second of rounding)."""
    heap: list[tuple[int, int, Trade]] = []
    for trade in trades:
        bound = trade.closed_ms - MAX_HOLD_MS - 1000
        while heap and heap[0][0] <= bound:
            yield heapq.heappop(heap)[2]
        heapq.heappush(heap, (trade.opened_ms, trade.number, trade))
    while heap:
        yield heapq.heappop(heap)[2]


def side(buy: bool) -> str:
    return "Buy" if buy else "Sell"


def write_default(
    out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
    *, forms: Forms = PLAIN, symbols: Sequence[str] = ALL_SYMBOLS,
) -> Totals:  # fmt: skip
    """cTrader's History tab default 8 columns, every cell quoted, close-time order."""
    cells, file = Cells(forms, 0), CsvFile(out, forms, quote_all=True)
    file.row([
        "Symbol", "Opening direction", f"Closing time {cells.zone}", "Entry price",
        "Closing price", "Closing Quantity", "Net €", "Balance €",
    ])  # fmt: skip
    totals = Totals(initial_cents=capital_cents, final_cents=capital_cents)
    for t in chosen(iter_trades(seed, capital_cents, symbols, forms.whole_seconds), trades, forms):
        file.row([
            t.symbol, side(t.buy), cells.time(t.closed_ms), cells.price(t.entry, t.decimals),
            cells.price(t.exit, t.decimals), cells.quantity(t), cells.money(t.net),
            cells.money(t.balance),
        ])  # fmt: skip
        totals.add(t)
    file.finish()
    return totals


def write_backtest(
    out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
    *, forms: Forms = PLAIN, symbols: Sequence[str] = ALL_SYMBOLS, edge: int = 0,
) -> Totals:  # fmt: skip
    """The backtest History export: entry-time order, Balance $ as of each trade's close.
    `edge`: the model's (bench/trees.py makes results depend on parameters with it)."""
    cells, file = Cells(forms, 1), CsvFile(out, forms)
    file.row([
        "Label", f"Entry time {cells.zone}", "Symbol", "Quantity", "Volume", "Type",
        "Entry price", "Broker commission", "Swaps", "Closing price",
        f"Closing time {cells.zone}", "Net $", "Pips", "Gross $", "Balance $", "ID",
    ])  # fmt: skip
    totals = Totals(initial_cents=capital_cents)
    latest: Trade | None = None
    model = iter_trades(seed, capital_cents, symbols, forms.whole_seconds, edge=edge)
    for t in by_entry(chosen(model, trades, forms)):
        file.row([
            cells.blank("bench"), cells.time(t.opened_ms), t.symbol, cells.quantity(t),
            t.volume, side(t.buy), cells.price(t.entry, t.decimals), cells.money(t.commission),
            cells.swap(t.swap), cells.price(t.exit, t.decimals), cells.time(t.closed_ms),
            cells.money(t.net), cells.pips(t.pips_tenths), cells.money(t.gross),
            cells.money(t.balance), cells.ident("DID", t.deal_id),
        ])  # fmt: skip
        totals.add(t)
        if latest is None or t.number > latest.number:
            latest = t
    # In file order the balances do not chain: the final one is the last trade to close's.
    totals.final_cents = capital_cents if latest is None else latest.balance
    file.finish()
    return totals


def backtest_file_name(
    when: datetime, cbot: str, symbol: str, timeframe: str, values: list[str]
) -> str:
    """cTrader's name for a backtest History export, e.g.
    `2026-08-20 21-56-13 History - MACross (EURUSD, h1, 10, 20, 0.1).csv`."""
    inside = ", ".join([symbol, timeframe, *values])
    return f"{when:%Y-%m-%d %H-%M-%S} History - {cbot} ({inside}).csv"


def write_statement(
    out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
    *, forms: Forms = PLAIN, symbols: Sequence[str] = ALL_SYMBOLS,
) -> Totals:  # fmt: skip
    """An account statement: Deals (the trades, then a TOTALS row), Positions (the next two
    trades, still open), Orders (two pending orders) and Summary sections."""
    cells, file = Cells(forms, 8), CsvFile(out, forms)
    zone = cells.zone
    file.row(["Deals"])
    file.row([
        "Deal ID", "Order ID", "Symbol", "Opening Direction", "Closing Direction",
        f"Opening time {zone}", f"Closing Time {zone}", "Entry price", "Closing price",
        "Closing Quantity", "Commissions", "Pips", "Net USD", "Channel", "Balance USD",
    ])  # fmt: skip
    totals = Totals(initial_cents=capital_cents, final_cents=capital_cents)
    model = iter_trades(seed, capital_cents, symbols, forms.whole_seconds)
    balance = capital_cents
    for t in islice(model, trades):
        balance = t.balance
        if forms.filtered and t.number % 5 == 0:
            continue
        file.row([
            cells.ident("DID", t.deal_id), cells.ident("OID", t.order_id), t.symbol,
            side(t.buy), side(not t.buy), cells.time(t.opened_ms), cells.time(t.closed_ms),
            cells.price(t.entry, t.decimals), cells.price(t.exit, t.decimals),
            cells.quantity(t), cells.money(t.commission), cells.pips(t.pips_tenths),
            cells.money(t.net), "cBot", cells.money(t.balance),
        ])  # fmt: skip
        totals.add(t)
    sums = [""] * 15  # TOTALS: empty but for the Commissions, Pips and Net USD sums
    sums[10:13] = [
        cells.money(totals.commission_cents), cells.pips(totals.pips_tenths),
        cells.money(totals.net_cents),
    ]  # fmt: skip
    file.row(sums)
    file.row([])
    file.row(["Positions"])
    file.row([
        "Position ID", "Symbol", "Direction", f"Opening time {zone}", "Entry price",
        "Quantity", "Swap", "Commissions", "Net USD",
    ])  # fmt: skip
    floating = 0
    for t in islice(model, 2):
        net = floating_gross(t) + t.commission + t.swap
        floating += net
        file.row([
            cells.ident("PID", t.number), t.symbol, side(t.buy), cells.time(t.opened_ms),
            cells.price(t.entry, t.decimals), cells.quantity(t), cells.swap(t.swap),
            cells.money(t.commission), cells.money(net),
        ])  # fmt: skip
        totals.open_positions += 1
    file.row([])
    file.row(["Orders"])
    file.row([
        "Order ID", "Symbol", "Order Type", "Direction", "Quantity", "Target price",
        f"Created time {zone}",
    ])  # fmt: skip
    t = next(model)  # pending orders at 50 points either side of the next trade's entry
    for order_id, kind, offset in ((t.order_id, "Limit", -50), (t.order_id + 2, "Stop", 50)):
        file.row([
            cells.ident("OID", order_id), t.symbol, kind, side(t.buy),
            cells.quantity(t), cells.price(t.level(offset), t.decimals),
            cells.time(t.opened_ms),
        ])  # fmt: skip
    file.row([])
    file.row(["Summary"])
    file.row(["Deposit", "Withdrawal", "Total net", "Equity", "Balance"])
    file.row([
        cells.money(capital_cents), cells.money(0), cells.money(balance - capital_cents),
        cells.money(balance + floating), cells.money(balance),
    ])  # fmt: skip
    file.finish()
    return totals
