"""Balances, drawdowns and the summary of a block by cumulative sums and maxima in integer
cents, carried from block to block in the `Deriver` the row path uses (so a tail read by
the row path goes on from the same state); daily rows by a group-by; the metric set fed
from the block's arrays."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.analytics.block_figures import (
    BLOCK_COLUMNS,
    add_block,
    day_numbers,
    day_of,
    micros_of,
    moment_at,
)
from backtestdb.analytics.close_order import CloseOrder
from backtestdb.ingest.derived import STORED_LIMIT, Deriver, parse_utc_text, utc_text
from backtestdb.ingest.summary import Day
from backtestdb.money import money_text

#: Past this the cents could overflow int64 in a block: the block is derived in Python.
_SAFE = 1 << 62
_PERCENT_SCALE = 100 * 10_000 * 2  # ratio_text(part, whole, 4)


def _micros(text: str) -> int:
    return micros_of(parse_utc_text(text))


def money_texts(cents: Any) -> Any:
    """`money.money_text` of each value."""
    size = pc.abs(cents)
    whole = pc.divide(size, 100)
    fraction = pc.subtract(size, pc.multiply(whole, 100))
    sign = pc.if_else(pc.less(cents, 0), "-", "")
    return pc.binary_join_element_wise(
        sign,
        pc.cast(whole, pa.string()),
        ".",
        pc.utf8_lpad(pc.cast(fraction, pa.string()), 2, "0"),
        "",
    )


def percent_texts(part: Any, whole: Any) -> Any:
    """`money.ratio_text(part, whole, 4)` of each pair (part >= 0)."""
    zero = pc.or_(pc.equal(part, 0), pc.less_equal(whole, 0))
    safe_whole = pc.if_else(zero, 1, whole)
    units = pc.divide(pc.add(pc.divide(pc.multiply(part, _PERCENT_SCALE), safe_whole), 1), 2)
    integer = pc.divide(units, 10_000)
    fraction = pc.subtract(units, pc.multiply(integer, 10_000))
    text = pc.binary_join_element_wise(
        pc.cast(integer, pa.string()), ".", pc.utf8_lpad(pc.cast(fraction, pa.string()), 4, "0"), ""
    )
    return pc.if_else(zero, "0", text)


def derive(trades: pa.Table, deriver: Deriver) -> tuple[Any, Any, Any]:
    """(balance_after, drawdown, drawdown_percent) texts of a block's trades, in order."""
    n = trades.num_rows
    if n == 0:
        empty = pa.array([], pa.string())
        return empty, empty, empty
    profit = trades.column("profit_c").combine_chunks()
    acc = deriver.accumulator
    largest = pc.max(pc.abs(profit)).as_py()
    if largest * n + abs(acc.balance) + abs(acc.peak) >= _SAFE // _PERCENT_SCALE:
        return _derive_in_python(trades, deriver)
    _figures(trades, deriver)
    balance = pc.cumulative_sum(profit, start=acc.balance)
    peak = pc.max_element_wise(pc.cumulative_max(balance), acc.peak)
    drawdown = pc.subtract(peak, balance)
    past = pc.or_(
        pc.greater_equal(pc.abs(balance), STORED_LIMIT), pc.greater_equal(drawdown, STORED_LIMIT)
    )
    if pc.any(past).as_py():
        at = pc.index(past, True).as_py()
        row = trades.column("row")[at].as_py()
        deriver.refuse(row, balance[at].as_py(), drawdown[at].as_py())
    _summary(trades, profit, balance, peak, drawdown, deriver)
    _days(trades, profit, balance, deriver)
    _checks(trades, balance, deriver)
    return money_texts(balance), money_texts(drawdown), percent_texts(drawdown, peak)


def _summary(
    trades: pa.Table, profit: Any, balance: Any, peak: Any, drawdown: Any, deriver: Deriver
) -> None:
    acc = deriver.accumulator
    wins, losses = pc.greater(profit, 0), pc.less(profit, 0)
    acc.total += len(profit)
    acc.wins += pc.sum(wins).as_py() or 0
    acc.losses += pc.sum(losses).as_py() or 0
    acc.gross_profit += pc.sum(pc.filter(profit, wins)).as_py() or 0
    acc.gross_loss += pc.sum(pc.filter(profit, losses)).as_py() or 0
    acc.commissions += pc.sum(trades.column("commission_c")).as_py() or 0
    acc.swaps += pc.sum(trades.column("swap_c")).as_py() or 0
    acc.balance = balance[-1].as_py()
    acc.peak = peak[-1].as_py()
    deepest = pc.max(drawdown).as_py()
    if deepest > acc.max_drawdown:
        at = pc.index(drawdown, deepest).as_py()
        acc.max_drawdown, acc.max_drawdown_peak = deepest, peak[at].as_py()


