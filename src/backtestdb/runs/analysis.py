"""How a run's metric depends on its parameters: the sensitivity to one or two of them, and
each pass's robustness (its metric beside the mean over its neighbours in the grid).

Means are exact (fractions of the stored decimals), then rounded half-up to the metric
column's scale (2 for money, percents and counts, 4 for ratios). Passes whose metric is
NULL are left out of both.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import Numeric, inspect, select
from sqlalchemy.orm import Session

from backtestdb.errors import InvalidRequest, RowError
from backtestdb.models import Backtest, Parameter
from backtestdb.runs.service import (
    METRICS,
    Value,
    checked_metric,
    get_run,
    run_parameters,
    typed_value,
)

__all__ = ["METRICS", "Cell", "Robustness", "Sensitivity", "robustness", "sensitivity"]

Metric = Decimal | int
#: A value's place in a parameter's order, and its identity: numbers first in numeric order
#: (1 and 1.0 are one value), then text (bools as "false"/"true"), then no value.
Key = tuple[int, float, str]
NO_VALUE: Key = (2, 0, "")


@dataclass(frozen=True, slots=True)
class Cell:
    """The passes holding one value of each analysed parameter."""

    values: dict[str, Value]
    count: int
    mean: Decimal
    min: Metric
    max: Metric


@dataclass(frozen=True, slots=True)
class Sensitivity:
    run_id: uuid.UUID
    metric: str
    parameters: list[str]
    cells: list[Cell]


@dataclass(frozen=True, slots=True)
class Robustness:
    """A pass's metric beside its neighbours' (None when it has none)."""

    backtest_id: uuid.UUID
    pass_number: int | None
    name: str
    parameters: dict[str, Value]
    metric: Metric
    neighbours: int
    neighbour_mean: Decimal | None
    neighbour_min: Metric | None
    neighbour_max: Metric | None
    #: metric - neighbour_mean (the rounded mean, so the figures shown add up).
    difference: Decimal | None


@dataclass(frozen=True, slots=True)
class _Pass:
    id: uuid.UUID
    pass_number: int | None
    name: str
    metric: Metric | None
    parameters: dict[str, Value]


def value_key(value: Value) -> Key:
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return (1, 0, "true" if value else "false")
    if isinstance(value, int | float):
        return (0, value, "")
    return (1, 0, value)


def metric_places(metric: str) -> int:
    kind = inspect(Backtest).columns[metric].type
    return kind.scale if isinstance(kind, Numeric) and kind.scale is not None else 2


def mean_of(values: Sequence[Metric], places: int) -> Decimal:
    """The exact mean rounded half-up (away from zero on a tie) to `places` decimals."""
    scaled = Fraction(sum(values, Decimal(0))) / len(values) * 10**places
    units = math.floor(abs(scaled) + Fraction(1, 2))
    return Decimal(units if scaled >= 0 else -units).scaleb(-places)


def _passes(session: Session, run_id: uuid.UUID, metric: str) -> list[_Pass]:
    values: dict[uuid.UUID, dict[str, Value]] = {}
    parameters = (
        select(Parameter.backtest_id, Parameter.name, Parameter.value, Parameter.value_type)
        .join(Backtest, Backtest.id == Parameter.backtest_id)
        .where(Backtest.run_id == run_id)
    )
    for backtest_id, name, value, value_type in session.execute(parameters):
        values.setdefault(backtest_id, {})[name] = typed_value(value, value_type)
    column = getattr(Backtest, metric)
    rows = select(Backtest.id, Backtest.pass_number, Backtest.name, column).where(
        Backtest.run_id == run_id
    )
    return [
        _Pass(backtest_id, number, name, score, values.get(backtest_id, {}))
        for backtest_id, number, name, score in session.execute(rows)
    ]


def _checked_parameters(session: Session, run_id: uuid.UUID, parameters: list[str]) -> list[str]:
    known = run_parameters(session, run_id).names
    problem = None
    if not 1 <= len(parameters) <= 2:
        problem = f"give one or two parameters (got {len(parameters)})"
    elif len(set(parameters)) < len(parameters):
        problem = f"give two different parameters (got {parameters[0]!r} twice)"
    elif unknown := [name for name in parameters if name not in known]:
        listed = ", ".join(known) if known else "none"
        problem = f"unknown parameter {unknown[0][:255]!r}; the run's parameters: {listed}"
    if problem is not None:
        raise InvalidRequest(
            f"parameter: {problem}", [RowError("query", problem, column="parameter")]
        )
    return parameters


def sensitivity(
    session: Session, run_id: uuid.UUID, parameters: list[str], metric: str = "net_profit"
) -> Sensitivity:
    """Count, mean, min and max of `metric` for each value of one parameter (in its order),
    or for each pair of values of two that some pass holds (by the first, then the second)."""
    get_run(session, run_id)
    checked_metric(metric)
    names = _checked_parameters(session, run_id, parameters)
    groups: dict[tuple[Key, ...], list[Metric]] = {}
    shown: dict[tuple[Key, ...], dict[str, Value]] = {}
    for item in _passes(session, run_id, metric):
        if item.metric is None:
            continue
        key = tuple(value_key(item.parameters.get(name)) for name in names)
        groups.setdefault(key, []).append(item.metric)
        shown.setdefault(key, {name: item.parameters.get(name) for name in names})
    places = metric_places(metric)
    cells = [
        Cell(shown[key], len(found), mean_of(found, places), min(found), max(found))
        for key, found in sorted(groups.items())
    ]
    return Sensitivity(run_id, metric, names, cells)


@dataclass(frozen=True, slots=True)
class _Grid:
    """Each parameter's sorted distinct values over the run, and the scored passes by
    their values (several passes may share the same values)."""

    names: list[str]
    axes: dict[str, list[Key]]
    positions: dict[str, dict[Key, int]]
    cells: dict[tuple[Key, ...], list[_Pass]]

    def key(self, item: _Pass) -> tuple[Key, ...]:
        return tuple(value_key(item.parameters.get(name)) for name in self.names)

    def neighbours(self, item: _Pass) -> list[_Pass]:
        """Passes equal in every parameter but one, one step away in that one's order."""
        key = self.key(item)
        found: list[_Pass] = []
        for index, name in enumerate(self.names):
            position = self.positions[name].get(key[index])
            if position is None:  # no value: no step from it
                continue
            axis = self.axes[name]
            for step in (position - 1, position + 1):
                if 0 <= step < len(axis):
                    found.extend(self.cells.get((*key[:index], axis[step], *key[index + 1 :]), []))
        return found


