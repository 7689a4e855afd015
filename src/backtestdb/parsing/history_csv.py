"""The History tab CSV export, read as a stream: the file can hold millions of trades."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from itertools import chain, islice
from typing import BinaryIO

from backtestdb.errors import InputError
from backtestdb.parsing.csv_text import (
    BAD_BYTES,
    BoundedLines,
    CsvLimits,
    Prefixed,
    detect_encoding,
    read_head,
    sniff_separator,
    utc_offset,
)
from backtestdb.parsing.fields import (
    CSV_FIELDS,
    CSV_LOOKUP,
    map_names,
    missing_required,
    normalize_name,
)
from backtestdb.parsing.layouts import closest_layout
from backtestdb.parsing.number_style import NUMERIC_FIELDS, Sample, uses_decimal_comma
from backtestdb.parsing.records import REQUIRED_TRADE_FIELDS, Record, TradeSource

# Per row: NUL too, which only the first 64 KiB are checked for (PostgreSQL refuses it).
_BAD_TEXT = re.compile("[\x00\udc80-\udcff]")
#: Rows read ahead to tell the file's decimal mark (`number_style`).
_STYLE_ROWS = 200
DEFAULT_LIMITS = CsvLimits()
_TITLE = re.compile(r"[^\W\d_][^\d]{0,63}")


def parse_history_csv(
    stream: BinaryIO, file: str, limits: CsvLimits = DEFAULT_LIMITS
) -> TradeSource:
    """Read the header now (so column errors surface at once) and the rows lazily.

    Any of cTrader's History layouts, with any subset of columns in any order; in an
    account statement only the Deals section is read (the section title above a header
    marks one). Every line is read with a bound (`limits`), so no line is held whole
    past it.
    """
    head = read_head(stream)
    if not head.strip():
        raise InputError(file, "file is empty")
    encoding, head_text = detect_encoding(head, file)
    if not head_text.strip():
        raise InputError(file, "file is empty")
    separator = sniff_separator(head_text)

    text = io.TextIOWrapper(
        io.BufferedReader(Prefixed(head, stream)),
        encoding=encoding,
        errors="surrogateescape" if encoding == "utf-8-sig" else "strict",
        newline="",
    )
    lines = BoundedLines(text, file, limits)
    header, section = _find_header(csv.reader(lines, delimiter=separator, strict=True), file)
    if BAD_BYTES.search("".join(header)):
        raise InputError(file, "header is not valid UTF-8 text")
    if len(header) > limits.columns:
        raise InputError(
            file,
            f"the header has {len(header):,} columns; at most {limits.columns:,} are read "
            "(MAX_CSV_COLUMNS): export the History with fewer columns",
        )
    lines.rows()

    indexes, extra_indexes = map_names(header, CSV_LOOKUP)
    missing_required(
        indexes, CSV_FIELDS, file, kind="column", hint=lambda: closest_layout(header, indexes)
    )
    source = TradeSource(
        file=file,
        rows=iter(()),
        columns={name: header[index] for name, index in indexes.items()},
        utc_offsets=_offsets(header, indexes),
        separator=separator,
        header=header,
        indexes=indexes,
        extra_columns=_extra_columns(header, extra_indexes),
        section=section,
        max_extra_chars=limits.extra_chars,
    )
    identity = [indexes[name] for name in ("symbol", "direction", "close_time")]
    records = _records(lines, file, len(header), separator, identity, sectioned=bool(section))
    first_rows = list(islice(records, _STYLE_ROWS))
    source.decimal_comma = uses_decimal_comma(
        _numeric_cells(source, first_rows), file, separator=separator
    )
    source.use_records(chain(first_rows, records))
    return source


def _extra_columns(header: list[str], indexes: list[int]) -> list[tuple[str, int]]:
    """Names for the columns we do not know, each kept under its own key: a second column
    of the same name becomes "Name (2)" rather than overwriting the first."""
    named: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    for index in indexes:
        name = header[index] or f"column {index + 1}"
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name} ({seen[name]})", index))
    return named


def _offsets(header: list[str], indexes: dict[str, int]) -> dict[str, timedelta]:
    """The time zone each time column's header names ("Closing time (UTC+1)")."""
    found = {name: utc_offset(header[index]) for name, index in indexes.items()}
    return {name: offset for name, offset in found.items() if offset is not None}


def _numeric_cells(source: TradeSource, records: list[Record]) -> Iterator[Sample]:
    numeric = [(source.header[i], i) for n, i in source.indexes.items() if n in NUMERIC_FIELDS]
    for row, line, cells in records:
        values = source.cells(line, cells)
        if len(values) == len(source.header):
            yield from ((row, name, values[index]) for name, index in numeric if values[index])


