"""Ingestion jobs: the unit of work around an ingest (`lifecycle`), the async queue, leases
and the workers that run queued ingests.

The transaction is owned here, not in `ingest`. Imports `ingest`, `analytics` and the
foundations; only the edges import it.
"""

from backtestdb.jobs.lifecycle import refresh_metrics, run_ingest
from backtestdb.jobs.records import create_job, get_job, latest_job, list_jobs, record_failure

__all__ = [
    "create_job",
    "get_job",
    "latest_job",
    "list_jobs",
    "record_failure",
    "refresh_metrics",
    "run_ingest",
]
