"""report.json and report.html of any size, streamed in flat memory.

Byte for byte what bench/reports.py writes for the same ReportSpec, but neither the trades
nor the document are held: the small sections are computed in passes over the model
(bench/report_figures.py's functions, fed a stream), and `equity.points` and
`history.items` are written item by item into the gaps of the dumped skeleton. The model
is re-drawn for each pass (about 4 us a trade), which costs time, not memory.
"""

from __future__ import annotations

import html
import json
from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any, TextIO

from bench.events import CLOSE, MODIFY, time_ordered
from bench.model import Totals, Trade, floating_gross
from bench.report_figures import Drawdown, hundredths, monthly, trade_statistics
from bench.reports import (
    DAY_MS,
    SCRIPT_ID,
    ReportSpec,
    date_text,
    day_floor,
    history_item,
    open_position,
    summary_rows,
    testing_period,
)

# Stand-ins for the two long lists in the dumped skeleton; json.dumps writes "\x00" as
# "\u0000", which no real value of the report contains.
POINTS, ITEMS = "\x00points\x00", "\x00items\x00"
Chunks = Iterator[str]


def closed(spec: ReportSpec) -> Iterator[Trade]:
    """The report's closed trades, drawn afresh."""
    return islice(spec.model(), spec.trades)


def curve_points(
    spec: ReportSpec, balance: Drawdown, equity: Drawdown
) -> Iterator[tuple[int, int, int, int]]:
    """report_figures.equity_curve's points, yielded instead of kept; the drawdowns are
    added to as they go (the same loop, so the figures are the same)."""
    floating: dict[int, int] = {}
    current = low = high = spec.capital_cents
    open_gross = 0
    for time, stage, trade in time_ordered(spec.model(), spec.trades):
        if stage == MODIFY:
            floating[trade.number] = floating_gross(trade)
            open_gross += floating[trade.number]
        elif stage == CLOSE:
            open_gross -= floating.pop(trade.number, 0)
            current = trade.balance
            balance.add(current)
        value = current + open_gross
        equity.add(value)
        low, high = min(low, value), max(high, value)
        if stage == CLOSE:
            yield time, current, low, high
            low = high = value


def drawdowns(spec: ReportSpec) -> tuple[Drawdown, Drawdown]:
    """(balance, equity) drawdowns of the whole curve: one pass, nothing kept."""
    balance, equity = Drawdown(spec.capital_cents), Drawdown(spec.capital_cents)
    deque(curve_points(spec, balance, equity), maxlen=0)
    return balance, equity


def closed_totals(spec: ReportSpec) -> tuple[Totals, dict[str, Any]]:
    """The closed trades' totals and the testing period (reports.testing_period's)."""
    totals = Totals(initial_cents=spec.capital_cents, final_cents=spec.capital_cents)
    first_open: int | None = None
    last_close = 0
    for trade in closed(spec):
        totals.add(trade)
        first_open = trade.opened_ms if first_open is None else min(first_open, trade.opened_ms)
        last_close = trade.closed_ms
    if first_open is None:
        return totals, testing_period([])
    start, end = day_floor(first_open), day_floor(last_close) + DAY_MS
    period = {"startDate": start, "endDate": end,
              "formatted": f"{date_text(start)} - {date_text(end)}"}  # fmt: skip
    return totals, period


