"""Ingest end to end (through the job runner) on both backends, with exact figures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.errors import ValidationFailed
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.storage import SourceFile
from tests.conftest import BASIC, DATA, row_counts

EXPECTED = json.loads((BASIC / "expected.json").read_text())


def request_for(
    report: Path | None = None, csv: Path | None = None, **kwargs: object
) -> IngestRequest:
    return IngestRequest(
        report=SourceFile("report", report.name, report) if report else None,
        csv=SourceFile("history", csv.name, csv) if csv else None,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("report", ["report.json", "report.html"])
def test_basic_sample_matches_expected_figures(
    factory: sessionmaker[Session], settings: Settings, report: str
) -> None:
    job, outcome = run_ingest(factory, request_for(BASIC / report), settings)
    assert job.status == "completed"
    assert outcome.message == "Successfully ingested 200 trades"
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        assert backtest.total_trades == EXPECTED["all"]["totalTrades"] == 200
        assert backtest.winning_trades == 109
        assert backtest.losing_trades == 91
        assert backtest.net_profit == Decimal("452.42")
        assert backtest.win_rate == Decimal("54.50")
        assert backtest.profit_factor == Decimal("1.2837")
        assert backtest.max_balance_drawdown == Decimal("175.68")
        assert backtest.max_balance_drawdown_percent == Decimal("1.76")
        assert backtest.initial_balance == Decimal("10000.00")
        assert backtest.ending_balance == Decimal("10452.42")
        assert backtest.gross_profit == Decimal("2047.06")
        assert backtest.gross_loss == Decimal("-1594.64")
        assert backtest.commissions == Decimal("-133.18")
        assert backtest.swaps == Decimal("-40.00")
        assert backtest.max_equity_drawdown == Decimal("200.69")
        assert backtest.symbol == "EURUSD"
        assert backtest.period == "h1"
        assert len(backtest.parameters) == 6
        first = session.get_one(models.Trade, (backtest.id, 1))
        assert first.deal_id == "2"
        assert first.profit == Decimal("-3.35")
        assert first.balance_after == Decimal("9996.65")
        assert first.drawdown == Decimal("3.35")
        assert first.open_time.isoformat() == "2024-01-02T01:43:50.846000+00:00"
        last = session.get_one(models.Trade, (backtest.id, 200))
        assert last.balance_after == Decimal("10452.42")
        total = session.scalar(select(func.sum(models.Trade.profit)))
        assert Decimal(total).quantize(Decimal("0.01")) == Decimal("452.42")
        worst = session.scalar(select(func.max(models.Trade.drawdown)))
        assert Decimal(worst).quantize(Decimal("0.01")) == Decimal("175.68")


def test_csv_is_the_trade_source_and_report_gives_summary(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    _, outcome = run_ingest(
        factory, request_for(BASIC / "report.json", BASIC / "history.csv"), settings
    )
    assert outcome.trades == 200
    assert outcome.warnings == []
    assert outcome.backtest.net_profit == Decimal("452.42")


def test_daily_summary_adds_up(factory: sessionmaker[Session], settings: Settings) -> None:
    _, outcome = run_ingest(factory, request_for(BASIC / "report.json"), settings)
    with factory() as session:
        days = session.scalars(
            select(models.DailySummary)
            .where(models.DailySummary.backtest_id == outcome.backtest.id)
            .order_by(models.DailySummary.trade_date)
        ).all()
    assert sum(d.total_trades for d in days) == 200
    assert sum(d.winning_trades for d in days) == 109
    assert sum(d.net_profit for d in days) == Decimal("452.42")
    assert days[-1].end_balance == Decimal("10452.42")
    assert str(days[0].trade_date) == "2024-01-02"


def test_reingest_is_idempotent_and_force_makes_a_copy(
    factory: sessionmaker[Session], settings: Settings, engine: object
) -> None:
    first = run_ingest(factory, request_for(BASIC / "report.json"), settings)[1]
    again = run_ingest(factory, request_for(BASIC / "report.json"), settings)[1]
    assert again.created is False
    assert again.backtest.id == first.backtest.id
    assert again.message.startswith("Already ingested")
    forced = run_ingest(factory, request_for(BASIC / "report.json", force=True), settings)[1]
    assert forced.created is True
    assert forced.backtest.id != first.backtest.id
    counts = row_counts(engine)  # type: ignore[arg-type]
    assert counts["backtests"] == 2
    assert counts["trades"] == 400


def test_initial_balance_override_warns_and_changes_balances(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    _, outcome = run_ingest(
        factory, request_for(BASIC / "report.json", initial_balance=Decimal("20000")), settings
    )
    assert outcome.backtest.ending_balance == Decimal("20452.42")
    columns = [w.column for w in outcome.warnings]
    # The override is reported, then the figures it makes disagree with the report.
    assert columns[0] == "startingCapital"
    assert "ending_balance" in columns
    assert "net_profit" not in columns


def test_csv_only_infers_initial_balance_from_balance_column(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    _, outcome = run_ingest(factory, request_for(csv=DATA / "multi_symbol_history.csv"), settings)
    assert outcome.trades == 1000
    assert outcome.backtest.initial_balance == Decimal("25000.00")
    assert outcome.backtest.net_profit == Decimal("9721.67")
    assert outcome.backtest.ending_balance == Decimal("34721.67")
    assert outcome.backtest.winning_trades == 558
    assert outcome.backtest.symbols == ["EURUSD", "GBPUSD", "XAUUSD"]
    assert outcome.backtest.symbol is None


BAD_ROW = (BASIC / "history.csv").read_text().splitlines()


def write_csv(tmp_path: Path, replace_row: int, old: str, new: str) -> Path:
    lines = list(BAD_ROW)
    assert old in lines[replace_row]
    lines[replace_row] = lines[replace_row].replace(old, new, 1)
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_strict_failure_stores_nothing_but_the_failed_job(
    factory: sessionmaker[Session], settings: Settings, engine: object, tmp_path: Path
) -> None:
    bad = write_csv(tmp_path, 3, "1.08766", "abc")  # data row 3
    with pytest.raises(ValidationFailed) as caught:
        run_ingest(factory, request_for(BASIC / "report.json", bad), settings)
    assert [(e.row, e.column, e.value) for e in caught.value.errors] == [(3, "Entry Price", "abc")]
    counts = row_counts(engine)  # type: ignore[arg-type]
    assert counts == {
        "backtests": 0, "trades": 0, "parameters": 0, "daily_summary": 0, "ingestion_jobs": 1,
    }  # fmt: skip
    with factory() as session:
        job = session.scalars(select(models.IngestionJob)).one()
    assert job.status == "failed"
    assert job.error_count == 1
    assert job.errors[0]["row"] == 3
    assert not list((settings.effective_storage_dir).glob("*/*"))


def test_skip_mode_stores_valid_rows_and_warns(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    bad = write_csv(tmp_path, 3, "1.08766", "abc")
    _, outcome = run_ingest(
        factory, request_for(csv=bad, initial_balance=Decimal(10000), on_error="skip"), settings
    )
    assert outcome.trades == 199
    assert outcome.warnings[0].row == 3
    assert outcome.warnings[0].message.startswith("row skipped")
    assert outcome.backtest.net_profit == Decimal("452.42") - Decimal("-16.85")


def test_raw_files_are_stored_under_the_backtest_id(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    _, outcome = run_ingest(
        factory, request_for(BASIC / "report.json", BASIC / "history.csv"), settings
    )
    folder = settings.effective_storage_dir / str(outcome.backtest.id)
    assert sorted(p.name for p in folder.iterdir()) == ["history.csv", "report.json"]
    assert [f["role"] for f in outcome.backtest.source_files] == ["report", "history"]
    assert outcome.backtest.source_files[1]["size"] == (BASIC / "history.csv").stat().st_size


@pytest.mark.parametrize("swap_rows", [False, True], ids=["in-order", "out-of-order"])
def test_metric_set_matches_a_fresh_computation(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path, swap_rows: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """In-pass figures (close-time order) and the fallback pass give the stored metrics;
    a file in order never pays for the second pass (it reads every trade back)."""
    from backtestdb import analytics
    from backtestdb.analytics.store import compute_figures, metrics_json

    passes: list[str] = []
    real_refresh = analytics.refresh
    monkeypatch.setattr(
        analytics, "refresh", lambda *a, **k: passes.append("refresh") or real_refresh(*a, **k)
    )

    lines = (DATA / "multi_symbol_history.csv").read_text().splitlines()
    if swap_rows:
        lines[10], lines[11] = lines[11], lines[10]
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    _, outcome = run_ingest(factory, request_for(csv=path), settings)
    assert outcome.needs_metrics is swap_rows
    assert passes == (["refresh"] if swap_rows else [])
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        assert backtest.metrics is not None
        assert backtest.metrics == metrics_json(compute_figures(session, backtest))
        assert backtest.max_consecutive_wins == backtest.metrics["all"]["max_consecutive_wins"]
