"""Page state for the runs pages: the query string read, links that keep it, the sort
choices, the two-parameter heatmap grid and the lone spikes. The figures come from
`runs.service` and `runs.analysis`; this only arranges them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from backtestdb.backtests import BacktestQuery
from backtestdb.errors import InvalidRequest
from backtestdb.runs.analysis import Cell, Robustness
from backtestdb.runs.service import METRICS, PASS_SORT, Value
from backtestdb.web.routes import MAX_COMPARE
from backtestdb.web.views import LIMITS, describe, heat_level, whole_number

DEFAULT_METRIC = "net_profit"
DEFAULT_TOP = 3
#: The pass table's metric columns: (sort key, heading).
PASS_METRICS: tuple[tuple[str, str], ...] = (
    ("net_profit", "Net profit"),
    ("total_trades", "Trades"),
    ("win_rate", "Win rate"),
    ("profit_factor", "Profit factor"),
    ("max_balance_drawdown_percent", "Max DD %"),
    ("sharpe_ratio", "Sharpe"),
)
#: The runs list's columns: (sort key or None, heading, numeric).
RUN_COLUMNS: tuple[tuple[str | None, str, bool], ...] = (
    ("name", "Name", False),
    ("kind", "Kind", False),
    ("cbot", "cBot", False),
    ("symbol", "Symbol", False),
    ("period", "Period", False),
    ("testing_start", "Testing period (UTC)", False),
    ("pass_count", "Passes", True),
    ("created_at", "Created", False),
)
#: How many passes the robustness table shows, best first.
ROBUST_ROWS = 10
#: A pass is a lone spike when its metric is above every neighbour's and its neighbours'
#: mean is less than half of it: a peak the grid around it does not share.
SPIKE_SHARE = Decimal("0.5")
_RUN_KEYS = frozenset({"limit", "offset", "sort", "metric", "x", "y", "top"})


@dataclass(slots=True)
class Links:
    """A page's query string, and its URL with some keys changed."""

    path: str
    params: list[tuple[str, str]] = field(default_factory=list)

    def value(self, key: str) -> str:
        return next((v for k, v in self.params if k == key), "")

    def url(self, **changes: str | int | None) -> str:
        """This page with some keys changed (None drops one); back to the first page
        unless an offset is given, since a new order or filter starts there."""
        kept = [(k, v) for k, v in self.params if k not in changes and k != "offset"]
        changes.setdefault("offset", None)
        kept += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
        return self.path + ("?" + urlencode(kept) if kept else "")

    def sort_url(self, column: str, current: str) -> str:
        return self.url(sort=f"-{column}" if current == column else column)


def aria_sort(column: str, current: str) -> str:
    if current == column:
        return "ascending"
    return "descending" if current == f"-{column}" else "none"


@dataclass(frozen=True, slots=True)
class RunsList:
    links: Links
    sort: str
    name: str | None
    limit: int
    offset: int

    def sort_url(self, column: str) -> str:
        return self.links.sort_url(column, self.sort)

    def aria_sort(self, column: str) -> str:
        return aria_sort(column, self.sort)


def read_runs_list(items: Iterable[tuple[str, str]]) -> RunsList:
    """The runs list's query string -> its state (blank values are no filter)."""
    given = [(k, v.strip()) for k, v in items if v.strip()]
    own = dict(given)
    return RunsList(
        links=Links("/ui/runs", [(k, v) for k, v in given if k != "offset"]),
        sort=own.get("sort", "-created_at"),
        name=own.get("name"),
        limit=whole_number(own.get("limit"), LIMITS[1], 1, max(LIMITS)),
        offset=whole_number(own.get("offset"), 0, 0, 2**31 - 1),
    )


@dataclass(slots=True)
class RunState:
    """What the run page shows: the pass query and page, the metric and the parameters
    analysed, and how many top passes to compare."""

    links: Links
    query: BacktestQuery
    limit: int
    offset: int
    metric: str
    x: str | None
    y: str | None
    top: int
    error: str | None = None

    def sort_url(self, column: str) -> str:
        return self.links.sort_url(column, self.query.sort)

    def aria_sort(self, column: str) -> str:
        return aria_sort(column, self.query.sort)

    def url(self, **changes: str | int | None) -> str:
        return self.links.url(**changes)


