"""The History tab CSV export, read as a stream: the file can hold millions of trades."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from itertools import chain
from typing import BinaryIO

from backtestdb.errors import InputError
from backtestdb.parsing.fields import CSV_FIELDS, CSV_LOOKUP, map_names, missing_required
from backtestdb.parsing.records import RawTrade, Record, TradeSource

_HEAD_SIZE = 64 * 1024
_SEPARATORS = (",", ";", "\t")
_TZ_SUFFIX = re.compile(
    r"\(\s*(?:UTC|GMT)\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?\s*\)", re.IGNORECASE
)
# Invalid bytes are decoded as lone surrogates (surrogateescape) so the row holding them can
# be named; a strict decoder fails a whole read-ahead chunk early, at an unknown row.
_BAD_BYTES = re.compile("[\udc80-\udcff]")
# Per row: NUL too, which only the first 64 KiB are checked for (PostgreSQL refuses it).
_BAD_TEXT = re.compile("[\x00\udc80-\udcff]")
_DECIMAL_COMMA_NUMBER = re.compile(r"[+-]?\d+,\d+")


class _Prefixed(io.RawIOBase):
    """`head` followed by the rest of `stream`, so sniffing needs no seekable input.

    Closing it leaves `stream` open: the caller owns it.
    """

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            count = min(len(buffer), len(self._head))
            buffer[:count] = self._head[:count]
            self._head = self._head[count:]
            return count
        chunk = self._stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < _HEAD_SIZE:
        chunk = stream.read(_HEAD_SIZE - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _detect_encoding(head: bytes, file: str) -> tuple[str, str]:
    """Return (codec, decoded head) or raise if the file is not text."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0 and head[2] != 0:
        encoding = "utf-16-le"  # Excel "Unicode text" without a BOM
    else:
        encoding = "utf-8-sig"
        if b"\x00" in head:
            raise InputError(file, "not a text CSV file (binary content)")
    errors = "surrogateescape" if encoding == "utf-8-sig" else "strict"
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    try:
        text = decoder.decode(head, final=len(head) < _HEAD_SIZE)
    except UnicodeDecodeError as exc:
        raise InputError(file, f"not a text CSV file (not {encoding} text)") from exc
    if "\x00" in text:
        raise InputError(file, "not a text CSV file (binary content)")
    # A stray bad byte in a later row is reported with its row; bad bytes in the header or
    # many of them mean the file is not UTF-8 text at all.
    bad = len(_BAD_BYTES.findall(text))
    header_end = text.find("\n")
    if bad and (
        bad * 100 > len(text) or _BAD_BYTES.search(text[: header_end if header_end >= 0 else None])
    ):
        raise InputError(file, "not a text CSV file (not UTF-8 or UTF-16 text)")
    return encoding, text


def _sniff_separator(text: str) -> str:
    """Pick the separator that splits the header line most (quotes ignored)."""
    for line in text.splitlines():
        if line.strip():
            unquoted = re.sub(r'"[^"]*"', "", line)
            counts = {sep: unquoted.count(sep) for sep in _SEPARATORS}
            best = max(_SEPARATORS, key=lambda sep: counts[sep])
            return best if counts[best] else ","
    return ","


def _utc_offset(header: str) -> timedelta | None:
    match = _TZ_SUFFIX.search(header)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if sign is None:
        return timedelta(0)
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return -offset if sign == "-" else offset


def parse_history_csv(stream: BinaryIO, file: str) -> TradeSource:
    """Read the header now (so column errors surface at once) and the rows lazily."""
    head = _read_head(stream)
    if not head.strip():
        raise InputError(file, "file is empty")
    encoding, head_text = _detect_encoding(head, file)
    if not head_text.strip():
        raise InputError(file, "file is empty")
    separator = _sniff_separator(head_text)

    text = io.TextIOWrapper(
        io.BufferedReader(_Prefixed(head, stream)),
        encoding=encoding,
        errors="surrogateescape" if encoding == "utf-8-sig" else "strict",
        newline="",
    )
    reader = csv.reader(text, delimiter=separator, strict=True)
    header: list[str] = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                header = [cell.strip() for cell in cells]
                break
    except (csv.Error, UnicodeDecodeError) as exc:
        raise InputError(file, f"unreadable header: {exc}") from exc
    if _BAD_BYTES.search("".join(header)):
        raise InputError(file, "header is not valid UTF-8 text")

    indexes, extra_indexes = map_names(header, CSV_LOOKUP)
    missing_required(indexes, CSV_FIELDS, file, kind="column")
    columns = {name: header[index] for name, index in indexes.items()}
    offsets: dict[str, timedelta] = {}
    for name, index in indexes.items():
        offset = _utc_offset(header[index])
        if offset is not None:
            offsets[name] = offset
    extra_names = [header[i] or f"column {i + 1}" for i in extra_indexes]

    source = TradeSource(
        file=file,
        rows=iter(()),
        columns=columns,
        utc_offsets=offsets,
        decimal_comma=separator == ";",
        separator=separator,
        header=header,
        indexes=indexes,
        extra_columns=list(zip(extra_names, extra_indexes, strict=True)),
    )
    source.use_records(_records(text, file, len(header), separator))
    first = source.peek()
    if first is not None and not source.decimal_comma:
        source.decimal_comma = _uses_decimal_comma(first)
    return source


def _uses_decimal_comma(trade: RawTrade) -> bool:
    """Peeked from the first row: a price like "1,08418" can only be a decimal comma."""
    for name in ("entry_price", "exit_price"):
        value = trade.fields.get(name)
        if isinstance(value, str) and _DECIMAL_COMMA_NUMBER.fullmatch(value):
            return True
    return False


def _records(text: Iterator[str], file: str, width: int, separator: str) -> Iterator[Record]:
    """Every non-blank record as wide as the header, numbered from 1 (blank lines count).

    Quote-free lines (most of a cTrader export) are passed on as text: splitting them or
    matching them whole is several times cheaper than the csv module. Lines with quotes go
    through csv, which may read further lines for a quoted line break.
    """
    row = 0
    while True:
        try:
            line = next(text, None)
        except UnicodeDecodeError as exc:
            # Only for UTF-16, whose decoder reads ahead: the row is approximate.
            raise InputError(
                file, f"invalid text near this row: {exc.reason}", row=row + 1
            ) from exc
        if line is None:
            return
        row += 1
        if _BAD_TEXT.search(line):
            raise InputError(file, "invalid text (a NUL or a non-UTF-8 byte) in this row", row=row)
        if '"' not in line:
            line = line.rstrip("\r\n")
            if line.count(separator) + 1 == width:
                yield row, line, None
                continue
            cells = line.split(separator)
        else:
            cells = _quoted_record(line, text, file, row, separator)
        if len(cells) != width:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) == width + 1 and not cells[-1].strip():
                cells.pop()  # a trailing separator at the end of the line
            else:
                raise InputError(
                    file, f"row has {len(cells)} cells but the header has {width}", row=row
                )
        yield row, None, cells


def _quoted_record(
    line: str, text: Iterator[str], file: str, row: int, separator: str
) -> list[str]:
    reader = csv.reader(chain([line], text), delimiter=separator, strict=True)
    try:
        cells = next(reader)
    except csv.Error as exc:
        raise InputError(file, f"malformed CSV: {exc}", row=row) from exc
    except StopIteration:
        return []
    if _BAD_TEXT.search("".join(cells)):
        raise InputError(file, "invalid text (a NUL or a non-UTF-8 byte) in this row", row=row)
    return cells
