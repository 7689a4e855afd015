"""What a History CSV tells an ingest besides its trades: the columns it lacks, the
backtest its file name describes, and the initial balance its first row implies."""

from __future__ import annotations

from decimal import Decimal

from backtestdb.errors import BacktestdbError, RowError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing.layouts import missing_columns_warning
from backtestdb.parsing.records import TradeSource


def missing_columns(source: TradeSource) -> list[RowError]:
    """One warning naming the optional columns a CSV lacks and what each takes away."""
    if not source.header:
        return []
    message = missing_columns_warning(source.columns)
    return [RowError(source.file, message)] if message is not None else []


def balance_before_first_trade(source: TradeSource) -> Decimal:
    """The Balance minus the Net of the trade that closed first, or an error saying why
    it cannot be had.

    That trade is row 1, except in cTrader's backtest History export, whose rows are in
    entry-time order: then it is the earliest close among the first rows, provided no
    later row can close before it (each opens no earlier than the last row read), or
    among all of them in a file shorter than the look-ahead.
    """
    column = source.columns.get("balance")
    if column is None:
        raise _unknown("the file has no Balance column to infer it from")
    validator = TradeValidator(source)
    first_rows = source.peek_rows(_LOOK_AHEAD)
    if not first_rows:
        raise _unknown("the file has no trades")
    first = validator.validate(first_rows[0])
    if first is None or first.balance is None:
        raise _invalid_first_row(source, column, validator, first is None)
    earliest, last_open = first, first.open_time
    for raw in first_rows[1:]:
        if last_open is not None and last_open >= earliest.close_time:
            break  # every row from here on opens, so closes, after `earliest` closed
        trade = validator.validate(raw)
        if trade is None or trade.balance is None:
            continue
        earliest = min(earliest, trade, key=lambda t: t.close_time)
        last_open = trade.open_time
    every_row = len(first_rows) < _LOOK_AHEAD  # the whole file: its earliest close is known
    ordered = last_open is not None and last_open >= earliest.close_time
    if earliest is not first and not (every_row or ordered):
        raise _unknown(
            "the rows are not in close-time order, and the trade that closed first is not "
            f"known from the first {len(first_rows)} rows"
        )
    assert earliest.balance is not None
    return earliest.balance - earliest.profit


#: Rows read ahead to find the trade that closed first in an entry-ordered export.
_LOOK_AHEAD = 200


def _unknown(reason: str) -> BacktestdbError:
    return BacktestdbError(
        f"Initial balance unknown: no report gives startingCapital and {reason}; give "
        "--initial-balance (form field initial_balance)"
    )


def _invalid_first_row(
    source: TradeSource, column: str, validator: TradeValidator, invalid: bool
) -> BacktestdbError:
    row_one = [error for error in validator.errors if error.row == 1]
    problems = "; ".join(
        f"{error.column or 'row'}: {error.message}"
        + (f" ({error.value!r})" if error.value is not None else "")
        for error in row_one
    )
    return BacktestdbError(
        f"Initial balance unknown: it is inferred from row 1's {column} minus its Net, "
        f"but row 1 of {source.file} is "
        + (f"invalid ({problems})" if invalid else f"missing its {column}")
        + "; fix row 1 or give --initial-balance (form field initial_balance)",
        row_one,
    )
