"""The trades of an events.json take the columnar path and store exactly what the row
path stores: every stored column of trades, trade_events, daily_summary and backtests,
and every error and warning, in the same order.

Each file is ingested twice, through the columnar path (the default) and with
`columnar.ROW_PATH_ONLY`, in blocks of a few trades so that events' errors fall between
and inside blocks.
"""

from __future__ import annotations

import math
import random
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.ingest import IngestRequest, columnar, event_blocks, events
from backtestdb.ingest.columnar import store
from backtestdb.storage import SourceFile
from tests import test_columnar
from tests.event_files import events_file, read_events, write_json
from tests.test_columnar import outcome_of, recorded


def event_rows(engine: Engine, backtest_id: object) -> list[dict[str, Any]]:
    table = models.TradeEvent.__table__
    names = [c.name for c in table.columns if c.name not in ("backtest_id", "id")]
    query = (
        select(*(table.c[name] for name in names))
        .where(table.c.backtest_id == backtest_id)
        .order_by(table.c.serial, table.c.position_id)
    )
    with engine.connect() as connection:
        return [dict(zip(names, row, strict=True)) for row in connection.execute(query)]


def both_ways(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, path: Path,
    monkeypatch: pytest.MonkeyPatch, block: int = 7, **options: Any,
) -> tuple[dict[str, Any], dict[str, Any], int]:  # fmt: skip
    """(columnar outcome, row-path outcome, blocks the columnar path checked); a stored
    outcome holds the trade_events rows too."""
    request = IngestRequest(
        events=SourceFile("events", path.name, path), symbol="EURUSD", force=True, **options
    )
    blocks: list[tuple[Any, ...]] = []
    snapshot = test_columnar.snapshot

    def with_events(engine: Engine, backtest_id: object) -> dict[str, Any]:
        return {**snapshot(engine, backtest_id), "events": event_rows(engine, backtest_id)}

    outcomes = []
    for row_path in (False, True):
        with monkeypatch.context() as patch:
            patch.setattr(columnar, "ROW_PATH_ONLY", row_path)
            patch.setattr(events, "BLOCK_EVENTS", block)
            patch.setattr(store, "valid_items", recorded(store.valid_items, blocks))
            patch.setattr(test_columnar, "snapshot", with_events)
            outcomes.append(outcome_of(factory, settings, engine, request))
    return outcomes[0], outcomes[1], len(blocks)


#: Values an event's key may hold, good and bad: (key, value). None deletes the key.
ODD_VALUES: list[tuple[str, Any]] = [
    ("serial", "12"), ("serial", -1), ("serial", 1), ("serial", 2.5), ("serial", None),
    ("positionId", "P-1"), ("positionId", " 7 "), ("positionId", ""), ("positionId", None),
    ("event", None), ("event", " "), ("event", "x" * 65),
    ("time", "2020-01-05T10:00:00.123456+00:00"), ("time", "2020-01-05 10:00:00"),
    ("time", None), ("time", -5), ("time", 99), ("time", "soon"),
    ("type", "SELL"), ("type", "long"), ("type", " buy"), ("type", 3), ("type", None),
    ("volume", "10 000"), ("volume", -1.0), ("quantity", 0.123456789), ("quantity", True),
    ("entryPrice", 0.0), ("entryPrice", "1.2"), ("entryPrice", None), ("entryPrice", 1e16),
    ("closePrice", -1.0), ("closePrice", "abc"), ("sl", 0), ("tp", 0.0), ("sl", "1,2,3"),
    ("grossProfit", 1e15), ("grossProfit", "12.345"), ("pips", 12.34567),
    ("balance", "abc"), ("balance", 9999.995), ("equity", None), ("equity", "x"),
]  # fmt: skip


def odd_events(path: Path, seed: int, share: float) -> Path:
    """The file's events, `share` of them given one or two odd values."""
    rng = random.Random(seed)
    found = read_events(path)
    for event in found:
        if rng.random() < share:
            for key, value in rng.sample(ODD_VALUES, rng.randint(1, 2)):
                if value is None:
                    event.pop(key, None)
                else:
                    event[key] = value
    return write_json(path, found)