def read_run(
    path: str, items: Iterable[tuple[str, str]], names: Sequence[str], varying: Sequence[str]
) -> RunState:
    """The run page's query string -> its state. The chart's parameter defaults to the
    first varying one, the heatmap's second to the next; an unknown metric or parameter is
    described in `error` and replaced by the default."""
    given = [(k, v.strip()) for k, v in items if v.strip()]
    own = {k: v for k, v in given if k in _RUN_KEYS}
    problems: list[str] = []
    metric = own.get("metric", DEFAULT_METRIC)
    if metric not in METRICS:
        problems.append(f"metric: unknown metric {metric[:64]!r}")
        metric = DEFAULT_METRIC
    x = _parameter(own.get("x"), names, [*varying, *names], None, problems)
    y = _parameter(own.get("y"), names, varying, x, problems)
    state = RunState(
        links=Links(path, [(k, v) for k, v in given if k != "offset"]),
        query=BacktestQuery(sort=own.get("sort", PASS_SORT)),
        limit=whole_number(own.get("limit"), LIMITS[1], 1, max(LIMITS)),
        offset=whole_number(own.get("offset"), 0, 0, 2**31 - 1),
        metric=metric,
        x=x,
        y=y,
        top=read_top(own.get("top")),
    )
    try:
        state.query.add_params((k, v) for k, v in given if k not in _RUN_KEYS)
    except InvalidRequest as problem:
        problems.append(describe(problem))
    state.error = "; ".join(problems) or None
    return state


def read_top(raw: str | None) -> int:
    """How many top passes to compare: 2 to the compare page's most."""
    return whole_number(raw or None, DEFAULT_TOP, 2, MAX_COMPARE)


def _parameter(
    raw: str | None,
    names: Sequence[str],
    order: Sequence[str],
    other: str | None,
    problems: list[str],
) -> str | None:
    """The chosen parameter if the run has it, else the first of `order` that is not
    `other` (the heatmap's two parameters differ), or None."""
    if raw is None:
        return next((name for name in order if name != other), None)
    if raw == other:
        problems.append(f"parameter: pick a second parameter other than {raw[:64]!r}")
    elif raw not in names:
        problems.append(f"parameter: the run has no parameter {raw[:64]!r}")
    else:
        return raw
    return next((name for name in order if name != other), None)


def sort_choices() -> list[tuple[str, str]]:
    """The sort select's options: each pass column, best first and worst first."""
    found = [("pass_number", "Pass number"), ("name", "Name")]
    found += [(key, heading) for key, heading in PASS_METRICS]
    return [
        choice
        for key, heading in found
        for choice in ((f"-{key}", f"{heading}, highest first"), (key, f"{heading}, lowest first"))
    ]


@dataclass(frozen=True, slots=True)
class GridCell:
    cell: Cell | None
    level: str


@dataclass(frozen=True, slots=True)
class GridRow:
    value: Value
    cells: list[GridCell]


def parameter_grid(
    cells: list[Cell], x: str, y: str, columns: list[Value]
) -> tuple[list[GridRow], list[Value]]:
    """Two-parameter cells -> one row per value of `x`, one column per value of `y`
    (given in order); each coloured by its mean beside the largest mean in size."""
    by_pair = {(_text(c.values.get(x)), _text(c.values.get(y))): c for c in cells}
    largest = max((abs(c.mean) for c in cells), default=Decimal(0))
    rows: list[GridRow] = []
    seen: set[str] = set()
    for cell in cells:  # sorted by x, then y
        value = cell.values.get(x)
        if _text(value) in seen:
            continue
        seen.add(_text(value))
        found = [by_pair.get((_text(value), _text(column))) for column in columns]
        grid = [GridCell(c, heat_level(c.mean, largest) if c else "heat-none") for c in found]
        rows.append(GridRow(value, grid))
    return rows, columns


def _text(value: Value) -> str:
    # bool before int: True and 1 are different parameter values here.
    return f"{type(value).__name__}:{value}"


def is_numeric(cells: list[Cell], name: str) -> bool:
    """Whether the chart can place the parameter's values on a number line."""
    values = [c.values.get(name) for c in cells]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def lone_spikes(items: list[Robustness]) -> set[str]:
    """The ids (text) of the passes whose metric stands alone above their neighbours."""
    found: set[str] = set()
    for item in items:
        mean, highest = item.neighbour_mean, item.neighbour_max
        if mean is None or highest is None or item.metric <= highest:
            continue
        if mean < item.metric * SPIKE_SHARE:
            found.add(str(item.backtest_id))
    return found
