"""A batch's backtests ingested by several worker processes (PostgreSQL only).

The per-row work of an ingest is Python, bound to one core by the interpreter's lock; a
batch of many small backtests is many independent transactions, so processes (started
once per batch, each with its own connection pool, never one per backtest) use the other
cores. Workers ignore SIGINT: the parent decides, on the first Ctrl-C, to hand out no
more backtests and wait for those under way. SQLite takes one writer at a time, so it
gets no pool.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from backtestdb.batches.discovery import FoundBacktest
from backtestdb.batches.outcomes import BatchItem
from backtestdb.ingest import IngestRequest

PR_SET_PDEATHSIG = 1  # prctl(2)
#: Backtests each worker should have at least for a pool to be worth its start-up.
MIN_PER_WORKER = 4


def default_workers(dialect: str, backtests: int) -> int:
    if dialect != "postgresql":
        return 1
    workers = min(os.cpu_count() or 1, 4)
    return workers if backtests >= workers * MIN_PER_WORKER else 1


def ingest_in_processes(
    found: Sequence[FoundBacktest],
    requests: Sequence[IngestRequest | None],
    run_ids: Sequence[uuid.UUID | None],
    workers: int,
    *,
    done: Callable[[int, BatchItem], None],
    should_stop: Callable[[], bool],
) -> tuple[list[BatchItem], bool]:
    """Each backtest's item in `found`'s order, and whether the batch was stopped. Only
    `workers` backtests are ever handed out ahead, so a stop leaves the rest untouched."""
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads
    items: dict[int, BatchItem] = {}
    pending: dict[Future[BatchItem], int] = {}
    queue = iter(range(len(found)))
    stopped = False
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_start, initargs=(os.getpid(),)
    ) as pool:
        while True:
            while not stopped and len(pending) < workers:
                if should_stop():
                    stopped = True
                    break
                index = next(queue, None)
                if index is None:
                    break
                job = pool.submit(ingest_one, found[index], requests[index], run_ids[index])
                pending[job] = index
            if not pending:
                break
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                items[index] = future.result()
                done(index, items[index])
    interrupted = stopped and len(items) < len(found)
    return [items[i] for i in sorted(items)], interrupted


def _worker_start(parent: int) -> None:
    """Ctrl-C is the parent's to handle; and a worker dies with its parent (Linux: the
    kernel kills it), so a killed batch leaves no ingest running that would commit after
    it: the current backtest's transaction is rolled back, as in one process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # it died before the call: nobody is waiting
            os._exit(1)


def ingest_one(
    found: FoundBacktest, request: IngestRequest | None, run_id: uuid.UUID | None
) -> BatchItem:
    """In a worker: one backtest, on the worker's own engine (made once, at first use)."""
    from backtestdb.batches.runner import ingested  # the runner imports this module
    from backtestdb.config import get_settings
    from backtestdb.db import get_engine, session_factory

    return ingested(session_factory(get_engine()), get_settings(), found, request, run_id, None)