def skeleton(spec: ReportSpec) -> tuple[dict[str, Any], Totals]:
    """reports.report_document with the stand-ins for points and items."""
    totals, period = closed_totals(spec)
    still_open = list(islice(spec.model(), spec.trades, spec.trades + 2))
    totals.open_positions = len(still_open)
    balance, equity = drawdowns(spec)
    profits_losses, monthly_roi = monthly(closed(spec), spec.capital_cents)
    end = totals.final_cents / 100
    started = f'cBot "{spec.cbot}" was started successfully for {spec.symbol}, {spec.period}.'
    document = {
        "main": {
            "symbol": spec.symbol, "period": spec.period,
            "startingCapital": spec.capital_cents / 100, "endingBalance": end,
            "endingEquity": end,
            "netProfit": totals.net_cents / 100,
            "roi": hundredths(totals.net_cents * 100, spec.capital_cents),
            "accountType": "Hedged", "accountLeverage": 500, "depositAsset": "USD",
            "testingPeriod": period, "data": {"type": "m1 bars"},
            "commissions": {"type": "UsdPerMillionUsdVolume", "value": 30.0,
                            "applyCommissionAutomatically": False},
            "spread": {"type": "Fixed", "value": 1.0},
        },
        "equity": {
            "maxEquityDrawdownPercent": equity.percent(),
            "maxEquityDrawdownAbsolute": equity.largest / 100,
            "maxBalanceDrawdownPercent": balance.percent(),
            "maxBalanceDrawdownAbsolute": balance.largest / 100,
            "points": POINTS,
        },
        "tradeStatistics": trade_statistics(closed(spec)),
        "parameters": [
            {"group": p.group, "displayName": p.display_name, "propertyName": p.name,
             "value": p.value}
            for p in spec.parameters
        ],
        "usedSymbols": [spec.symbol],
        "positions": [open_position(t, spec.cbot) for t in still_open],
        "orders": [],
        "history": {"items": ITEMS},
        "entries": [
            {"timestamp": period["startDate"], "message": started},
            {"timestamp": period["endDate"],
             "message": "Backtesting was stopped: end of the testing period reached."},
        ],
        "profitsLosses": profits_losses,
        "roi": monthly_roi,
    }  # fmt: skip
    return document, totals


def dumped(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def points(spec: ReportSpec, start: int | None) -> Chunks:
    """equity.points: the starting capital at the period's start, then the curve's."""
    capital = spec.capital_cents / 100
    yield dumped({"timestamp": start, "balance": capital, "minEquity": capital,
                  "maxEquity": capital})  # fmt: skip
    ignored = (Drawdown(spec.capital_cents), Drawdown(spec.capital_cents))
    for ms, balance, low, high in curve_points(spec, *ignored):
        yield dumped({"timestamp": ms, "balance": balance / 100, "minEquity": low / 100,
                      "maxEquity": high / 100})  # fmt: skip


def items(spec: ReportSpec) -> Chunks:
    for trade in closed(spec):
        yield dumped(history_item(trade, spec.cbot))


def listed(chunks: Chunks) -> Chunks:
    """A JSON list of the chunks, separated as json.dumps separates list items."""
    yield "["
    for number, chunk in enumerate(chunks):
        yield chunk if number == 0 else ", " + chunk
    yield "]"


def document_chunks(spec: ReportSpec, document: dict[str, Any]) -> Chunks:
    """json.dumps(report_document(spec)[0]), in pieces."""
    text = dumped(document)
    before, rest = text.split(dumped(POINTS))
    middle, after = rest.split(dumped(ITEMS))
    yield before
    yield from listed(points(spec, document["main"]["testingPeriod"]["startDate"]))
    yield middle
    yield from listed(items(spec))
    yield after


def written(out: TextIO, chunks: Chunks, change: Callable[[str], str] = str) -> None:
    for chunk in chunks:
        out.write(change(chunk))


def write_report_json(out: TextIO, spec: ReportSpec) -> Totals:
    """reports.write_report_json, streamed."""
    document, totals = skeleton(spec)
    written(out, document_chunks(spec, document))
    out.write("\n")
    return totals


def escaped(chunk: str) -> str:
    # No "</" straddles two chunks: each ends in "}", "]" or a key's ": ".
    return chunk.replace("</", "<\\/")


def write_report_html(out: TextIO, spec: ReportSpec) -> Totals:
    """reports.write_report_html, streamed."""
    document, totals = skeleton(spec)
    title = html.escape(f"Backtesting report - {spec.cbot} - {spec.symbol}")
    rows = "".join(
        f"<tr><th>{name}</th><td>{html.escape(value)}</td></tr>\n"
        for name, value in summary_rows(document)
    )
    out.write(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n<h1>Backtesting report</h1>\n"
        f'<table class="summary">\n{rows}</table>\n<div id="app"></div>\n'
        f'<script type="application/json" id="{SCRIPT_ID}">\n'
    )
    written(out, document_chunks(spec, document), escaped)
    out.write("\n</script>\n</body>\n</html>\n")
    return totals
