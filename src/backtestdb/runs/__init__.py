"""Runs: backtests ingested together (an optimisation's passes, a named batch).

`membership` finds or makes a batch's run and keeps its pass count and description in
step; `service` lists runs and their passes (typed parameter values) and deletes a run
with its backtests; `analysis` computes a metric's sensitivity to one or two parameters
and each pass's robustness (its metric beside its grid neighbours' mean); `schemas` are
their output shapes. Imports `backtests` (the list's filters and sort) and the foundations.
"""

from backtestdb.runs.analysis import (
    METRICS,
    Cell,
    Robustness,
    Sensitivity,
    robustness,
    sensitivity,
)
from backtestdb.runs.membership import attach, run_for_batch
from backtestdb.runs.service import (
    PASS_SORT,
    RUN_SORT_COLUMNS,
    PassRow,
    RunParameters,
    Value,
    checked_metric,
    count_passes,
    delete_run,
    get_run,
    list_passes,
    list_runs,
    run_parameters,
    top_passes,
    typed_value,
)

__all__ = [
    "METRICS",
    "PASS_SORT",
    "RUN_SORT_COLUMNS",
    "Cell",
    "PassRow",
    "Robustness",
    "RunParameters",
    "Sensitivity",
    "Value",
    "attach",
    "checked_metric",
    "count_passes",
    "delete_run",
    "get_run",
    "list_passes",
    "list_runs",
    "robustness",
    "run_for_batch",
    "run_parameters",
    "sensitivity",
    "top_passes",
    "typed_value",
]
