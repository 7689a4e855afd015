"""Report JSON read in two streamed passes (ijson, yajl2 C backend), in flat memory.

The first pass (`skeleton`) builds the document as `json.loads` would, except for its big
arrays: the trade list (`history.items`, or a `history` array) becomes a `Deferred`
recording where the trades are, how many there are and which keys they use, and the
sections no one reads (positions, orders, entries, points, equity.points) become empty
containers. The second pass (`deferred_items`) streams the trades from the file again;
the columnar ingest reads none, taking instead the cells of the trades that the first
pass kept when asked to (`spool`: `json_spool`).

Anything the streamed reading would read differently from `json.loads` (what yajl refuses
but Python accepts, like NaN; a `\\u0000` or an unpaired surrogate escape, which yajl
turns into `?`; nesting beyond `MAX_DEPTH`) raises `Unusual`: the callers read a small
file whole instead, as before, and refuse a big one.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from operator import itemgetter
from typing import Any, Final

import ijson

from backtestdb.errors import InputError
from backtestdb.parsing import json_spool
from backtestdb.parsing.fields import JSON_LOOKUP, normalize_name
from backtestdb.parsing.json_reader import Reader, Unusual
from backtestdb.parsing.json_spool import ItemSpool
from backtestdb.parsing.text_stream import CHUNK, Opener

MAX_DEPTH: Final = 512
_OPEN: Final = frozenset({"start_map", "start_array"})
_CLOSE: Final = frozenset({"end_map", "end_array"})
_DELTA: Final = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}
_START_MAP: Final = ("start_map", None)
_END_MAP: Final = ("end_map", None)
#: Top-level keys whose (big) values nothing reads; and equity's per-trade points.
_UNREAD: Final = frozenset({"positions", "orders", "entries", "points"})


class Deferred(list[Any]):
    """An array left in the file: `size` items whose ijson prefix is `prefix`, after
    `skip` others with that prefix. The keys of its objects, in first-seen order, map to
    canonical trade fields in `key_fields`; `columns` is canonical -> first key."""

    __slots__ = ("columns", "first_not_object", "key_fields", "prefix", "size", "skip", "spool")

    def __init__(self, prefix: str, skip: int) -> None:
        super().__init__()
        self.prefix, self.skip, self.size = prefix, skip, 0
        self.first_not_object: int | None = None
        self.key_fields: dict[str, str | None] = {}
        self.columns: dict[str, str] = {}
        #: The items' cells, when the first pass spooled them (`json_spool`).
        self.spool: ItemSpool | None = None


def read_skeleton(reader: Reader, file: str, *, spool: bool = False) -> Any:
    """`skeleton` of the JSON `reader` gives (`spool`: with the trades' cells spooled).
    ijson's events go to it unwrapped: a generator around them costs more than the rest
    of the pass over a trade list."""
    events = ijson.basic_parse(reader, use_float=True, buf_size=CHUNK)
    try:
        return skeleton(events, file, spool=spool, reader=reader)
    except ijson.JSONError as exc:
        raise Unusual(file, f"invalid JSON: {reason(exc)}") from None


def reason(error: Exception) -> str:
    """yajl's first line ("parse error: ..."): the rest quotes the file's text."""
    text = error.args[0] if error.args else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    lines = str(text).strip().splitlines()
    return lines[0].rstrip(".") if lines else type(error).__name__


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
    key = ""
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
        if event not in _OPEN:
            _put(parent, is_map, key, value)
            continue
        path = (*names, normalize_name(key) if is_map else "")
        if event == "start_array" and _is_trade_list(path, key, prefix):
            items = _prefix(here, "item")
            deferred = Deferred(items, seen.get(items, 0))
            if spool and not deferred.skip:  # (the rare second list of a prefix: not spooled)
                deferred.spool = ItemSpool(deferred.key_fields)
            read_past = _scan_items(events, deferred, depth, file)
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


def _skip(events: Iterator[tuple[str, Any]], depth: int, file: str) -> None:
    """Read past the container just opened (at `depth`)."""
    level = 1
    for event, _ in events:
        delta = _DELTA.get(event)
        if delta is None:  # a key or a scalar
            continue
        level += delta
        if level == 0:
            return
        if level + depth > MAX_DEPTH:
            raise Unusual(file, "invalid JSON: nested too deeply")


def _read_past(events: Iterator[tuple[str, Any]], depth: int, file: str, reader: Reader) -> None:
    """`_skip` a section no one reads, with the reader dropping what it can unparsed."""
    reader.dropping = True
    try:
        _skip(events, depth, file)
    finally:
        reader.dropping = False


def _scan_items(
    events: Iterator[tuple[str, Any]], deferred: Deferred, depth: int, file: str
) -> list[tuple[str, Any]]:
    """Count the array's items and note the keys of its objects (each to the Deferred's
    spool, if it has one; else none is built); returns the events read past the array's
    end, for the caller to read again.

    Once an item is a flat object, each next item is taken as a whole (`islice`, in C)
    and compared with it: same keys in the same order, scalar values. The first that
    differs, and everything after it, is read an event at a time."""
    count, shape, width, keys, pending = 0, None, 0, (), 0
    extend: Any = None
    back: Iterator[tuple[str, Any]] = iter(())
    stream = events
    spool = deferred.spool
    while True:
        if shape is not None:
            chunk = list(islice(events, width))
            if (
                len(chunk) == width
                and chunk[0] == _START_MAP
                and chunk[-1] == _END_MAP
                and chunk[1:-1:2] == shape
                and _OPEN.isdisjoint(map(itemgetter(0), chunk[2:-1:2]))
            ):
                count += 1
                if spool is not None:  # inlined: this runs once per trade
                    extend(chunk)
                    pending += 1
                    if pending == json_spool.BLOCK_ITEMS:
                        spool.flush()
                        pending = 0
                continue
            back, shape = iter(chunk), None
            stream = chain(back, events)
        ended, flat = _scan_item(stream, deferred, count + 1, depth, file)
        if ended:
            break
        count += 1
        keys = tuple(key for _, key in flat or ())
        if flat is not None and stream is events and len(set(keys)) == len(keys):
            shape, width = flat, 2 * len(flat) + 2
            if spool is not None:
                spool.shaped_last(keys)
                extend, pending = spool.shaped(keys).extend, 1
    deferred.size = count
    if spool is not None:
        spool.flush()
    return list(back)


def _scan_item(
    events: Iterator[tuple[str, Any]], deferred: Deferred, number: int, depth: int, file: str
) -> tuple[bool, list[tuple[str, Any]] | None]:
    """Read one item of the array (event by event): (whether the array ended instead,
    the item's key events when it is an object of scalars)."""
    first = next(events, None)
    if first is None:  # yajl raises first on a cut-off file; this is only a safeguard
        raise Unusual(file, "invalid JSON: the file ends inside the trade list")
    event, value = first
    if event == "end_array":
        return True, None
    if event != "start_map":
        if deferred.first_not_object is None:
            deferred.first_not_object = number
        if event == "start_array":
            _skip(events, depth + 1, file)
        return False, None
    keys = deferred.key_fields
    level, flat, named = 1, True, []
    builder = None
    if deferred.spool is not None:
        builder = ijson.ObjectBuilder()
        builder.event(event, value)
    for event, value in events:
        if builder is not None:
            builder.event(event, value)
        if event == "map_key":
            if level == 1:
                named.append((event, value))
                if value not in keys:
                    canonical = keys[value] = JSON_LOOKUP.get(normalize_name(value))
                    if canonical is not None:
                        deferred.columns.setdefault(canonical, value)
            continue
        delta = _DELTA.get(event)  # None for a scalar, the most common event
        if delta is None:
            continue
        level += delta
        if level == 0:
            break
        flat = False
        if level + depth > MAX_DEPTH:
            raise Unusual(file, "invalid JSON: nested too deeply")
    if builder is not None and deferred.spool is not None:
        deferred.spool.add_item(builder.value)
    return False, named if flat else None


def deferred_items(opener: Opener, deferred: Deferred, region: Any, file: str) -> Iterator[Any]:
    """The deferred array's items, read from the file again (`region` makes the Reader)."""
    with opener() as stream:
        reader = region(stream)
        items = ijson.items(reader, deferred.prefix, use_float=True, buf_size=CHUNK)
        try:
            yield from islice(items, deferred.skip, deferred.skip + deferred.size)
        except ijson.JSONError as exc:  # the file changed since the first pass
            raise InputError(file, f"invalid JSON: {reason(exc)}") from None
