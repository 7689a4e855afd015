"""Writing trades in batches while deriving the per-trade and summary figures in one pass."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backtestdb import models
from backtestdb.errors import RowError
from backtestdb.metrics import DailyAccumulator, Summary, SummaryAccumulator, round_money
from backtestdb.parsing.records import Trade

Row = dict[str, Any]


@dataclass(slots=True)
class StoredTrades:
    """What one pass over the trades learnt, besides the rows it wrote."""

    summary: Summary
    daily: DailyAccumulator
    symbols: set[str] = field(default_factory=set)
    first_open: datetime | None = None
    last_close: datetime | None = None
    #: The file's own Balance column disagrees with the computed balance from this row on.
    balance_mismatch: tuple[int, str, str] | None = None
    out_of_order_row: int | None = None

    def warnings(self, file: str) -> list[RowError]:
        found = []
        if self.balance_mismatch is not None:
            row, written, computed = self.balance_mismatch
            found.append(
                RowError(
                    file,
                    f"Balance column says {written} but the trades add up to {computed}; "
                    "balance_after uses the computed figure",
                    row=row,
                    column="Balance",
                    value=written,
                )
            )
        if self.out_of_order_row is not None:
            found.append(
                RowError(
                    file,
                    "trades are not in close-time order from this row on; balances follow "
                    "the file's order",
                    row=self.out_of_order_row,
                )
            )
        return found


def trade_row(backtest_id: uuid.UUID, number: int, trade: Trade, point: Any) -> Row:
    return {
        "backtest_id": backtest_id,
        "trade_number": number,
        "deal_id": trade.deal_id,
        "symbol": trade.symbol,
        "direction": trade.direction,
        "open_time": trade.open_time,
        "close_time": trade.close_time,
        "entry_price": trade.entry_price,
        "exit_price": trade.exit_price,
        "quantity": trade.quantity,
        "volume": trade.volume,
        "commission": trade.commission,
        "swap": trade.swap,
        "pips": trade.pips,
        "gross_profit": trade.gross_profit,
        "profit": trade.profit,
        "balance_after": round_money(point.balance_after),
        "drawdown": round_money(point.drawdown),
        "drawdown_percent": point.drawdown_percent,
        "label": trade.label,
        "comment": trade.comment,
        "extra": trade.extra or None,
    }


def store_trades(
    session: Session,
    backtest_id: uuid.UUID,
    trades: Iterable[Trade],
    accumulator: SummaryAccumulator,
    *,
    keep_going: Callable[[], bool],
    batch_size: int,
    on_progress: Callable[[int], None] | None = None,
) -> StoredTrades:
    """Derive and insert every trade. Once `keep_going()` turns false (a strict ingest met
    a bad row) rows are still read, so every error is reported, but no longer written."""
    daily = DailyAccumulator()
    result = StoredTrades(summary=accumulator.summary(), daily=daily)
    batch: list[Row] = []
    for number, trade in enumerate(trades, start=1):
        point = accumulator.add(trade.profit, trade.commission, trade.swap)
        daily.add(trade.close_time.date(), trade.profit, point.balance_after)
        observe(result, trade, point.balance_after)
        if on_progress is not None and number % batch_size == 0:
            on_progress(number)
        if not keep_going():
            batch.clear()
            continue
        batch.append(trade_row(backtest_id, number, trade, point))
        if len(batch) >= batch_size:
            session.execute(insert(models.Trade), batch)
            batch = []
    if batch and keep_going():
        session.execute(insert(models.Trade), batch)
    result.summary = accumulator.summary()
    return result


def observe(result: StoredTrades, trade: Trade, balance_after: Any) -> None:
    result.symbols.add(trade.symbol)
    if result.first_open is None or trade.open_time < result.first_open:
        result.first_open = trade.open_time
    if result.last_close is not None and trade.close_time < result.last_close:
        result.out_of_order_row = result.out_of_order_row or trade.row
    if result.last_close is None or trade.close_time > result.last_close:
        result.last_close = trade.close_time
    if (
        result.balance_mismatch is None
        and trade.balance is not None
        and trade.balance != round_money(balance_after)
    ):
        result.balance_mismatch = (trade.row, str(trade.balance), str(round_money(balance_after)))
