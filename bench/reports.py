"""cTrader backtest reports of the model's trades: `report.json` as the CLI writes it, and
`report.html` with that JSON embedded in `<script type="application/json"
id="backtesting-report">` (`</` written `<\\/`, so no text ends the script early).

The report describes the same trades as events.json and the backtest History CSV of the
same (trades, seed, capital, symbol, edge): `history.items` are the first `trades` trades
in close order, `positions` the next two (left open, as in events.json). Every figure is
computed from those trades (bench/report_figures.py), so backtestdb's reconciliation of
the report with the trades finds no difference. In memory: meant for passes of thousands
of trades, not millions.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any, NamedTuple, TextIO

from bench.layouts import side
from bench.model import EPOCH, Totals, Trade, iter_trades
from bench.report_figures import equity_curve, hundredths, monthly, trade_statistics

DAY_MS = 86_400_000
SCRIPT_ID = "backtesting-report"


class Parameter(NamedTuple):
    """One cBot parameter as the report lists it."""

    group: str
    display_name: str
    name: str
    value: int | float | bool | str


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """What one backtest ran: its trades come from iter_trades(seed, capital, (symbol,),
    edge=edge)."""

    trades: int
    seed: int = 7
    capital_cents: int = 1_000_000
    symbol: str = "EURUSD"
    period: str = "h1"
    cbot: str = "MACross"
    edge: int = 0
    parameters: tuple[Parameter, ...] = ()

    def model(self) -> Iterator[Trade]:
        return iter_trades(self.seed, self.capital_cents, (self.symbol,), edge=self.edge)


def day_floor(ms: int) -> int:
    return ms - ms % DAY_MS


def date_text(ms: int) -> str:
    return f"{EPOCH + timedelta(milliseconds=ms):%d/%m/%Y}"


def testing_period(trades: list[Trade]) -> dict[str, Any]:
    """From the midnight before the first opening to the midnight after the last close."""
    if not trades:
        return {"startDate": None, "endDate": None, "formatted": ""}
    start = day_floor(min(t.opened_ms for t in trades))
    end = day_floor(trades[-1].closed_ms) + DAY_MS
    return {
        "startDate": start,
        "endDate": end,
        "formatted": f"{date_text(start)} - {date_text(end)}",
    }


def history_item(trade: Trade, label: str) -> dict[str, Any]:
    scale = 10.0**-trade.decimals
    return {
        "id": trade.deal_id, "symbol": trade.symbol, "label": label, "direction": side(trade.buy),
        "entryTime": trade.opened_ms, "closeTime": trade.closed_ms,
        "entryPrice": round(trade.entry * scale, trade.decimals),
        "closePrice": round(trade.exit * scale, trade.decimals),
        "quantity": trade.volume / trade.lot, "volume": trade.volume,
        "commissions": trade.commission / 100, "swaps": trade.swap / 100,
        "pips": trade.pips_tenths / 10, "gross": trade.gross / 100, "net": trade.net / 100,
        "comment": trade.comment,
    }  # fmt: skip


def open_position(trade: Trade, label: str) -> dict[str, Any]:
    return {
        "id": trade.number, "symbol": trade.symbol, "label": label,
        "direction": side(trade.buy), "entryTime": trade.opened_ms,
        "entryPrice": round(trade.entry * 10.0**-trade.decimals, trade.decimals),
        "quantity": trade.volume / trade.lot, "volume": trade.volume,
    }  # fmt: skip


def report_document(spec: ReportSpec) -> tuple[dict[str, Any], Totals]:
    """The report's JSON object, and the totals of its closed trades."""
    model = spec.model()
    trades = list(islice(model, spec.trades))
    still_open = list(islice(model, 2))
    totals = Totals(initial_cents=spec.capital_cents, final_cents=spec.capital_cents)
    for trade in trades:
        totals.add(trade)
    totals.open_positions = len(still_open)
    curve = equity_curve(spec.model(), spec.trades, spec.capital_cents)
    period = testing_period(trades)
    points: list[dict[str, Any]] = [
        {"timestamp": period["startDate"], "balance": spec.capital_cents / 100,
         "minEquity": spec.capital_cents / 100, "maxEquity": spec.capital_cents / 100},
    ]  # fmt: skip
    points += [
        {"timestamp": ms, "balance": b / 100, "minEquity": low / 100, "maxEquity": high / 100}
        for ms, b, low, high in curve.points
    ]
    profits_losses, monthly_roi = monthly(trades, spec.capital_cents)
    end = totals.final_cents / 100
    started = f'cBot "{spec.cbot}" was started successfully for {spec.symbol}, {spec.period}.'
    document = {
        "main": {
            "symbol": spec.symbol, "period": spec.period,
            "startingCapital": spec.capital_cents / 100, "endingBalance": end,
            "endingEquity": end,  # the open positions have no floating profit yet
            "netProfit": totals.net_cents / 100,
            "roi": hundredths(totals.net_cents * 100, spec.capital_cents),
            "accountType": "Hedged", "accountLeverage": 500, "depositAsset": "USD",
            "testingPeriod": period, "data": {"type": "m1 bars"},
            "commissions": {"type": "UsdPerMillionUsdVolume", "value": 30.0,
                            "applyCommissionAutomatically": False},
            "spread": {"type": "Fixed", "value": 1.0},
        },
        "equity": {
            "maxEquityDrawdownPercent": curve.equity.percent(),
            "maxEquityDrawdownAbsolute": curve.equity.largest / 100,
            "maxBalanceDrawdownPercent": curve.balance.percent(),
            "maxBalanceDrawdownAbsolute": curve.balance.largest / 100,
            "points": points,
        },
        "tradeStatistics": trade_statistics(trades),
        "parameters": [
            {"group": p.group, "displayName": p.display_name, "propertyName": p.name,
             "value": p.value}
            for p in spec.parameters
        ],
        "usedSymbols": [spec.symbol],
        "positions": [open_position(t, spec.cbot) for t in still_open],
        "orders": [],
        "history": {"items": [history_item(t, spec.cbot) for t in trades]},
        "entries": [
            {"timestamp": period["startDate"], "message": started},
            {"timestamp": period["endDate"],
             "message": "Backtesting was stopped: end of the testing period reached."},
        ],
        "profitsLosses": profits_losses,
        "roi": monthly_roi,
    }  # fmt: skip
    return document, totals


