"""The first pass drops the whole flat objects of sections no one reads before yajl
parses them (parsing.unread_runs): exactly the runs it can be sure of, and the document
it builds is the same, wherever the chunks happen to split it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from backtestdb.parsing import json_reader, json_stream
from backtestdb.parsing.json_reader import Reader
from backtestdb.parsing.json_stream import Deferred, read_skeleton
from backtestdb.parsing.unread_runs import droppable, dropped


@pytest.mark.parametrize(
    ("data", "run"),
    [
        # The first `}` ends a point cut off at the chunk's start; the last one is
        # followed by a point the next chunk completes.
        (b'0.5}, {"t": 1, "b": 2.5}, {"t": 2, "b": -3e2} ,{"t": 3', (4, 45)),
        (b'"b": 1}, {"t": "x"}, {"t": 2}], "other": 1}', (7, 29)),  # stops before `]`
        (b'1}, {"t": 1}, {"t": 2}]', (2, 22)),
        (b'1}, {"t": 1}]', (2, 12)),
        (b'1}, {"$id": 1, "t": 2}, {"1t": 3}', (2, 33)),  # any key that cannot follow a string
        (b'1}, {"t": "a\\"b"}, {"t": "c\\\\"}, {"t": "\\u00e9"}', (2, 48)),  # escapes
    ],
)
def test_a_run_is_the_whole_flat_objects_after_the_first_sure_end(
    data: bytes, run: tuple[int, int]
) -> None:
    assert droppable(data) == run
    start, end = run
    assert data[start:end].lstrip().startswith(b",")
    assert data[end - 1 : end] == b"}"


@pytest.mark.parametrize(
    "data",
    [
        b'1}, {"t": "a}b"}, {"t": 2}',  # a brace inside a string
        b'1}, {"t": {"u": 1}}, {"t": 2}',  # a nested object
        b'1}, {"t": [1, 2]}, {"t": 2}',  # an array inside
        b'1}, {"a": "x\\n", "b": "}{", "c": "y\\n"}',  # escapes around a brace in a string
        b'1}, {"a": "x\\\\", "b": "}{"}',  # an escaped backslash ends no string
        b'1}, {":t": 1}',  # a key the start's proof does not cover
        b'1}, {" t": 1}',
        b"1}, 5, 6}",  # not objects
        b"1}]",  # the array ends: nothing to drop
        b'1}], "next": [{"k": 1}, {"k": 2}]',  # past the section's end: not its to drop
        b"1, 2, 3",  # no end of an object at all
    ],
)
def test_nothing_is_dropped_without_proof(data: bytes) -> None:
    assert droppable(data) is None
    assert dropped(data) == data


POINTS: list[Any] = [
    *({"timestamp": 1577836800000 + n, "balance": 10000.5 + n, "minEquity": -n} for n in range(40)),
    {"timestamp": 5, "note": 'a}, {"b": [1]'},
    {"timestamp": 6, "nested": {"x": [1, {"y": "]"}]}},
    *({"timestamp": n, "balance": n / 3} for n in range(40)),
    [1, 2, {"z": 3}],
    "a string point",
    *({"timestamp": n, "label": "end} {"} for n in range(10)),
    *({"timestamp": n} for n in range(40)),
    *({"$id": str(n), "": n, "t": None} for n in range(30)),  # keys of any first byte
]
DOCUMENT = {
    "main": {"startingCapital": 10000.0, "symbol": "EURUSD"},
    "equity": {"maxEquityDrawdownPercent": 0.43, "points": POINTS},
    "history": {
        "items": [
            {"dealId": n, "netProfit": n / 7, "closeTime": 1577836800000 + n} for n in range(25)
        ]
    },
    "positions": [{"id": n, "size": 1.5} for n in range(30)],
    "after": {"points": [{"kept": 1}, {"kept": 2}], "list": [{"a": 1}, {"a": 2}]},
}


def chunked(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """The Reader reads, and ijson asks for, `size` bytes at a time."""
    monkeypatch.setattr(json_reader, "CHUNK", size)
    monkeypatch.setattr(json_stream, "CHUNK", size)


def skeleton_of(text: bytes) -> Any:
    reader = Reader(io.BytesIO(text), 0, None, scan=True, file="report.json")
    return read_skeleton(reader, "report.json")


def test_every_chunk_size_reads_the_same_document(monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(DOCUMENT).encode()
    whole = skeleton_of(text)
    for chunk in range(17, 400):
        chunked(monkeypatch, chunk)
        assert skeleton_of(text) == whole, chunk


@pytest.mark.parametrize("chunk", [7, 16, 61, 256, 1024, 1 << 18])
def test_the_document_is_the_same_wherever_the_chunks_split_it(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = json.dumps(DOCUMENT).encode()
    chunked(monkeypatch, chunk)
    kept: list[int] = []

    def counted(data: bytes) -> bytes:
        out = dropped(data)
        kept.append(len(data) - len(out))
        return out

    monkeypatch.setattr(json_reader, "dropped", counted)
    document = skeleton_of(text)

    expected = json.loads(text)
    expected["equity"]["points"] = []
    expected["positions"] = []
    expected["history"]["items"] = []
    assert document == expected
    assert document["after"]["points"] == [{"kept": 1}, {"kept": 2}]  # not a section unread
    items = document["history"]["items"]
    assert isinstance(items, Deferred)
    assert items.size == 25
    # A chunk shorter than two points holds no run; 256 KiB reads the document at once.
    assert (sum(kept) > 0) == (chunk in (61, 256, 1024))
