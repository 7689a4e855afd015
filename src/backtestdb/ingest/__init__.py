"""The ingest pipeline: parsed rows validated, derived (balances, drawdowns, summary, days,
metric set) and written, in one pass. `pipeline.ingest` flushes and never commits.

`writers/` holds the PostgreSQL COPY writer and the portable batch writer. Imports
`analytics` (the metric set) and the foundations; `jobs` and the edges import it.
"""

from backtestdb.ingest.pipeline import content_hash, find_by_hash, ingest
from backtestdb.ingest.requests import IngestOutcome, IngestRequest, OnError

__all__ = ["IngestOutcome", "IngestRequest", "OnError", "content_hash", "find_by_hash", "ingest"]
