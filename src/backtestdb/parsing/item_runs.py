"""The trade list's runs of flat items, cut out of a report by the first pass
(`json_reader.Reader.capturing`) and read a block at a time by pyarrow's JSON reader
(C++; on one thread, as its threads raise the peak memory) into the cells `json_cells`
makes of the same items decoded.

A run is `, {...}, {...}`: flat objects with no structural byte in a string
(`unread_runs`). `run_lines` makes it JSON Lines, an object a line, and counts
them, or says it cannot (an element that is not an object). `run_cells` reads a block of
lines, or returns None wherever pyarrow's reading could differ from yajl's: then
`run_items` decodes the lines with yajl itself, and the block takes the decoded path.
Where they differ:
- pyarrow takes NaN and Infinity, and does not check UTF-8;
- it reads a column of ints and floats, or an int beyond 64 bits, as doubles: the tokens
  as written say which was which (`_mixed`);
- a missing key and a null are both null to it, which only the extra keys' JSON tells
  apart: a block with extra keys is read only when every item has every key, in the same
  order (`_in_order`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any, Final

import ijson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from backtestdb.parsing.json_cells import (
    NUMBER_FIELDS,
    BlockCells,
    float_texts,
    int_cells,
    json_text,
    nothing_odd,
    one_by_one,
    text_cells,
)
from backtestdb.parsing.json_reader import Unusual, reason
from backtestdb.parsing.records import scalar_of
from backtestdb.parsing.unread_runs import SPACE

_BETWEEN: Final = re.compile(rb"\}\s*,\s*\{")
_OBJECT: Final = re.compile(rb"\{[^{}]*\}")
_INT: Final = r"^-?\d+$"
_ONE_THREAD: Final = pj.ReadOptions(use_threads=False)
#: yajl refuses this int (strtoll's lowest, taken for an overflow); pyarrow reads it.
_LOWEST: Final = -(2**63)


def run_lines(run: bytes) -> tuple[bytes, int] | None:
    """(the run as JSON Lines, its object count); None when an element is no object."""
    body = run.lstrip(SPACE).removeprefix(b",").lstrip(SPACE)
    if not body.startswith(b"{"):
        return None
    lines, between = _BETWEEN.subn(b"}\n{", body)
    if lines.count(b"}") != between + 1:  # something else stands between two objects
        return None
    return lines, between + 1


def run_cells(
    lines: bytes, rows: int, field_of: Callable[[str], str | None]
) -> tuple[BlockCells, list[str]] | None:
    """(the cells of the lines' `rows` items, their keys in pyarrow's order), each key's
    field given by `field_of`; None where the decoded items must be read instead."""
    if not lines.isascii():
        try:
            lines.decode("utf-8")
        except UnicodeDecodeError:
            return None
    options = pj.ParseOptions(newlines_in_values=lines.count(b"\n") != rows - 1)
    try:
        table = pj.read_json(
            pa.BufferReader(lines), read_options=_ONE_THREAD, parse_options=options
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != rows:
        return None
    keys = table.column_names
    named: dict[str, str] = {}  # field -> its first key
    for key in keys:
        name = field_of(key)
        if name is not None:
            named.setdefault(name, key)
    extra = [key for key in keys if key not in named.values()]
    # The keys whose order the decoded path reads: the extra ones and their fields' first.
    ordered = {named[name] for key in extra if (name := field_of(key)) is not None}
    ordered.update(extra)
    if extra and not _in_order(lines, [key for key in keys if key in ordered], rows):
        return None  # missing and null keys look alike, and a field's first key may vary
    fields: dict[str, Any] = {}
    odd = nothing_odd(rows)
    for name, key in named.items():
        typed = _typed(table.column(key).combine_chunks(), key, name, lines, rows)
        if typed is None:
            return None
        fields[name], bad = typed
        odd = pc.or_(odd, bad)
    texts = _extra(table, extra, lines, rows) if extra else pa.nulls(rows, pa.string())
    return None if texts is None else (BlockCells(fields, odd, texts), keys)


def _in_order(lines: bytes, keys: list[str], rows: int) -> bool:
    """Whether every item has each of `keys` once, in that order (so that, as in
    `json_cells.shaped_cells`, a field's first key and the extra keys' order are the same
    in each item)."""
    places = []
    for key in keys:
        found = [match.start() for match in re.finditer(_member(key) + rb"(?=\s*:)", lines)]
        if len(found) != rows:  # (pyarrow refuses a key twice in an item)
            return False
        places.append(found)
    sequence = [place for item in zip(*places, strict=True) for place in item]
    return sequence == sorted(sequence)


def _extra(table: Any, keys: list[str], lines: bytes, rows: int) -> Any:
    """`shaped_cells`' JSON of the extra keys of each item; None: cannot say (a number
    column of ints and floats would come back all floats)."""
    columns = []
    for key in keys:
        column = table.column(key).combine_chunks()
        if _refused(column):
            return None
        if pa.types.is_floating(column.type):
            written = _written_ints(column, key, lines, rows)
            if written is None or (written[1] is not None and pc.any(written[1]).as_py()):
                return None
        columns.append(column.to_pylist())
    return pa.array(
        [
            json_text(dict(zip(keys, map(scalar_of, values), strict=True)))
            for values in zip(*columns, strict=True)
        ],
        pa.string(),
    )


def _typed(column: Any, key: str, name: str, lines: bytes, rows: int) -> Any:
    """`json_cells.typed_of` of a column as pyarrow read it; None: cannot say."""
    kind = column.type
    if _refused(column):
        return None
    if pa.types.is_null(kind):
        return text_cells(pa.nulls(rows, pa.string()))
    if pa.types.is_string(kind):
        return text_cells(column)
    if pa.types.is_int64(kind):
        return int_cells(column, name)
    if pa.types.is_boolean(kind):
        return one_by_one(column.to_pylist(), name)
    if not pa.types.is_float64(kind):
        return None
    written = _written_ints(column, key, lines, rows)
    if written is None:
        return None
    tokens, ints = written
    if ints is not None and pc.any(ints).as_py():
        return (_mixed(column, tokens, ints), nothing_odd(rows)) if name in NUMBER_FIELDS else None
    # Floats only (and nulls), as json_cells reads them.
    return (
        (column, nothing_odd(rows))
        if name in NUMBER_FIELDS
        else one_by_one(column.to_pylist(), name)
    )


def _refused(column: Any) -> bool:
    """Whether the column holds what yajl refuses and pyarrow reads: NaN or Infinity, or
    the int -2**63 (all-null is all-finite: pyarrow types such a column null)."""
    if pa.types.is_int64(column.type):
        return bool(pc.min(column).as_py() == _LOWEST)
    if pa.types.is_floating(column.type):
        return not pc.all(pc.is_finite(column)).as_py()
    return False


def _written_ints(column: Any, key: str, lines: bytes, rows: int) -> tuple[Any, Any] | None:
    """(each item's number token of a double column as written, which tokens are ints);
    (None, None) when no number is whole, so none was written as an int; None: cannot
    say (an item without a number token, or an int that may be beyond 64 bits, which
    yajl refuses)."""
    if not pc.any(pc.equal(column, pc.floor(column))).as_py():
        return None, None
    tokens = _tokens(lines, key, rows)
    if tokens is None:
        return None
    ints = pc.fill_null(pc.match_substring_regex(tokens, _INT), False)
    if pc.any(pc.and_(ints, pc.greater_equal(pc.utf8_length(tokens), 19))).as_py():
        return None
    return tokens, ints


def _tokens(lines: bytes, key: str, rows: int) -> Any:
    """Each item's number token of `key` as written; None unless every item has one."""
    found = re.findall(_member(key) + rb"\s*:\s*(-?[0-9][0-9.eE+-]*|null)", lines)
    if len(found) != rows:
        return None
    texts = pa.array(found, pa.binary()).cast(pa.string())
    return pc.if_else(pc.equal(texts, "null"), pa.scalar(None, pa.string()), texts)


def _member(key: str) -> bytes:
    """A regex of `key` as an item's key: its quote follows `{`, `,` or space (inside a
    string, a quote is escaped). The look behind comes after the key, so that the
    search is for the key's bytes."""
    quoted = b'"' + re.escape(key.encode()) + b'"'
    return quoted + rb"(?<=[{,\s]" + quoted + rb")"


def _mixed(column: Any, tokens: Any, ints: Any) -> Any:
    """`one_by_one`'s texts of a number column of ints and floats: an int's decimal text
    (its token; "-0" is the int 0), a float's `repr`."""
    whole = pc.replace_substring_regex(tokens, r"^-0$", "0")
    return pc.if_else(ints, whole, float_texts(column))


def run_items(lines: bytes, file: str) -> list[dict[str, Any]]:
    """The lines' items, decoded by yajl as the first pass decodes an item."""
    return _decoded(b"[" + b",".join(_objects(lines)) + b"]", file)


def run_array(run: bytes, file: str) -> list[Any]:
    """A run that `run_lines` cannot take, decoded as the elements it is."""
    return _decoded(b"[" + run.lstrip(SPACE).removeprefix(b",") + b"]", file)


def item_at(lines: bytes, file: str) -> Callable[[int], dict[str, Any]]:
    """The decoded item of a line, by index (odd rows only: it splits the lines)."""
    objects: list[bytes] = []

    def item(at: int) -> dict[str, Any]:
        if not objects:
            objects.extend(_objects(lines))
        return _decoded(b"[" + objects[at] + b"]", file)[0]  # type: ignore[no-any-return]

    return item


def _objects(lines: bytes) -> list[bytes]:
    return [match.group() for match in _OBJECT.finditer(lines)]


def _decoded(text: bytes, file: str) -> list[Any]:
    """A JSON array's elements as yajl decodes them: what it refuses (NaN, an int beyond
    64 bits...) is refused as the first pass refuses it."""
    try:
        return list(ijson.items(io.BytesIO(text), "item", use_float=True))
    except ijson.JSONError as exc:
        raise Unusual(file, f"invalid JSON: {reason(exc)}") from None