def _find_header(reader: Iterator[list[str]], file: str) -> tuple[list[str], str | None]:
    """The trades' header row, and the title of the section it heads, if any.

    A statement's sections each start with a title line ("Deals", "Positions"…) and a
    header; the first section whose header names the columns a trade needs is the one
    read, and sections before it are passed over.
    """
    title: str | None = None
    try:
        for cells in reader:
            stripped = [cell.strip() for cell in cells]
            if not any(stripped):
                continue
            if _is_title(stripped):
                title = stripped[0]
                continue
            if title is None or _holds_trades(stripped):
                return stripped, title
            _skip_section(reader)
            title = None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(file, f"unreadable header: {exc}") from exc
    if title is not None:
        raise InputError(file, "no section of this statement has the columns of trades (Deals)")
    return [], None


def _is_title(cells: list[str]) -> bool:
    """A line holding one name alone (words, no digits: "Deals", "Open positions"), which
    is no column we know: a section's title. A row holding only a deal id is no title."""
    first = cells[0]
    return (
        _TITLE.fullmatch(first) is not None
        and not any(cells[1:])
        and normalize_name(first) not in CSV_LOOKUP
    )


def _holds_trades(cells: list[str]) -> bool:
    found, _ = map_names(cells, CSV_LOOKUP)
    return all(name in found for name in REQUIRED_TRADE_FIELDS)


def _skip_section(reader: Iterator[list[str]]) -> None:
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            return


def _records(
    text: Iterator[str],
    file: str,
    width: int,
    separator: str,
    identity: list[int],
    *,
    sectioned: bool,
) -> Iterator[Record]:
    """Every non-blank record, numbered from 1 (blank lines count), up to the end of the
    file or, in a statement, of the section.

    Quote-free lines as wide as the header (most of a cTrader export) are passed on as
    text: splitting them or matching them whole is several times cheaper than the csv
    module. Lines with quotes go through csv, which may read further lines for a quoted
    line break. A record of another width is passed on as cells: the validator reports
    it as one bad row. A totals row (no symbol, direction or closing time) that ends the
    trades is dropped.
    """
    row = 0
    totals: Record | None = None
    first = min(identity)
    for line in text:
        row += 1
        if _BAD_TEXT.search(line):
            raise InputError(file, "invalid text (a NUL or a non-UTF-8 byte) in this row", row=row)
        if '"' not in line:
            line = line.rstrip("\r\n")
            if line.count(separator) + 1 == width and not _may_be_totals(line, separator, first):
                if totals is not None:
                    yield totals
                    totals = None
                yield row, line, None
                continue
            cells = line.split(separator)
        else:
            cells = _quoted_record(line, text, file, row, separator)
        if not any(cell.strip() for cell in cells):
            if sectioned:
                return  # a blank line ends a statement's section
            continue
        if sectioned and _is_title([cell.strip() for cell in cells]):
            return  # the next section's title, with no blank line before it
        if len(cells) == width + 1 and not cells[-1].strip():
            cells.pop()  # a trailing separator at the end of the line
        if totals is not None:
            yield totals
            totals = None
        if len(cells) == width and not any(cells[i].strip() for i in identity):
            totals = (row, None, cells)
            continue
        yield row, None, cells


def data_records(
    lines: Iterator[str], source: TradeSource, *, first_row: int = 1
) -> Iterator[Record]:
    """The records of data `lines` as `parse_history_csv` reads them, numbered from
    `first_row`: for a reader that takes over part-way through the file's rows."""
    identity = [source.indexes[name] for name in ("symbol", "direction", "close_time")]
    width, offset = len(source.header), first_row - 1
    found = _records(
        lines, source.file, width, source.separator, identity, sectioned=bool(source.section)
    )
    for row, line, cells in found:
        yield row + offset, line, cells


def _may_be_totals(line: str, separator: str, index: int) -> bool:
    """Cheap test before splitting the whole line: a totals row's cell at `index` (the
    first of symbol, direction and closing time) is empty."""
    return not line.split(separator, index + 1)[index].strip()


def _quoted_record(
    line: str, text: Iterator[str], file: str, row: int, separator: str
) -> list[str]:
    reader = csv.reader(chain([line], text), delimiter=separator, strict=True)
    try:
        cells = next(reader)
    except csv.Error:
        return [line]  # unbalanced quotes (a truncated last line): one bad row
    except StopIteration:
        return []
    if _BAD_TEXT.search("".join(cells)):
        raise InputError(file, "invalid text (a NUL or a non-UTF-8 byte) in this row", row=row)
    return cells
