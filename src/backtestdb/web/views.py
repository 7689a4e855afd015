"""Page state for the dashboard: reading the list's query string, links that keep it, the
monthly heatmap grid and the trade pages' way back. No figures are computed here: they come
from the services (backtests, analytics)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from backtestdb.analytics.breakdowns import Group
from backtestdb.backtests import PARAMETER_PREFIX, BacktestQuery
from backtestdb.errors import InvalidRequest

LIMITS = (25, 50, 100)
DEFAULT_LIMIT = 50
#: Metrics offered as min/max ranges in the filter form (any metric works in the URL).
RANGE_METRICS = (
    "net_profit",
    "win_rate",
    "profit_factor",
    "max_balance_drawdown_percent",
    "sharpe_ratio",
    "total_trades",
)
#: The list's columns: (sort key or None, heading, numeric).
COLUMNS: tuple[tuple[str | None, str, bool], ...] = (
    ("name", "Name", False),
    ("symbol", "Symbol", False),
    ("period", "Period", False),
    ("total_trades", "Trades", True),
    ("net_profit", "Net profit", True),
    ("win_rate", "Win rate", True),
    ("profit_factor", "Profit factor", True),
    ("max_balance_drawdown_percent", "Max DD %", True),
    ("sharpe_ratio", "Sharpe", True),
    ("created_at", "Created", False),
)
#: Keys the list page reads itself; every other key goes to BacktestQuery.add_params.
_OWN = frozenset({"limit", "offset", "sort", "symbol", "name", "param_name", "param_value"})
MAX_TRAIL = 200
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def whole_number(raw: str | None, default: int, low: int, high: int) -> int:
    """A query's whole number, kept within [low, high]; the default when it is none."""
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        return default
    return min(max(value, low), high)


@dataclass(slots=True)
class ListState:
    """What the list shows: the query, the page, and the filters as given (for the form
    and for links)."""

    query: BacktestQuery
    limit: int
    offset: int
    params: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None

    def value(self, key: str) -> str:
        return next((v for k, v in self.params if k == key), "")

    @property
    def parameter_filters(self) -> list[tuple[str, str]]:
        prefix = PARAMETER_PREFIX
        return [(k[len(prefix) :], v) for k, v in self.params if k.startswith(prefix)]

    @property
    def hidden_params(self) -> list[tuple[str, str]]:
        """Filters the form has no visible input for (kept when it is submitted)."""
        shown = {"name", "symbol", "limit"}
        shown |= {f"{side}_{metric}" for metric in RANGE_METRICS for side in ("min", "max")}
        first = next((k for k, _ in self.params if k.startswith(PARAMETER_PREFIX)), None)
        return [(k, v) for k, v in self.params if k not in shown and k != first]

    @property
    def has_ranges(self) -> bool:
        return any(k.startswith(("min_", "max_")) for k, _ in self.params)

    @property
    def export_url(self) -> str:
        kept = [(k, v) for k, v in self.params if k not in ("limit", "offset")]
        return "/api/v1/backtests.csv" + ("?" + urlencode(kept) if kept else "")

    def url(self, **changes: str | int | None) -> str:
        """This list's URL with some keys changed (None drops a key); offset resets to 0
        unless given, since a new filter or order starts on the first page."""
        kept = [(k, v) for k, v in self.params if k not in changes and k != "offset"]
        changes.setdefault("offset", None)
        kept += [(k, str(v)) for k, v in changes.items() if v is not None and v != ""]
        return "/ui" + ("?" + urlencode(kept) if kept else "")

    def sort_url(self, column: str) -> str:
        descending = self.query.sort == column  # a second click reverses the order
        return self.url(sort=f"-{column}" if descending else column)

    def aria_sort(self, column: str) -> str:
        if self.query.sort == column:
            return "ascending"
        return "descending" if self.query.sort == f"-{column}" else "none"


def read_list(items: Iterable[tuple[str, str]]) -> ListState:
    """The list's query string -> its state. Blank values (inputs left empty) are not
    filters; the form's `param_name`/`param_value` pair becomes `param.<name>=<value>`.
    A bad filter is kept (the form shows it) and described in `error`."""
    given = [(k, v.strip()) for k, v in items if v.strip()]
    own = {k: v for k, v in given if k in _OWN}
    params = [(k, v) for k, v in given if k not in ("param_name", "param_value")]
    if own.get("param_name"):
        params.append((PARAMETER_PREFIX + own["param_name"], own.get("param_value", "")))
    query = BacktestQuery(
        sort=own.get("sort", "-created_at"), symbol=own.get("symbol"), name=own.get("name")
    )
    limit = whole_number(own.get("limit"), DEFAULT_LIMIT, 1, max(LIMITS))
    offset = whole_number(own.get("offset"), 0, 0, 2**31 - 1)
    state = ListState(query, limit, offset, [(k, v) for k, v in params if k != "offset"])
    try:
        query.add_params(params)
    except InvalidRequest as problem:
        state.error = describe(problem)
    return state


def describe(problem: InvalidRequest) -> str:
    """`min_win_rate: not a number; …`: each bad query parameter, by name."""
    found = [f"{e.column}: {e.message}" if e.column else e.message for e in problem.errors]
    return "; ".join(found) or problem.message


@dataclass(frozen=True, slots=True)
class Page:
    start: int
    end: int
    total: int
    previous: int | None
    next: int | None


def page_of(offset: int, limit: int, shown: int, total: int) -> Page:
    previous = max(offset - limit, 0) if offset > 0 else None
    following = offset + limit if offset + limit < total else None
    return Page(offset + 1 if shown else 0, offset + shown, total, previous, following)


def read_trail(raw: str | None) -> list[int]:
    """The `after` of every earlier trade page, oldest first (`0,100,200`): keyset pages
    have no offset to step back by, so the way back travels in the link."""
    if not raw:
        return []
    found = []
    for part in raw.split(",")[-MAX_TRAIL:]:
        if part.strip().isdigit():
            found.append(min(int(part), 2**31 - 1))
    return found


def trail_text(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values[-MAX_TRAIL:])


@dataclass(frozen=True, slots=True)
class HeatCell:
    month: str
    group: Group | None
    level: str


@dataclass(frozen=True, slots=True)
class HeatRow:
    year: str
    cells: list[HeatCell]
    total: Decimal
    trades: int


def heat_level(net: Decimal, largest: Decimal) -> str:
    """A CSS class from the month's net relative to the largest month: 4 steps a side."""
    if not net or not largest:
        return "heat-0"
    step = min(4, int(abs(net) / largest * 4) + 1)
    return f"heat-{'pos' if net > 0 else 'neg'}-{step}"


def monthly_grid(groups: list[Group]) -> list[HeatRow]:
    """Groups keyed `yyyy-mm` -> one row per year, a cell per month (None: no trade)."""
    by_month = {str(g.key): g for g in groups}
    largest = max((abs(g.net_profit) for g in groups), default=Decimal(0))
    years = sorted({key[:4] for key in by_month})
    rows = []
    for year in years:
        cells = []
        for number, name in enumerate(MONTHS, start=1):
            group = by_month.get(f"{year}-{number:02d}")
            level = heat_level(group.net_profit, largest) if group else "heat-none"
            cells.append(HeatCell(name, group, level))
        found = [c.group for c in cells if c.group is not None]
        rows.append(
            HeatRow(
                year,
                cells,
                sum((g.net_profit for g in found), Decimal(0)),
                sum(g.trades for g in found),
            )
        )
    return rows
