"""The metric set fed a block of trades at a time, as Arrow columns (the columnar ingest).

`add_block` leaves a `FiguresAccumulator` exactly as `add_cents` of the same rows, in the
same order, would: the middle of the block is computed with cumulative sums and maxima,
and the rows that close at the same instant as the accumulator's pending ties (at the
block's start) or as the block's last row (at its end) go through `add_cents`, so ties
are still processed in their canonical order whatever block they fall in.
tests/test_block_figures.py compares the two on random trades.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.analytics.figures import CentsRow, FiguresAccumulator
from backtestdb.analytics.sides import SideAccumulator
from backtestdb.parsing.values import EPOCH

_DAY_MICROS = 86_400_000_000
#: Days added before dividing so that times before 1970 still floor to their day.
_DAY_SHIFT = 100_000
_FIRST_DAY = date(1970, 1, 1) - timedelta(days=_DAY_SHIFT)
#: The columns `add_block` reads: close and open in UTC microseconds, money in cents.
BLOCK_COLUMNS = ("close_us", "open_us", "profit_c", "commission_c", "swap_c", "direction", "symbol")
#: Canonical order of trades closing at the same instant (`figures.tie_key`).
_TIE_ORDER = [
    ("close_us", "ascending"), ("has_open", "ascending"), ("open_key", "ascending"),
    ("symbol", "ascending"), ("direction", "ascending"), ("profit_c", "ascending"),
    ("commission_c", "ascending"), ("swap_c", "ascending"),
]  # fmt: skip


def moment_at(micros: int) -> datetime:
    """The aware UTC datetime of microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=micros)


