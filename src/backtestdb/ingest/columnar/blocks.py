"""A History CSV's data rows read in blocks of bytes, each parsed by pyarrow.csv.

A block is taken whole only when its rows are exactly its lines, as wide as the header,
with no blank, totals or section line, no line over MAX_CSV_ROW_BYTES, well-formed quotes,
valid UTF-8 and no NUL: then row numbers are line numbers and pyarrow's cells are the
csv module's. The first block that is not is the start of the `Tail`: from there the
rest of the file goes through the row path's own record reader, so every oddity (a
truncated line, a quoted line break, a statement's next section) is read exactly as the
row path reads it.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from backtestdb.parsing.csv_text import BoundedLines, CsvLimits, Prefixed
from backtestdb.parsing.history_csv import data_records
from backtestdb.parsing.records import Record, TradeSource

#: A block's bytes: peak memory follows it, not the file's size. A block's Arrow columns
#: peak at about 8x its bytes and the allocators keep as much again (measured at 1M trades:
#: 4 MiB blocks peaked at ~315 MB RSS, 2 MiB at ~228 MB, 1 MiB at ~205 MB for ~5% more
#: client CPU and the same wall time; smaller blocks cost more CPU for little memory).
BLOCK_BYTES = 1 << 20
#: The header must end within this many bytes for the columnar path to find it.
HEAD_BYTES = 1 << 20


@dataclass(slots=True)
class Block:
    first_row: int
    table: pa.Table


@dataclass(slots=True)
class Tail:
    """The rest of the file from `first_row` on, as the row path's records."""

    records: Iterator[Record]


