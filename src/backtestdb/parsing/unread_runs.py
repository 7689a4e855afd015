"""Runs of whole flat objects in a chunk of JSON, which a reader may drop before yajl
parses them while the first pass reads past an array no one reads (equity.points: a
quarter of a report's bytes, and about 2.6 s of parsing at 1M trades).

A run is found at C speed: bytes.translate keeps only the structural bytes, and the run
is dropped only when, with each adjacent pair of quotes taken out, what is left is
exactly `{}` per element. That is, every element is an object whose strings hold no
structural byte, with no array, nested object or escape in it. Anything else, or a doubt
about where a run starts, leaves the chunk as it is: yajl parses it as before.
"""

from __future__ import annotations

import re
from typing import Final

_STRUCTURE: Final = b'{}[]"\\'
_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in _STRUCTURE)
# A `}` that must close an object in an array, whatever came before it in the file: were
# it inside a string, that string would end at the quote before the key, and only space,
# `:`, `,`, `]` or `}` may follow a string in JSON. (An object's member needs a key, not
# `{`.) A key starting with one of those, or a backslash, is left to yajl.
_ELEMENT_END: Final = re.compile(rb'\}(?=\s*,\s*\{\s*"[^\s:,\]}\\])')


def droppable(data: bytes) -> tuple[int, int] | None:
    """(start, end) such that data[start:end] is `, {...}, {...}`: whole flat objects of
    an array, each after its comma, whose dropping leaves the same JSON less those
    elements; None when no such run is sure."""
    # Before the chunk's first `]`: the section being read past may end there.
    close = data.find(b"]")
    stop = len(data) if close < 0 else close
    first = _ELEMENT_END.search(data, 0, stop)
    if first is None:
        return None
    start = first.end()
    end = data.rfind(b"}", start, stop) + 1
    if end <= start:
        return None
    shape = data[start:end].translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if shape != b"{}" * (len(shape) // 2):  # never empty: it ends with data[end - 1], `}`
        return None
    return start, end


def dropped(data: bytes) -> bytes:
    """`data` less its droppable run, if it has one."""
    run = droppable(data)
    return data if run is None else data[: run[0]] + data[run[1] :]
