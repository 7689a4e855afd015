"""The backtests row and its parameter rows, filled from what the ingest pass learnt,
and the warnings the pass gives besides its row errors."""

from __future__ import annotations

import uuid

from backtestdb import models
from backtestdb.errors import RowError
from backtestdb.ingest import derived
from backtestdb.ingest.reported import chart_of_file, symbol_and_period
from backtestdb.ingest.requests import IngestRequest
from backtestdb.parsing.records import Parameter, Report
from backtestdb.storage import SourceFile


def count_warnings(report: Report | None, request: IngestRequest, stored: int) -> list[RowError]:
    if report is None or request.csv is None:
        return []
    reported = report.summary.total_trades
    if reported is None or reported == stored:
        return []
    return [
        RowError(
            request.csv.name,
            f"the report counts {reported} trades but the CSV gave {stored}; "
            "the CSV is the trade source",
        )
    ]


def failure_message(count: int) -> str:
    noun = "row error" if count == 1 else "row errors"
    return f"Validation failed with {count} {noun}; nothing was stored"


def skipped(error: RowError) -> RowError:
    return RowError(
        error.file, f"row skipped: {error.message}", error.row, error.column, error.value
    )


def apply_summary(
    backtest: models.Backtest,
    stored: derived.StoredTrades,
    report: Report | None,
    parameters: SourceFile | None,
) -> None:
    summary = stored.summary
    for name in (
        "ending_balance", "net_profit", "gross_profit", "gross_loss", "total_trades",
        "winning_trades", "losing_trades", "win_rate", "profit_factor",
        "max_balance_drawdown", "max_balance_drawdown_percent", "commissions", "swaps",
    ):  # fmt: skip
        setattr(backtest, name, getattr(summary, name))
    symbols = sorted(stored.symbols)
    reported = report.summary if report else None
    backtest.symbols = (reported.symbols if reported and reported.symbols else None) or symbols
    chart = chart_of_file(parameters)
    backtest.symbol, backtest.period = symbol_and_period(reported, chart, symbols)
    backtest.testing_start = (reported.testing_start if reported else None) or stored.first_open
    backtest.testing_end = (reported.testing_end if reported else None) or stored.last_close
    if reported is not None:
        backtest.ending_equity = reported.ending_equity
        backtest.max_equity_drawdown = reported.max_equity_drawdown
        backtest.max_equity_drawdown_percent = reported.max_equity_drawdown_percent
        backtest.reported_statistics = reported.reported


def parameter_rows(backtest_id: uuid.UUID, parameters: list[Parameter]) -> list[models.Parameter]:
    return [
        models.Parameter(
            backtest_id=backtest_id,
            name=p.name,
            value=p.value,
            value_type=p.value_type,
            group_name=p.group,
            display_name=p.display_name,
        )
        for p in parameters
    ]
