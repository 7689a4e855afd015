"""Figures from the stored trades, written onto the backtest (flushes, never commits)."""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from backtestdb import models
from backtestdb.analytics.block_figures import add_block
from backtestdb.analytics.figures import Figures, FiguresAccumulator
from backtestdb.analytics.reconcile import reconcile
from backtestdb.analytics.trade_blocks import trade_blocks
from backtestdb.config import get_settings
from backtestdb.errors import RowError
from backtestdb.parsing.records import ReportSummary

#: Rows fetched per round trip while streaming trades: memory stays flat on any size.
STREAM_BATCH = 10_000
METRICS_VERSION = 1


def compute_figures(
    session: Session, backtest: models.Backtest, days_per_year: int | None = None
) -> Figures:
    accumulator = FiguresAccumulator(
        backtest.initial_balance,
        start=backtest.testing_start,
        end=backtest.testing_end,
        days_per_year=days_per_year or get_settings().days_per_year,
    )
    for block in trade_blocks(session, backtest.id):
        add_block(accumulator, block)
    return accumulator.result()


def known_fees(backtest: models.Backtest, figures: Figures) -> Figures:
    """Fee totals the backtest does not know (NULL `commissions` / `swaps`: its file has
    no such column) are None in every side's figures too, not the 0 that NULL fees sum to;
    so the report's fees are not compared with them either."""
    unknown = {name: None for name in ("commissions", "swaps") if getattr(backtest, name) is None}
    if not unknown:
        return figures
    sides = {side: replace(getattr(figures, side), **unknown) for side in ("all", "long", "short")}
    return replace(figures, **sides)


def jsonable(value: Any) -> Any:
    """Decimals as JSON numbers (2-4 dp, exact as a float's shortest repr), times as ISO."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


def metrics_json(figures: Figures) -> dict[str, Any]:
    data = {f.name: getattr(figures, f.name) for f in fields(figures)}
    for name in ("all", "long", "short", "drawdown", "returns"):
        data[name] = asdict(data[name])
    return {"version": METRICS_VERSION, **jsonable(data)}


#: Typed backtest column -> where it is in Figures.
TYPED = {
    "expectancy": ("all", "expectancy"),
    "average_win": ("all", "average_win"),
    "average_loss": ("all", "average_loss"),
    "largest_win": ("all", "largest_win"),
    "largest_loss": ("all", "largest_loss"),
    "payoff_ratio": ("all", "payoff_ratio"),
    "max_consecutive_wins": ("all", "max_consecutive_wins"),
    "max_consecutive_losses": ("all", "max_consecutive_losses"),
    "sharpe_ratio": ("returns", "sharpe_ratio"),
    "sortino_ratio": ("returns", "sortino_ratio"),
    "calmar_ratio": ("returns", "calmar_ratio"),
    "cagr_percent": ("returns", "cagr_percent"),
}


def apply(backtest: models.Backtest, figures: Figures) -> None:
    for column, (part, name) in TYPED.items():
        setattr(backtest, column, getattr(getattr(figures, part), name))
    backtest.recovery_factor = figures.recovery_factor
    backtest.metrics = metrics_json(figures)


def report_file(backtest: models.Backtest) -> str:
    for source in backtest.source_files or []:
        if source.get("role") == "report" and source.get("name"):
            return str(source["name"])
    return "report"


def events_equity_drawdown(backtest: models.Backtest) -> tuple[Decimal | None, Decimal | None]:
    """The equity drawdown computed from an events.json's equities (ingest.events), which
    the trades' figures cannot give; (None, None) for other sources (it is the report's)."""
    if not any(source.get("role") == "events" for source in backtest.source_files or []):
        return None, None
    return backtest.max_equity_drawdown, backtest.max_equity_drawdown_percent


def refresh(
    session: Session,
    backtest: models.Backtest,
    report_summary: ReportSummary | None,
    *,
    days_per_year: int | None = None,
) -> list[RowError]:
    """Compute every figure from the stored trades onto `backtest` and reconcile it with
    the report (when there is one); returns a warning per figure the report disagrees on.

    Call after the trades are written (this flushes the session first so it reads them)."""
    session.flush()
    return store(backtest, compute_figures(session, backtest, days_per_year), report_summary)


def store(
    backtest: models.Backtest, figures: Figures, report_summary: ReportSummary | None
) -> list[RowError]:
    """Write computed figures onto `backtest` and reconcile them with the report."""
    figures = known_fees(backtest, figures)
    apply(backtest, figures)
    warnings = unstorable_figures(backtest)
    if report_summary is None:
        backtest.reconciliation = None
    else:
        backtest.reconciliation, disagreements = reconcile(
            figures, report_summary, report_file(backtest), events_equity_drawdown(backtest)
        )
        warnings += disagreements
    return warnings


def unstorable_figures(backtest: models.Backtest, file: str | None = None) -> list[RowError]:
    """A warning per figure too large for its column, which is left empty (NULL) instead
    (the metric set keeps its value). `file`: the trades' (default: the first stored)."""
    files = (str(f["name"]) for f in backtest.source_files or [] if f.get("name"))
    file = file or next(files, "backtest")
    return [
        RowError(
            file,
            f"{column} is {value}, beyond what its column holds: stored empty",
            column=column,
            value=str(value),
        )
        for column, value in models.unstorable_numbers(backtest)
    ]


def current_metrics(session: Session, backtest: models.Backtest) -> dict[str, Any]:
    """The stored metric set, or (for a backtest not refreshed yet) one computed now,
    without writing it: a read never changes the database."""
    if backtest.metrics is not None:
        return backtest.metrics
    return metrics_json(known_fees(backtest, compute_figures(session, backtest)))
