"""The dashboard's runs: the list, a run's page (its passes, the metric against one or two
parameters, each top pass beside its neighbours) and "compare the top N"."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from backtestdb.api.deps import SessionDep
from backtestdb.errors import BacktestdbError, InvalidRequest
from backtestdb.models import Run
from backtestdb.runs import analysis, service
from backtestdb.web import run_views, views
from backtestdb.web.routes import MAX_COMPARE, error_page, parse_id
from backtestdb.web.templating import render

#: Included into `routes.router`, which gives the /ui prefix and the API key check.
router = APIRouter()


@router.get("/runs")
def runs_page(request: Request, session: SessionDep) -> Response:
    state = run_views.read_runs_list(request.query_params.multi_items())
    found: list[Run] = []
    total, error = 0, None
    try:
        found, total = service.list_runs(
            session, limit=state.limit, offset=state.offset, sort=state.sort, name=state.name
        )
    except InvalidRequest as problem:
        error = views.describe(problem)
    context = {
        "title": "Runs",
        "state": state,
        "runs": found,
        "page": views.page_of(state.offset, state.limit, len(found), total),
        "error": error,
        "columns": run_views.RUN_COLUMNS,
        "limits": views.LIMITS,
    }
    return render(request, "runs.html", context, 422 if error else 200)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, session: SessionDep) -> Response:
    try:
        run = service.get_run(session, parse_id(run_id, "run"))
    except BacktestdbError as error:
        return error_page(request, error)
    names = service.run_parameters(session, run.id)
    state = run_views.read_run(
        f"/ui/runs/{run.id}", request.query_params.multi_items(), names.names, names.varying
    )
    passes: list[service.PassRow] = []
    total, problems = 0, [state.error] if state.error else []
    try:
        passes, total = service.list_passes(
            session, run.id, state.query, limit=state.limit, offset=state.offset
        )
    except InvalidRequest as problem:
        problems.append(views.describe(problem))
    context = {
        "title": run.name,
        "run": run,
        "state": state,
        "parameters": names,
        "constants": {n: passes[0].parameters.get(n) for n in names.constant} if passes else {},
        "passes": passes,
        "backtest_count": service.count_passes(session, run.id),
        "page": views.page_of(state.offset, state.limit, len(passes), total),
        "error": "; ".join(problems) or None,
        "pass_metrics": run_views.PASS_METRICS,
        "sort_choices": run_views.sort_choices(),
        "metrics": analysis.METRICS,
        "limits": views.LIMITS,
        "max_compare": MAX_COMPARE,
        **analysis_context(session, run.id, state),
    }
    return render(request, "run.html", context, 422 if problems else 200)


def analysis_context(
    session: Session, run_id: uuid.UUID, state: run_views.RunState
) -> dict[str, Any]:
    """The chart's cells (one parameter), the heatmap (two) and the robustness rows."""
    metric, x, y = state.metric, state.x, state.y
    curve = analysis.sensitivity(session, run_id, [x], metric).cells if x else []
    grid: list[run_views.GridRow] = []
    columns: list[service.Value] = []
    if x and y:
        pairs = analysis.sensitivity(session, run_id, [x, y], metric).cells
        across = analysis.sensitivity(session, run_id, [y], metric).cells
        columns = [c.values.get(y) for c in across]
        grid, columns = run_views.parameter_grid(pairs, x, y, columns)
    robust = analysis.robustness(session, run_id, metric)[: run_views.ROBUST_ROWS]
    return {
        "curve": curve,
        "curve_numeric": run_views.is_numeric(curve, x) if x else False,
        "grid": grid,
        "grid_columns": columns,
        "robust": robust,
        "spikes": run_views.lone_spikes(robust),
    }


@router.get("/runs/{run_id}/compare")
def compare_top(
    request: Request, run_id: str, session: SessionDep, metric: str = "net_profit", top: str = ""
) -> Response:
    """The compare page with the run's `top` best passes by `metric`."""
    count = run_views.read_top(top)
    try:
        ids = service.top_passes(session, parse_id(run_id, "run"), metric, count)
        if len(ids) < 2:
            raise InvalidRequest("Compare needs at least 2 passes with this metric")
    except BacktestdbError as error:
        return error_page(request, error)
    query = urlencode([("ids", str(i)) for i in ids])
    return RedirectResponse(f"/ui/compare?{query}", status_code=303)