def micros_of(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def day_numbers(closes: Any) -> Any:
    """The UTC day of each time in microseconds, numbered for `day_of` (integer division
    only floors times from 1970 on, so every time is shifted first)."""
    return pc.divide(pc.add(closes, _DAY_SHIFT * _DAY_MICROS), _DAY_MICROS)


def day_of(number: int) -> date:
    return _FIRST_DAY + timedelta(days=number)


def add_block(acc: FiguresAccumulator, block: pa.Table) -> None:
    """Feed `block` (`BLOCK_COLUMNS`, in close-time order, none before the accumulator's
    last close) to `acc`."""
    closes = block.column("close_us").combine_chunks()
    n = len(closes)
    if n == 0:
        return
    lead = 0
    if acc.ties:
        pending = micros_of(acc.ties[0].close_time)
        lead = int(pc.sum(pc.equal(closes, pending)).as_py() or 0)
    last = closes[n - 1].as_py()
    trail = int(pc.sum(pc.equal(closes, last)).as_py() or 0)
    if lead + trail >= n:
        _add_rows(acc, block)
        return
    _add_rows(acc, block.slice(0, lead))
    acc._flush()
    _add_sorted(acc, _canonical(block.slice(lead, n - lead - trail)))
    _add_rows(acc, block.slice(n - trail))


def _add_rows(acc: FiguresAccumulator, rows: pa.Table) -> None:
    closes = pc.cast(rows.column("close_us"), pa.timestamp("us", tz="UTC")).to_pylist()
    opens = pc.cast(rows.column("open_us"), pa.timestamp("us", tz="UTC")).to_pylist()
    rest = (rows.column(name).to_pylist() for name in BLOCK_COLUMNS[2:])
    for values in zip(closes, opens, *rest, strict=True):
        acc.add_cents(CentsRow(*values))


def _canonical(rows: pa.Table) -> pa.Table:
    """The rows with each group closing at one instant in `tie_key` order."""
    closes = rows.column("close_us")
    if len(closes) < 2 or not pc.any(pc.equal(closes[1:], closes[:-1])).as_py():
        return rows
    opens = rows.column("open_us")
    keyed = rows.append_column("has_open", pc.is_valid(opens)).append_column(
        "open_key", pc.coalesce(opens, closes)
    )
    return rows.take(pc.sort_indices(keyed, sort_keys=_TIE_ORDER))


def _add_sorted(acc: FiguresAccumulator, rows: pa.Table) -> None:
    """The state machine of `FiguresAccumulator._count` over rows with no pending ties."""
    closes = rows.column("close_us").combine_chunks()
    opens = rows.column("open_us").combine_chunks()
    profit = rows.column("profit_c").combine_chunks()
    if acc.peak_time is None:
        first_open = opens[0].as_py()
        acc.peak_time = acc.start or (moment_at(first_open) if first_open is not None else None)
        acc.peak_time = acc.peak_time or moment_at(closes[0].as_py())
    _sides(acc, rows, profit)
    _holding(acc, closes, opens)
    acc.symbols.update(pc.unique(rows.column("symbol")).to_pylist())
    acc.first_close = acc.first_close or moment_at(closes[0].as_py())
    acc.last_close = moment_at(closes[-1].as_py())
    balance = pc.cumulative_sum(profit, start=acc.balance)
    _returns(acc, closes, profit, balance)
    _drawdowns(acc, closes, balance)


def _sides(acc: FiguresAccumulator, rows: pa.Table, profit: Any) -> None:
    commission = rows.column("commission_c").combine_chunks()
    swap = rows.column("swap_c").combine_chunks()
    _side(acc.sides["all"], profit, commission, swap)
    buy = pc.equal(rows.column("direction").combine_chunks(), "buy")
    for name, mask in (("buy", buy), ("sell", pc.invert(buy))):
        _side(acc.sides[name], *(pc.filter(v, mask) for v in (profit, commission, swap)))


def _side(side: SideAccumulator, profit: Any, commission: Any, swap: Any) -> None:
    if not len(profit):
        return
    side.total += len(profit)
    side.commissions += pc.sum(commission).as_py()
    side.swaps += pc.sum(swap).as_py()
    wins, losses = pc.greater(profit, 0), pc.less(profit, 0)
    won, lost = pc.filter(profit, wins), pc.filter(profit, losses)
    if len(won):
        side.wins += len(won)
        side.gross_profit += pc.sum(won).as_py()
        best = pc.max(won).as_py()
        side.largest_win = best if side.largest_win is None else max(side.largest_win, best)
    if len(lost):
        side.losses += len(lost)
        side.gross_loss += pc.sum(lost).as_py()
        worst = pc.min(lost).as_py()
        side.largest_loss = worst if side.largest_loss is None else min(side.largest_loss, worst)
    side.wins_run, longest = _runs(wins, side.wins_run)
    side.max_wins_run = max(side.max_wins_run, longest)
    side.losses_run, longest = _runs(losses, side.losses_run)
    side.max_losses_run = max(side.max_losses_run, longest)


def _runs(hits: Any, carried: int) -> tuple[int, int]:
    """(the run of hits at the end, the longest run) of a mask, after `carried` hits."""
    index = pa.array(range(len(hits)), pa.int64())
    breaks = pc.if_else(hits, -1 - carried, index)
    runs = pc.if_else(hits, pc.subtract(index, pc.cumulative_max(breaks)), 0)
    return runs[-1].as_py(), pc.max(runs).as_py()


def _holding(acc: FiguresAccumulator, closes: Any, opens: Any) -> None:
    held = len(opens) - opens.null_count
    if not held:
        return
    acc.held += held
    acc.holding += timedelta(microseconds=pc.sum(pc.subtract(closes, opens)).as_py())
    first = moment_at(pc.min(opens).as_py())
    if acc.first_open is None or first < acc.first_open:
        acc.first_open = first


def _returns(acc: FiguresAccumulator, closes: Any, profit: Any, balance: Any) -> None:
    """`ReturnsAccumulator.add` of every row: per UTC day its net and last balance."""
    table = pa.table({"day": day_numbers(closes), "profit": profit, "balance": balance})
    grouped = pa.TableGroupBy(table, "day", use_threads=False).aggregate(
        [("profit", "sum"), ("balance", "last")]
    )
    returns = acc.returns
    for number, net, last in zip(
        *(grouped.column(name).to_pylist() for name in ("day", "profit_sum", "balance_last")),
        strict=True,
    ):
        day = day_of(number)
        entry = returns.days.get(day)
        if entry is None:
            entry = returns.days[day] = [0, last]
        entry[0] += net
        entry[1] = last
        month = f"{day.year:04d}-{day.month:02d}"
        returns.months[month] = returns.months.get(month, 0) + net
    returns.balance = balance[-1].as_py()


def _drawdowns(acc: FiguresAccumulator, closes: Any, balance: Any) -> None:
    """Peaks, the deepest fall and the longest time below a peak, as `_count` finds them."""
    n = len(balance)
    peak_after = pc.max_element_wise(pc.cumulative_max(balance), acc.peak)
    peak_before = pa.concat_arrays([pa.array([acc.peak], pa.int64()), peak_after[:-1]])
    at_peak = pc.greater_equal(balance, peak_before)
    index = pa.array(range(n), pa.int64())
    last_peak = pc.cumulative_max(pc.if_else(at_peak, index, -1))
    carried = micros_of(acc.peak_time) if acc.peak_time is not None else 0
    peak_close = pc.take(closes, pc.max_element_wise(last_peak, 0))
    peak_time_after = pc.if_else(pc.less(last_peak, 0), carried, peak_close)
    peak_time_before = pa.concat_arrays([pa.array([carried], pa.int64()), peak_time_after[:-1]])
    below_before = pa.concat_arrays([pa.array([acc.underwater]), pc.invert(at_peak[:-1])])
    _deepest(acc, closes, pc.subtract(peak_after, balance), peak_after, peak_time_before, at_peak)
    _longest(acc, closes, pc.and_(at_peak, below_before), peak_time_before)
    acc.balance = balance[-1].as_py()
    acc.peak = peak_after[-1].as_py()
    acc.peak_time = moment_at(peak_time_after[-1].as_py())
    acc.underwater = not at_peak[-1].as_py()


def _deepest(
    acc: FiguresAccumulator, closes: Any, drawdown: Any, peak: Any, peak_time: Any, at_peak: Any
) -> None:
    deepest = pc.max(drawdown).as_py()
    if deepest > acc.max_drawdown:
        at = pc.index(drawdown, deepest).as_py()
        acc.max_drawdown, acc.max_peak = deepest, peak[at].as_py()
        acc.max_peak_time, acc.trough_time = (
            moment_at(peak_time[at].as_py()),
            moment_at(closes[at].as_py()),
        )
        acc.recovery_time = None
        after = pc.index(at_peak[at:], True).as_py()
        if after >= 0:
            acc.recovery_time = moment_at(closes[at + after].as_py())
    elif acc.recovery_time is None and acc.trough_time is not None:
        # Still below the deepest fall's peak: the first return to a peak recovers it.
        first = pc.index(at_peak, True).as_py()
        if first >= 0:
            acc.recovery_time = moment_at(closes[first].as_py())


def _longest(acc: FiguresAccumulator, closes: Any, ends: Any, peak_time: Any) -> None:
    """The longest episode below a peak that ends in this block (the first, on a tie)."""
    if not pc.any(ends).as_py():
        return
    lengths = pc.if_else(ends, pc.subtract(closes, peak_time), -1)
    longest = pc.max(lengths).as_py()
    if timedelta(microseconds=longest) > acc.longest:
        at = pc.index(lengths, longest).as_py()
        acc.longest = timedelta(microseconds=longest)
        acc.longest_start, acc.longest_end = (
            moment_at(peak_time[at].as_py()),
            moment_at(closes[at].as_py()),
        )
