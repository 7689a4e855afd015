"""Backtests side by side: each metric with the best value marked, and the parameters
that differ (a parameter missing from some backtests differs too)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backtestdb.errors import InvalidRequest, NotFound, RowError
from backtestdb.models import Backtest

MIN_IDS, MAX_IDS = 2, 20
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
#: What the API documents (and FastAPI checks) for `ids`.
IDS_PATTERN = f"^{_UUID}(,{_UUID}){{{MIN_IDS - 1},{MAX_IDS - 1}}}$"
Better = Literal["higher", "lower"] | None

#: (metric, which value is best). Losses are negative money, so "higher" is the smaller
#: loss; a count of trades has no better side.
METRICS: tuple[tuple[str, Better], ...] = (
    ("net_profit", "higher"),
    ("ending_balance", "higher"),
    ("total_trades", None),
    ("win_rate", "higher"),
    ("profit_factor", "higher"),
    ("expectancy", "higher"),
    ("average_win", "higher"),
    ("average_loss", "higher"),
    ("payoff_ratio", "higher"),
    ("largest_win", "higher"),
    ("largest_loss", "higher"),
    ("max_consecutive_wins", "higher"),
    ("max_consecutive_losses", "lower"),
    ("max_balance_drawdown", "lower"),
    ("max_balance_drawdown_percent", "lower"),
    ("max_equity_drawdown_percent", "lower"),
    ("recovery_factor", "higher"),
    ("sharpe_ratio", "higher"),
    ("sortino_ratio", "higher"),
    ("calmar_ratio", "higher"),
    ("cagr_percent", "higher"),
    ("commissions", "higher"),
    ("swaps", "higher"),
)


@dataclass(frozen=True, slots=True)
class MetricRow:
    metric: str
    better: Better
    values: dict[uuid.UUID, Decimal | int | None]
    best: list[uuid.UUID]


@dataclass(frozen=True, slots=True)
class ParameterRow:
    name: str
    values: dict[uuid.UUID, str | None]


@dataclass(frozen=True, slots=True)
class Comparison:
    backtests: list[Backtest]
    metrics: list[MetricRow]
    parameters: list[ParameterRow]


def parse_ids(raw: str | list[str]) -> list[uuid.UUID]:
    """`a,b,c` (or separate values) -> 2 to 20 ids; a repeated id is shown once."""
    parts = raw if isinstance(raw, list) else [raw]
    texts = [t.strip() for part in parts for t in part.split(",") if t.strip()]
    if not MIN_IDS <= len(texts) <= MAX_IDS:
        raise _bad(",".join(texts)[:255], f"give {MIN_IDS} to {MAX_IDS} backtest ids")
    ids: list[uuid.UUID] = []
    for text in texts:
        try:
            found = uuid.UUID(text)
        except ValueError:
            raise _bad(text, "not a backtest id (UUID)") from None
        if found not in ids:
            ids.append(found)
    return ids


def _bad(value: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"ids: {message}", [RowError("query", message, column="ids", value=value)]
    )


def best_of(values: dict[uuid.UUID, Any], better: Better) -> list[uuid.UUID]:
    known = {key: value for key, value in values.items() if value is not None}
    if better is None or not known:
        return []
    target = max(known.values()) if better == "higher" else min(known.values())
    return [key for key, value in known.items() if value == target]


def compare(session: Session, ids: list[uuid.UUID]) -> Comparison:
    query = select(Backtest).where(Backtest.id.in_(ids)).options(selectinload(Backtest.parameters))
    found = {b.id: b for b in session.scalars(query)}
    if missing := [str(i) for i in ids if i not in found]:
        raise NotFound(f"Backtest not found: {', '.join(missing)}")
    backtests = [found[i] for i in ids]
    rows = []
    for metric, better in METRICS:
        values = {b.id: getattr(b, metric) for b in backtests}
        rows.append(MetricRow(metric, better, values, best_of(values, better)))
    return Comparison(backtests, rows, parameter_diff(backtests))


def parameter_diff(backtests: list[Backtest]) -> list[ParameterRow]:
    tables = {b.id: {p.name: p.value for p in b.parameters} for b in backtests}
    names = sorted({name for table in tables.values() for name in table})
    rows = []
    for name in names:
        present = [name in table for table in tables.values()]
        values = {bid: table.get(name) for bid, table in tables.items()}
        if not all(present) or len(set(values.values())) > 1:
            rows.append(ParameterRow(name, values))
    return rows
