"""Files are recognised by content as well as name: users rename them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from bench.events import write_events
from bench.generate import Forms, write_layout

from backtestdb.parsing.file_kinds import HEAD_BYTES, kind_of
from tests.conftest import BASIC


def head(path: Path) -> bytes:
    return path.read_bytes()[:HEAD_BYTES]


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("report.json", "report"),
        ("report.html", "report"),
        ("history.csv", "history"),
        ("parameters.cbotset", "parameters"),
        ("parameters.json", "parameters"),
        ("expected.json", None),  # a JSON file that is none of ours
    ],
)
def test_each_sample_is_known_by_content_under_any_name(source: str, kind: str | None) -> None:
    data = head(BASIC / source)
    assert kind_of(data, source) == kind
    assert kind_of(data, "renamed.dat") == kind


@pytest.mark.parametrize("layout", ["full", "default", "backtest", "statement"])
def test_every_history_layout_is_a_history_csv(layout: str) -> None:
    out = io.StringIO()
    write_layout(out, layout, 5, forms=Forms(delimiter=";", decimal_comma=True))
    assert kind_of(out.getvalue().encode("utf-8-sig"), "export.txt") == "history"


def test_events_json_under_another_name() -> None:
    out = io.StringIO()
    write_events(out, 3, 7, 1_000_000, "EURUSD")
    assert kind_of(out.getvalue().encode(), "positions.json") == "events"


@pytest.mark.parametrize(
    ("data", "name", "kind"),
    [
        (b"FastPeriod=9\nSlowPeriod = 21\n# comment\nSource=Close\n", "my.txt", "parameters"),
        (b"20/08/2026 21:56:13.342 | Info | cBot started\n", "log.txt", None),
        (b"20/08/2026 21:56:13.342 | Info | cBot started\n", "journal.log", None),
        (json.dumps({"Net Profit": 12.5, "Total Trades": 3}).encode(), "out.json", "report"),
        (json.dumps({"Chart": {"Symbol": "EURUSD"}}).encode(), "set.json", "parameters"),
        (b"", "report.json", "report"),  # empty: the name decides, the ingest says why
        (b"\x00\x01binary", "notes.bin", None),
    ],
)
def test_small_files(data: bytes, name: str, kind: str | None) -> None:
    assert kind_of(data, name) == kind
