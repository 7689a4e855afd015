"""Reading stored backtests (the CLI and the API call these); `deletion` deletes them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Numeric,
    Select,
    Text,
    and_,
    cast,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, defer, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from backtestdb.errors import InvalidRequest, NotFound, RowError
from backtestdb.models import Backtest, DailySummary, Parameter, Trade

#: Numeric summary columns: each can be sorted on and filtered with min_<name> / max_<name>.
METRIC_COLUMNS: tuple[str, ...] = tuple(
    column.key for column in inspect(Backtest).columns if isinstance(column.type, Numeric | Integer)
)
#: The metrics held as whole numbers (trade counts).
INTEGER_METRICS: frozenset[str] = frozenset(
    column.key for column in inspect(Backtest).columns if isinstance(column.type, Integer)
)
#: Every column a list can be sorted by (prefix `-` for descending). Only these names ever
#: reach SQL: client text selects from this list, it is never spliced into a query.
SORT_COLUMNS: tuple[str, ...] = (
    *METRIC_COLUMNS,
    *("name", "symbol", "period", "testing_start", "testing_end", "created_at", "updated_at"),
)
PARAMETER_PREFIX = "param."
#: Most `param.<name>` filters one list takes, and most `min_`/`max_` ones: past these a
#: list is no longer a search but work for the database; more answer 422.
MAX_PARAMETER_FILTERS = 20
MAX_RANGE_FILTERS = 20
# Bounds that keep a filter value inside what both backends can bind and compare.
_MAX_TEXT = 255
MAX_INT = 2**31 - 1
MAX_AMOUNT = Decimal("1e15")


@dataclass(slots=True)
class BacktestQuery:
    """Filters and order of a backtest list; `from_params` reads the dynamic ones."""

    sort: str = "-created_at"
    symbol: str | None = None
    name: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    minimum: dict[str, Decimal | int] = field(default_factory=dict)
    maximum: dict[str, Decimal | int] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def add_params(self, params: Iterable[tuple[str, str]]) -> None:
        """Read `min_<metric>`, `max_<metric>` and `param.<name>` from query parameters;
        anything else is left to the caller. Every bad one is reported, not just the first."""
        params = list(params)
        check_filter_counts([key for key, _ in params])
        problems: list[RowError] = []
        for key, raw in params:
            try:
                self._add_param(key, raw)
            except InvalidRequest as error:
                problems.extend(error.errors)
        if problems:
            raise InvalidRequest(problems[0].message, problems)

    def _add_param(self, key: str, raw: str) -> None:
        if key.startswith(PARAMETER_PREFIX):
            name = checked_text(key, key[len(PARAMETER_PREFIX) :])
            if not name:
                raise _bad(key, raw, "give a parameter name after 'param.'")
            self.parameters[name] = checked_text(key, raw)
            return
        for prefix, bounds in (("min_", self.minimum), ("max_", self.maximum)):
            if key.startswith(prefix):
                metric = key[len(prefix) :]
                if metric not in METRIC_COLUMNS:
                    known = ", ".join(METRIC_COLUMNS)
                    raise _bad(key, raw, f"unknown metric {metric!r}; use one of: {known}")
                bounds[metric] = metric_value(key, metric, raw)


def check_filter_counts(keys: list[str]) -> None:
    """At most MAX_PARAMETER_FILTERS `param.*` and MAX_RANGE_FILTERS `min_`/`max_` keys."""
    caps = (
        ("param.*", (PARAMETER_PREFIX,), MAX_PARAMETER_FILTERS),
        ("min_/max_", ("min_", "max_"), MAX_RANGE_FILTERS),
    )
    for kind, prefixes, cap in caps:
        count = sum(key.startswith(prefixes) for key in keys)
        if count > cap:
            message = f"at most {cap} {kind} filters (got {count})"
            raise InvalidRequest(message, [RowError("query", message)])


def _bad(key: str, raw: str, message: str) -> InvalidRequest:
    return InvalidRequest(
        f"{key}: {message}", [RowError("query", message, column=key, value=raw[:_MAX_TEXT])]
    )


def checked_text(key: str, value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a filter longer than any stored value is a typo.
    if "\x00" in value or len(value) > _MAX_TEXT:
        raise _bad(key, value, f"must be at most {_MAX_TEXT} characters, without NUL")
    return value


def metric_value(key: str, metric: str, raw: str) -> Decimal | int:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise _bad(key, raw, "not a number") from None
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise _bad(key, raw, "must be a finite number below 1e15 in size")
    if metric in INTEGER_METRICS:
        # SQLite cannot bind a Decimal against an INTEGER column: pass a whole int.
        if value != value.to_integral_value() or abs(value) > MAX_INT:
            raise _bad(key, raw, "must be a whole number")
        return int(value)
    return value


def as_utc(key: str, value: datetime | None) -> datetime | None:
    """Naive times are taken as UTC (the stored times are UTC)."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise _bad(key, value.isoformat(), "out of range") from None


def sort_order(sort: str) -> list[ColumnElement[Any]]:
    name = sort.removeprefix("-")
    if name not in SORT_COLUMNS:
        raise _bad("sort", sort, "sort by one of: " + ", ".join(SORT_COLUMNS))
    column: InstrumentedAttribute[Any] = getattr(Backtest, name)
    ordered = column.desc() if sort.startswith("-") else column.asc()
    # NULLs last on both backends (they disagree by default); the id makes pages stable.
    return [ordered.nulls_last(), Backtest.id.asc()]


