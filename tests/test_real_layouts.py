"""Every History layout cTrader writes, in every value form, ingested with exact results.

The files come from bench/generate.py, whose Totals say exactly what was written (count,
net, fees, balances in cents); the trade model gives each trade's UTC times.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path

import pytest
from bench.generate import write_layout
from bench.layouts import Forms, backtest_file_name
from bench.model import ALL_SYMBOLS, Totals, Trade, iter_trades
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError, InputError, ValidationFailed
from backtestdb.ingest import IngestRequest
from backtestdb.ingest.validation import TradeValidator
from backtestdb.jobs import run_ingest
from backtestdb.parsing import parse_history_csv
from backtestdb.storage import SourceFile

N = 60
SEED = 5
#: (layout, value forms): each layout plain, then with the forms real exports show.
CASES = {
    "default": ("default", Forms()),
    "default-month-nbsp-lots": ("default", Forms(time_format="month", thousands="nbsp",
                                                 quantity_unit="Lots")),
    "backtest": ("backtest", Forms()),
    "backtest-noms-space-units-dash-ids": ("backtest", Forms(
        time_format="month-noms", thousands="space", quantity_unit="Units", empty_dash=True,
        id_prefix=True)),
    "statement": ("statement", Forms()),
    "statement-decimal-comma": ("statement", Forms(
        decimal_comma=True, delimiter=";", thousands="nnbsp", time_format="slash-noms",
        id_prefix=True, tz_offset=-3)),
    "full-thousands-comma": ("full", Forms(thousands="comma")),
    "full-indices-filtered": ("full", Forms(quantity_unit="Indices", filtered=True)),
}  # fmt: skip
#: Which money columns each layout has.
HAS_FEES = {"default": False, "backtest": True, "statement": True, "full": True}
HAS_SWAP = {"default": False, "backtest": True, "statement": False, "full": True}


def written(
    tmp_path: Path, layout: str, forms: Forms, name: str = "history.csv"
) -> tuple[Path, Totals]:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as out:
        totals = write_layout(out, layout, N, SEED, forms=forms)
    return path, totals


def model_trades(forms: Forms) -> Iterator[Trade]:
    trades = islice(iter_trades(SEED, 1_000_000, ALL_SYMBOLS, forms.whole_seconds), N)
    return (t for t in trades if not (forms.filtered and t.number % 5 == 0))


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def cents(amount: Decimal | None) -> int:
    assert amount is not None
    return int(amount * 100)


@pytest.mark.parametrize("case", list(CASES))
def test_layout_ingests_exactly(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path, case: str
) -> None:
    layout, forms = CASES[case]
    path, totals = written(tmp_path, layout, forms)
    request = IngestRequest(csv=SourceFile("history", path.name, path),
                            initial_balance=Decimal("10000"))  # fmt: skip
    job, outcome = run_ingest(factory, request, settings)
    assert job.status == "completed"
    assert outcome.trades == totals.trades == (48 if forms.filtered else N)
    expected = {t.deal_id: t for t in model_trades(forms)}
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        trades = session.scalars(
            select(models.Trade).where(models.Trade.backtest_id == backtest.id)
        ).all()
        assert cents(backtest.net_profit) == totals.net_cents
        total = session.scalar(
            select(func.sum(models.Trade.profit)).where(models.Trade.backtest_id == backtest.id)
        )
        assert cents(total) == totals.net_cents
    assert sorted(t.close_time for t in trades) == sorted(
        utc(e.closed_ms) for e in expected.values()
    )
    if forms.quantity_unit in (None, "Lots"):
        assert {t.quantity for t in trades} == {Decimal("0.1")}
    if layout == "default":
        assert {t.open_time for t in trades} == {None}
        assert {t.deal_id for t in trades} == {None}
        assert backtest.commissions is None
        assert backtest.swaps is None
        return
    # Every other layout has deal ids: match each stored trade to the model's.
    by_id = {t.deal_id: t for t in trades}
    prefix = "DID" if forms.id_prefix else ""
    assert set(by_id) == {f"{prefix}{d}" for d in expected}
    for deal, model in expected.items():
        stored = by_id[f"{prefix}{deal}"]
        assert stored.open_time == utc(model.opened_ms)
        assert stored.close_time == utc(model.closed_ms)
        assert cents(stored.profit) == model.net
        assert stored.direction == ("buy" if model.buy else "sell")
        assert cents(stored.commission) == model.commission
        if HAS_SWAP[layout]:
            assert cents(stored.swap) == model.swap
        else:
            assert stored.swap is None
    assert cents(backtest.commissions) == totals.commission_cents
    if HAS_SWAP[layout]:
        assert cents(backtest.swaps) == totals.swap_cents


@pytest.mark.parametrize(
    ("unit", "quantity", "stored_unit"),
    [("Lots", Decimal("0.1"), "Lots"), ("Units", Decimal(10000), "Units"),
     ("Indices", Decimal(10000), "Indices"), (None, Decimal("0.1"), None)],
)  # fmt: skip
def test_quantity_units_are_kept(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path,
    unit: str | None, quantity: Decimal, stored_unit: str | None,
) -> None:  # fmt: skip
    forms = Forms(quantity_unit=unit)
    path, _ = written(tmp_path, "default", forms)
    request = IngestRequest(csv=SourceFile("history", path.name, path))
    _, outcome = run_ingest(factory, request, settings)
    with factory() as session:
        first = session.scalars(
            select(models.Trade)
            .where(models.Trade.backtest_id == outcome.backtest.id, models.Trade.symbol == "EURUSD")
            .order_by(models.Trade.trade_number)
        ).first()
    assert first is not None
    assert (first.quantity, first.quantity_unit) == (quantity, stored_unit)


def test_default_layout_warns_once_about_missing_columns(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    path, totals = written(tmp_path, "default", Forms())
    _, outcome = run_ingest(
        factory, IngestRequest(csv=SourceFile("history", path.name, path)), settings
    )
    missing = [w.message for w in outcome.warnings if "has no column" in w.message]
    assert missing == [
        "the file has no column Opening Time (no holding times and no open-time breakdowns); "
        "no column Deal ID (no duplicate-deal check); no column Commissions (commissions "
        "unknown (NULL, not 0)); no column Swap (swaps unknown (NULL, not 0))"
    ]
    # The initial balance comes from row 1's Balance minus its Net: 10000.00.
    assert outcome.backtest.initial_balance == Decimal("10000.00")
    assert cents(outcome.backtest.ending_balance) == totals.final_cents


def test_backtest_history_file_name_gives_name_symbol_and_period(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    name = backtest_file_name(datetime(2026, 8, 20, 21, 56, 13), "MACross", "EURUSD", "h1",
                              ["10", "20", "0.1"])  # fmt: skip
    assert name == "2026-08-20 21-56-13 History - MACross (EURUSD, h1, 10, 20, 0.1).csv"
    path, _ = written(tmp_path, "backtest", Forms(), name=name)
    request = IngestRequest(csv=SourceFile("history", name, path), initial_balance=Decimal(10000))
    _, outcome = run_ingest(factory, request, settings)
    backtest = outcome.backtest
    assert (backtest.name, backtest.symbol, backtest.period) == (
        "MACross (EURUSD, h1, 10, 20, 0.1)", "EURUSD", "h1")  # fmt: skip


def test_statement_reads_only_its_deals(tmp_path: Path) -> None:
    path, totals = written(tmp_path, "statement", Forms())
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "Deals"
    assert "\nPositions\n" in text
    assert "\nSummary\n" in text
    source = parse_history_csv(io.BytesIO(path.read_bytes()), "statement.csv")
    validator = TradeValidator(source)
    trades = list(validator)
    assert validator.errors == []  # neither the totals row nor another section is a bad row
    assert len(trades) == totals.trades == N
    assert source.section == "Deals"
    assert sum(cents(t.profit) for t in trades) == totals.net_cents


def test_filtered_export_warns_and_stores(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    path, totals = written(tmp_path, "full", Forms(filtered=True))
    request = IngestRequest(
        csv=SourceFile("history", path.name, path), initial_balance=Decimal(10000)
    )
    job, outcome = run_ingest(factory, request, settings)
    assert job.status == "completed"
    assert outcome.trades == totals.trades == 48
    [warning] = [w for w in outcome.warnings if w.column == "Balance"]
    assert warning.row == 5  # trade 5 is left out: row 5 (trade 6) no longer chains
    assert "does not chain" in warning.message


def test_an_entry_ordered_export_is_not_taken_for_a_filtered_one(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    # Its Balance is each trade's balance at its close: it chains in close order only.
    path, totals = written(tmp_path, "backtest", Forms())
    _, outcome = run_ingest(
        factory, IngestRequest(csv=SourceFile("history", path.name, path)), settings
    )
    assert [w.column for w in outcome.warnings if w.column == "Balance"] == []
    [order] = [w for w in outcome.warnings if "close-time order" in w.message]
    assert order.row == 3  # the first row that closed before the one above it
    assert outcome.trades == totals.trades


def test_truncated_last_row_among_other_bad_rows_lists_every_one(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    path, _ = written(tmp_path, "full", Forms(truncate_last=True))
    lines = path.read_text(encoding="utf-8").split("\n")
    cells = lines[3].split(",")
    cells[14] = "12.3x"  # row 3: Net is not a number
    lines[3] = ",".join(cells)
    lines[7] = (
        lines[7].replace(",EURUSD,", ",,").replace(",GBPUSD,", ",,").replace(",XAUUSD,", ",,")
    )
    path.write_text("\n".join(lines), encoding="utf-8")
    request = IngestRequest(
        csv=SourceFile("history", path.name, path), initial_balance=Decimal(10000)
    )
    with pytest.raises(ValidationFailed) as failed:
        run_ingest(factory, request, settings)
    found = [(e.row, e.column, e.message) for e in failed.value.errors]
    assert found[0][:2] == (3, "Net")
    assert found[1] == (7, "Symbol", "missing value")
    assert found[-1][0] == N
    assert found[-1][1] is None
    assert found[-1][2].startswith("row has ")
    assert found[-1][2].endswith("(a truncated line?)")


def test_invalid_first_row_says_what_is_wrong_with_it(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    path, _ = written(tmp_path, "default", Forms())
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[1] = lines[1].replace('"Buy"', '"Hold"').replace('"Sell"', '"Hold"')
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(BacktestdbError) as info:
        run_ingest(factory, IngestRequest(csv=SourceFile("history", path.name, path)), settings)
    assert str(info.value) == (
        "Initial balance unknown: it is inferred from row 1's Balance € minus its Net, but "
        "row 1 of history.csv is invalid (Opening direction: unknown direction (expected Buy "
        "or Sell) ('Hold')); fix row 1 or give --initial-balance (form field initial_balance)"
    )


def test_ambiguous_and_mixed_decimal_marks_are_refused() -> None:
    header = "Symbol,Opening direction,Closing time (UTC+0),Net,Balance\n"
    ambiguous = header + 'EURUSD,Buy,02/01/2024 16:09:14.251,"1,000","11,000"\n'
    with pytest.raises(InputError, match="cannot tell the decimal mark: row 1 column 'Net'"):
        parse_history_csv(io.BytesIO(ambiguous.encode()), "h.csv")
    mixed = ambiguous + 'EURUSD,Buy,02/01/2024 17:09:14.251,"2,5","1,002.50"\n'
    with pytest.raises(InputError, match="mixed decimal marks: row 2 column 'Net'"):
        parse_history_csv(io.BytesIO(mixed.encode()), "h.csv")


def test_backtest_layout_infers_the_balance_before_the_first_close(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    # Rows in entry-time order: row 1 is not the trade that closed first.
    path, totals = written(tmp_path, "backtest", Forms())
    _, outcome = run_ingest(
        factory, IngestRequest(csv=SourceFile("history", path.name, path)), settings
    )
    assert outcome.backtest.initial_balance == Decimal("10000.00")
    assert cents(outcome.backtest.net_profit) == totals.net_cents


@pytest.mark.parametrize("trades", [1, 3, 12])
def test_a_short_backtest_export_is_read_whole_for_its_first_close(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path, trades: int
) -> None:
    # Shorter than the look-ahead: every row was read, so the first close is known.
    path = tmp_path / "short.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        totals = write_layout(out, "backtest", trades, symbols=("EURUSD",))
    _, outcome = run_ingest(
        factory, IngestRequest(csv=SourceFile("history", path.name, path)), settings
    )
    assert outcome.backtest.initial_balance == Decimal("10000.00")
    assert cents(outcome.backtest.net_profit) == totals.net_cents
    assert outcome.trades == trades


@pytest.mark.parametrize("layout", ["default", "backtest", "statement", "full"])
def test_cli_ingests_each_layout(settings: Settings, tmp_path: Path, layout: str) -> None:
    from typer.testing import CliRunner

    from backtestdb.cli import app

    path, totals = written(tmp_path, layout, Forms(time_format="month", thousands="nbsp"))
    result = CliRunner().invoke(app, ["ingest", "--csv", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["message"] == f"Successfully ingested {totals.trades} trades"
    assert cents(Decimal(str(out["backtest"]["net_profit"]))) == totals.net_cents
    assert Decimal(str(out["backtest"]["initial_balance"])) == Decimal("10000.00")


def test_statement_section_may_end_at_the_next_title_without_a_blank_line(
    tmp_path: Path,
) -> None:
    path, totals = written(tmp_path, "statement", Forms())
    lines = path.read_text(encoding="utf-8").split("\n")
    # Drop the blank line between the Deals (after its totals row) and the Positions title.
    blank = lines.index("", 1)
    assert lines[blank + 1] == "Positions"
    del lines[blank]
    path.write_text("\n".join(lines), encoding="utf-8")
    validator = TradeValidator(parse_history_csv(io.BytesIO(path.read_bytes()), "s.csv"))
    trades = list(validator)
    assert validator.errors == []
    assert len(trades) == totals.trades
