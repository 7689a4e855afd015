"""A report's trades as the blocks of text cells `cells.normalise` reads, so reports take
the columnar path of History CSVs (`parsing.json_cells` says how a JSON value becomes a
cell, and which rows are odd: those go to the validator).

The blocks come from the first pass's spool (`parsing.json_spool`) when the report was
streamed, else from the decoded items (a report read whole).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.ingest.columnar.cells import Plan, normalise
from backtestdb.ingest.columnar.rows import checked_trades
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import json_spool
from backtestdb.parsing.json_cells import BlockCells, block_cells, texts_of
from backtestdb.parsing.json_spool import FIELD
from backtestdb.parsing.records import TRADE_FIELDS, RawTrade, Scalar, TradeSource


@dataclass(slots=True)
class ItemBlock:
    first_row: int
    #: One text column per field of `item_plan`'s source, in its order.
    table: pa.Table
    #: Rows the cells cannot stand for: the validator reads them.
    odd: Any
    #: The stored JSON of each row's unknown keys (null: none).
    extra: Any
    #: The RawTrade of a row, by (index in the block, row), as the row path has it.
    raw: Callable[[int, int], RawTrade]
    #: Each row's number in its file, when they do not run on from `first_row`.
    rows: Any = None


def item_plan(source: TradeSource, fields: Collection[str] = ()) -> Plan:
    """The Plan of a report's blocks: a column per canonical field found, and the fees
    always (a report item without one has none: 0, as the validator reads it); or a
    column for each of `fields`, when given."""
    found = set(fields) or set(source.columns) | {"commission", "swap"}
    header = [name for name in TRADE_FIELDS if name in found]
    cells = TradeSource(
        file=source.file,
        rows=iter(()),
        columns=source.columns,
        header=header,
        indexes={name: index for index, name in enumerate(header)},
    )
    return Plan.of(cells)


def item_blocks(source: TradeSource, plan: Plan) -> Iterator[ItemBlock]:
    """The report's items in blocks, as text cells in `item_plan`'s columns."""
    if source.item_spool is not None:
        yield from _spooled(source, plan)
        return
    size = json_spool.BLOCK_ITEMS  # the spool's blocks, for the same Arrow work
    assert source.items is not None
    row = 1
    while block := list(islice(source.items, size)):
        cells = block_cells(block, source.item_fields)
        table = cells_table(cells.fields, plan, cells.rows)

        def raw(index: int, at: int, block: list[dict[str, Any]] = block) -> RawTrade:
            return source.item_raw(at, block[index])

        yield ItemBlock(row, table, cells.odd, cells.extra, raw)
        row += len(block)


def cells_table(fields: dict[str, Any], plan: Plan, rows: int) -> pa.Table:
    """The plan's columns of a block (a field the block has no value of: null cells)."""
    empty = pa.nulls(rows, pa.string())
    texts = [texts_of(fields[name]) if name in fields else empty for name in plan.source.header]
    return pa.table(texts, names=plan.source.header)


def _spooled(source: TradeSource, plan: Plan) -> Iterator[ItemBlock]:
    row = 1
    for stored in source.item_spool.blocks():
        columns = {name: stored.column(name).combine_chunks() for name in stored.column_names}
        fields = {name[len(FIELD) :]: text for name, text in columns.items() if name[0] == FIELD}
        cells = BlockCells(fields, columns["@odd"], columns["@extra"])
        items = columns["@item"]
        yield ItemBlock(
            row, cells_table(cells.fields, plan, cells.rows), cells.odd, cells.extra,
            _spooled_raw(source, cells, items),
        )  # fmt: skip
        row += stored.num_rows


def _spooled_raw(
    source: TradeSource, cells: BlockCells, items: Any
) -> Callable[[int, int], RawTrade]:
    """An odd row's item was kept as JSON; any other row's cells are what the validator
    reads its values as (`json_cells.typed_of`, `texts_of`)."""

    def raw(index: int, row: int) -> RawTrade:
        item = items[index].as_py()
        if item is not None:
            return source.item_raw(row, json.loads(item))
        fields: dict[str, Scalar] = {
            name: _cell(typed, index) for name, typed in cells.fields.items()
        }
        extra = cells.extra[index].as_py()
        return RawTrade(row, fields, json.loads(extra) if extra else {})

    return raw


def _cell(typed: Any, index: int) -> str | None:
    return texts_of(typed.slice(index, 1))[0].as_py()  # type: ignore[no-any-return]


def valid_items(block: ItemBlock, plan: Plan, validator: TradeValidator) -> pa.Table:
    """The block's valid trades in row order, as `cells.COLUMNS`."""
    normalised = normalise(block.table, block.first_row, plan)
    normalised.values["extra"] = block.extra
    if block.rows is not None:
        normalised.values["row"] = block.rows
    normalised.ok = pc.and_(normalised.ok, pc.invert(block.odd))
    return checked_trades(normalised, validator, block.raw)
