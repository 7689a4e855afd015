"""The dashboard at /ui: server-rendered pages over the same services as the API.

Pages read through `backtests`, `jobs` and `analytics`; charts, uploads and deletes use the
JSON API from the browser. htmx requests get only the fragment they swap in.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from backtestdb import backtests, jobs
from backtestdb.analytics import breakdowns, compare
from backtestdb.analytics.summary_text import summary_text
from backtestdb.api.deps import ApiKeyDep, SessionDep, SettingsDep
from backtestdb.backtests.events import has_events
from backtestdb.errors import BacktestdbError, InvalidRequest, NotFound
from backtestdb.models import Backtest
from backtestdb.web import views
from backtestdb.web.templating import is_fragment, render

router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[ApiKeyDep])

TRADES_PER_PAGE = 50
MAX_COMPARE = 10
BREAKDOWNS = ("symbol", "weekday", "hour", "direction", "year")
JOB_STATUSES = ("pending", "running", "completed", "failed")


def error_page(request: Request, error: BacktestdbError) -> Response:
    context = {"title": "Not found" if isinstance(error, NotFound) else "Error", "error": error}
    return render(request, "error.html", context, error.status_code)


def parse_id(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"No {what} {raw[:64]!r}: not an id") from None


@router.get("")
def backtest_list(request: Request, session: SessionDep) -> Response:
    state = views.read_list(request.query_params.multi_items())
    found: list[Backtest] = []
    total, error = 0, state.error
    if error is None:
        try:
            found, total = backtests.search_backtests(
                session, state.query, limit=state.limit, offset=state.offset
            )
        except InvalidRequest as problem:
            error = views.describe(problem)
    context = {
        "title": "Backtests",
        "state": state,
        "items": found,
        "page": views.page_of(state.offset, state.limit, len(found), total),
        "error": error,
        "columns": views.COLUMNS,
        "range_metrics": views.RANGE_METRICS,
        "limits": views.LIMITS,
        "max_compare": MAX_COMPARE,
    }
    if is_fragment(request):
        response = render(request, "_results.html", context)
        # The address bar shows the list as filtered, without the form's blank fields.
        response.headers["HX-Push-Url"] = state.url(offset=state.offset or None)
        return response
    return render(request, "list.html", context, 422 if error else 200)


@router.get("/backtests/{backtest_id}")
def backtest_page(request: Request, backtest_id: str, session: SessionDep) -> Response:
    try:
        found = backtests.get_backtest(session, parse_id(backtest_id, "backtest"))
        trades, next_after = backtests.list_trades(
            session, found.id, backtests.TradeQuery(), limit=TRADES_PER_PAGE
        )
        text = summary_text(session, found)
    except BacktestdbError as error:
        return error_page(request, error)
    context = {
        "title": found.name,
        "backtest": found,
        "job": jobs.latest_job(session, found.id),
        "summary": text,
        "backtest_id": found.id,
        "trades": trades,
        "trade_page": {"after": 0, "next": next_after, "trail": [], "symbol": "", "side": ""},
        "has_events": has_events(session, found.id),  # trades link to their events
        "breakdowns": BREAKDOWNS,
    }
    return render(request, "backtest.html", context)


@router.get("/backtests/{backtest_id}/trades")
def trade_page(
    request: Request,
    backtest_id: str,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=backtests.MAX_INT)] = 0,
    trail: Annotated[str | None, Query(max_length=4000)] = None,
    symbol: Annotated[str | None, Query(max_length=255)] = None,
    side: Literal["", "buy", "sell"] = "",
    start: Annotated[str, Query(max_length=12, description="Jump to this trade number")] = "",
) -> Response:
    """One page of the trade table (a fragment), `after` a trade number, keyset paging."""
    query = backtests.TradeQuery(symbol=symbol or None, direction=side or None)
    earlier = views.read_trail(trail)
    if start.strip().isdigit():
        after, earlier = min(max(int(start) - 1, 0), backtests.MAX_INT), []
    try:
        found = parse_id(backtest_id, "backtest")
        trades, next_after = backtests.list_trades(
            session, found, query, after=after, limit=TRADES_PER_PAGE
        )
    except BacktestdbError as error:
        return error_page(request, error)
    context = {
        "backtest_id": found,
        "trades": trades,
        "has_events": has_events(session, found),
        "trade_page": {
            "after": after,
            "next": next_after,
            "trail": earlier,
            "symbol": symbol or "",
            "side": side,
        },
    }
    return render(request, "_trades.html", context)


@router.get("/backtests/{backtest_id}/stats")
def stats_fragment(
    request: Request,
    backtest_id: str,
    session: SessionDep,
    group_by: breakdowns.GroupBy = "month",
) -> Response:
    """A breakdown table; by month, the year x month heatmap."""
    try:
        groups = breakdowns.breakdown(session, parse_id(backtest_id, "backtest"), group_by)
    except BacktestdbError as error:
        return error_page(request, error)
    if group_by == "month":
        context = {"rows": views.monthly_grid(groups), "months": views.MONTHS}
        return render(request, "_heatmap.html", context)
    return render(request, "_breakdown.html", {"groups": groups, "group_by": group_by})


@router.get("/compare")
def compare_page(request: Request, session: SessionDep) -> Response:
    raw = request.query_params.getlist("ids")
    try:
        ids = compare.parse_ids(raw)
        if len(ids) > MAX_COMPARE:
            raise InvalidRequest(f"Compare at most {MAX_COMPARE} backtests at a time")
        found = compare.compare(session, ids)
    except BacktestdbError as error:
        if not raw:
            return render(request, "compare.html", {"title": "Compare", "comparison": None})
        return error_page(request, error)
    return render(request, "compare.html", {"title": "Compare", "comparison": found})


@router.get("/upload")
def upload_page(request: Request, settings: SettingsDep) -> Response:
    context = {
        "title": "Upload",
        "needs_key": bool(settings.api_key_list),
        "max_mb": settings.max_file_size_mb,
    }
    return render(request, "upload.html", context)


@router.get("/jobs")
def jobs_page(
    request: Request,
    session: SessionDep,
    status: Literal["", "pending", "running", "completed", "failed"] = "",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    found = jobs.list_jobs(session, status or None, limit)
    context = {
        "title": "Jobs",
        "jobs": found,
        "status": status,
        "statuses": JOB_STATUSES,
        "limit": limit,
        "active": any(j.status in ("pending", "running") for j in found),
    }
    return render(request, "_jobs.html" if is_fragment(request) else "jobs.html", context)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, session: SessionDep) -> Response:
    try:
        job = jobs.get_job(session, parse_id(job_id, "job"))
    except BacktestdbError as error:
        return error_page(request, error)
    return render(request, "job.html", {"title": "Job", "job": job})
