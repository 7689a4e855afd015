"""A report file checked as `fields.decode_text` checks a whole one, read in chunks.

Same refusals, same messages and in the same order (empty, binary, invalid UTF-8), without
holding the file: the streamed readers of `report_json` and `report_html` then read the
bytes knowing they decode. UTF-16 files (rare) are left to the whole-file reader.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Final

from backtestdb.errors import InputError

#: Opens the file again from its start: each streamed pass reads it anew.
Opener = Callable[[], BinaryIO]
CHUNK: Final = 1 << 18
_HEAD: Final = 8192  # decode_text's "binary content" look
_ASCII_SPACE: Final = b" \t\n\r\x0b\x0c"  # what bytes.strip() strips


@dataclass(frozen=True, slots=True)
class TextFacts:
    """What one streamed pass learnt: the size, bytes before the text (a UTF-8 BOM),
    the first character that is not whitespace, and whether it is UTF-16."""

    size: int
    start: int
    first: str
    utf16: bool = False


def check_text(opener: Opener, file: str, what: str) -> TextFacts:
    """Refuse what `decode_text` (and the "file is empty" check before it) refuses."""
    with opener() as stream:
        head = stream.read(CHUNK)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return TextFacts(stream.seek(0, 2), 0, "", utf16=True)
        start = 3 if head.startswith(codecs.BOM_UTF8) else 0
        if not _has_text(stream, head):
            raise InputError(file, "file is empty")
        stream.seek(0)
        if b"\x00" in head[:_HEAD]:
            raise InputError(file, f"not a {what} (binary content)")
        first, size = _decoded(stream, file, what)
    return TextFacts(size, start, first)


def _has_text(stream: BinaryIO, chunk: bytes) -> bool:
    while chunk:
        if chunk.strip(_ASCII_SPACE):
            return True
        chunk = stream.read(CHUNK)
    return False


def _decoded(stream: BinaryIO, file: str, what: str) -> tuple[str, int]:
    """(first non-space character, size) after checking every byte decodes as UTF-8."""
    pending = b""
    offset = lines = 0  # of the chunk in the file; newlines before it
    first = ""
    nul = False
    while chunk := stream.read(CHUNK):
        nul = nul or b"\x00" in chunk
        data = pending + chunk
        if not pending and chunk.isascii():
            text, pending = (chunk.decode("ascii") if not first else ""), b""
        else:
            text, pending = _utf8(data, offset - len(pending), lines, file, what, final=False)
        if not first:
            first = (text.removeprefix("\ufeff") if offset == 0 else text).lstrip()[:1]
        lines += chunk.count(b"\n")
        offset += len(chunk)
    if pending:
        _utf8(pending, offset - len(pending), lines, file, what, final=True)
    if nul:
        raise InputError(file, f"not a {what} (binary content)")
    return first, offset


def _utf8(data: bytes, at: int, lines: int, file: str, what: str, final: bool) -> tuple[str, bytes]:
    """The text of `data` (which starts at byte `at`, after `lines` newlines) and the
    bytes of a character it ends inside; an invalid byte is decode_text's error."""
    try:
        text, used = codecs.utf_8_decode(data, "strict", final)
    except UnicodeDecodeError as exc:
        line = lines + data[: exc.start].count(b"\n") + 1
        raise InputError(
            file, f"not a {what} (invalid UTF-8 at line {line}, byte {at + exc.start})"
        ) from exc
    return text, data[used:]
