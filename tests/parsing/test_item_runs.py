"""The trade list's runs of flat items are cut out of the first pass and read by pyarrow
(parsing.item_runs): the spool holds exactly the cells of the items decoded one by one,
wherever the chunks split the file, and what yajl refuses is refused the same way."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from backtestdb.parsing import item_runs, json_cells
from backtestdb.parsing.json_reader import Reader, Unusual
from backtestdb.parsing.json_stream import Deferred, read_skeleton
from tests.parsing.test_unread_runs import chunked

START_MS = 1_704_159_830_846


def item(number: int) -> dict[str, Any]:
    opened = START_MS + number * 600_000
    return {
        "id": number, "symbol": "EURUSD", "direction": "Buy" if number % 2 else "Sell",
        "entryTime": opened, "closeTime": opened + 300_000, "entryPrice": 1.08418 + number,
        "closePrice": 1.0839100000000001, "volume": 10000, "swaps": 0.0,
        "net": round(number / 7, 2), "comment": "",
    }  # fmt: skip


#: Values the runs' reading must read as the decoded path does (key, value).
ODD: list[tuple[str, Any]] = [
    ("swaps", 0), ("swaps", -0.0), ("net", 12), ("net", None), ("volume", 10000.5),
    ("volume", 2**62), ("volume", -(2**63) + 1), ("net", 1e16), ("net", 2.5e-7),
    ("entryTime", 1.5e12), ("entryTime", "2024-01-02T03:04:05Z"), ("entryTime", 99),
    ("comment", "ü and ñ"), ("comment", " edge"), ("comment", "—"), ("comment", True),
    ("symbol", None), ("id", "A-17"), ("id", 3.5), ("label", "x"), ("positionId", 5),
    ("note", "extra"), ("note", None), ("comment", "a}b"), ("comment", {"nested": 1}),
]  # fmt: skip


def items_of(count: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    found: list[Any] = []
    for number in range(1, count + 1):
        trade = item(number)
        if rng.random() < 0.05:
            key, value = rng.choice(ODD)
            trade[key] = value
        if rng.random() < 0.02:
            del trade[rng.choice(sorted(trade))]
        found.append(trade)
    found.insert(count // 2, "not an object")
    return found


def document(trades: list[Any], indent: int | None = None) -> bytes:
    body = {"main": {"symbol": "EURUSD"}, "history": {"items": trades}, "after": [{"a": 1}]}
    # (`after`: a run cut past the list's end is read as what it is)
    return json.dumps(body, ensure_ascii=False, indent=indent).encode()


def spooled(text: bytes) -> tuple[Deferred, list[dict[str, Any]]]:
    """The first pass's Deferred, and each spooled row as its cells."""
    reader = Reader(io.BytesIO(text), 0, None, scan=True, file="r.json")
    skeleton = read_skeleton(reader, "r.json", spool=True)
    assert skeleton.get("after", [{"a": 1}]) == [{"a": 1}]
    deferred = skeleton["history"]["items"]
    assert deferred.spool is not None
    rows: list[dict[str, Any]] = []
    for table in deferred.spool.blocks():
        columns = {
            name: (json_cells.texts_of(table.column(name).combine_chunks()).to_pylist())
            for name in table.column_names
            if name.startswith("=")
        }
        odd, extra = table.column("@odd").to_pylist(), table.column("@extra").to_pylist()
        items = table.column("@item").to_pylist()
        for at in range(table.num_rows):
            row = {name: column[at] for name, column in columns.items() if column[at] is not None}
            rows.append({**row, "@odd": odd[at], "@extra": extra[at], "@item": items[at]})
    return deferred, rows


def test_run_lines_are_one_object_a_line() -> None:
    assert item_runs.run_lines(b' , {"a": 1},\n {"a": 2} ,{"b": "x"}') == (
        b'{"a": 1}\n{"a": 2}\n{"b": "x"}',
        3,
    )
    assert item_runs.run_lines(b', {"a": 1}, 5, {"a": 2}') is None  # not all objects
    assert item_runs.run_lines(b", 5, {}") is None


