"""Analytics over stored backtests: the full metric set, reconciliation with the report,
breakdowns, equity curve, comparison, export and a text summary.

Imports `backtestdb.backtests` and the foundations, never the edges (api, web, cli).
"""

from backtestdb.analytics.store import current_metrics, refresh, store, unstorable_figures

__all__ = ["current_metrics", "refresh", "store", "unstorable_figures"]
