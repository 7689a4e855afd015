"""The trade list in a report's first pass (`json_stream`): its items counted and their
keys noted, and, for the columnar ingest, spooled (`json_spool`): one by one as ijson
decodes them, or, where the reader cut them out, whole runs at a time (`item_runs`)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, islice
from operator import itemgetter
from typing import Any, Final

import ijson

from backtestdb.parsing import item_runs, json_spool
from backtestdb.parsing.json_cells import meet_key, meet_keys
from backtestdb.parsing.json_reader import Reader, Unusual
from backtestdb.parsing.json_spool import ItemSpool

MAX_DEPTH: Final = 512
OPEN: Final = frozenset({"start_map", "start_array"})
_DELTA: Final = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}
_START_MAP: Final = ("start_map", None)
_END_MAP: Final = ("end_map", None)


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


def skip(events: Iterator[tuple[str, Any]], depth: int, file: str, reader: Reader) -> None:
    """Read past the container just opened (at `depth`), and past any run cut from it."""
    level, marker = 1, reader.marker
    for event, value in events:
        delta = _DELTA.get(event)
        if delta is None:  # a key or a scalar
            if value == marker and event == "string" and reader.runs:
                reader.runs.popleft()
            continue
        level += delta
        if level == 0:
            return
        if level + depth > MAX_DEPTH:
            raise Unusual(file, "invalid JSON: nested too deeply")


def captured_items(
    events: Iterator[tuple[str, Any]], deferred: Deferred, depth: int, file: str, reader: Reader
) -> list[tuple[str, Any]]:
    """`_scan_items`, the reader cutting the list's runs of flat items out for the spool
    (`item_runs`) while the trades are spooled.

    A run is cut from the bytes ijson reads next, and the first pass may read a little
    past the list's end (`_scan_items` takes an item's events at once), or the list may
    end in the bytes read before it began: so a run may be cut from wherever an array
    follows. Every marker is taken where it is met: in the list, as its items; in a
    section no one reads, as nothing (`skip`); anywhere else, as the elements it stands
    for (`json_stream`'s `_resumed`, `_scan_item`)."""
    reader.capturing = deferred.spool is not None
    try:
        return _scan_items(events, deferred, depth, file, reader)
    finally:
        reader.capturing = False


def _scan_items(
    events: Iterator[tuple[str, Any]], deferred: Deferred, depth: int, file: str, reader: Reader
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
                and OPEN.isdisjoint(map(itemgetter(0), chunk[2:-1:2]))
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
        ended, flat, items = _scan_item(stream, deferred, count + 1, depth, file, reader)
        if ended:
            break
        count += items
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
    events: Iterator[tuple[str, Any]], deferred: Deferred, number: int, depth: int, file: str,
    reader: Reader,
) -> tuple[bool, list[tuple[str, Any]] | None, int]:  # fmt: skip
    """Read one item of the array (event by event), or the run its marker stands for:
    (whether the array ended instead, the item's key events when it is an object of
    scalars, how many items were read)."""
    first = next(events, None)
    if first is None:  # yajl raises first on a cut-off file; this is only a safeguard
        raise Unusual(file, "invalid JSON: the file ends inside the trade list")
    event, value = first
    if event == "end_array":
        return True, None, 0
    if event == "string" and value == reader.marker and reader.runs:
        return False, None, _run(reader.runs.popleft(), deferred, number, file)
    if event != "start_map":
        _not_object(deferred, number)
        if event == "start_array":
            skip(events, depth + 1, file, reader)
        return False, None, 1
    keys = deferred.key_fields
    level, flat, named = 1, True, []
    builder = None
    if deferred.spool is not None:
        deferred.spool.end_runs()
        builder = ijson.ObjectBuilder()
        builder.event(event, value)
    marker = reader.marker
    for event, value in events:
        if value == marker and event == "string" and reader.runs:  # from an array inside
            elements = item_runs.run_array(reader.runs.popleft(), file)
            if builder is not None:
                _build(builder, elements)
            continue
        if builder is not None:
            builder.event(event, value)
        if event == "map_key":
            if level == 1:
                named.append((event, value))
                meet_key(value, keys, deferred.columns)
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
    return False, named if flat else None, 1


def _run(run: bytes, deferred: Deferred, number: int, file: str) -> int:
    """Spool a run cut out of the list (`number`: its first item's); its item count."""
    spool = deferred.spool
    lines = item_runs.run_lines(run) if spool is not None else None
    if spool is not None and lines is not None:
        spool.add_run(*lines)
        return lines[1]
    # Each item decoded: an element that is no object stands between the run's objects,
    # or the run was cut from a list that is not spooled.
    items = item_runs.run_array(run, file)
    for at, item in enumerate(items):
        if type(item) is dict:
            meet_keys(item, deferred.key_fields, deferred.columns)
            if spool is not None:
                spool.add_item(item)
        else:
            _not_object(deferred, number + at)
    return len(items)


def _build(builder: Any, elements: list[Any]) -> None:
    """Give an ijson ObjectBuilder the events of a run's (flat) elements."""
    for element in elements:
        if type(element) is not dict:
            builder.event("number", element)
            continue
        builder.event("start_map", None)
        for key, value in element.items():
            builder.event("map_key", key)
            builder.event("number", value)
        builder.event("end_map", None)


def _not_object(deferred: Deferred, number: int) -> None:
    if deferred.first_not_object is None:
        deferred.first_not_object = number
