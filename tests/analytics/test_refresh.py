"""analytics.refresh after a real ingest, on both backends: typed columns, the metrics
JSON and the reconciliation against the report."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.analytics.breakdowns import breakdown
from backtestdb.config import Settings
from tests.analytics.conftest import ingest_and_refresh, write_csv
from tests.conftest import BASIC

EXPECTED = json.loads((BASIC / "expected.json").read_text())


def test_basic_report_is_reconciled_with_every_figure(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest, warnings = ingest_and_refresh(factory, settings, BASIC / "report.json")
    assert warnings == []
    with factory() as session:
        stored = session.get_one(models.Backtest, backtest.id)
        assert stored.expectancy == Decimal("2.26")
        assert stored.average_win == Decimal("18.78")
        assert stored.average_loss == Decimal("-17.52")
        assert stored.largest_win == Decimal("68.73")
        assert stored.largest_loss == Decimal("-24.38")
        assert stored.max_consecutive_wins == 8
        assert stored.max_consecutive_losses == 8
        assert stored.payoff_ratio == Decimal("1.0717")
        assert stored.recovery_factor == Decimal("2.5753")
        assert stored.sharpe_ratio is not None
        assert stored.sortino_ratio is not None
        assert stored.calmar_ratio is not None
        assert stored.cagr_percent is not None
        metrics = stored.metrics
        assert metrics is not None
        for side in ("long", "short"):
            assert metrics[side]["net_profit"] == EXPECTED[side]["netProfit"]
            assert metrics[side]["profit_factor"] == EXPECTED[side]["profitFactor"]
            assert metrics[side]["average_win"] == EXPECTED[side]["averageWin"]
            assert metrics[side]["swaps"] == EXPECTED[side]["swaps"]
        assert metrics["drawdown"]["max_amount"] == 175.68
        assert metrics["drawdown"]["peak_balance"] == 10009.61
        assert metrics["returns"]["days_per_year"] == 252
        reconciliation = stored.reconciliation
        assert reconciliation is not None
        assert reconciliation["status"] == "reconciled"
        compared = {item["metric"] for item in reconciliation["items"]}
        assert {"net_profit", "ending_balance", "max_balance_drawdown_percent",
                "long.max_consecutive_wins", "short.swaps", "profit_factor"} <= compared  # fmt: skip
        assert all(item["matches"] for item in reconciliation["items"])


def test_net_profit_off_by_1234_is_a_warning(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    report = json.loads((BASIC / "report.json").read_text())
    report["main"]["netProfit"] = 464.76  # the trades give 452.42
    path = tmp_path / "off.json"
    path.write_text(json.dumps(report))
    backtest, warnings = ingest_and_refresh(factory, settings, path)
    assert [w.column for w in warnings] == ["net_profit"]
    assert warnings[0].file == "off.json"
    assert "464.76" in warnings[0].message
    assert "452.42" in warnings[0].message
    assert warnings[0].value == "464.76"
    with factory() as session:
        stored = session.get_one(models.Backtest, backtest.id)
        assert stored.reconciliation is not None
        assert stored.reconciliation["status"] == "differences"
        [item] = [i for i in stored.reconciliation["items"] if not i["matches"]]
        assert item == {
            "metric": "net_profit", "reported": 464.76, "computed": 452.42,
            "difference": -12.34, "matches": False,
        }  # fmt: skip


def test_csv_only_has_no_reconciliation_and_refresh_is_repeatable(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest, warnings = ingest_and_refresh(factory, settings, csv=BASIC / "history.csv")
    assert warnings == []
    with factory.begin() as session:
        stored = session.get_one(models.Backtest, backtest.id)
        assert stored.reconciliation is None
        first = stored.metrics
        from backtestdb import analytics

        analytics.refresh(session, stored, None)
        assert stored.metrics == first
        assert stored.largest_win == Decimal("68.73")


def test_month_boundary_and_time_zone_shift(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    # Times are at UTC+4: 01/02 02:00 local is 31 January 22:00 UTC.
    rows = [
        ("Buy", "30/01/2024 10:00:00", "30/01/2024 12:00:00", "10.00", "EURUSD"),
        ("Sell", "31/01/2024 20:00:00", "01/02/2024 02:00:00", "-4.00", "EURUSD"),
        ("Buy", "01/02/2024 05:00:00", "01/02/2024 06:30:00", "7.50", "GBPUSD"),
    ]
    csv = write_csv(tmp_path / "shifted.csv", rows, header_zone="UTC+4")
    backtest, _ = ingest_and_refresh(factory, settings, csv=csv, initial_balance=Decimal(1000))
    with factory() as session:
        months = {g.key: g.net_profit for g in breakdown(session, backtest.id, "month")}
        assert months == {"2024-01": Decimal("6.00"), "2024-02": Decimal("7.50")}
        days = {g.key: g.trades for g in breakdown(session, backtest.id, "day")}
        assert days == {"2024-01-30": 1, "2024-01-31": 1, "2024-02-01": 1}
        hours = {g.key: g.trades for g in breakdown(session, backtest.id, "hour")}
        assert hours == {8: 1, 22: 1, 2: 1}
        stored = session.get_one(models.Backtest, backtest.id)
        assert stored.metrics is not None
        returns = stored.metrics["returns"]
        assert returns["best_month"] == "2024-02"
        assert returns["best_month_net"] == 7.5
        assert returns["worst_day"] == "2024-01-31"
        assert returns["worst_day_net"] == -4.0


def test_drawdown_never_recovered_is_stored(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    rows = [
        ("Buy", "01/03/2024 10:00:00", "01/03/2024 11:00:00", "50.00", "EURUSD"),
        ("Buy", "04/03/2024 10:00:00", "04/03/2024 11:00:00", "-80.00", "EURUSD"),
        ("Sell", "05/03/2024 10:00:00", "05/03/2024 11:00:00", "10.00", "EURUSD"),
    ]
    csv = write_csv(tmp_path / "down.csv", rows)
    backtest, _ = ingest_and_refresh(factory, settings, csv=csv, initial_balance=Decimal(1000))
    with factory() as session:
        stored = session.get_one(models.Backtest, backtest.id)
        assert stored.metrics is not None
        drawdown = stored.metrics["drawdown"]
        assert drawdown["max_amount"] == 80.0
        assert drawdown["max_percent"] == 7.62
        assert drawdown["peak_time"] == "2024-03-01T11:00:00+00:00"
        assert drawdown["trough_time"] == "2024-03-04T11:00:00+00:00"
        assert drawdown["recovery_time"] is None
        assert stored.recovery_factor == Decimal("-0.2500")
        assert stored.max_consecutive_losses == 1
