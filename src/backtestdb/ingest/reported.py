"""What the report and the parameters file say about a backtest where its trades cannot:
the symbol and period, and every figure of a report that comes without trades (the
summary `ctrader-cli` prints, an optimisation pass's report without its history)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from backtestdb import models
from backtestdb.money import BASIS, CENT, from_cents, percent, to_cents
from backtestdb.parsing import Chart, chart_of
from backtestdb.parsing.records import Report, ReportSummary, TradeSource
from backtestdb.storage import SourceFile

#: Backtest columns a summary-only report fills, by how they are rounded.
_MONEY = ("net_profit", "max_balance_drawdown", "commissions", "swaps")
_COUNTS = ("total_trades", "winning_trades", "losing_trades")


def chart_of_file(file: SourceFile | None) -> Chart:
    """The parameters file's `Chart` block; an empty Chart without a file."""
    return Chart() if file is None else chart_of(file.path.read_bytes(), file.name)


def symbol_and_period(
    reported: ReportSummary | None, chart: Chart, traded: list[str]
) -> tuple[str | None, str | None]:
    """The report's symbol and period, else the Chart block's; else the symbol of the
    trades when they all have one."""
    symbol = (reported.symbol if reported else None) or chart.symbol
    period = (reported.period if reported else None) or chart.period
    return symbol or (traded[0] if len(traded) == 1 else None), period


def summary_only(
    report: Report | None, source: TradeSource, rows_read: int
) -> ReportSummary | None:
    """The report's summary when it is all there is: the report is the trade source and
    gave no row at all (not even a bad one)."""
    if report is None or source is not report.trades or rows_read:
        return None
    return report.summary


def apply_reported_figures(backtest: models.Backtest, summary: ReportSummary) -> None:
    """Write a summary-only report's figures over the zeros its (absent) trades gave,
    rounded as the columns hold them; a figure it does not give stays as it was."""
    for name in _MONEY:
        value = getattr(summary, name)
        if value is not None:
            setattr(backtest, name, from_cents(to_cents(value)))
    for name in _COUNTS:
        if (count := getattr(summary, name)) is not None:
            setattr(backtest, name, count)
    if summary.winning_trades is not None and summary.total_trades is not None:
        backtest.win_rate = percent(summary.winning_trades, summary.total_trades)
    if summary.max_balance_drawdown_percent is not None:
        backtest.max_balance_drawdown_percent = _rounded(summary.max_balance_drawdown_percent, CENT)
    if summary.profit_factor is not None:
        backtest.profit_factor = _rounded(summary.profit_factor, BASIS)
    backtest.ending_balance = (
        from_cents(to_cents(summary.ending_balance))
        if summary.ending_balance is not None
        else backtest.initial_balance + backtest.net_profit
    )


def _rounded(value: Decimal, places: Decimal) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)