def write_report_json(out: TextIO, spec: ReportSpec) -> Totals:
    document, totals = report_document(spec)
    json.dump(document, out, ensure_ascii=False)
    out.write("\n")
    return totals


def summary_rows(document: dict[str, Any]) -> list[tuple[str, str]]:
    main, statistics = document["main"], document["tradeStatistics"]
    factor = statistics["profitFactor"]["all"]
    return [
        ("Symbol", main["symbol"]), ("Period", main["period"]),
        ("Testing period", main["testingPeriod"]["formatted"]),
        ("Starting capital", f"{main['startingCapital']:.2f}"),
        ("Ending balance", f"{main['endingBalance']:.2f}"),
        ("Net profit", f"{main['netProfit']:.2f}"),
        ("Total trades", str(statistics["totalTrades"]["all"])),
        ("Profit factor", "-" if factor is None else f"{factor:.2f}"),
    ]  # fmt: skip


def write_report_html(out: TextIO, spec: ReportSpec) -> Totals:
    """The HTML report: a summary table and the JSON report in its script element."""
    document, totals = report_document(spec)
    title = html.escape(f"Backtesting report - {spec.cbot} - {spec.symbol}")
    rows = "".join(
        f"<tr><th>{name}</th><td>{html.escape(value)}</td></tr>\n"
        for name, value in summary_rows(document)
    )
    embedded = json.dumps(document, ensure_ascii=False).replace("</", "<\\/")
    out.write(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n<h1>Backtesting report</h1>\n"
        f'<table class="summary">\n{rows}</table>\n<div id="app"></div>\n'
        f'<script type="application/json" id="{SCRIPT_ID}">\n{embedded}\n</script>\n'
        "</body>\n</html>\n"
    )
    return totals
