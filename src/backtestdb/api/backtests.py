"""Backtest routes: list with filters, detail, trades (keyset pages), daily rows, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from backtestdb import backtests, jobs
from backtestdb.api.deps import (
    NO_NUL,
    ApiKeyDep,
    QueryTime,
    SessionDep,
    SettingsDep,
    SingleQueryDep,
)
from backtestdb.api.openapi import LIST_FILTERS, SORT_SCHEMA, error_responses
from backtestdb.schemas import (
    BacktestOut,
    BacktestPage,
    BacktestView,
    DailyOut,
    DailyPage,
    JobOut,
    TradeOut,
    TradePage,
)
from backtestdb.storage import open_storage

router = APIRouter(prefix="/api/v1", tags=["backtests"], dependencies=[ApiKeyDep, SingleQueryDep])

FilterText = Annotated[str | None, Query(max_length=255, pattern=NO_NUL)]
OPEN_FILTER = "UTC when no offset; a trade without an opening time never matches"


@router.get(
    "/backtests",
    summary="List backtests, filtered and sorted",
    responses=error_responses(401, 422, 503),
    openapi_extra=LIST_FILTERS,
)
def list_backtests(
    request: Request,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=backtests.MAX_INT)] = 0,
    sort: Annotated[
        str,
        Query(
            description="A summary column, `-` in front for descending",
            json_schema_extra=SORT_SCHEMA,
        ),
    ] = "-created_at",
    symbol: Annotated[
        str | None,
        Query(max_length=255, pattern=NO_NUL, description="The backtest's symbol or a traded one"),
    ] = None,
    name: Annotated[
        str | None,
        Query(max_length=255, pattern=NO_NUL, description="Case-insensitive part of the name"),
    ] = None,
    created_from: Annotated[QueryTime | None, Query(description="UTC when no offset")] = None,
    created_to: Annotated[QueryTime | None, Query(description="UTC when no offset")] = None,
) -> BacktestPage:
    """Besides the parameters below: `min_<metric>` / `max_<metric>` for every numeric
    summary column, and `param.<Name>=<value>` for a parameter's exact value (repeat for
    several; all must hold)."""
    query = backtests.BacktestQuery(
        sort=sort, symbol=symbol, name=name, created_from=created_from, created_to=created_to
    )
    query.add_params(request.query_params.multi_items())
    items, total = backtests.search_backtests(session, query, limit=limit, offset=offset)
    return BacktestPage(
        items=[BacktestOut.model_validate(b) for b in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/backtests/{backtest_id}",
    summary="One backtest: summary, parameters, newest job",
    responses=error_responses(401, 404, 422, 503),
)
@router.get("/ingest/backtests/{backtest_id}", include_in_schema=False)
def get_backtest(backtest_id: uuid.UUID, session: SessionDep) -> BacktestView:
    backtest = backtests.get_backtest(session, backtest_id)
    job = jobs.latest_job(session, backtest_id)
    base = f"/api/v1/backtests/{backtest_id}"
    links = {"self": base, "trades": f"{base}/trades", "daily": f"{base}/daily"}
    if job is not None:
        links["job"] = f"/api/v1/jobs/{job.id}"
    view = BacktestView.model_validate(backtest)
    view.latest_job = JobOut.model_validate(job) if job is not None else None
    view.links = links
    return view


@router.get(
    "/backtests/{backtest_id}/trades",
    summary="Trades in file order, one page at a time",
    responses=error_responses(401, 404, 422, 503),
)
def list_trades(
    backtest_id: uuid.UUID,
    session: SessionDep,
    after: Annotated[
        int, Query(ge=0, le=backtests.MAX_INT, description="The previous page's `next_after`")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    symbol: FilterText = None,
    direction: Literal["buy", "sell"] | None = None,
    open_from: Annotated[QueryTime | None, Query(description=OPEN_FILTER)] = None,
    open_to: Annotated[QueryTime | None, Query(description=OPEN_FILTER)] = None,
    fields: Annotated[
        Literal["extra"] | None,
        Query(description="`extra`: include each trade's unknown columns (left out by default)"),
    ] = None,
) -> TradePage:
    query = backtests.TradeQuery(
        symbol=symbol,
        direction=direction,
        open_from=open_from,
        open_to=open_to,
        with_extra=fields == "extra",
    )
    trades, next_after = backtests.list_trades(
        session, backtest_id, query, after=after, limit=limit
    )
    return TradePage(items=[TradeOut.model_validate(t) for t in trades], next_after=next_after)


@router.get(
    "/backtests/{backtest_id}/daily",
    summary="Per UTC day of the trades' close",
    responses=error_responses(401, 404, 422, 503),
)
def list_daily(backtest_id: uuid.UUID, session: SessionDep) -> DailyPage:
    days = backtests.list_daily(session, backtest_id)
    return DailyPage(items=[DailyOut.model_validate(d) for d in days])


@router.delete(
    "/backtests/{backtest_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a backtest with its trades, parameters, days and raw files",
    responses=error_responses(401, 403, 404, 422, 503),
)
def delete_backtest(backtest_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> None:
    """Its jobs stay, with `backtest_id` null."""
    backtests.delete_backtest(session, backtest_id, open_storage(settings))
