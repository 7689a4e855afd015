"""A batch ingested: each backtest in its own transaction and with its own job, one after
the other on the caller's engine (no process start nor reconnect per backtest), with a
row per backtest for the table the CLI prints and the API answers.

A failed backtest does not stop the batch; `should_stop` (the CLI's Ctrl-C) stops it
between two backtests. Run it again and what was stored is "already stored": the rest is
ingested, into the same runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import jobs
from backtestdb.batches.batch_runs import names_of, runs_for
from backtestdb.batches.discovery import FoundBacktest
from backtestdb.batches.outcomes import BatchItem, BatchOptions, BatchResult
from backtestdb.batches.processes import ingest_in_processes
from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError
from backtestdb.ingest import IngestOutcome, IngestRequest
from backtestdb.jobs import queue
from backtestdb.models import IngestionJob, Run
from backtestdb.storage import Role, SourceFile, open_storage


class BatchProgress(Protocol):
    def start(self, found: FoundBacktest, index: int) -> None: ...
    def advance(self, trades: int, bytes_read: int) -> None: ...
    def done(self, item: BatchItem) -> None: ...


def ingest_batch(
    factory: sessionmaker[Session],
    settings: Settings,
    found: Sequence[FoundBacktest],
    options: BatchOptions,
    *,
    progress: BatchProgress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    workers: int = 1,
) -> BatchResult:
    """Ingest every backtest found, each in its own transaction; a row for each. With
    `workers` > 1, by that many processes (`processes`), else in this one."""
    requests = [request_for(f, options) for f in found]
    run_ids = runs_for(factory, found, requests, options.run)
    result = BatchResult(total=len(found))
    if workers > 1:

        def done(index: int, item: BatchItem) -> None:
            if progress is not None:
                progress.done(item)

        result.items, result.interrupted = ingest_in_processes(
            found, requests, run_ids, workers, done=done, should_stop=should_stop
        )
        result.runs = runs_touched(factory, run_ids)
        return result
    for index, (backtest, request, run_id) in enumerate(zip(found, requests, run_ids, strict=True)):
        if should_stop():
            result.interrupted = True
            break
        if progress is not None:
            progress.start(backtest, index)
        item = ingested(factory, settings, backtest, request, run_id, progress)
        result.items.append(item)
        if progress is not None:
            progress.done(item)
    result.runs = runs_touched(factory, run_ids)
    return result


def queue_batch(
    factory: sessionmaker[Session],
    settings: Settings,
    found: Sequence[FoundBacktest],
    options: BatchOptions,
) -> BatchResult:
    """One pending job per backtest (`?mode=async`); the runs are made now."""
    requests = [request_for(f, options) for f in found]
    run_ids = runs_for(factory, found, requests, options.run)
    storage = open_storage(settings)
    result = BatchResult(total=len(found))
    for backtest, request, run_id in zip(found, requests, run_ids, strict=True):
        if request is None:
            result.items.append(BatchItem(backtest.label, "failed", reason=backtest.problem))
            continue
        request.run_id = run_id
        job = queue.enqueue(factory, storage, request)
        result.items.append(
            BatchItem(backtest.label, "queued", job_id=job.id, run_id=run_id,
                      pass_number=backtest.pass_number)
        )  # fmt: skip
    result.runs = runs_touched(factory, run_ids)
    return result


def ingested(
    factory: sessionmaker[Session],
    settings: Settings,
    found: FoundBacktest,
    request: IngestRequest | None,
    run_id: uuid.UUID | None,
    progress: BatchProgress | None,
) -> BatchItem:
    if request is None:
        return BatchItem(found.label, "failed", reason=found.problem)
    request.run_id = run_id
    if progress is not None:
        request.on_progress = progress.advance
    try:
        job, outcome = jobs.run_ingest(factory, request, settings)
    except BacktestdbError as error:
        return BatchItem(
            found.label, "failed", job_id=error.job_id, reason=failure_text(error),
            run_id=run_id, pass_number=found.pass_number,
        )  # fmt: skip
    return item_of(found, job, outcome)


def item_of(found: FoundBacktest, job: IngestionJob, outcome: IngestOutcome) -> BatchItem:
    backtest = outcome.backtest
    return BatchItem(
        found.label,
        "ingested" if outcome.created else "already stored",
        backtest_id=backtest.id,
        job_id=job.id,
        trades=outcome.trades,
        run_id=backtest.run_id,
        pass_number=backtest.pass_number,
        net_profit=backtest.net_profit,
    )


def failure_text(error: BacktestdbError) -> str:
    """The error's message and, for refused rows, the first few of them (the job has all)."""
    shown = [str(e) for e in error.errors[:3] if str(e) not in error.message]
    more = f" (+{error.error_count - len(shown)} more: backtestdb jobs {error.job_id})"
    tail = more if error.error_count > len(shown) and shown else ""
    return "; ".join([error.message, *shown]) + tail


def request_for(found: FoundBacktest, options: BatchOptions) -> IngestRequest | None:
    """The ingest of one found backtest; None when its folder cannot be ingested as is."""
    if found.problem is not None:
        return None

    def source(role: Role, path: Path | None) -> SourceFile | None:
        return SourceFile(role, path.name, path) if path is not None else None

    files: dict[Role, SourceFile | None] = {
        "report": source("report", found.report),
        "history": source("history", found.history),
        "events": source("events", found.events),
        "parameters": source("parameters", found.parameters),
    }
    return IngestRequest(
        report=files["report"],
        csv=files["history"],
        events=files["events"],
        parameters=files["parameters"],
        symbol=options.symbol,
        name=name_of(found),
        description=options.description,
        initial_balance=options.initial_balance,
        on_error=options.on_error,
        force=options.force,
        pass_number=found.pass_number,
    )


def name_of(found: FoundBacktest) -> str | None:
    """A pass is "MACross EURUSD h1 pass 17"; a History CSV named by cTrader names its
    backtest (the ingest reads it: None); else the folder, "MACross/EURUSD h1/Backtesting"."""
    if found.pass_number is not None:
        return names_of(found).of_pass(found.pass_number)
    if found.history is not None:
        return None
    return found.label if found.label not in (".", "") else Path(found.folder).name or None


def runs_touched(
    factory: sessionmaker[Session], run_ids: Sequence[uuid.UUID | None]
) -> list[dict[str, object]]:
    wanted = list(dict.fromkeys(r for r in run_ids if r is not None))
    if not wanted:
        return []
    with factory() as session:
        found = {run.id: run for run in session.scalars(select(Run).where(Run.id.in_(wanted)))}
    return [
        {"id": str(run.id), "name": run.name, "kind": run.kind, "pass_count": run.pass_count}
        for run_id in wanted
        if (run := found.get(run_id)) is not None
    ]