@pytest.mark.parametrize(("seed", "indent"), [(1, None), (2, None), (3, 2)])
def test_every_chunk_size_spools_the_same_cells(
    seed: int, indent: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = document(items_of(400, seed), indent)  # indented: an item spans lines
    whole, expected = spooled(text)  # one chunk: read before the list starts, no run cut
    runs: list[int] = []
    lines = item_runs.run_lines
    monkeypatch.setattr(item_runs, "run_lines", lambda run: runs.append(1) or lines(run))
    for chunk in (97, 300, 1000, 4096, 20000):
        runs.clear()
        chunked(monkeypatch, chunk)
        deferred, rows = spooled(text)
        assert runs or chunk < 1000, chunk  # runs were cut out (a run is whole items)
        assert rows == expected, chunk
        assert deferred.size == whole.size == 401
        assert deferred.first_not_object == whole.first_not_object == 201
        assert deferred.key_fields == whole.key_fields
        assert deferred.columns == whole.columns


def test_runs_make_blocks_as_big_as_the_decoded_items(monkeypatch: pytest.MonkeyPatch) -> None:
    text = document([item(number) for number in range(1, 3001)])
    chunked(monkeypatch, 4096)
    cells: list[int] = []
    run_cells = item_runs.run_cells

    def counted(lines: bytes, rows: int, field_of: Any) -> Any:
        cells.append(rows)
        return run_cells(lines, rows, field_of)

    monkeypatch.setattr(item_runs, "run_cells", counted)
    deferred, rows = spooled(text)
    assert len(rows) == deferred.size == 3000
    # yajl decodes the 19 items the first chunk holds or starts (it is read before the
    # list begins); the runs after them make one block, as they are fewer than BLOCK_ITEMS.
    assert text[:4096].count(b'"id"') == 18  # and the 19th item starts there
    assert sum(cells) == 2981
    assert len(cells) == 1
    assert not any(row["@odd"] for row in rows)
    assert rows[0]["=deal_id"] == "1"
    assert rows[2999]["=profit"] == "428.57"
    assert rows[2999]["=volume"] == "10000"
    assert rows[2999]["=swap"] == "0.0"


@pytest.mark.parametrize(
    "value",
    [
        *(b"NaN", b"-Infinity", b"9223372036854775808", b"-9223372036854775808", b"1e400"),
        *(b'"\xff"', b'"raw\ttab"', b"01", b"1.", b'{"k" 1}'),
    ],
)
@pytest.mark.parametrize("key", ["swaps", "note"], ids=["field", "extra-key"])
def test_what_yajl_refuses_in_a_run_is_refused_alike(
    value: bytes, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [json.dumps({**item(n), "note": 1}).encode() for n in range(1, 200)]
    written = {"swaps": b"0.0", "note": b"1"}[key]  # (note: a key of no field, ints)
    member = f'"{key}": '.encode()
    items[150] = items[150].replace(member + written, member + value)
    text = b'{"history": {"items": [' + b", ".join(items) + b"]}}"
    messages = []
    for chunk in (1 << 18, 4096):  # yajl's refusal, then the runs'
        chunked(monkeypatch, chunk)
        with pytest.raises(Unusual) as refused:
            spooled(text)
        messages.append(refused.value.errors[0].message)
    assert messages[0] == messages[1]
    assert messages[0].startswith("invalid JSON: ")


def first(key: str, trade: dict[str, Any]) -> dict[str, Any]:
    """The item with `key` first."""
    return {key: trade[key], **{k: v for k, v in trade.items() if k != key}}


def position_first(number: int, trade: dict[str, Any]) -> dict[str, Any]:
    return first("positionId", {**trade, "positionId": number})


#: (id, change to item n, whether pyarrow reads the runs' blocks): extra keys and a
#: field's second key are read by it only when every item has them, in one order.
KEY_SETS: list[tuple[str, Any, bool]] = [
    ("unknown-key", lambda n, t: {**t, "note": f"n{n}", "orderId": n * 2}, True),
    ("second-id-key", lambda n, t: {**t, "positionId": n + 1000}, True),
    ("unknown-null", lambda n, t: {**t, "note": None if n % 3 else 1.5}, True),
    ("order-varies", lambda n, t: position_first(n, t) if n % 5 else {**t, "positionId": n}, False),
    ("unknown-missing", lambda n, t: {**t, "note": "x"} if n % 4 else t, False),
    ("unknown-ints-and-floats", lambda n, t: {**t, "note": n if n % 2 else n / 2}, False),
]


@pytest.mark.parametrize(
    ("change", "read"), [k[1:] for k in KEY_SETS], ids=[k[0] for k in KEY_SETS]
)
def test_extra_and_second_keys_spool_the_same_cells(
    change: Any, read: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = document([change(n, item(n)) for n in range(1, 600)])
    whole, expected = spooled(text)
    found: list[Any] = []
    run_cells = item_runs.run_cells
    monkeypatch.setattr(
        item_runs, "run_cells", lambda *args: found.append(run_cells(*args)) or found[-1]
    )
    chunked(monkeypatch, 2000)
    deferred, rows = spooled(text)
    assert found
    assert all((cells is not None) == read for cells in found)
    assert rows == expected
    assert (deferred.key_fields, deferred.columns) == (whole.key_fields, whole.columns)


NESTED = {**item(7), "comment": [{"a": n, "b": "x"} for n in range(30)]}


@pytest.mark.parametrize(
    "trades",
    [
        [item(1), item(2)],  # a short list: it may end in the bytes read before it began
        [item(n) for n in range(1, 40)] + [NESTED] + [item(n) for n in range(40, 60)],
    ],
    ids=["short", "nested-array-item"],
)
@pytest.mark.parametrize("unread_first", [False, True], ids=["read-next", "unread-next"])
def test_runs_cut_past_the_list_are_read_where_they_are(
    trades: list[Any], unread_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    body: dict[str, Any] = {"history": {"items": trades}}
    positions = [{"id": n} for n in range(100)]  # no one reads it: its runs are dropped
    if unread_first:
        body["positions"] = positions
    body["later"] = [{"k": n, "v": n / 3, "s": 'say "hi"'} for n in range(100)]
    body["positions"] = positions
    body["deep"] = {"a": [[{"x": n} for n in range(50)], 5]}
    text = json.dumps(body).encode()
    whole, expected = spooled(text)
    reference = read_skeleton(Reader(io.BytesIO(text), 0, None, scan=True, file="r"), "r")
    cut_elsewhere: list[int] = []  # runs not met in the list
    captured, run_lines = Reader._captured, item_runs.run_lines

    def cut(reader: Reader, data: bytes, final: bool) -> bytes:
        before = len(reader.runs)
        found = captured(reader, data, final)
        cut_elsewhere.extend([1] * (len(reader.runs) - before))
        return found

    monkeypatch.setattr(Reader, "_captured", cut)
    monkeypatch.setattr(item_runs, "run_lines", lambda run: cut_elsewhere.pop() and run_lines(run))
    for chunk in range(40, 3000, 37):
        chunked(monkeypatch, chunk)
        reader = Reader(io.BytesIO(text), 0, None, scan=True, file="r.json")
        skeleton = read_skeleton(reader, "r.json", spool=True)
        assert skeleton == reference, chunk
        assert skeleton["later"] == body["later"], chunk
        assert not reader.runs, chunk  # every run cut was met
        deferred, rows = spooled(text)
        assert rows == expected, chunk
        assert (deferred.size, deferred.key_fields) == (whole.size, whole.key_fields)
    assert cut_elsewhere  # some chunk sizes cut runs from `later` or `deep`
