"""Stored backtests: the list's filters and sort, one backtest, its trades and days, delete.

The CLI, the API and the dashboard read through here. Imports the foundations only
(models, errors, storage). `deletion` also keeps a run's pass count.
"""

from backtestdb.backtests.deletion import delete_backtest, recount_passes
from backtestdb.backtests.service import (
    INTEGER_METRICS,
    MAX_AMOUNT,
    MAX_INT,
    METRIC_COLUMNS,
    PARAMETER_PREFIX,
    SORT_COLUMNS,
    BacktestQuery,
    TradeQuery,
    conditions,
    get_backtest,
    list_backtests,
    list_daily,
    list_trades,
    require_backtest,
    search_backtests,
    sort_order,
)

__all__ = [
    "INTEGER_METRICS",
    "MAX_AMOUNT",
    "MAX_INT",
    "METRIC_COLUMNS",
    "PARAMETER_PREFIX",
    "SORT_COLUMNS",
    "BacktestQuery",
    "TradeQuery",
    "conditions",
    "delete_backtest",
    "get_backtest",
    "list_backtests",
    "list_daily",
    "list_trades",
    "recount_passes",
    "require_backtest",
    "search_backtests",
    "sort_order",
]
