"""Run routes: the run list, one run with its passes, sensitivity, robustness, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import StringConstraints

from backtestdb import backtests, runs
from backtestdb.api.deps import NO_NUL, ApiKeyDep, SessionDep, SettingsDep, SingleQueryDep
from backtestdb.api.openapi import LIST_FILTERS, SORT_SCHEMA, error_responses
from backtestdb.errors import InvalidRequest, RowError
from backtestdb.runs.schemas import (
    PassOut,
    RobustnessOut,
    RunDeleted,
    RunDetail,
    RunOut,
    RunPage,
    SensitivityOut,
)
from backtestdb.storage import open_storage

router = APIRouter(prefix="/api/v1", tags=["runs"], dependencies=[ApiKeyDep])
ERRORS = error_responses(401, 404, 422, 503)
RUN_SORT_SCHEMA: dict[str, Any] = {
    "enum": [*runs.RUN_SORT_COLUMNS, *(f"-{c}" for c in runs.RUN_SORT_COLUMNS)]
}
METRIC_SCHEMA: dict[str, Any] = {"enum": list(runs.METRICS)}
Metric = Annotated[
    str, Query(description="A numeric summary column", json_schema_extra=METRIC_SCHEMA)
]


def single_values_but_parameter(request: Request) -> None:
    """As `SingleQueryDep`, except `parameter`, which is given once or twice."""
    keys = [key for key, _ in request.query_params.multi_items() if key != "parameter"]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        errors = [RowError("query", "given more than once", column=key) for key in repeated]
        raise InvalidRequest(f"Query parameter {repeated[0]!r} given more than once", errors)


@router.get(
    "/runs",
    summary="List runs (optimisations and named batches)",
    responses=error_responses(401, 422, 503),
    dependencies=[SingleQueryDep],
)
def list_runs(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=backtests.MAX_INT)] = 0,
    sort: Annotated[
        str,
        Query(
            description="A run column, `-` in front for descending",
            json_schema_extra=RUN_SORT_SCHEMA,
        ),
    ] = "-created_at",
    name: Annotated[
        str | None,
        Query(max_length=255, pattern=NO_NUL, description="Case-insensitive part of the name"),
    ] = None,
) -> RunPage:
    items, total = runs.list_runs(session, limit=limit, offset=offset, sort=sort, name=name)
    return RunPage(
        items=[RunOut.model_validate(r) for r in items], total=total, limit=limit, offset=offset
    )


@router.get(
    "/runs/{run_id}",
    summary="One run with its passes, filtered and sorted",
    responses=ERRORS,
    openapi_extra=LIST_FILTERS,
    dependencies=[SingleQueryDep],
)
def get_run(
    run_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=backtests.MAX_INT)] = 0,
    sort: Annotated[
        str,
        Query(
            description="A summary column, `-` in front for descending",
            json_schema_extra=SORT_SCHEMA,
        ),
    ] = runs.PASS_SORT,
    name: Annotated[
        str | None,
        Query(max_length=255, pattern=NO_NUL, description="Case-insensitive part of a pass's name"),
    ] = None,
) -> RunDetail:
    """Besides the parameters below: `min_<metric>` / `max_<metric>` for every numeric
    summary column, and `param.<Name>=<value>` for a parameter's exact value, as for
    `GET /api/v1/backtests`."""
    run = runs.get_run(session, run_id)
    query = backtests.BacktestQuery(sort=sort, name=name)
    query.add_params(request.query_params.multi_items())
    passes, total = runs.list_passes(session, run_id, query, limit=limit, offset=offset)
    names = runs.run_parameters(session, run_id)
    return RunDetail(
        run=RunOut.model_validate(run),
        passes=[PassOut.of(p) for p in passes],
        total=total,
        limit=limit,
        offset=offset,
        parameters=names.names,
        varying_parameters=names.varying,
    )


@router.get(
    "/runs/{run_id}/sensitivity",
    summary="A metric's count, mean, min and max by one parameter's values, or two's",
    responses=ERRORS,
    dependencies=[Depends(single_values_but_parameter)],
)
def get_sensitivity(
    run_id: uuid.UUID,
    session: SessionDep,
    parameter: Annotated[
        list[Annotated[str, StringConstraints(max_length=255, pattern=NO_NUL)]],
        Query(
            min_length=1,
            max_length=2,
            description="A parameter's name; give it twice for the grid over two",
        ),
    ],
    metric: Metric = "net_profit",
) -> SensitivityOut:
    return SensitivityOut.of(runs.sensitivity(session, run_id, parameter, metric))


@router.get(
    "/runs/{run_id}/robustness",
    summary="Each pass's metric beside the mean over its neighbours in the grid",
    responses=ERRORS,
    dependencies=[SingleQueryDep],
)
def get_robustness(
    run_id: uuid.UUID, session: SessionDep, metric: Metric = "net_profit"
) -> RobustnessOut:
    """A neighbour is a pass whose parameters are all equal but one, and that one is one
    step away in the sorted values the run holds of it."""
    return RobustnessOut.of(run_id, metric, runs.robustness(session, run_id, metric))


@router.delete(
    "/runs/{run_id}",
    summary="Delete a run with all its backtests (their trades, parameters, raw files)",
    responses=error_responses(401, 403, 404, 422, 503),
    dependencies=[SingleQueryDep],
)
def delete_run(run_id: uuid.UUID, session: SessionDep, settings: SettingsDep) -> RunDeleted:
    """Their jobs stay, with `backtest_id` null."""
    count = runs.delete_run(session, run_id, open_storage(settings))
    return RunDeleted(deleted=run_id, backtests=count)
