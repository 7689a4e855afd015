"""events.json fixtures written at test time with bench/events.py (exact Totals), and an
independent reading of them with the json module: the oracle the tests compare with."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from bench.events import write_events
from bench.model import Totals

CENT = Decimal("0.01")


def events_file(
    folder: Path, trades: int = 40, name: str = "events.json", **options: Any
) -> tuple[Path, Totals]:
    """`trades` closed positions plus two left open (seed 7, 10,000.00, EURUSD)."""
    path = folder / name
    with path.open("w") as out:
        totals = write_events(out, trades, **options)
    return path, totals


def read_events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(path.read_text())
    return events


def write_json(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(events))
    return path


def cents(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def price(value: float | None, decimals: int = 5) -> Decimal | None:
    """A noisy price as the symbol writes it (EURUSD: 5 decimals)."""
    return None if value is None else Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals))


def equity_drawdown(events: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """The largest fall of equity from its running peak, and its percent of that peak."""
    peak = largest = largest_peak = Decimal(0)
    for event in events:
        equity = cents(event["equity"])
        peak = max(peak, equity)
        if peak - equity > largest:
            largest, largest_peak = peak - equity, peak
    percent = (largest / largest_peak * 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return largest, percent
