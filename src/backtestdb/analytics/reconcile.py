"""Compare the figures computed from the stored trades with what the report says.

Money and percent points agree within 0.01 (the report rounds to cents and 2 dp), ratios
within 0.01 (cTrader prints profit factor to 2 dp), counts exactly. A figure the trades
cannot give (no losing trade: no largest loss, no profit factor) is not compared.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from backtestdb.analytics.figures import Figures, SideFigures
from backtestdb.errors import RowError
from backtestdb.parsing.records import ReportSummary

TOLERANCE = Decimal("0.01")

#: tradeStatistics key (normalised) -> (our name, is a count)
STATISTICS: dict[str, tuple[str, bool]] = {
    "netprofit": ("net_profit", False),
    "profitfactor": ("profit_factor", False),
    "totaltrades": ("total_trades", True),
    "winningtrades": ("winning_trades", True),
    "losingtrades": ("losing_trades", True),
    "averagetrade": ("average_trade", False),
    "largestwinningtrade": ("largest_win", False),
    "largestlosingtrade": ("largest_loss", False),
    "maxconsecutivewinningtrades": ("max_consecutive_wins", True),
    "maxconsecutivelosingtrades": ("max_consecutive_losses", True),
    "commissions": ("commissions", False),
    "swaps": ("swaps", False),
}
SIDES = {"all": "", "long": "long.", "short": "short."}


def normalize(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if value is None or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def section(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    for key, value in data.items():
        if normalize(str(key)) == name and isinstance(value, dict):
            return value
    return {}


class Reconciler:
    def __init__(self, figures: Figures) -> None:
        self.figures = figures
        self.items: list[dict[str, Any]] = []
        self.seen: set[str] = set()

    def compare(self, metric: str, reported: Any, computed: Decimal | int | None) -> None:
        value = as_decimal(reported)
        if value is None or computed is None or metric in self.seen:
            return
        self.seen.add(metric)
        count = isinstance(computed, int)
        difference = Decimal(computed) - value
        matches = difference == 0 if count else abs(difference) <= TOLERANCE
        self.items.append(
            {
                "metric": metric,
                "reported": int(value) if count else float(value),
                "computed": computed if isinstance(computed, int) else float(computed),
                "difference": int(difference) if count else float(difference),
                "matches": matches,
            }
        )

    def side(self, name: str) -> SideFigures:
        return {"all": self.figures.all, "long": self.figures.long, "short": self.figures.short}[
            name
        ]


def reconcile(
    figures: Figures,
    summary: ReportSummary,
    file: str,
    equity_drawdown: tuple[Decimal | None, Decimal | None] = (None, None),
) -> tuple[dict[str, Any], list[RowError]]:
    """The reconciliation record for `backtests.reconciliation`, and a warning per mismatch.
    `equity_drawdown` is (amount, percent) where the trades give one (an events.json)."""
    check = Reconciler(figures)
    everything, drawdown = figures.all, figures.drawdown
    check.compare("net_profit", summary.net_profit, everything.net_profit)
    check.compare("ending_balance", summary.ending_balance, figures.ending_balance)
    check.compare("total_trades", summary.total_trades, everything.total_trades)
    check.compare("max_balance_drawdown", summary.max_balance_drawdown, drawdown.max_amount)
    check.compare(
        "max_balance_drawdown_percent", summary.max_balance_drawdown_percent, drawdown.max_percent
    )
    check.compare("max_equity_drawdown", summary.max_equity_drawdown, equity_drawdown[0])
    check.compare(
        "max_equity_drawdown_percent", summary.max_equity_drawdown_percent, equity_drawdown[1]
    )
    check.compare("commissions", summary.commissions, everything.commissions)
    check.compare("swaps", summary.swaps, everything.swaps)
    main = section(summary.reported, "main")
    if figures.initial_balance > 0:
        roi = everything.net_profit / figures.initial_balance * 100
        check.compare("roi_percent", main.get("roi"), roi.quantize(TOLERANCE))
    statistics = section(summary.reported, "tradestatistics")
    for key, values in statistics.items():
        known = STATISTICS.get(normalize(str(key)))
        if known is None or not isinstance(values, dict):
            continue
        name, _count = known
        for side, prefix in SIDES.items():
            reported = next((v for k, v in values.items() if normalize(str(k)) == side), None)
            check.compare(prefix + name, reported, getattr(check.side(side), name))
    differences = [item for item in check.items if not item["matches"]]
    record = {"status": "differences" if differences else "reconciled", "items": check.items}
    warnings = [
        RowError(
            file,
            f"the report gives {item['metric']} = {item['reported']}, the trades give "
            f"{item['computed']} (difference {item['difference']})",
            column=item["metric"],
            value=str(item["reported"]),
        )
        for item in differences
    ]
    return record, warnings
