"""A streamed report's trade items as their text cells (`json_cells`), spooled to a
temporary file by the first pass, so that the trades are parsed once, not twice.

The first pass hands over each item: one of a run of like-shaped flat objects as its
values, in the shape's key order, any other decoded. Every `BLOCK_ITEMS` items (or when
the kind changes) the block's cells go to the file as one Arrow IPC stream, its length
before it: a column per field found ("=deal_id", ...: text, or ints and doubles that the
store phase makes text), "@odd", "@extra", and, for the odd rows only, the item itself
as JSON ("@item"), which the validator reads. Memory holds one block.
"""

from __future__ import annotations

import json
import struct
import tempfile
import weakref
from collections.abc import Iterator
from operator import itemgetter
from typing import IO, Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.parsing import item_runs
from backtestdb.parsing.json_cells import (
    BlockCells,
    KeyFields,
    block_cells,
    key_field,
    meet_keys,
    shaped_cells,
)

#: Items per block: about the Arrow work of a 1 MiB History CSV block.
BLOCK_ITEMS: Final = 8192
FIELD: Final = "="
_LENGTH: Final = struct.Struct("<Q")
_VALUE = itemgetter(1)


class ItemSpool:
    def __init__(self, key_fields: KeyFields, columns: dict[str, str], file: str) -> None:
        #: Filled by the first pass as it meets keys: complete before a block is made
        #: (a run's keys are met as its block is made, `meet_keys`); `columns` is each
        #: field's first key.
        self.key_fields, self.columns, self.file_name = key_fields, columns, file
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close)
        # A report refused after its first pass drops its spool unclosed: close it then.
        self._closing = weakref.finalize(self, self.file.close)
        self.count = 0  # blocks written
        self._keys: tuple[str, ...] = ()
        #: The like-shaped items' events, one after the other (`shaped`).
        self._events: list[tuple[str, Any]] = []
        self._items: list[dict[str, Any]] = []
        #: The runs' items as JSON Lines (`item_runs`), and how many.
        self._lines: list[bytes] = []
        self._line_rows = 0

    def shaped(self, keys: tuple[str, ...]) -> list[tuple[str, Any]]:
        """The list the first pass extends with each next item of the shape `keys`, as
        its events (start_map, each key's and its value's, end_map), calling `flush`
        every `BLOCK_ITEMS` items: a block's values are sliced out of it at once."""
        if self._items or self._lines or (self._events and keys != self._keys):
            self.flush()
        self._keys = keys
        return self._events

    def shaped_last(self, keys: tuple[str, ...]) -> None:
        """The item just added (decoded) is of the shape `keys`: it joins the block of
        the items of that shape that follow it."""
        item = self._items.pop()
        self.flush()
        events = self.shaped(keys)
        events.append(("start_map", None))
        for key in keys:
            events += [("map_key", key), ("value", item[key])]
        events.append(("end_map", None))

    def add_item(self, item: dict[str, Any]) -> None:
        if self._events or self._lines:
            self.flush()
        self._items.append(item)
        if len(self._items) >= BLOCK_ITEMS:
            self.flush()

    def add_run(self, lines: bytes, rows: int) -> None:
        """A run's items, as `item_runs.run_lines` gives them."""
        if self._events or self._items or self._line_rows + rows > BLOCK_ITEMS:
            self.flush()  # (a block holds at most BLOCK_ITEMS items, as a decoded one)
        self._lines.append(lines)
        self._line_rows += rows

    def end_runs(self) -> None:
        """Write the runs' block before an item the first pass decodes meets its keys."""
        if self._lines:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            self._write_runs()
        elif self._events:
            keys, events, width = self._keys, self._events, 2 * len(self._keys) + 2
            columns = [list(map(_VALUE, events[2 + 2 * at :: width])) for at in range(len(keys))]
            cells = shaped_cells(columns, keys, self.key_fields, len(events) // width)

            def item(at: int) -> dict[str, Any]:
                return {key: column[at] for key, column in zip(keys, columns, strict=True)}

            self._write(cells, item)
            self._events.clear()
        elif self._items:
            self._write(block_cells(self._items, self.key_fields), self._items.__getitem__)
            self._items.clear()

    def _write_runs(self) -> None:
        lines, rows = b"\n".join(self._lines), self._line_rows
        self._lines.clear()
        self._line_rows = 0
        found = item_runs.run_cells(lines, rows, self._field_of)
        if found is None:
            items = item_runs.run_items(lines, self.file_name)
            for item in items:
                meet_keys(item, self.key_fields, self.columns)
            self._write(block_cells(items, self.key_fields), items.__getitem__)
            return
        cells, keys = found
        meet_keys(keys, self.key_fields, self.columns)
        self._write(cells, item_runs.item_at(lines, self.file_name))

    def _field_of(self, key: str) -> str | None:
        return self.key_fields[key] if key in self.key_fields else key_field(key)

    def _write(self, cells: BlockCells, item: Any) -> None:
        odd = pc.indices_nonzero(cells.odd).to_pylist()
        items: list[str | None] = [None] * cells.rows
        for at in odd:
            items[at] = json.dumps(item(at), ensure_ascii=False)
        table = pa.table(
            {
                **{FIELD + name: text for name, text in cells.fields.items()},
                "@odd": cells.odd,
                "@extra": cells.extra,
                "@item": pa.array(items, pa.string()),
            }
        )
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        data = sink.getvalue()
        self.file.write(_LENGTH.pack(data.size))
        self.file.write(memoryview(data))
        self.count += 1

    def blocks(self) -> Iterator[pa.Table]:
        """The blocks written, in order (read once)."""
        self.file.seek(0)
        for _ in range(self.count):
            (size,) = _LENGTH.unpack(self.file.read(_LENGTH.size))
            yield pa.ipc.open_stream(pa.py_buffer(self.file.read(size))).read_all()

    def close(self) -> None:
        self._closing()