def conditions(query: BacktestQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.symbol is not None:
        symbol = checked_text("symbol", query.symbol)
        # A multi-symbol backtest has no single symbol; `symbols` lists every traded one.
        # Matching its JSON text keeps the filter off the trades table (a million rows
        # for one big backtest) and works alike on both backends.
        listed = cast(Backtest.symbols, Text).contains(json.dumps(symbol), autoescape=True)
        found.append((Backtest.symbol == symbol) | listed)
    if query.name is not None:
        found.append(Backtest.name.icontains(checked_text("name", query.name), autoescape=True))
    if (start := as_utc("created_from", query.created_from)) is not None:
        found.append(Backtest.created_at >= start)
    if (end := as_utc("created_to", query.created_to)) is not None:
        found.append(Backtest.created_at <= end)
    for metric, low in query.minimum.items():
        found.append(getattr(Backtest, metric) >= low)
    for metric, high in query.maximum.items():
        found.append(getattr(Backtest, metric) <= high)
    if query.parameters:
        found.append(Backtest.id.in_(holding(query.parameters)))
    return found


def holding(parameters: dict[str, str]) -> Select[Any]:
    """The ids of the backtests holding every (name, value) of `parameters`: one lookup
    per pair in the (name, value) index, grouped by backtest. A backtest has one row per
    name (the primary key), so it holds them all when all of them matched. One subquery
    however many pairs: an EXISTS per pair made PostgreSQL plan one join per filter
    (bench/filters.py)."""
    pairs = [
        and_(Parameter.name == name, Parameter.value == value) for name, value in parameters.items()
    ]
    return (
        select(Parameter.backtest_id)
        .where(or_(*pairs))
        .group_by(Parameter.backtest_id)
        .having(func.count() == len(parameters))
    )


def search_backtests(
    session: Session, query: BacktestQuery, *, limit: int = 50, offset: int = 0
) -> tuple[list[Backtest], int]:
    """One page of the backtests matching `query`, and how many match in all."""
    order = sort_order(query.sort)
    where = conditions(query)
    total = session.scalar(select(func.count()).select_from(Backtest).where(*where)) or 0
    page = select(Backtest).where(*where).order_by(*order).limit(limit).offset(offset)
    return list(session.scalars(page)), total


@dataclass(slots=True)
class TradeQuery:
    symbol: str | None = None
    direction: str | None = None
    open_from: datetime | None = None
    open_to: datetime | None = None
    #: Read `extra` (the unknown columns) too; off by default, since a wide file's extra
    #: can weigh far more than the rest of a page.
    with_extra: bool = False


def list_trades(
    session: Session,
    backtest_id: uuid.UUID,
    query: TradeQuery,
    *,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[Trade], int | None]:
    """Trades after trade number `after` (keyset paging), and the `after` of the next page
    (None on the last one): a page costs the same at the end of a long list as at its start."""
    require_backtest(session, backtest_id)
    select_trades = select(Trade).where(
        Trade.backtest_id == backtest_id, Trade.trade_number > after
    )
    if query.symbol is not None:
        select_trades = select_trades.where(Trade.symbol == checked_text("symbol", query.symbol))
    if query.direction is not None:
        select_trades = select_trades.where(Trade.direction == query.direction)
    if (start := as_utc("open_from", query.open_from)) is not None:
        select_trades = select_trades.where(Trade.open_time >= start)
    if (end := as_utc("open_to", query.open_to)) is not None:
        select_trades = select_trades.where(Trade.open_time <= end)
    if not query.with_extra:
        select_trades = select_trades.options(defer(Trade.extra))
    # One row more than asked tells whether another page exists.
    rows = list(session.scalars(select_trades.order_by(Trade.trade_number).limit(limit + 1)))
    page = rows[:limit]
    if not query.with_extra:
        for trade in page:  # known to be left out, so reading it loads nothing
            set_committed_value(trade, "extra", None)
    return page, page[-1].trade_number if len(rows) > limit else None


def list_daily(session: Session, backtest_id: uuid.UUID) -> list[DailySummary]:
    require_backtest(session, backtest_id)
    query = (
        select(DailySummary)
        .where(DailySummary.backtest_id == backtest_id)
        .order_by(DailySummary.trade_date)
    )
    return list(session.scalars(query))


def require_backtest(session: Session, backtest_id: uuid.UUID) -> None:
    if session.get(Backtest, backtest_id) is None:
        raise NotFound(f"Backtest {backtest_id} not found")


def list_backtests(
    session: Session, *, limit: int = 50, offset: int = 0
) -> tuple[list[Backtest], int]:
    """Newest first, with the total count for pagination."""
    total = session.scalar(select(func.count()).select_from(Backtest)) or 0
    query = (
        select(Backtest)
        .order_by(Backtest.created_at.desc(), Backtest.id)
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query)), total


def get_backtest(session: Session, backtest_id: uuid.UUID) -> Backtest:
    query = (
        select(Backtest)
        .where(Backtest.id == backtest_id)
        .options(selectinload(Backtest.parameters))
    )
    backtest = session.scalars(query).first()
    if backtest is None:
        raise NotFound(f"Backtest {backtest_id} not found")
    return backtest
