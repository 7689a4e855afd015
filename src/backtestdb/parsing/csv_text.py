"""A History CSV as text: its encoding, its separator and the time zones its header names.

Only the first 64 KiB (the head) are looked at; the rest is read as a stream.
"""

from __future__ import annotations

import codecs
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from backtestdb.errors import InputError

_HEAD_SIZE = 64 * 1024
_SEPARATORS = (",", ";", "\t")
_TZ_SUFFIX = re.compile(
    r"\(\s*(?:UTC|GMT)\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?\s*\)", re.IGNORECASE
)
# Invalid bytes are decoded as lone surrogates (surrogateescape) so the row holding them can
# be named; a strict decoder fails a whole read-ahead chunk early, at an unknown row.
BAD_BYTES = re.compile("[\udc80-\udcff]")


class Prefixed(io.RawIOBase):
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


def read_head(stream: BinaryIO) -> bytes:
    head = b""
    while len(head) < _HEAD_SIZE:
        chunk = stream.read(_HEAD_SIZE - len(head))
        if not chunk:
            break
        head += chunk
    return head


def detect_encoding(head: bytes, file: str) -> tuple[str, str]:
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
    bad = len(BAD_BYTES.findall(text))
    header_end = text.find("\n")
    if bad and (
        bad * 100 > len(text) or BAD_BYTES.search(text[: header_end if header_end >= 0 else None])
    ):
        raise InputError(file, "not a text CSV file (not UTF-8 or UTF-16 text)")
    return encoding, text


def sniff_separator(text: str) -> str:
    """Pick the separator that splits the header line most (quotes ignored); a line with
    none, such as a statement's section title, is not the header."""
    for line in text.splitlines():
        unquoted = re.sub(r'"[^"]*"', "", line)
        counts = {sep: unquoted.count(sep) for sep in _SEPARATORS}
        best = max(_SEPARATORS, key=lambda sep: counts[sep])
        if counts[best]:
            return best
    return ","


def utc_offset(header: str) -> timedelta | None:
    match = _TZ_SUFFIX.search(header)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    if sign is None:
        return timedelta(0)
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return -offset if sign == "-" else offset


@dataclass(frozen=True, slots=True)
class CsvLimits:
    """How large a History CSV's parts may be: past these a file is refused at once, so a
    file with no newline or 100,000 columns costs a bounded amount of memory and time.
    The names in parentheses are the settings that set them."""

    header_chars: int = 1 << 20  # MAX_CSV_HEADER_BYTES
    row_chars: int = 64 << 10  # MAX_CSV_ROW_BYTES
    columns: int = 500  # MAX_CSV_COLUMNS
    extra_chars: int = 16 << 10  # MAX_CSV_EXTRA_BYTES


class BoundedLines:
    """The lines of a text stream, each read with a bound: one longer than `limit` is
    refused before it is read whole. Before `rows()` the lines are the header's (a
    statement's titles too), after it the data rows, numbered from 1."""

    def __init__(self, text: io.TextIOBase, file: str, limits: CsvLimits) -> None:
        self.text, self.file, self.limits = text, file, limits
        self.limit, self.count, self.data = limits.header_chars, 0, False

    def rows(self) -> None:
        """From here on the lines are data rows."""
        self.limit, self.count, self.data = self.limits.row_chars, 0, True

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        try:
            line = self.text.readline(self.limit + 1)
        except UnicodeDecodeError as exc:
            # Only for UTF-16, whose decoder reads ahead: the row is approximate.
            raise InputError(
                self.file, f"invalid text near this row: {exc.reason}", row=self.count + 1
            ) from exc
        if not line:
            raise StopIteration
        self.count += 1
        if len(line.rstrip("\r\n")) > self.limit:
            raise self._too_long()
        return line

    def _too_long(self) -> InputError:
        if self.data:
            return InputError(
                self.file,
                f"row is longer than {self.limit:,} characters (MAX_CSV_ROW_BYTES): a History "
                "row is far shorter; is this a History CSV, with one trade per line?",
                row=self.count,
            )
        return InputError(
            self.file,
            f"line {self.count} is longer than {self.limit:,} characters "
            "(MAX_CSV_HEADER_BYTES) before any header was found: is this a History CSV?",
        )
