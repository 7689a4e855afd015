"""Reading and deleting runs: the run list, one run, its passes, delete with its backtests."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, distinct, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from backtestdb.backtests import METRIC_COLUMNS, BacktestQuery, conditions, sort_order
from backtestdb.backtests.service import checked_text
from backtestdb.errors import InvalidRequest, NotFound, RowError
from backtestdb.models import Backtest, Parameter, Run
from backtestdb.storage import Storage

#: A parameter's value read back from its text as its `value_type` says.
Value = str | int | float | bool | None
#: The metrics a run can be analysed and ranked on: the numeric summary columns, less the
#: pass's folder number, which is a label rather than a result.
METRICS: tuple[str, ...] = tuple(column for column in METRIC_COLUMNS if column != "pass_number")
#: The columns a run list can be sorted by (prefix `-` for descending).
RUN_SORT_COLUMNS: tuple[str, ...] = (
    *("name", "kind", "cbot", "symbol", "period", "testing_start", "testing_end"),
    *("pass_count", "created_at"),
)
#: How a run's passes are ordered unless asked otherwise: the best first.
PASS_SORT = "-net_profit"


@dataclass(slots=True)
class PassRow:
    """One backtest of a run with its parameters' typed values."""

    backtest: Backtest
    parameters: dict[str, Value]


@dataclass(frozen=True, slots=True)
class RunParameters:
    """A run's parameter names: those whose value differs between passes, then the rest."""

    varying: list[str]
    constant: list[str]

    @property
    def names(self) -> list[str]:
        return [*self.varying, *self.constant]


def checked_metric(metric: str) -> str:
    if metric not in METRICS:
        message = f"unknown metric {metric!r}; use one of: {', '.join(METRICS)}"
        raise InvalidRequest(
            f"metric: {message}", [RowError("query", message, column="metric", value=metric[:255])]
        )
    return metric


def typed_value(value: str | None, value_type: str) -> Value:
    """The stored text as the value it was; text that does not read as its type stays text."""
    if value is None or value_type == "null":
        return None
    try:
        if value_type == "int":
            return int(value)
        if value_type == "float":
            number = float(value)
            # inf and nan have no place in an order nor in JSON: they stay text.
            return number if math.isfinite(number) else value
    except ValueError:
        return value
    if value_type == "bool":
        return value == "true"
    return value


def _run_sort(sort: str) -> list[ColumnElement[Any]]:
    name = sort.removeprefix("-")
    if name not in RUN_SORT_COLUMNS:
        message = "sort by one of: " + ", ".join(RUN_SORT_COLUMNS)
        raise InvalidRequest(
            f"sort: {message}", [RowError("query", message, column="sort", value=sort[:255])]
        )
    column: InstrumentedAttribute[Any] = getattr(Run, name)
    ordered = column.desc() if sort.startswith("-") else column.asc()
    return [ordered.nulls_last(), Run.id.asc()]


def list_runs(
    session: Session,
    *,
    limit: int = 50,
    offset: int = 0,
    sort: str = "-created_at",
    name: str | None = None,
) -> tuple[list[Run], int]:
    """One page of runs (name: a case-insensitive part of it), and how many match."""
    order = _run_sort(sort)
    where = []
    if name is not None:
        where.append(Run.name.icontains(checked_text("name", name), autoescape=True))
    total = session.scalar(select(func.count()).select_from(Run).where(*where)) or 0
    page = select(Run).where(*where).order_by(*order).limit(limit).offset(offset)
    return list(session.scalars(page)), total


def get_run(session: Session, run_id: uuid.UUID) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"Run {run_id} not found")
    return run


def pass_row(backtest: Backtest) -> PassRow:
    values = {p.name: typed_value(p.value, p.value_type) for p in backtest.parameters}
    return PassRow(backtest, values)


def pass_order(sort: str) -> list[ColumnElement[Any]]:
    """The backtest list's order, equal values by pass number."""
    column, *rest = sort_order(sort)
    return [column, Backtest.pass_number.asc().nulls_last(), *rest]


def list_passes(
    session: Session, run_id: uuid.UUID, query: BacktestQuery, *, limit: int = 100, offset: int = 0
) -> tuple[list[PassRow], int]:
    """One page of the run's passes filtered and sorted as the backtest list is (give
    `sort=PASS_SORT` for the best first), and how many match."""
    get_run(session, run_id)
    order = pass_order(query.sort)
    where = [Backtest.run_id == run_id, *conditions(query)]
    total = session.scalar(select(func.count()).select_from(Backtest).where(*where)) or 0
    page = (
        select(Backtest)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
        .options(selectinload(Backtest.parameters))
    )
    return [pass_row(b) for b in session.scalars(page)], total


def count_passes(session: Session, run_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Backtest).where(Backtest.run_id == run_id)
    return session.scalar(query) or 0


def run_parameters(session: Session, run_id: uuid.UUID) -> RunParameters:
    """Each name is varying when passes hold different values or some lack it; by name."""
    passes = count_passes(session, run_id)
    query = (
        select(
            Parameter.name,
            func.count(distinct(Parameter.value)),
            func.count(Parameter.value),
            func.count(),
        )
        .join(Backtest, Backtest.id == Parameter.backtest_id)
        .where(Backtest.run_id == run_id)
        .group_by(Parameter.name)
        .order_by(Parameter.name)
    )
    varying: list[str] = []
    constant: list[str] = []
    for name, values, known, held in session.execute(query):
        some_unknown = 0 < known < held
        (varying if values > 1 or some_unknown or held < passes else constant).append(name)
    return RunParameters(varying, constant)


def top_passes(
    session: Session, run_id: uuid.UUID, metric: str = "net_profit", count: int = 3
) -> list[uuid.UUID]:
    """The ids of the run's `count` best passes by `metric` (highest first, NULLs last)."""
    get_run(session, run_id)
    query = (
        select(Backtest.id)
        .where(Backtest.run_id == run_id)
        .order_by(*pass_order(f"-{checked_metric(metric)}"))
        .limit(count)
    )
    return list(session.scalars(query))


def delete_run(session: Session, run_id: uuid.UUID, storage: Storage) -> int:
    """Delete the run and every backtest in it (their trades, parameters and days cascade;
    jobs keep a NULL link), then their raw files; how many backtests went. Flushes only:
    the caller commits right after, as for `backtests.delete_backtest`."""
    run = get_run(session, run_id)
    gone = delete(Backtest).where(Backtest.run_id == run_id).returning(Backtest.id)
    deleted = list(session.scalars(gone.execution_options(synchronize_session="fetch")))
    session.delete(run)
    session.flush()
    for backtest_id in deleted:
        storage.remove(backtest_id)
    return len(deleted)
