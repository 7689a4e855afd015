"""Report JSON read in two streamed passes (ijson, yajl2 C backend), in flat memory.

The first pass (`skeleton`) builds the document as `json.loads` would, except for its big
arrays: the trade list (`history.items`, or a `history` array) becomes a `Deferred`
recording where the trades are, how many there are and which keys they use, and the
sections no one reads (positions, orders, entries, points, equity.points) become empty
containers. The second pass (`deferred_items`) streams the trades from the file again;
the columnar ingest reads none, taking instead the cells of the trades that the first
pass kept when asked to (`spool`: `json_spool`). The first pass's reading of the trade
list is `trade_list`'s.

Anything the streamed reading would read differently from `json.loads` (what yajl refuses
but Python accepts, like NaN; a `\\u0000` or an unpaired surrogate escape, which yajl
turns into `?`; nesting beyond `MAX_DEPTH`) raises `Unusual`: the callers read a small
file whole instead, as before, and refuse a big one.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from typing import Any, Final

import ijson

from backtestdb.errors import InputError
from backtestdb.parsing import item_runs
from backtestdb.parsing.fields import normalize_name
from backtestdb.parsing.json_reader import Reader, Unusual, reason
from backtestdb.parsing.json_spool import ItemSpool
from backtestdb.parsing.text_stream import CHUNK, Opener
from backtestdb.parsing.trade_list import MAX_DEPTH, OPEN, Deferred, captured_items, skip

__all__ = ["MAX_DEPTH", "Deferred", "deferred_items", "read_skeleton", "reason", "skeleton"]
_CLOSE: Final = frozenset({"end_map", "end_array"})
#: Top-level keys whose (big) values nothing reads; and equity's per-trade points.
_UNREAD: Final = frozenset({"positions", "orders", "entries", "points"})


def read_skeleton(reader: Reader, file: str, *, spool: bool = False) -> Any:
    """`skeleton` of the JSON `reader` gives (`spool`: with the trades' cells spooled).
    ijson's events go to it unwrapped: a generator around them costs more than the rest
    of the pass over a trade list."""
    events = ijson.basic_parse(reader, use_float=True, buf_size=CHUNK)
    try:
        return skeleton(events, file, spool=spool, reader=reader)
    except ijson.JSONError as exc:
        raise Unusual(file, f"invalid JSON: {reason(exc)}") from None


#: Per open container: (the container, its ijson prefix, normalized keys from the top).
Stack = list[tuple[Any, str, tuple[str, ...]]]


def skeleton(events: Iterator[tuple[str, Any]], file: str, *, spool: bool, reader: Reader) -> Any:
    """The first pass: the document with its big arrays deferred or left out (`reader`:
    the events' Reader, to drop what no one reads unparsed)."""
    root: list[Any] = []
    # seen: values per ijson prefix, down to the trades' depth.
    return _resumed(events, root, [(root, "", ())], {}, file, spool, reader)


def _resumed(
    events: Iterator[tuple[str, Any]], root: list[Any], stack: Stack, seen: dict[str, int],
    file: str, spool: bool, reader: Reader,
) -> Any:  # fmt: skip
    """`skeleton` from where `stack` is (the key of an open object comes in the events)."""
    key, marker = "", reader.marker
    for event, value in events:
        if event == "map_key":
            key = value
            continue
        if event in _CLOSE:
            stack.pop()
            continue
        parent, prefix, names = stack[-1]
        is_map = type(parent) is dict
        depth = len(stack)
        here = _prefix(prefix, key) if is_map else "" if depth == 1 else _prefix(prefix, "item")
        if depth <= 4:
            seen[here] = seen.get(here, 0) + 1
        if event not in OPEN:
            if value == marker and event == "string" and reader.runs and not is_map:
                # A run cut out past the trade list's end (see `trade_list.captured_items`).
                elements = item_runs.run_array(reader.runs.popleft(), file)
                parent.extend(elements)
                if depth <= 4:
                    seen[here] += len(elements) - 1
                continue
            _put(parent, is_map, key, value)
            continue
        path = (*names, normalize_name(key) if is_map else "")
        if event == "start_array" and _is_trade_list(path, key, prefix):
            items = _prefix(here, "item")
            deferred = Deferred(items, seen.get(items, 0))
            if spool and not deferred.skip:  # (the rare second list of a prefix: not spooled)
                deferred.spool = ItemSpool(deferred.key_fields, deferred.columns, file)
            read_past = captured_items(events, deferred, depth, file, reader)
            seen[deferred.prefix] = deferred.skip + deferred.size
            _put(parent, is_map, key, deferred)
            if read_past:  # the rest of the document, from these events on
                events = chain(read_past, events)
                return _resumed(events, root, stack, seen, file, spool, reader)
        elif _unread(path):
            _read_past(events, depth, file, reader)
            _put(parent, is_map, key, {} if event == "start_map" else [])
        else:
            if depth > MAX_DEPTH:
                raise Unusual(file, "invalid JSON: nested too deeply")
            child: Any = {} if event == "start_map" else []
            _put(parent, is_map, key, child)
            stack.append((child, here, path))
    return root[0]


def _prefix(prefix: str, name: str) -> str:
    """ijson's prefix of a value named `name` in the container at `prefix`."""
    return f"{prefix}.{name}" if prefix else name


def _put(parent: Any, is_map: bool, key: str, value: Any) -> None:
    if is_map:
        parent[key] = value
    else:
        parent.append(value)


def _is_trade_list(path: tuple[str, ...], key: str, prefix: str) -> bool:
    """A top-level `history` array or `history.items` (keys without dots: see Deferred)."""
    if "." in key or "." in prefix:
        return False
    return path == ("", "history") or path == ("", "history", "items")


def _unread(path: tuple[str, ...]) -> bool:
    return (len(path) == 2 and path[1] in _UNREAD) or path == ("", "equity", "points")


def _read_past(events: Iterator[tuple[str, Any]], depth: int, file: str, reader: Reader) -> None:
    """`skip` a section no one reads, with the reader dropping what it can unparsed."""
    reader.dropping = True
    try:
        skip(events, depth, file, reader)
    finally:
        reader.dropping = False


def deferred_items(opener: Opener, deferred: Deferred, region: Any, file: str) -> Iterator[Any]:
    """The deferred array's items, read from the file again (`region` makes the Reader)."""
    with opener() as stream:
        reader = region(stream)
        items = ijson.items(reader, deferred.prefix, use_float=True, buf_size=CHUNK)
        try:
            yield from islice(items, deferred.skip, deferred.skip + deferred.size)
        except ijson.JSONError as exc:  # the file changed since the first pass
            raise InputError(file, f"invalid JSON: {reason(exc)}") from None
