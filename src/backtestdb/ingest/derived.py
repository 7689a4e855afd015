"""One pass over the trades: per-trade columns, summary, daily rows and the metric set.

`Deriver` is fed by both writers (`writers.postgres` on PostgreSQL, `writers.portable`
elsewhere) with money in integer cents and times as UTC text, which the COPY fast path has
at hand without building Decimals or datetimes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from backtestdb.analytics.close_order import CloseOrder
from backtestdb.analytics.figures import CentsRow, Figures, FiguresAccumulator
from backtestdb.errors import InputError, RowError
from backtestdb.ingest.summary import DailyAccumulator, Summary, SummaryAccumulator
from backtestdb.money import money_text, ratio_text, to_cents
from backtestdb.parsing.records import Trade

#: Balances and drawdowns are stored as NUMERIC(18,2): below 1e16, in cents.
STORED_LIMIT = 10**18

Progress = Callable[[int], None]


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
    #: The full metric set, when it could be computed in this pass (close-time order).
    figures: Figures | None = None

    def warnings(self, file: str) -> list[RowError]:
        found = []
        if self.balance_mismatch is not None:
            row, written, computed = self.balance_mismatch
            found.append(
                RowError(
                    file,
                    f"the Balance column does not chain from this row on: it says {written} "
                    f"but the trades add up to {computed} (a filtered export, or rows left "
                    "out?); balance_after uses the running sum of Net",
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


def utc_text(moment: datetime) -> str:
    """UTC time as "yyyy-mm-dd hh:mm:ss.fff[fff]" (what the COPY fast path writes too, so
    both kinds of row compare as text)."""
    moment = moment.astimezone(UTC)
    spec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.replace(tzinfo=None).isoformat(sep=" ", timespec=spec)


def parse_utc_text(text: str) -> datetime:
    """The aware datetime of `utc_text` output."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Deriver:
    """Feed trades in file order; each `add` returns the trade's derived columns.

    Times are UTC text (`utc_text`) and money integer cents: the COPY fast path has both
    at hand without building datetimes or Decimals.
    """

    def __init__(
        self,
        initial_balance: Decimal,
        figures: FiguresAccumulator | None = None,
        *,
        file: str = "",
        column: str | None = None,
    ) -> None:
        #: The file and its Net column, named when a balance grows past what is stored.
        self.file, self.column = file, column
        self.accumulator = SummaryAccumulator(initial_balance)
        #: The full metric set, fed in the same pass (the trades are in close-time order
        #: until `out_of_order_row` says otherwise: then it must be computed afresh).
        self.figures = figures
        #: The columnar path's feed of an entry-ordered file to `figures` in close order.
        self.close_order: CloseOrder | None = None
        self.daily = DailyAccumulator()
        self.symbols: set[str] = set()
        self.first_open = "~"  # sorts after any time
        self.last_close = ""
        self.balance_mismatch: tuple[int, str, str] | None = None
        self.out_of_order_row: int | None = None

    def add(
        self,
        row: int,
        symbol: str,
        direction: str,
        open_utc: str | None,
        close_utc: str,
        profit: int,
        commission: int,
        swap: int,
        balance: int | None,
    ) -> tuple[int, int, str]:
        """(balance_after, drawdown) in cents and drawdown_percent as text."""
        if self.close_order is not None:  # rows one at a time cannot join its feed
            self.figures = self.close_order = None
        if close_utc >= self.last_close:
            self.last_close = close_utc
        elif self.out_of_order_row is None:
            self.out_of_order_row = row
            self.figures = None  # it needs close-time order; computed afterwards instead
        if self.figures is not None:
            closed = parse_utc_text(close_utc)
            opened = parse_utc_text(open_utc) if open_utc is not None else None
            self.figures.add_cents(
                CentsRow(closed, opened, profit, commission, swap, direction, symbol)
            )
        accumulator = self.accumulator
        balance_after, drawdown = accumulator.add(profit, commission, swap)
        if abs(balance_after) >= STORED_LIMIT or drawdown >= STORED_LIMIT:
            self.refuse(row, balance_after, drawdown)
        self.daily.add(close_utc[:10], profit, balance_after)
        self.symbols.add(symbol)
        if open_utc is not None and open_utc < self.first_open:
            self.first_open = open_utc
        if balance is not None and balance != balance_after and self.balance_mismatch is None:
            self.balance_mismatch = (row, money_text(balance), money_text(balance_after))
        return balance_after, drawdown, ratio_text(drawdown, accumulator.peak, 4)

    def refuse(self, row: int, balance_after: int, drawdown: int) -> None:
        """Fail the ingest: the balance after the trade at `row`, or its drawdown, is past
        what the trades table holds (NUMERIC(18,2))."""
        which = "balance" if abs(balance_after) >= STORED_LIMIT else "drawdown"
        amount = balance_after if which == "balance" else drawdown
        raise InputError(
            self.file,
            f"the {which} after this trade reaches {money_text(amount)}, beyond what "
            "backtestdb stores (below 1e16 in absolute value): check this Net and the "
            "initial balance",
            row=row,
            column=self.column,
        )

    def add_trade(self, trade: Trade) -> tuple[int, int, str]:
        balance = to_cents(trade.balance) if trade.balance is not None else None
        return self.add(
            trade.row,
            trade.symbol,
            trade.direction,
            None if trade.open_time is None else utc_text(trade.open_time),
            utc_text(trade.close_time),
            to_cents(trade.profit),
            to_cents(trade.commission) if trade.commission is not None else 0,
            to_cents(trade.swap) if trade.swap is not None else 0,
            balance,
        )

    def finish(self) -> StoredTrades:
        if self.close_order is not None:
            self.close_order.finish()
        return StoredTrades(
            summary=self.accumulator.summary(),
            daily=self.daily,
            symbols=self.symbols,
            first_open=parse_utc_text(self.first_open) if self.first_open != "~" else None,
            last_close=parse_utc_text(self.last_close) if self.last_close else None,
            # Out of close-time order (cTrader's backtest History export is in entry
            # order), the file's Balance follows the closes, not the rows: no chain to check.
            balance_mismatch=self.balance_mismatch if self.out_of_order_row is None else None,
            out_of_order_row=self.out_of_order_row,
            figures=self.figures.result() if self.figures is not None else None,
        )
