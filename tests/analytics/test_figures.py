"""The pure metric set: the sample's known figures, hand-built cases, and properties."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtestdb.analytics.figures import Figures, FiguresAccumulator, SideFigures, TradeRow, compute
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_history_csv
from tests.conftest import BASIC

EXPECTED = json.loads((BASIC / "expected.json").read_text())
T0 = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
D = Decimal


def sample_rows() -> list[TradeRow]:
    with (BASIC / "history.csv").open("rb") as stream:
        source = parse_history_csv(stream, "history.csv")
        validator = TradeValidator(source)
        trades = [validator.validate(raw) for raw in source.rows]
    return [
        TradeRow(t.close_time, t.open_time, t.profit, t.commission, t.swap, t.direction, t.symbol)
        for t in trades
        if t is not None
    ]


def trade(hours: float, profit: str, direction: str = "buy", held: float = 1) -> TradeRow:
    close = T0 + timedelta(hours=hours)
    return TradeRow(
        close, close - timedelta(hours=held), D(profit), D(0), D(0), direction, "EURUSD"
    )


SIDE_KEYS = {
    "totalTrades": "total_trades", "winningTrades": "winning_trades",
    "losingTrades": "losing_trades", "netProfit": "net_profit", "grossProfit": "gross_profit",
    "grossLoss": "gross_loss", "profitFactor": "profit_factor", "winRatePercent": "win_rate",
    "averageTrade": "average_trade", "averageWin": "average_win", "averageLoss": "average_loss",
    "largestWinningTrade": "largest_win", "largestLosingTrade": "largest_loss",
    "maxConsecutiveWinningTrades": "max_consecutive_wins",
    "maxConsecutiveLosingTrades": "max_consecutive_losses", "commissions": "commissions",
    "swaps": "swaps",
}  # fmt: skip


@pytest.mark.parametrize("side", ["all", "long", "short"])
def test_sample_matches_every_expected_figure(side: str) -> None:
    figures = compute(D(10000), sample_rows())
    got: SideFigures = getattr(figures, side)
    for key, name in SIDE_KEYS.items():
        expected = EXPECTED[side][key]
        value = getattr(got, name)
        # Decimal compares by value: 54.50 == 54.5; ints stay exact counts.
        assert value == (expected if isinstance(expected, int) else Decimal(str(expected))), key
    assert got.expectancy == got.average_trade


def test_sample_balance_and_drawdown() -> None:
    figures = compute(D(10000), sample_rows())
    assert figures.ending_balance == D("10452.42")
    assert figures.drawdown.max_amount == D("175.68")
    assert figures.drawdown.max_percent == D("1.76")
    assert figures.drawdown.peak_balance == D("10009.61")
    assert figures.drawdown.trough_time is not None
    assert figures.drawdown.peak_time is not None
    assert figures.drawdown.peak_time < figures.drawdown.trough_time
    assert figures.drawdown.recovery_time is not None
    assert figures.drawdown.recovery_time > figures.drawdown.trough_time
    # 452.42 / 175.68
    assert figures.recovery_factor == D("2.5753")
    assert figures.returns.sharpe_ratio is not None
    assert figures.returns.sharpe_ratio > 0


def test_no_trades() -> None:
    figures = compute(D(1000), [])
    assert figures.all.total_trades == 0
    assert figures.all.win_rate == 0
    assert figures.all.profit_factor is None
    assert figures.all.average_trade is None
    assert figures.all.average_win is None
    assert figures.drawdown.max_amount == 0
    assert figures.drawdown.peak_time is None
    assert figures.recovery_factor is None
    assert figures.trades_per_day is None
    assert figures.returns.sharpe_ratio is None
    assert figures.returns.cagr_percent is None
    assert figures.returns.best_day is None
    assert figures.ending_balance == D(1000)


def test_one_trade() -> None:
    figures = compute(D(1000), [trade(10, "25.50", held=2)])
    assert figures.all.net_profit == D("25.50")
    assert figures.all.average_win == D("25.50")
    assert figures.all.profit_factor is None  # no loss to divide by
    assert figures.long.total_trades == 1
    assert figures.short.total_trades == 0
    assert figures.all.max_consecutive_wins == 1
    assert figures.all.max_consecutive_losses == 0
    assert figures.average_holding_hours == D("2.00")
    assert figures.returns.sharpe_ratio is None  # one daily return has no deviation
    assert figures.returns.best_day == (T0 + timedelta(hours=10)).date()


def test_all_losers() -> None:
    rows = [trade(1, "-10"), trade(2, "-20", "sell"), trade(3, "-30")]
    figures = compute(D(1000), rows)
    assert figures.all.profit_factor == D("0.0000")
    assert figures.all.win_rate == 0
    assert figures.all.payoff_ratio is None
    assert figures.all.max_consecutive_losses == 3
    assert figures.short.max_consecutive_losses == 1
    assert figures.all.largest_loss == D("-30.00")
    assert figures.all.largest_win is None
    assert figures.all.average_loss == D("-20.00")
    assert figures.drawdown.max_amount == D("60.00")
    assert figures.drawdown.max_percent == D("6.00")
    assert figures.drawdown.recovery_time is None
    assert figures.recovery_factor == D("-1.0000")


def test_all_winners_profit_factor_is_null() -> None:
    figures = compute(D(1000), [trade(1, "10"), trade(2, "5"), trade(3, "1")])
    assert figures.all.profit_factor is None
    assert figures.all.win_rate == D("100.00")
    assert figures.drawdown.max_amount == 0
    assert figures.recovery_factor is None
    assert figures.drawdown.longest_days == 0


def test_drawdown_never_recovered() -> None:
    rows = [trade(24, "100"), trade(48, "-50"), trade(72, "-30"), trade(96, "20")]
    figures = compute(D(1000), rows)
    drawdown = figures.drawdown
    assert drawdown.max_amount == D("80.00")
    assert drawdown.max_percent == D("7.27")  # 80 / 1100
    assert drawdown.peak_time == T0 + timedelta(hours=24)
    assert drawdown.trough_time == T0 + timedelta(hours=72)
    assert drawdown.recovery_time is None
    # Still under water at the end: from the peak to the last close, 3 days.
    assert drawdown.longest_days == D("3.00")
    assert drawdown.longest_start == T0 + timedelta(hours=24)
    assert drawdown.longest_end is None


def test_recovery_date_and_longest_drawdown() -> None:
    rows = [trade(24, "-10"), trade(48, "15"), trade(72, "-40"), trade(144, "50")]
    drawdown = compute(D(1000), rows, start=T0).drawdown
    assert drawdown.max_amount == D("40.00")
    assert drawdown.peak_time == T0 + timedelta(hours=48)
    assert drawdown.recovery_time == T0 + timedelta(hours=144)
    assert drawdown.longest_days == D("4.00")


def test_daily_ratios_known_answer() -> None:
    # Balances 1000 -> 1010 (Mon) -> 1010 (Tue, no trade) -> 999.90 (Wed).
    rows = [trade(12, "10"), trade(60, "-10.10")]
    figures = compute(D(1000), rows, start=T0, end=T0 + timedelta(days=365))
    returns = [0.01, 0.0, 999.90 / 1010 - 1]
    mean = sum(returns) / 3
    deviation = (sum((r - mean) ** 2 for r in returns) / 2) ** 0.5
    assert figures.returns.return_days == 3
    assert figures.returns.sharpe_ratio == Decimal(repr(mean / deviation * 252**0.5)).quantize(
        Decimal("0.0001")
    )
    downside = (min(returns[2], 0) ** 2 / 3) ** 0.5
    assert figures.returns.sortino_ratio == Decimal(repr(mean / downside * 252**0.5)).quantize(
        Decimal("0.0001")
    )
    # A year to the day: CAGR is the plain return, (999.90 / 1000 - 1) * 100.
    assert figures.returns.cagr_percent is not None
    assert abs(figures.returns.cagr_percent - D("-0.0100")) <= D("0.0001")
    assert figures.returns.best_day == T0.date()
    assert figures.returns.best_day_net == D("10.00")
    assert figures.returns.worst_month == "2024-01"


def test_out_of_order_is_refused() -> None:
    accumulator = FiguresAccumulator(D(1000))
    accumulator.add(trade(5, "1"))
    with pytest.raises(ValueError, match="close-time order"):
        accumulator.add(trade(4, "1"))


#: Larger than any run of losses drawn below can lose, so the balance stays positive.
START = D(50_000)
money = st.integers(min_value=-50_000, max_value=50_000).map(lambda c: Decimal(c).scaleb(-2))
rows_strategy = st.lists(
    st.tuples(st.integers(0, 24 * 40), money, st.sampled_from(["buy", "sell"]), st.integers(0, 3)),
    max_size=60,
)


def build(spec: list[tuple[int, Decimal, str, int]]) -> list[TradeRow]:
    # Close times on a coarse grid (hours) so that many trades share one.
    return [
        TradeRow(T0 + timedelta(hours=h), T0 + timedelta(hours=h - 1 - held), p, D(0), D(0), d,
                 "EURUSD")
        for h, p, d, held in spec
    ]  # fmt: skip


@given(rows_strategy, st.randoms(use_true_random=False))
def test_ties_in_any_order_give_the_same_figures(
    spec: list[tuple[int, Decimal, str, int]], shuffler: random.Random
) -> None:
    rows = sorted(build(spec), key=lambda r: r.close_time)
    shuffled = list(rows)
    shuffler.shuffle(shuffled)
    # Stable sort by close time only: equal close times keep their shuffled order.
    assert figures_of(rows) == figures_of(sorted(shuffled, key=lambda r: r.close_time))


def figures_of(rows: list[TradeRow]) -> Figures:
    accumulator = FiguresAccumulator(START)
    for row in rows:
        accumulator.add(row)
    return accumulator.result()


@given(rows_strategy)
def test_drawdown_bounds_and_daily_sums(spec: list[tuple[int, Decimal, str, int]]) -> None:
    rows = build(spec)
    accumulator = FiguresAccumulator(START)
    for row in sorted(rows, key=lambda r: r.close_time):
        accumulator.add(row)
    figures = accumulator.result()
    drawdown = figures.drawdown
    assert 0 <= drawdown.max_amount <= drawdown.peak_balance
    assert 0 <= drawdown.max_percent <= 100
    total = sum((r.profit for r in rows), D(0))
    assert figures.all.net_profit == total
    assert figures.long.net_profit + figures.short.net_profit == total
    days = accumulator.returns.days
    assert sum(net for net, _end in days.values()) == int(total * 100)
    assert sum(accumulator.returns.months.values()) == int(total * 100)
    assert figures.ending_balance == START + total