def test_bench_events_are_stored_alike(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path, totals = events_file(tmp_path, trades=60)
    fast, slow, blocks = both_ways(factory, settings, engine, path, monkeypatch)
    assert blocks == 9  # 60 trades in blocks of 7
    assert "stored" in fast, fast
    assert len(fast["stored"]["trades"]) == 60
    stored = fast["stored"]
    assert len(stored["events"]) == totals.events
    assert sum(e["trade_number"] is None for e in stored["events"]) == 2  # the open positions
    assert fast == slow
    assert sum(Decimal(t["profit"]) for t in stored["trades"]) * 100 == totals.net_cents


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_odd_values_give_the_same_rows_and_errors(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, seed: int,
) -> None:  # fmt: skip
    path, _ = events_file(tmp_path, trades=80)
    odd_events(path, seed, share=0.15)
    fast, slow, blocks = both_ways(factory, settings, engine, path, monkeypatch, on_error="skip")
    assert blocks > 5
    assert "stored" in fast, fast
    stored = len(fast["stored"]["trades"])
    assert 20 < stored < 78  # both kinds of row are there
    skipped = [w for w in fast["warnings"] if w["message"].startswith("row skipped")]
    assert len(skipped) > 10
    assert [w["row"] for w in skipped] == sorted(w["row"] for w in skipped)
    assert fast == slow


@pytest.mark.parametrize("max_errors", [1, 5, 1000])
def test_a_strict_ingest_fails_alike_and_keeps_the_first_errors(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, max_errors: int,
) -> None:  # fmt: skip
    path, _ = events_file(tmp_path, trades=50)
    odd_events(path, 4, share=0.2)
    capped = settings.model_copy(update={"max_row_errors": max_errors})
    fast, slow, _ = both_ways(factory, capped, engine, path, monkeypatch)
    assert "errors" in fast, fast
    assert fast["count"] > 10
    assert len(fast["errors"]) == min(max_errors, fast["count"])
    assert fast == slow


def noisy(value: float, rng: random.Random) -> float:
    """`value` a few ulps off, as a double sum leaves it."""
    for _ in range(rng.randint(0, 3)):
        value = math.nextafter(value, math.inf if rng.random() < 0.5 else -math.inf)
    return value


#: Numbers the fast lane reads, or leaves to the checker, in every number key.
NUMBER_VALUES: list[Any] = [
    0.0, -0.0, 0, 1e12, 1e15, 123456789012.0, 2**53 + 0.0, 1e-05, 0.0001, 5e-324, 1.005,
    2.675, -2.675, 99999999999.99, 1e11, 0.1 + 0.2, 10000, -1, 999999999999999.9,
]  # fmt: skip


def lane_events(path: Path, seed: int) -> Path:
    """The file's events with noisy floats throughout, odd numbers, a key spelt two ways,
    keys first met mid-file and items that are not objects."""
    rng = random.Random(seed)
    found = read_events(path)
    keys = ("volume", "quantity", "entryPrice", "closePrice", "sl", "tp", "grossProfit")
    for index, event in enumerate(found):
        for key in (*keys, "pips", "balance", "equity"):
            value = event.get(key)
            if type(value) is float:
                event[key] = noisy(value * rng.choice([1, 1, 1, 10.0 ** rng.randint(-6, 9)]), rng)
        if rng.random() < 0.05:
            event[rng.choice(keys)] = rng.choice(NUMBER_VALUES)
        if index == 30:
            event["position"] = event.pop("positionId")  # the other spelling, once
        if index == 50:
            event["lots"] = event.pop("quantity", 1.0)  # first met here
        if index in (1, 2, 3) or (index > 60 and rng.random() < 0.1):
            event["timestamp"] = event.pop("time")  # the key that names the field
        if index in (0, 80):  # the errors name it as first met
            event.pop("time", None)
            event.pop("timestamp", None)
    found.insert(44, [1, 2])
    found.insert(45, "not an event")
    return write_json(path, found)


@pytest.mark.parametrize("seed", [5, 6])
@pytest.mark.parametrize("block", [7, 64])
def test_the_fast_lane_reads_every_number_as_the_checker(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, seed: int, block: int,
) -> None:  # fmt: skip
    path, _ = events_file(tmp_path, trades=80)
    lane_events(path, seed)
    fast, slow, _ = both_ways(
        factory, settings, engine, path, monkeypatch, block=block, on_error="skip"
    )
    assert "stored" in fast, fast
    assert len(fast["stored"]["trades"]) > 40
    assert len(fast["stored"]["events"]) > 150
    assert fast == slow


def test_fast_cents_are_decimal_quantize() -> None:
    rng = random.Random(8)
    values = [repr(rng.uniform(-1e6, 1e6)) for _ in range(3000)]
    values += [repr(round(rng.uniform(-100, 100), 3)) for _ in range(3000)]
    values += ["-0.001", "-0.005", "0.005", "0.004", "12", "-7", "0.0", "999.995", "-999.995"]
    expected = [str(Decimal(v).quantize(Decimal("0.01"), ROUND_HALF_UP)) for v in values]
    assert event_blocks._in_cents(pa.array(values)).to_pylist() == expected