def _days(trades: pa.Table, profit: Any, balance: Any, deriver: Deriver) -> None:
    day = day_numbers(trades.column("close_us"))
    wins, losses = pc.greater(profit, 0), pc.less(profit, 0)
    table = pa.table({
        "day": day,
        "wins": pc.cast(wins, pa.int64()),
        "losses": pc.cast(losses, pa.int64()),
        "won": pc.if_else(wins, profit, 0),
        "lost": pc.if_else(losses, profit, 0),
        "balance": balance,
    })  # fmt: skip
    grouped = pa.TableGroupBy(table, "day", use_threads=False).aggregate([
        ("wins", "count"), ("wins", "sum"), ("losses", "sum"), ("won", "sum"), ("lost", "sum"),
        ("balance", "last"),
    ])  # fmt: skip
    days = deriver.daily.days
    for number, count, won_n, lost_n, won, lost, last in zip(
        *(grouped.column(name).to_pylist() for name in (
            "day", "wins_count", "wins_sum", "losses_sum", "won_sum", "lost_sum", "balance_last",
        )), strict=True,
    ):  # fmt: skip
        key = day_of(number).isoformat()  # the row path's close_utc[:10]
        entry = days.get(key)
        if entry is None:
            entry = days[key] = Day()
        entry.total_trades += count
        entry.winning_trades += won_n
        entry.losing_trades += lost_n
        entry.gross_profit += won
        entry.gross_loss += lost
        entry.end_balance = last


def _checks(trades: pa.Table, balance: Any, deriver: Deriver) -> None:
    """Symbols, first open, last close, the Balance column's chain, close-time order."""
    deriver.symbols.update(pc.unique(trades.column("symbol")).to_pylist())
    opened = pc.min(trades.column("open_us")).as_py()
    if opened is not None and utc_text(moment_at(opened)) < deriver.first_open:
        deriver.first_open = utc_text(moment_at(opened))
    written = trades.column("balance_c")
    if deriver.balance_mismatch is None and written.null_count < len(written):
        differs = pc.fill_null(pc.not_equal(written, balance), False)
        if pc.any(differs).as_py():
            at = pc.index(differs, True).as_py()
            deriver.balance_mismatch = (
                trades.column("row")[at].as_py(),
                money_text(written[at].as_py()),
                money_text(balance[at].as_py()),
            )
    closes = trades.column("close_us")
    latest = pc.max(closes).as_py()
    if not deriver.last_close or latest >= _micros(deriver.last_close):
        deriver.last_close = utc_text(moment_at(latest))


def _first_out_of_order(closes: Any, before: int | None) -> int | None:
    """The index of the first close earlier than every close before it allows."""
    running = pc.cumulative_max(closes)
    previous = pa.concat_arrays(
        [pa.array([before if before is not None else -(2**62)], pa.int64()), running[:-1]]
    )
    earlier = pc.less(closes, previous)
    return pc.index(earlier, True).as_py() if pc.any(earlier).as_py() else None


def _figures(trades: pa.Table, deriver: Deriver) -> None:
    """The metric set, fed in close-time order: as the rows come while they are in it; a
    file out of it from its first block on in opening order (`CloseOrder`); else up to
    the first row out of order (then it is computed afterwards, as the row path does)."""
    closes = trades.column("close_us").combine_chunks()
    before = _micros(deriver.last_close) if deriver.last_close else None
    stop = _first_out_of_order(closes, before)
    if stop is not None and deriver.out_of_order_row is None:
        deriver.out_of_order_row = trades.column("row")[stop].as_py()
        if before is None and deriver.figures is not None:  # nothing fed yet
            deriver.close_order = CloseOrder(deriver.figures)
    if deriver.figures is None:
        return
    rows = trades.select(list(BLOCK_COLUMNS))
    if deriver.close_order is not None:
        if not deriver.close_order.add(rows):
            deriver.figures = deriver.close_order = None
        return
    add_block(deriver.figures, rows.slice(0, len(closes) if stop is None else stop))
    if stop is not None:
        deriver.figures = None


def _derive_in_python(trades: pa.Table, deriver: Deriver) -> tuple[Any, Any, Any]:
    """The row path's own arithmetic (Python integers), for cents too large for int64."""
    balances, drawdowns, percents = [], [], []
    names = (
        "row",
        "symbol",
        "direction",
        "open_us",
        "close_us",
        "profit_c",
        "commission_c",
        "swap_c",
        "balance_c",
    )
    for row, symbol, direction, opened, closed, profit, commission, swap, balance in zip(
        *(trades.column(name).to_pylist() for name in names), strict=True
    ):
        after, drawdown, percent = deriver.add(
            row, symbol, direction, None if opened is None else utc_text(moment_at(opened)),
            utc_text(moment_at(closed)), profit, commission, swap, balance,
        )  # fmt: skip
        balances.append(money_text(after))
        drawdowns.append(money_text(drawdown))
        percents.append(percent)
    return (
        pa.array(balances, pa.string()),
        pa.array(drawdowns, pa.string()),
        pa.array(percents, pa.string()),
    )