def _grid(passes: list[_Pass]) -> _Grid:
    names = sorted({name for item in passes for name in item.parameters})
    axes = {
        name: sorted({value_key(item.parameters.get(name)) for item in passes} - {NO_VALUE})
        for name in names
    }
    positions = {name: {key: i for i, key in enumerate(axis)} for name, axis in axes.items()}
    grid = _Grid(names, axes, positions, {})
    for item in passes:
        if item.metric is not None:
            grid.cells.setdefault(grid.key(item), []).append(item)
    return grid


def robustness(session: Session, run_id: uuid.UUID, metric: str = "net_profit") -> list[Robustness]:
    """Each scored pass beside its neighbours, best metric first (then by pass number).
    The steps are over every pass's values, scored or not."""
    get_run(session, run_id)
    checked_metric(metric)
    passes = _passes(session, run_id, metric)
    grid = _grid(passes)
    places = metric_places(metric)
    rows = [
        _robustness(item, item.metric, grid.neighbours(item), places)
        for item in passes
        if item.metric is not None
    ]
    rows.sort(key=_best_first)
    return rows


def _best_first(row: Robustness) -> tuple[Metric, bool, int, str]:
    number = row.pass_number
    return (-row.metric, number is None, number or 0, str(row.backtest_id))


def _robustness(item: _Pass, score: Metric, neighbours: list[_Pass], places: int) -> Robustness:
    scores = [n.metric for n in neighbours if n.metric is not None]
    mean = mean_of(scores, places) if scores else None
    return Robustness(
        backtest_id=item.id,
        pass_number=item.pass_number,
        name=item.name,
        parameters=item.parameters,
        metric=score,
        neighbours=len(scores),
        neighbour_mean=mean,
        neighbour_min=min(scores) if scores else None,
        neighbour_max=max(scores) if scores else None,
        difference=None if mean is None else score - mean,
    )
