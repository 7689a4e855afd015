"""Runs of whole flat objects in a chunk of JSON, which a reader may drop before yajl
parses them while the first pass reads past an array no one reads (equity.points: a
quarter of a report's bytes, and about 2.6 s of parsing at 1M trades), or cut out of the
trade list for pyarrow to read (`item_runs`).

A run is found at C speed: with every escape (a backslash and the byte after it) taken
out, bytes.translate keeps only the structural bytes, and the run is taken only when,
with each adjacent pair of quotes taken out, what is left is exactly `{}` per element.
That is, every element is an object whose strings hold no structural byte, with no
array or nested object in it. Anything else, or a doubt about where a run starts, leaves
the chunk as it is: yajl parses it as before.
"""

from __future__ import annotations

import re
from typing import Final

_STRUCTURE: Final = b'{}[]"\\'
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in _STRUCTURE)
#: JSON's whitespace.
SPACE: Final = b" \t\r\n"
_ESCAPE: Final = re.compile(rb"\\.", re.DOTALL)
# A `}` that must close an object in an array, whatever came before it in the file: were
# it inside a string, that string would end at the quote before the key, and only space,
# `:`, `,`, `]` or `}` may follow a string in JSON. (An object's member needs a key, not
# `{`.) A key starting with one of those, or a backslash, is left to yajl.
_ELEMENT_END: Final = re.compile(rb'\}(?=\s*,\s*\{\s*"[^\s:,\]}\\])')


def droppable(data: bytes) -> tuple[int, int] | None:
    """(start, end) such that data[start:end] is `, {...}, {...}`: whole flat objects of
    an array, each after its comma, whose dropping leaves the same JSON less those
    elements; None when no such run is sure."""
    stop = _stop(data)
    first = _ELEMENT_END.search(data, 0, stop)
    if first is None:
        return None
    return _run(data, first.end(), stop)


def run_after_element(data: bytes) -> tuple[int, int] | None:
    """`droppable`'s run of `data` that starts right after an element of the array (the
    end of a run cut from the bytes before it): from data's first byte on."""
    if not data.lstrip(SPACE).startswith(b","):
        return None
    return _run(data, 0, _stop(data))


def _stop(data: bytes) -> int:
    # Before the chunk's first `]`: the array being read may end there.
    close = data.find(b"]")
    return len(data) if close < 0 else close


def _run(data: bytes, start: int, stop: int) -> tuple[int, int] | None:
    """(start, end of the last object before `stop`) when all between is whole flat
    objects, each after its comma."""
    end = data.rfind(b"}", start, stop) + 1
    if end <= start:
        return None
    span = data[start:end]
    if b"\\" in span:  # an escape's two bytes go first: the quotes left delimit strings
        span = _ESCAPE.sub(b"", span)
    shape = span.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if shape != b"{}" * (len(shape) // 2):  # never empty: it ends with data[end - 1], `}`
        return None
    return start, end


def dropped(data: bytes) -> bytes:
    """`data` less its droppable run, if it has one."""
    run = droppable(data)
    return data if run is None else data[: run[0]] + data[run[1] :]
