"""Analytics routes: metrics, breakdowns, equity curve, comparison, exports, text summary.

Exports (`download`) read their first chunk before the answer starts, so an unknown
backtest or a timed-out read is a proper 404 or 503; the rest is read one batch at a time
in a worker thread, at most EXPORT_CONNECTIONS at once, on the exports' own pool. Between
batches an export holds no connection (analytics/export.py): a client that reads slowly,
stops or disconnects, or a server shutting down, leaves nothing open in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse

from backtestdb import backtests
from backtestdb.analytics import breakdowns, compare, current_metrics, equity, export
from backtestdb.analytics.schemas import (
    BreakdownOut,
    ComparisonOut,
    EquityOut,
    EquityPointOut,
    GroupOut,
    MetricsOut,
)
from backtestdb.analytics.summary_text import summary_text
from backtestdb.api.deps import (
    NO_NUL,
    ApiKeyDep,
    Exports,
    ExportsDep,
    QueryTime,
    SessionDep,
    SingleQueryDep,
)
from backtestdb.api.openapi import LIST_FILTERS, SORT_SCHEMA, error_responses

router = APIRouter(prefix="/api/v1", tags=["analytics"], dependencies=[ApiKeyDep, SingleQueryDep])
ERRORS = error_responses(401, 404, 422, 503)


def content(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    schema = (
        {"type": "string", "format": "binary"} if "parquet" in media_type else {"type": "string"}
    )
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


async def download(
    exports: Exports, chunks: Iterator[Any], media_type: str, filename: str
) -> StreamingResponse:
    """Read the first chunk now (its errors are the answer), then stream the rest."""
    first = await anyio.to_thread.run_sync(next_chunk, chunks, limiter=exports.limiter)
    return StreamingResponse(
        streamed(first, chunks, exports.limiter),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def next_chunk(chunks: Iterator[Any]) -> Any | None:
    # None ends the stream: StopIteration cannot cross from the worker thread.
    return next(chunks, None)


async def streamed(
    first: Any | None, chunks: Iterator[Any], limiter: anyio.CapacityLimiter
) -> AsyncIterator[Any]:
    chunk = first
    while chunk is not None:
        yield chunk
        # A disconnect cancels this wait, not a read under way: a batch always finishes
        # in its thread and gives its connection back.
        chunk = await anyio.to_thread.run_sync(next_chunk, chunks, limiter=limiter)


@router.get(
    "/backtests.csv",
    summary="The backtest list with every summary metric, as CSV",
    response_class=StreamingResponse,
    responses={**content("text/csv", "One row per backtest"), **error_responses(401, 422, 503)},
    openapi_extra=LIST_FILTERS,
)
async def backtests_csv(
    request: Request,
    exports: ExportsDep,
    sort: Annotated[
        str, Query(description="As for the list", json_schema_extra=SORT_SCHEMA)
    ] = "-created_at",
    symbol: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    name: Annotated[str | None, Query(max_length=255, pattern=NO_NUL)] = None,
    created_from: Annotated[QueryTime | None, Query(description="UTC when no offset")] = None,
    created_to: Annotated[QueryTime | None, Query(description="UTC when no offset")] = None,
) -> StreamingResponse:
    """The same filters as `GET /api/v1/backtests`, without paging."""
    query = backtests.BacktestQuery(
        sort=sort, symbol=symbol, name=name, created_from=created_from, created_to=created_to
    )
    query.add_params(request.query_params.multi_items())
    chunks = export.backtests_csv(exports.factory, query)
    return await download(exports, chunks, "text/csv", "backtests.csv")


@router.get(
    "/backtests/{backtest_id}/metrics",
    summary="The full metric set (docs/metrics.md)",
    responses=ERRORS,
)
def get_metrics(backtest_id: uuid.UUID, session: SessionDep) -> MetricsOut:
    backtest = backtests.get_backtest(session, backtest_id)
    return MetricsOut(backtest_id=backtest_id, metrics=current_metrics(session, backtest))


@router.get(
    "/backtests/{backtest_id}/stats",
    summary="Trades, wins, net, average and profit factor per group",
    responses=ERRORS,
)
def get_stats(
    backtest_id: uuid.UUID,
    session: SessionDep,
    group_by: Annotated[
        breakdowns.GroupBy, Query(description="Times are the trades' close, in UTC")
    ] = "month",
) -> BreakdownOut:
    groups = breakdowns.breakdown(session, backtest_id, group_by)
    return BreakdownOut(
        backtest_id=backtest_id,
        group_by=group_by,
        items=[GroupOut.model_validate(g) for g in groups],
    )


@router.get(
    "/backtests/{backtest_id}/equity",
    summary="Balance and drawdown over time, downsampled for charts",
    responses=ERRORS,
)
def get_equity(
    backtest_id: uuid.UUID,
    session: SessionDep,
    points: Annotated[
        int,
        Query(
            ge=equity.MIN_POINTS,
            le=equity.MAX_POINTS,
            description="At most this many points; each bucket keeps its extremes",
        ),
    ] = 1000,
) -> EquityOut:
    backtest = backtests.get_backtest(session, backtest_id)
    curve = equity.equity_curve(session, backtest, points)
    deepest, deepest_percent = equity.max_drawdown(curve.points)
    return EquityOut(
        backtest_id=backtest_id,
        initial_balance=backtest.initial_balance,
        total_points=curve.total_points,
        max_drawdown=deepest,
        max_drawdown_percent=deepest_percent,
        points=[EquityPointOut.model_validate(p.as_dict()) for p in curve.points],
    )


@router.get(
    "/backtests/{backtest_id}/trades.csv",
    summary="All trades as CSV, in file order (streamed)",
    response_class=StreamingResponse,
    responses={**content("text/csv", "One row per trade"), **ERRORS},
)
async def trades_csv(backtest_id: uuid.UUID, exports: ExportsDep) -> Any:
    chunks = export.trades_csv(exports.factory, backtest_id)
    return await download(exports, chunks, "text/csv", f"trades-{backtest_id}.csv")


@router.get(
    "/backtests/{backtest_id}/trades.parquet",
    summary="All trades as Parquet, in file order (streamed, one row group per 10,000)",
    response_class=StreamingResponse,
    responses={**content("application/vnd.apache.parquet", "A Parquet file"), **ERRORS},
)
async def trades_parquet(backtest_id: uuid.UUID, exports: ExportsDep) -> Any:
    chunks = export.trades_parquet(exports.factory, backtest_id)
    media_type = "application/vnd.apache.parquet"
    return await download(exports, chunks, media_type, f"trades-{backtest_id}.parquet")


@router.get(
    "/backtests/{backtest_id}/summary.txt",
    summary="A short plain-English paragraph of the key figures",
    response_class=PlainTextResponse,
    responses={**content("text/plain", "The paragraph"), **ERRORS},
)
def get_summary_text(backtest_id: uuid.UUID, session: SessionDep) -> str:
    return summary_text(session, backtests.get_backtest(session, backtest_id))


@router.get(
    "/compare",
    summary="Backtests side by side: metrics, the best of each, differing parameters",
    responses=ERRORS,
)
def get_comparison(
    session: SessionDep,
    ids: Annotated[
        str,
        Query(
            pattern=compare.IDS_PATTERN,
            description="2 to 20 backtest ids, comma-separated",
            examples=["6f1f8e0a-3c9e-4d7b-8a51-0c2d4e6f8a10,0b7f3c1e-5d0a-4f55-9a51-2f1c1d2b9e11"],
        ),
    ],
) -> ComparisonOut:
    return ComparisonOut.of(compare.compare(session, compare.parse_ids(ids)))