def data_start(stream: BinaryIO, source: TradeSource) -> int | None:
    """Byte offset of the first data row: the end of the line holding the header, or None
    where the columnar path does not read the file (UTF-16, a lone CR, a long header)."""
    head = stream.read(HEAD_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head[:4096]:
        return None
    start = 3 if head.startswith(codecs.BOM_UTF8) else 0
    at = start
    while (end := head.find(b"\n", at)) >= 0:
        line = head[at : end + 1]
        if b"\r" in line[:-2]:
            return None
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            return None
        cells = next(csv.reader([text], delimiter=source.separator), [])
        if [cell.strip() for cell in cells] == source.header:
            return end + 1
        at = end + 1
    return None


def _lone_cr(block: bytes) -> int:
    at = block.find(b"\r")
    while at >= 0 and block[at + 1 : at + 2] == b"\n":
        at = block.find(b"\r", at + 1)
    return at


def _well_formed(separator: str) -> str:
    """An RE2 pattern of one line whose quotes the csv module reads as pyarrow does: each
    quoted cell whole (closed, then a separator or the end); no quote inside a cell."""
    sep = "\\t" if separator == "\t" else separator
    cell = f'(?:"(?:[^"]|"")*"|[^"{sep}\\r\\n]*)'
    return f"^{cell}(?:{sep}{cell})*\\r?$"


class BlockReader:
    """Blocks of `stream` from the data start on, then at most one `Tail`."""

    def __init__(self, stream: BinaryIO, source: TradeSource, limits: CsvLimits) -> None:
        self.stream, self.source, self.limits = stream, source, limits
        width = len(source.header)
        self.names = [f"c{i}" for i in range(width)]
        self.identity = [source.indexes[n] for n in ("symbol", "direction", "close_time")]
        self.line_shape = _well_formed(source.separator)
        # One chunk per block (its bytes can pass BLOCK_BYTES by a line), parsed on this
        # thread: the reader's threads gain nothing on a block this size, and each keeps
        # its own allocator cache (~25 MB more peak RSS).
        self.read_options = pacsv.ReadOptions(
            column_names=self.names, block_size=2 * BLOCK_BYTES, use_threads=False
        )
        self.convert = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in self.names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    def blocks(self, row: int = 1, block_bytes: int = BLOCK_BYTES) -> Iterator[Block | Tail]:
        rest = b""
        while True:
            block, rest, eof = self._next(rest, block_bytes)
            if not block:
                if eof:
                    return
                continue  # a line longer than a block: read on
            table = self.parse(block)
            if table is None:
                clean = self.clean_prefix(block)
                table = self.parse(block[:clean]) if clean else None
                if table is not None:
                    yield Block(row, table)
                    row += table.num_rows
                yield Tail(self.tail(block[clean if table is not None else 0 :] + rest, row))
                return
            del block  # the table holds its own cells: no bytes kept while the block is used
            yield Block(row, table)
            row += table.num_rows
            if eof:
                return

    def _next(self, rest: bytes, size: int) -> tuple[bytes, bytes, bool]:
        """The next block (whole lines; at the end, all that is left), the bytes after it,
        and whether the file ended. Its own function so that no copy outlives the block."""
        chunk = self.stream.read(size)
        data, eof = rest + chunk, not chunk
        cut = len(data) if eof else data.rfind(b"\n") + 1
        return data[:cut], data[cut:], eof

    def parse(self, block: bytes) -> pa.Table | None:
        """The block's cells, or None when it is not plain rows (see the module doc)."""
        lines = block.count(b"\n") + (not block.endswith(b"\n"))
        if b"\x00" in block or block.count(b"\r") != block.count(b"\r\n"):
            return None
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if not self._lines_fit(text):
            return None
        invalid: list[object] = []

        def refuse(row: object) -> str:
            invalid.append(row)
            return "skip"

        parse = pacsv.ParseOptions(
            delimiter=self.source.separator,
            ignore_empty_lines=False,
            invalid_row_handler=refuse,
        )
        try:
            table = pacsv.read_csv(
                pa.BufferReader(block),
                read_options=self.read_options,
                parse_options=parse,
                convert_options=self.convert,
            )
        except pa.ArrowInvalid:
            return None
        if invalid or table.num_rows != lines or self._has_blank_identity(table):
            return None
        return table

    def clean_prefix(self, block: bytes) -> int:
        """Bytes of the whole lines before the first one that may be odd (a blank, totals
        or title line, another width, odd quotes or bytes): a block in itself."""
        end = len(block)
        for odd in (block.find(b"\x00"), _lone_cr(block)):
            end = min(end, odd) if odd >= 0 else end
        try:
            text = block[:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            text = block[: exc.start].decode("utf-8")
        text = text[: text.rfind("\n") + 1]
        lines = pc.split_pattern(pa.array([text]), "\n").flatten()[:-1]
        if not len(lines):
            return 0
        sep = self.source.separator
        plain = pc.invert(pc.match_substring(lines, '"'))
        odd = pc.or_(
            pc.greater(pc.utf8_length(lines), self.limits.row_chars),
            pc.and_(plain, pc.not_equal(pc.count_substring(lines, sep), len(self.names) - 1)),
        )
        odd = pc.or_(
            odd,
            pc.and_(pc.invert(plain), pc.invert(pc.match_substring_regex(lines, self.line_shape))),
        )
        cells = pc.split_pattern(pc.if_else(plain, lines, ""), sep)
        blank = None
        for index in self.identity:
            empty = pc.equal(
                pc.utf8_trim_whitespace(
                    pc.list_element(
                        pc.if_else(pc.greater(pc.list_value_length(cells), index), cells, None),
                        index,
                    )
                ),
                "",
            )
            blank = empty if blank is None else pc.and_(blank, empty)
        odd = pc.or_(odd, pc.fill_null(blank, False))
        first = int(pc.index(odd, True).as_py())
        if first < 0:
            first = len(lines)
        return int(pc.sum(pc.binary_length(lines[:first])).as_py() or 0) + first

    def _lines_fit(self, text: str) -> bool:
        lines = pc.split_pattern(pa.array([text]), "\n").flatten()
        if pc.max(pc.utf8_length(lines)).as_py() > self.limits.row_chars:
            return False
        if '"' not in text:
            return True
        quoted = pc.filter(lines, pc.match_substring(lines, '"'))
        return bool(pc.all(pc.match_substring_regex(quoted, self.line_shape)).as_py())

    def _has_blank_identity(self, table: pa.Table) -> bool:
        """A totals row, or a blank one: the row path treats these by their place."""
        blank = None
        for index in self.identity:
            empty = pc.equal(pc.utf8_trim_whitespace(table.column(index)), "")
            blank = empty if blank is None else pc.and_(blank, empty)
        return bool(pc.any(blank).as_py())

    def tail(self, data: bytes, row: int) -> Iterator[Record]:
        text = io.TextIOWrapper(
            io.BufferedReader(Prefixed(data, self.stream)),
            encoding="utf-8",
            errors="surrogateescape",
            newline="",
        )
        lines = BoundedLines(text, self.source.file, self.limits)
        lines.rows()
        lines.count = row - 1  # every row before is one line
        return data_records(lines, self.source, first_row=row)
