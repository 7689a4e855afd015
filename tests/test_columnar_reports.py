"""A report's items take the columnar path and store exactly what the row path stores.

Each report is ingested twice, through the columnar path (the default) and with
`columnar.ROW_PATH_ONLY`; every stored column of trades, daily_summary and backtests and
every error and warning must agree. The items mix every kind of JSON value a report may
hold where a field is due, so both the cells and the validator's rows are compared.
"""

from __future__ import annotations

import json
import math
import random
import struct
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.ingest import IngestRequest, columnar
from backtestdb.ingest.columnar import items, store
from backtestdb.parsing import item_runs, json_cells, json_spool
from backtestdb.storage import SourceFile
from tests.parsing.test_unread_runs import chunked
from tests.test_columnar import outcome_of, recorded
from tests.test_streamed_reports import bench_report

START_MS = 1_704_159_830_846


def both_ways(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, path: Path,
    monkeypatch: pytest.MonkeyPatch, block: int = 37, **options: Any,
) -> tuple[dict[str, Any], dict[str, Any], int]:  # fmt: skip
    """(columnar outcome, row-path outcome, blocks the columnar path read)."""
    whole = options.pop("whole", False)
    chunk = options.pop("chunk", None)
    nested = options.pop("nested", False)  # items with objects inside: no run to cut
    request = IngestRequest(report=SourceFile("report", path.name, path), force=True, **options)
    blocks: list[tuple[Any, ...]] = []
    spooled: list[tuple[Any, ...]] = []
    with monkeypatch.context() as patch:
        patch.setattr(store, "valid_items", recorded(store.valid_items, blocks))
        patch.setattr(items, "_spooled", recorded(items._spooled, spooled))
        patch.setattr(json_spool, "BLOCK_ITEMS", block)
        runs: list[tuple[Any, ...]] = []
        if chunk is not None:  # the list's runs cut out for pyarrow (parsing.item_runs)
            chunked(patch, chunk)
            patch.setattr(item_runs, "run_cells", recorded(item_runs.run_cells, runs))
        fast = outcome_of(factory, settings, engine, request)
        assert bool(runs) == (chunk is not None and not nested)
    with monkeypatch.context() as patch:
        patch.setattr(columnar, "ROW_PATH_ONLY", True)
        slow = outcome_of(factory, settings, engine, request)
    # Streamed reports are read from the first pass's spool, others from their items.
    assert len(spooled) == (1 if blocks and not whole else 0)
    return fast, slow, len(blocks)


def report_file(tmp_path: Path, trades: list[dict[str, Any]], name: str = "r.json") -> Path:
    document = {
        "main": {"symbol": "EURUSD", "startingCapital": 10000.0},
        "history": {"items": trades},
    }
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def plain_item(number: int) -> dict[str, Any]:
    opened = START_MS + number * 600_000
    return {
        "id": number, "symbol": "EURUSD", "label": "MACross", "direction": "Buy",
        "entryTime": opened, "closeTime": opened + 300_000, "entryPrice": 1.08418,
        "closePrice": 1.08391, "quantity": 0.1, "volume": 10000, "commissions": -0.65,
        "swaps": 0.0, "pips": -2.7, "gross": -2.7, "net": -3.35, "comment": "",
    }  # fmt: skip


#: Values a field may hold in a report, good and bad: (field key, value).
ODD_VALUES: list[tuple[str, Any]] = [
    ("id", 3.0), ("id", 3.5), ("id", "A-17"), ("id", " 42 "), ("id", True), ("id", None),
    ("id", ""), ("id", [1, 2]),
    ("symbol", " GBPUSD "), ("symbol", "—"), ("symbol", ""), ("symbol", 7), ("symbol", "x" * 65),
    ("symbol", "USDJPY\u00a0"), ("symbol", {"name": "EURUSD"}),
    ("direction", "SELL"), ("direction", " sell"), ("direction", "long"), ("direction", 1),
    ("direction", "Short"),
    ("entryTime", str(START_MS)), ("entryTime", 1.5e12), ("entryTime", -5), ("entryTime", 99),
    ("entryTime", "2024-01-02T03:04:05Z"), ("entryTime", "02/01/2024 03:04:05.123"),
    ("entryTime", 4_200_000_000_000), ("entryTime", None), ("entryTime", False),
    ("closeTime", START_MS - 10**9), ("closeTime", "20 Aug 2026 21:56:13.342"),
    ("closeTime", 5e12), ("closeTime", ""),
    ("entryPrice", 1), ("entryPrice", 0), ("entryPrice", 0.0), ("entryPrice", -1.2),
    ("entryPrice", "1.08418"), ("entryPrice", "1,084.18"), ("entryPrice", 1e-05),
    ("entryPrice", 1.123456789), ("entryPrice", 1e16), ("entryPrice", "—"), ("entryPrice", None),
    ("closePrice", 123456789012.5), ("closePrice", "abc"), ("closePrice", 2.5e-4),
    ("quantity", "13.8 Lots"), ("quantity", "1 428 Lots"), ("quantity", -0.1),
    ("quantity", 0.12345), ("quantity", 7), ("volume", 10000.5), ("volume", "10 000"),
    ("commissions", None), ("commissions", -0.655), ("commissions", "-0.65"), ("swaps", -0.0),
    ("swaps", 12345678901234.5), ("pips", 1e11), ("pips", -2.70), ("gross", 1e15),
    ("net", None), ("net", 0), ("net", -3), ("net", "12.5"), ("net", 1.005), ("net", 2e-3),
    ("net", " 4.20"), ("net", "—"), ("net", True), ("net", 999999999999999.9),
    ("label", "  spaced  "), ("label", "y" * 256), ("label", 12), ("label", None),
    ("comment", " lead"), ("comment", "tail "), ("comment", "—"), ("comment", 3.5),
    ("comment", {"k": [1, "ü"]}), ("comment", "tab\there"), ("comment", "back\\slash \\N"),
    ("balance", 10000.0), ("balance", "9,996.65"),
    ("newKey", "kept"), ("newKey", 1.5), ("newKey", None), ("positionId", 99),
    ("comment", "-"), ("label", "-"), ("id", "-"), ("symbol", "-"), ("pips", "-"),
    ("comment", "\u2013"), ("label", " - "),
]  # fmt: skip


