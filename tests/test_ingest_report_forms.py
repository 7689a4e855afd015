"""Ingest of reports as cTrader really writes them, on both backends: the CLI's summary
alone (no trades), and the `.cbotset` Chart block giving the symbol and period."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError
from backtestdb.ingest import IngestRequest
from backtestdb.ingest.reported import symbol_and_period
from backtestdb.jobs import run_ingest
from backtestdb.parsing import Chart
from backtestdb.parsing.records import ReportSummary
from backtestdb.storage import SourceFile
from tests.conftest import BASIC

CLI_SUMMARY = (
    '{"Equity":10000000, "NetProfit":0, "AverageTrade":-, "ProfitFactor":-, "Fitness":0.5}'
)
PASS_SUMMARY = (
    '{"Equity":10250.5, "NetProfit":250.5, "TotalTrades":4, "WinningTrades":3, '
    '"LosingTrades":1, "AverageTrade":62.63, "ProfitFactor":2.5, "MaxBalanceDrawdown":40.25, '
    '"MaxBalanceDrawdownPercentages":0.39, "MaxEquityDrawdown":55.1, '
    '"MaxEquityDrawdownPercentages":0.54, "SharpeRatio":-, "SortinoRatio":-, "Fitness":-}'
)
CBOTSET = (
    '{"Chart": {"Symbol": "NAS100.cash", "Period": "m1"},'
    ' "Parameters": {"FastPeriod": 9, "UseTrailing": true}}'
)


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def request_for(
    report: Path | None = None,
    csv: Path | None = None,
    params: Path | None = None,
    **kwargs: object,
) -> IngestRequest:
    return IngestRequest(
        report=SourceFile("report", report.name, report) if report else None,
        csv=SourceFile("history", csv.name, csv) if csv else None,
        parameters=SourceFile("parameters", params.name, params) if params else None,
        **kwargs,  # type: ignore[arg-type]
    )


def stored_trades(session: Session, backtest: models.Backtest) -> int:
    query = select(func.count()).where(models.Trade.backtest_id == backtest.id)
    return session.scalar(query) or 0


def test_cli_summary_alone(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    report = written(tmp_path, "stdout.txt", CLI_SUMMARY)
    job, outcome = run_ingest(factory, request_for(report), settings)
    assert job.status == "completed"
    assert outcome.message == "Successfully ingested 0 trades"
    assert outcome.warnings == []
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        assert stored_trades(session, backtest) == 0
        assert backtest.name == "stdout"
        assert backtest.initial_balance == Decimal("10000000.00")
        assert backtest.ending_balance == Decimal("10000000.00")
        assert backtest.ending_equity == Decimal("10000000.00")
        assert backtest.net_profit == Decimal("0.00")
        assert (backtest.total_trades, backtest.winning_trades, backtest.losing_trades) == (0, 0, 0)
        assert backtest.win_rate == Decimal("0.00")
        assert backtest.profit_factor is None
        assert backtest.max_balance_drawdown == Decimal("0.00")
        assert backtest.max_equity_drawdown is None
        assert (backtest.symbol, backtest.symbols, backtest.period) == (None, [], None)
        assert backtest.reported_statistics == {
            "Equity": 10000000,
            "NetProfit": 0,
            "AverageTrade": None,
            "ProfitFactor": None,
            "Fitness": 0.5,
        }
        assert backtest.reconciliation is None


def test_optimisation_pass_summary_with_chart_stores_its_figures(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    report = written(tmp_path, "pass-17.txt", PASS_SUMMARY)
    params = written(tmp_path, "pass-17.cbotset", CBOTSET)
    _, outcome = run_ingest(factory, request_for(report, params=params), settings)
    assert outcome.trades == 0
    assert outcome.warnings == []
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        assert stored_trades(session, backtest) == 0
        assert backtest.initial_balance == Decimal("10000.00")
        assert backtest.net_profit == Decimal("250.50")
        assert backtest.ending_balance == Decimal("10250.50")
        assert backtest.ending_equity == Decimal("10250.50")
        assert (backtest.total_trades, backtest.winning_trades, backtest.losing_trades) == (4, 3, 1)
        assert backtest.win_rate == Decimal("75.00")
        assert backtest.profit_factor == Decimal("2.5000")
        assert backtest.max_balance_drawdown == Decimal("40.25")
        assert backtest.max_balance_drawdown_percent == Decimal("0.39")
        assert backtest.max_equity_drawdown == Decimal("55.10")
        assert backtest.max_equity_drawdown_percent == Decimal("0.54")
        assert (backtest.symbol, backtest.period) == ("NAS100.cash", "m1")
        assert sorted((p.name, p.value) for p in backtest.parameters) == [
            ("FastPeriod", "9"),
            ("UseTrailing", "true"),
        ]
        assert backtest.reported_statistics["SharpeRatio"] is None
        assert backtest.reconciliation is None


def test_cli_summary_without_equity_needs_an_initial_balance(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    report = written(tmp_path, "stdout.txt", '{"NetProfit":-12.5, "ProfitFactor":-}')
    with pytest.raises(BacktestdbError) as info:
        run_ingest(factory, request_for(report), settings)
    assert "--initial-balance" in info.value.message
    _, outcome = run_ingest(factory, request_for(report, initial_balance=Decimal("5000")), settings)
    assert outcome.backtest.initial_balance == Decimal("5000")
    assert outcome.backtest.net_profit == Decimal("-12.50")
    assert outcome.backtest.ending_balance == Decimal("4987.50")


def test_csv_with_cbotset_chart_gives_symbol_and_period(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    csv = written(
        tmp_path,
        "history.csv",
        (BASIC / "history.csv").read_text().replace("EURUSD", "NAS100.cash"),
    )
    params = written(tmp_path, "parameters.cbotset", CBOTSET)
    _, outcome = run_ingest(factory, request_for(csv=csv, params=params), settings)
    assert outcome.trades == 200
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        assert backtest.symbol == "NAS100.cash"
        assert backtest.period == "m1"
        assert backtest.symbols == ["NAS100.cash"]
        assert backtest.net_profit == Decimal("452.42")
        assert backtest.total_trades == 200


def test_report_then_chart_then_trades() -> None:
    chart = Chart("NAS100.cash", "m1")
    report = ReportSummary(symbol="EURUSD", period="h1")
    assert symbol_and_period(report, chart, ["GBPUSD"]) == ("EURUSD", "h1")
    assert symbol_and_period(ReportSummary(symbol="EURUSD"), chart, []) == ("EURUSD", "m1")
    assert symbol_and_period(ReportSummary(), chart, ["GBPUSD"]) == ("NAS100.cash", "m1")
    assert symbol_and_period(None, Chart(period="m5"), ["GBPUSD"]) == ("GBPUSD", "m5")
    assert symbol_and_period(None, Chart(), ["GBPUSD", "EURUSD"]) == (None, None)
