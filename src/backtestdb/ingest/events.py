"""events.json ingested: one trade per closed position, and every event into trade_events.

`EventsIngest.source` is the TradeSource the writers read: one RawTrade per closed
position, in close order (the events come in time order), so trades are numbered as they
close. A trade opens at its position's first event (Create Position) and closes at the
event that carries a close price and a balance; its net is that balance minus the
previous closing balance (the first: minus the file's starting balance, the first event's
equity). The net includes the fees, which the file does not give apart: commission and
swap are stored NULL (docs/metrics.md).

The events are read in blocks, a column at a time where they can be (`event_blocks`), the
rest by the checker; the trades take the columnar path in blocks (`event_trades`). With
`columnar.ROW_PATH_ONLY` every event goes through the checker and every trade through the
row path, one at a time. A closed position's events wait for its trade to be checked, to
get the trade's number.

Memory: only the open positions' events, and those of a block's closed positions, wait in
memory, each as its row's COPY text (`writers.events`). Once numbered they go, in
batches, to a temporary file; `store_events` stores them once the trades are written
(PostgreSQL's COPY of the trades holds the connection until then): COPY on PostgreSQL,
executemany elsewhere. `finish` stores the maximum equity drawdown. Flushes, never commits.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Container, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from typing import IO, Any

from sqlalchemy.orm import Session

from backtestdb import models
from backtestdb.analytics.equity_drawdown import EquityDrawdown
from backtestdb.errors import BacktestdbError, RowError
from backtestdb.ingest import columnar
from backtestdb.ingest.columnar.cells import Plan
from backtestdb.ingest.columnar.items import ItemBlock, item_plan
from backtestdb.ingest.event_blocks import EventBlock, event_block
from backtestdb.ingest.event_inputs import classify, events_symbol, starting_equity
from backtestdb.ingest.event_rows import Event, EventChecker
from backtestdb.ingest.event_trades import (
    ALWAYS,
    FIELDS,
    TRADE_KEYS,
    TimeCells,
    merge_held,
    position_trade,
    time_cell,
    trade_block,
)
from backtestdb.ingest.requests import IngestRequest
from backtestdb.ingest.validation import TradeValidator
from backtestdb.ingest.writers.events import copy_events, event_line, insert_events, numbered
from backtestdb.parsing.events_json import EVENT_FIELDS, EventReader, RawEvent
from backtestdb.parsing.records import RawTrade, Report, TradeSource

__all__ = ["EventsIngest", "classify", "open_events"]

#: Events read per block, and trades per block of them. Measured at 200k trades (500k
#: events): 8,192 peaked at 267 MB RSS, 4,096 at 220 MB, 2,048 at 189 MB and ran fastest.
BLOCK_EVENTS = 2048


@dataclass(slots=True)
class Position:
    """An open position: its first event (None when that one was bad), and its events'
    rows (`writers.events.event_line`) waiting for a number."""

    opened: Event | None
    rows: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Closed:
    """A closed position's events, waiting for its trade (the closing event's row; None:
    none) to be checked."""

    trade_row: int | None
    rows: list[str]


def open_events(
    stack: ExitStack, request: IngestRequest, report: Report | None, batch_size: int
) -> EventsIngest | None:
    """The events file's ingest, or None without one. Refuses an events file without a
    symbol, or with a History CSV (one trade source at a time)."""
    if request.events is None:
        return None
    if request.csv is not None:
        raise BacktestdbError("Give one trade source: the History CSV or events.json, not both")
    file = request.events.name
    symbol = events_symbol(request.symbol, report, request.parameters, file)
    stream = stack.enter_context(request.events.path.open("rb"))
    spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
    strict = request.on_error == "strict"
    plan = EventsIngest(stream, file, symbol, spool=spool, batch_size=batch_size, strict=strict)
    reported = report.summary.starting_capital if report is not None else None
    plan.use_initial_balance(request.initial_balance, reported)
    return plan


class EventsIngest:
    def __init__(
        self,
        stream: IO[bytes],
        file: str,
        symbol: str,
        *,
        spool: IO[bytes],
        batch_size: int,
        strict: bool = True,
    ) -> None:
        self.file = file
        #: The file being read, for progress by bytes.
        self.stream = stream
        self.symbol = symbol
        self.batch_size = batch_size
        reader = self.reader = EventReader(stream, file)
        self.checker = EventChecker(file, reader.columns)
        items = reader.items()
        first = next(items, None)
        self._items = items if first is None else chain([first], items)
        #: The file's own starting balance: the first event's equity, when it has one.
        self.start = starting_equity(None if first is None else reader.raw(*first))
        self.initial = Decimal(0)
        self.balance: Decimal | None = self.start
        self.drawdown = EquityDrawdown()
        self.open: dict[str, Position] = {}
        self._validator: TradeValidator | None = None
        #: Closed positions whose trades are not checked yet, and those trades' time cells.
        self._closed_positions: list[Closed] = []
        self._times: list[TimeCells] = []
        self._numbered = 0
        self._batch: list[str] = []
        #: Closed events' rows, as COPY lines in UTF-8, until `store_events`.
        self._spool = spool
        #: A strict ingest stores nothing once a row is bad (it fails after the pass).
        self.strict = strict
        self.still_open = 0
        # The keys seen, as a header: with no fee key in it, fees are NULL (not 0), as for a
        # History CSV without fee columns (validation, pipeline).
        seen = reader.columns
        columns = {
            name: seen.get(key, EVENT_FIELDS[key][0])
            for name, key in TRADE_KEYS.items()
            if name in ALWAYS or key in seen
        }
        self.source = TradeSource(
            file=file,
            rows=self._one_by_one(),
            columns={**columns, "symbol": "symbol"},
            header=list(seen.values()) or list(TRADE_KEYS),
        )
        #: The columns of the trades' blocks: every field a trade has (`event_trades`).
        self.plan: Plan = item_plan(self.source, FIELDS)

    def use_initial_balance(self, given: Decimal | None, reported: Decimal | None) -> None:
        """The backtest's initial balance: the one given, else the first event's equity,
        else the report's. The first trade's net starts from the file's own balance."""
        initial = next((b for b in (given, self.start, reported) if b is not None), None)
        if initial is None:
            raise BacktestdbError(
                f"Initial balance unknown: the first event of {self.file} has no equity; "
                "give --initial-balance (form field initial_balance)"
            )
        self.initial = initial
        if self.balance is None:
            self.balance = initial

    def bind(self, validator: TradeValidator) -> None:
        """Record the events' errors with the trades' (one list, one count, file order)."""
        self._validator = validator
        self.checker.sink = validator

    def trade_blocks(self) -> Iterator[ItemBlock]:
        """The trades in blocks for the columnar path; call `checked` after each."""
        validator = self._bound()
        trades = self._trades()
        self.checker.held = []
        while block := list(islice(trades, BLOCK_EVENTS)):
            times, self._times = self._times, []
            self._mark = len(validator.errors)
            yield trade_block(block, times, self.plan)

    def checked(self, rows: Any) -> None:
        """A block was checked, `rows` its valid trades: number their positions' events,
        and put the events' errors among the trades'."""
        self._number(set(rows.to_pylist()))
        assert self.checker.held is not None
        merge_held(self._bound(), self._mark, self.checker.held)

    def _one_by_one(self) -> Iterator[RawTrade]:
        """The trades for the row path, each numbered once the validator has read it."""
        validator = self._bound()
        for trade in self._trades():
            self._times.clear()
            accepted = validator.valid_count
            yield trade
            self._number((trade.row,) if validator.valid_count > accepted else ())

    def _bound(self) -> TradeValidator:
        if self._validator is None:
            raise RuntimeError("EventsIngest.bind was not called")  # a wiring bug
        return self._validator

    def _number(self, valid: Container[int]) -> None:
        """Number the closed positions' events by their trades (`valid`: the rows of
        those the validator took) and spool them."""
        for closed in self._closed_positions:
            number = None
            if closed.trade_row is not None and closed.trade_row in valid:
                self._numbered += 1
                number = self._numbered
            self._keep(closed.rows, number)
        self._closed_positions.clear()

    def _trades(self) -> Iterator[RawTrade]:
        reader = self.reader
        while chunk := list(islice(self._items, BLOCK_EVENTS)):
            items = [item for _, item in chunk]
            block = event_block(chunk[0][0], items, reader.field_of, reader.columns)
            if columnar.ROW_PATH_ONLY:  # every event through the checker
                block.ok = [False] * len(items)
            yield from self._block_trades(block)

    def _block_trades(self, block: EventBlock) -> Iterator[RawTrade]:
        """The trades the block's events close, in order: each event read by the block
        (`event_blocks`) if it could, else by the checker."""
        serials, columns, open_positions = self.checker.serials, self.reader.columns, self.open
        named = iter(block.new_columns)
        name_at, name, key = next(named, (-1, "", ""))
        for index, ok in enumerate(block.ok):
            row = block.first_row + index
            while index == name_at:  # the keys the row path would have met by this event
                columns.setdefault(name, key)
                name_at, name, key = next(named, (-1, "", ""))
            event: Event | None = None
            if ok and serials.first_row_of(block.serial[index], row) == row:
                position_id, closes = block.position[index], block.closes[index]
                line = block.lines[index]
                assert line is not None  # an ok event has its line
                self.drawdown.add_cents(block.equity_cents[index])
            else:
                raw = self.reader.raw(row, block.items[index])
                event = self.checker.check(raw)
                if event is None:
                    self._bad(raw)
                    continue
                position_id, closes, line = event.position, event.closes, event_line(event.values)
                self.drawdown.add(event.values["equity"])
            position = open_positions.get(position_id)
            if position is None:
                event = event or block.event(index)
                position = open_positions[position_id] = Position(event)
            position.rows.append(line)
            if closes:
                del open_positions[position_id]
                yield from self._closed(position, event or block.event(index))

    def _bad(self, raw: RawEvent) -> None:
        """A bad event leaves its position without a trade (its error says why): a bad
        first event opens it with no opening, a bad closing event ends it (the next
        trade's net then counts from the last good closing balance)."""
        position_id = raw.fields.get("position_id")
        if raw.problem is not None or position_id is None:
            return
        key = str(position_id).strip()
        if raw.closes:
            position = self.open.pop(key, None)
            if position is not None:
                self._closed_positions.append(Closed(None, position.rows))
        elif key not in self.open:
            self.open[key] = Position(None)

    def _closed(self, position: Position, closing: Event) -> Iterator[RawTrade]:
        """The trade of a closed position; its events wait for it to be checked (a trade
        validation refuses numbers none: skipped in `on_error=skip`)."""
        opened = position.opened
        if opened is None:
            self.balance = closing.values["balance"]  # the account's, trade or not
            self._closed_positions.append(Closed(None, position.rows))
            return
        if opened is closing:
            self.balance = closing.values["balance"]
            trade = RawTrade(closing.row, {}, problem="the position closes at its first event")
            self._times.append((None, None))
        else:
            last = closing.values
            balance: Decimal = last["balance"]
            assert self.balance is not None
            trade = position_trade(opened, closing, balance - self.balance, self.symbol)
            self.balance = balance
            self._times.append((time_cell(opened.values["time"]), time_cell(last["time"])))
        self._closed_positions.append(Closed(trade.row, position.rows))
        yield trade

    def _keep(self, rows: list[str], number: int | None) -> None:
        batch = self._batch
        for row in rows:
            batch.append(numbered(number, row))
        if len(batch) >= self.batch_size:
            self._spool_batch()

    def _spool_batch(self) -> None:
        self._spool.write("".join(self._batch).encode())
        self._batch.clear()

    def store_events(self, session: Session, backtest_id: uuid.UUID) -> None:
        """Insert the events once the trades are written (see the module docstring); the
        positions still open at the end go with no trade number."""
        validator = self._bound()
        self._number(())  # positions closed after the last trade have none
        if self.checker.held is not None:  # the events' errors after the last block
            merge_held(validator, len(validator.errors), self.checker.held)
            self.checker.held = None
        self.still_open = len(self.open)
        for position in self.open.values():
            self._keep(position.rows, None)
        self.open.clear()
        if self.strict and validator.error_count:
            return  # the ingest fails: nothing to store
        self._spool_batch()
        if session.get_bind().dialect.name == "postgresql":
            copy_events(session, backtest_id, self._spool)
        else:
            insert_events(session, backtest_id, self._spool, self.batch_size)

    def finish(self, backtest: models.Backtest) -> list[RowError]:
        """Store the equity drawdown and the symbol over the summary's (the report's);
        the warning for positions still open at the end."""
        still_open = self.still_open
        backtest.max_equity_drawdown, backtest.max_equity_drawdown_percent = self.drawdown.result()
        # The trades' symbol, chosen with the option first (the report's would win otherwise).
        backtest.symbol = self.symbol
        if self.symbol not in backtest.symbols:
            backtest.symbols = [self.symbol]
        if not still_open:
            return []
        noun = "position is" if still_open == 1 else "positions are"
        return [
            RowError(
                self.file,
                f"{still_open} {noun} still open at the end: not trades (their events are "
                "kept with no trade number)",
                value=str(still_open),
            )
        ]
