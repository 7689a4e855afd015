"""Trades as the text of their stored columns, the one encoding both writers take.

`encoded_trades` yields every valid trade's columns as text: History CSV rows through
`row_pattern` where it accepts them, anything else through `TradeValidator`. The
PostgreSQL writer streams these tuples into COPY and the portable writer sends them in
batches with executemany, so both backends store the same values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from backtestdb.ingest.derived import Deriver, utc_text
from backtestdb.ingest.row_pattern import CsvFastPath, Fields
from backtestdb.ingest.validation import TradeValidator
from backtestdb.money import money_text
from backtestdb.parsing.records import Trade, TradeSource


def text(value: object) -> str | None:
    return None if value is None else str(value)


def trade_fields(trade: Trade, deriver: Deriver) -> Fields:
    """The stored columns of a validated trade, as text (times in UTC)."""
    balance_after, drawdown, drawdown_percent = deriver.add_trade(trade)
    extra = json.dumps(trade.extra, ensure_ascii=False) if trade.extra else None
    return (
        trade.deal_id, trade.symbol, trade.direction,
        None if trade.open_time is None else utc_text(trade.open_time),
        utc_text(trade.close_time), text(trade.entry_price), text(trade.exit_price),
        text(trade.quantity), text(trade.volume), text(trade.commission), text(trade.swap),
        text(trade.pips), text(trade.gross_profit), str(trade.profit),
        money_text(balance_after), money_text(drawdown), drawdown_percent,
        trade.label, trade.comment, extra, trade.quantity_unit,
    )  # fmt: skip


def encoded_trades(
    source: TradeSource, validator: TradeValidator, deriver: Deriver
) -> Iterator[Fields]:
    """The columns of every valid trade in file order; bad rows end in validator.errors."""
    fast = CsvFastPath(source, validator)
    if source.records is None or not fast.enabled:
        for trade in validator:
            yield trade_fields(trade, deriver)
        return
    for row, line, cells in source.records:
        fields = fast.encode(row, line, cells, deriver)
        if fields is None:
            checked = validator.validate(source.raw(row, source.cells(line, cells)))
            if checked is None:
                continue
            fields = trade_fields(checked, deriver)
        validator.valid_count += 1
        yield fields
