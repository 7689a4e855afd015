"""Batches: many backtests from folders, trees and zip archives, each ingested in its own
transaction, optionally as one run.

`discovery` finds the backtests in a tree (files recognised by content as well as name),
`archives` unpacks a zip safely under DATA_DIR/tmp, `runner` ingests them one by one
and reports a row per backtest. Imports `jobs` (one job per backtest), `runs` and the
foundations; the CLI, the API and the dashboard call it.
"""

from backtestdb.batches.discovery import FoundBacktest, discover
from backtestdb.batches.outcomes import BatchItem, BatchOptions, BatchResult
from backtestdb.batches.runner import BatchProgress, ingest_batch, queue_batch

__all__ = [
    "BatchItem",
    "BatchOptions",
    "BatchProgress",
    "BatchResult",
    "FoundBacktest",
    "discover",
    "ingest_batch",
    "queue_batch",
]