def odd_items(count: int, seed: int) -> list[dict[str, Any]]:
    """Plain items, most of them given one to three odd values, some keys dropped."""
    rng = random.Random(seed)
    trades = []
    for number in range(1, count + 1):
        item = plain_item(number)
        if rng.random() < 0.6:
            for key, value in rng.sample(ODD_VALUES, rng.randint(1, 3)):
                item[key] = value
        if rng.random() < 0.1:
            del item[rng.choice(sorted(item))]
        trades.append(item)
    return trades


@pytest.mark.parametrize("html_page", [False, True], ids=["json", "html"])
@pytest.mark.parametrize("chunk", [None, 3000], ids=["streamed", "runs-cut"])
def test_bench_reports_are_stored_alike(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, html_page: bool, chunk: int | None,
) -> None:  # fmt: skip
    path = tmp_path / ("report.html" if html_page else "report.json")
    path.write_text(bench_report(300, html_page=html_page), encoding="utf-8")
    fast, slow, blocks = both_ways(factory, settings, engine, path, monkeypatch, chunk=chunk)
    assert blocks == 9 if chunk is None else blocks >= 9  # 300 items in blocks of 37
    assert "stored" in fast, fast
    assert len(fast["stored"]["trades"]) == 300
    assert fast == slow


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("whole", "chunk"),
    [(False, None), (False, 2000), (True, None)],
    ids=["streamed", "runs-cut", "read-whole"],
)
def test_odd_values_give_the_same_rows_and_errors(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, seed: int, whole: bool, chunk: int | None,
) -> None:  # fmt: skip
    trades = odd_items(300, seed)
    if whole:  # what only json.loads reads (yajl refuses both): the report is read whole
        trades[150]["pips"] = math.nan
        trades[151]["id"] = 2**70
    path = report_file(tmp_path, trades)
    fast, slow, blocks = both_ways(
        factory, settings, engine, path, monkeypatch, on_error="skip", whole=whole, chunk=chunk
    )
    assert blocks == 9 if chunk is None else blocks > 9  # decoded items end runs' blocks
    assert "stored" in fast, fast
    stored = len(fast["stored"]["trades"])
    assert 60 < stored < 290  # both kinds of row are there
    assert fast == slow


def test_a_strict_ingest_fails_alike(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = report_file(tmp_path, odd_items(120, 4))
    fast, slow, _ = both_ways(factory, settings, engine, path, monkeypatch)
    assert "errors" in fast
    assert fast["count"] > 10
    assert fast == slow


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda item: item.pop("commissions"), id="no-fee-key-anywhere"),
        pytest.param(lambda item: item.update(positionId=item["id"] + 1000), id="two-id-keys"),
        pytest.param(lambda item: item.update(extra={"a": 1}, note="n"), id="unknown-keys"),
        pytest.param(lambda item: item.pop("entryTime"), id="no-open-time"),
        pytest.param(lambda item: item.update(balance=None), id="null-balances"),
    ],
)
@pytest.mark.parametrize("chunk", [None, 1500], ids=["streamed", "runs-cut"])
def test_key_sets_are_read_alike(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, change: Any, chunk: int | None,
) -> None:  # fmt: skip
    trades = [plain_item(number) for number in range(1, 81)]
    for item in trades:
        change(item)
    path = report_file(tmp_path, trades)
    nested = any(isinstance(value, dict) for value in trades[0].values())
    fast, slow, blocks = both_ways(
        factory, settings, engine, path, monkeypatch, chunk=chunk, nested=nested
    )
    assert blocks == 3 if chunk is None else blocks >= 3  # decoded items end runs' blocks
    assert "stored" in fast, fast
    assert len(fast["stored"]["trades"]) == 80
    assert fast == slow


def test_float_texts_are_repr() -> None:
    rng = random.Random(5)
    values = [rng.uniform(-1e6, 1e6) for _ in range(2000)]
    values += [round(v, 2) for v in values] + [float(int(v)) for v in values]
    values += [10.0**e for e in range(-12, 23)] + [-0.0, 0.0, 1e-4, 9.999e-5, None]
    values += [9999999999999998.0, 5e-324, 1.7976931348623157e308, math.inf, -math.inf, math.nan]
    values += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(3000)]
    texts = json_cells.float_texts(values).to_pylist()
    assert texts == [None if v is None else repr(v) for v in values]
    assert "1e+16" in texts  # repr's exponent forms are among them
    assert "1e-05" in texts
