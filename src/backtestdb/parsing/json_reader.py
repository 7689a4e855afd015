"""The bytes of a report's JSON as ijson reads them: a region of the file, its HTML
entities decoded, the unread sections' flat runs dropped, the trade list's cut out, and
checked for escapes that yajl reads otherwise than `json.loads` (`Unusual`: the callers
read the file whole)."""

from __future__ import annotations

import re
import secrets
from collections import deque
from typing import Any, BinaryIO, Final

from backtestdb.errors import InputError
from backtestdb.parsing.text_stream import CHUNK
from backtestdb.parsing.unread_runs import droppable, dropped, run_after_element

_TAIL: Final = 32
# A `\u` escape (not an escaped backslash before `u`) of NUL or of a surrogate not in a pair.
_MAYBE_UNSTORABLE: Final = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE: Final = re.compile(
    rb"(?<!\\)(?:\\\\)*\\u(?:0000"
    rb"|[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2}\\u)[dD][c-fC-F][0-9a-fA-F]{2})"
)
UNSTORABLE_MESSAGE: Final = "text holds a NUL character or an unpaired \\u surrogate escape"


class Unusual(InputError):
    """The streamed reading cannot promise json.loads' result (`json_stream` says when)."""


class Reader:
    """A file's bytes [start, end) for ijson; the first pass also looks for unstorable
    escapes (`scan`). `convert` rewrites the bytes first (HTML entities). While the first
    pass reads past a section no one reads, `dropping` is set: the runs of whole flat
    objects it holds are dropped before yajl parses them (`unread_runs`).

    While it reads the trade list, `capturing` is set: each such run is cut out into
    `runs` instead, and yajl reads the string `marker` in its place, one item standing
    for the run. What follows a run in a chunk with no `]` is held back for the next
    chunk, so the next run starts right where this one ended."""

    def __init__(
        self, stream: BinaryIO, start: int, end: int | None, *, scan: bool, file: str
    ) -> None:
        stream.seek(start)
        self.stream, self.left, self.scan, self.file = stream, end, scan, file
        self.tail = b""
        self.convert: Any = None
        self.dropping = False
        self.capturing = False
        #: The runs cut out, in file order, each `, {...}, {...}`: the first pass takes
        #: one for each `marker` yajl gives it.
        self.runs: deque[bytes] = deque()
        self.marker = f"backtestdb-run-{secrets.token_hex(16)}"
        #: The bytes after the last run, which yajl has not seen; None: no run ends there.
        self._held: bytes | None = None

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson's look at what the stream gives
            return b""
        while True:
            want = CHUNK if self.left is None else min(CHUNK, self.left)
            raw = self.stream.read(want) if want else b""
            if self.left is not None:
                self.left -= len(raw)
            data = raw if self.convert is None else self.convert(raw, final=not raw)
            if self.dropping:  # yajl has parsed, and the first pass read, all before
                data = dropped(data)
            if self.scan:
                self._scan(data, final=not raw)
            if self.capturing or self._held:
                data = self._captured(data, final=not raw)
            if data or not raw:  # b"" is the end to ijson
                return data

    def _captured(self, data: bytes, final: bool) -> bytes:
        """The held bytes and `data`, with their run (if capturing) cut out and a marker
        in its place."""
        held, self._held = self._held, None
        if held is not None:
            data = held + data
        if not self.capturing:
            return data
        run = (run_after_element(data) if held is not None else None) or droppable(data)
        if run is None:
            return data
        start, end = run
        self.runs.append(data[start:end])
        rest = data[end:]
        if not final and b"]" not in rest:
            self._held, rest = rest, b""
        return b"".join((data[:start], b', "', self.marker.encode(), b'"', rest))

    def _scan(self, data: bytes, final: bool) -> None:
        window = self.tail + data
        if _MAYBE_UNSTORABLE.search(window) is not None:
            # A hit near the end may be the first half of a pair: the next window decides.
            hit = _UNSTORABLE.search(window)
            if hit is not None and (final or hit.start() < len(window) - 12):
                raise Unusual(self.file, UNSTORABLE_MESSAGE)
        self.tail = window[-_TAIL:]


def reason(error: Exception) -> str:
    """yajl's first line ("parse error: ..."): the rest quotes the file's text."""
    text = error.args[0] if error.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    lines = str(text).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__
