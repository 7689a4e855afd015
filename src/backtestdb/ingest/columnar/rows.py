"""A block's valid trades as one table: the rows `cells.normalise` took, the deal-id
check in row order, and every other row through `TradeValidator` (which records its
errors, in row order, as the row path does)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.analytics.block_figures import micros_of
from backtestdb.ingest.columnar.cells import COLUMNS, TYPES, Normalised, Plan, normalise
from backtestdb.ingest.deal_ids import deal_key
from backtestdb.ingest.validation import TradeValidator
from backtestdb.money import to_cents
from backtestdb.parsing.records import RawTrade, Trade

_PLAIN_ID = r"^(?:0|[1-9]\d*)$"


#: The RawTrade of a block's row, by (index in the block, row): what the validator reads.
RawOf = Callable[[int, int], RawTrade]


def valid_trades(
    table: pa.Table, first_row: int, plan: Plan, validator: TradeValidator
) -> pa.Table:
    """The block's valid trades in row order, as `cells.COLUMNS`."""
    columns, source = table.columns, plan.source

    def raw_of(index: int, row: int) -> RawTrade:
        return source.raw(row, [column[index].as_py() for column in columns])

    return checked_trades(normalise(table, first_row, plan), validator, raw_of)


def checked_trades(normalised: Normalised, validator: TradeValidator, raw_of: RawOf) -> pa.Table:
    """The rows `normalised` took, and every other row through the validator, in order."""
    values = normalised.values
    all_ok = bool(pc.all(normalised.ok).as_py())
    if all_ok and _ids_in_order(values["deal_id"], values["row"], validator):
        validator.valid_count += len(values["row"])
        return pa.table([values[name] for name in COLUMNS], names=list(COLUMNS))
    trades = _checked_in_order(normalised, validator, raw_of)
    ok = normalised.ok if trades[0] is None else trades[0]
    kept = pa.table([pc.filter(values[name], ok) for name in COLUMNS], names=list(COLUMNS))
    if trades[1]:
        extra = pa.table(
            [
                pa.array(column, TYPES[name])
                for name, column in zip(COLUMNS, zip(*trades[1], strict=True), strict=True)
            ],
            names=list(COLUMNS),
        )
        kept = pa.concat_tables([kept, extra]).sort_by("row")
    validator.valid_count += kept.num_rows
    return kept


def _ids_in_order(deal_ids: Any, rows: Any, validator: TradeValidator) -> bool:
    """Record a block's deal ids at once when each is a plain integer not seen before."""
    if deal_ids.null_count == len(deal_ids):
        return True
    if deal_ids.null_count or not pc.all(pc.match_substring_regex(deal_ids, _PLAIN_ID)).as_py():
        return False
    if pc.max(pc.utf8_length(deal_ids)).as_py() > 18:
        return False
    keys, numbers = pc.cast(deal_ids, pa.int64()).to_pylist(), rows.to_pylist()
    return validator.deal_ids.extend_new(keys, numbers)


def _checked_in_order(
    normalised: Normalised, validator: TradeValidator, raw_of: RawOf
) -> tuple[Any, list[tuple[object, ...]]]:
    """(the taken rows that stay taken, or None: all of them; the other rows' trades).

    Row by row, so deal ids are first seen, and errors recorded, in row order."""
    ok = normalised.ok.to_pylist()
    ids = normalised.values["deal_id"].to_pylist()
    rows = normalised.values["row"].to_pylist()
    accepted: list[tuple[object, ...]] = []
    changed = False
    for index, taken in enumerate(ok):
        row = rows[index]
        if taken:
            deal_id = ids[index]
            if deal_id is None or validator.first_row_of(deal_key(deal_id), row) == row:
                continue
            ok[index], changed = False, True
        trade = validator.validate(raw_of(index, row))
        if trade is not None:
            accepted.append(trade_values(trade))
    return (pa.array(ok, pa.bool_()) if changed else None), accepted


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else micros_of(moment)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def trade_values(trade: Trade) -> tuple[object, ...]:
    """A validated trade as a row of `cells.COLUMNS`."""
    return (
        trade.row, trade.deal_id, trade.symbol, trade.direction, _micros(trade.open_time),
        _micros(trade.close_time), _text(trade.entry_price), _text(trade.exit_price),
        _text(trade.quantity), _text(trade.volume), _text(trade.commission),
        _text(trade.swap), _text(trade.pips), _text(trade.gross_profit), str(trade.profit),
        to_cents(trade.profit), to_cents(trade.commission) if trade.commission is not None else 0,
        to_cents(trade.swap) if trade.swap is not None else 0,
        to_cents(trade.balance) if trade.balance is not None else None, trade.label,
        trade.comment, json.dumps(trade.extra, ensure_ascii=False) if trade.extra else None,
        trade.quantity_unit,
    )  # fmt: skip
