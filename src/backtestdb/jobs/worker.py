"""Workers for async ingests: claim a job, keep its lease alive, run the ingest, clean up.

`Worker` runs `concurrency` threads; the API starts one in-process (INPROCESS_WORKER) and
`backtestdb worker` runs them standalone. Each thread claims one job at a time (`leases`),
copies its raw files from storage into a temporary folder, and calls the same
`lifecycle.run_ingest` the sync path calls, for the existing job. A heartbeat thread renews the
lease every third of JOB_LEASE_SECONDS while the ingest runs. Before each claim, idle or not,
a thread fails the jobs whose process is gone: a sync ingest's at once, a worker's once it
was lost twice (`leases.fail_stopped`, `leases.fail_lost`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.db import transaction
from backtestdb.errors import BacktestdbError, DatabaseNotReady
from backtestdb.jobs import leases, lifecycle, queue, records
from backtestdb.jobs.heartbeat import Heartbeat
from backtestdb.jobs.leases import LeaseLost
from backtestdb.models import IngestionJob
from backtestdb.storage import open_storage

logger = logging.getLogger(__name__)
FactoryGetter = Callable[[], sessionmaker[Session]]
#: Wait after the database failed to answer, before trying again.
RETRY_SECONDS = 5.0


def new_worker_id(index: int) -> str:
    # Host and pid say where it ran; the random part keeps a restarted container (same
    # host name, same pid 1) from ever passing for its dead predecessor.
    return f"{socket.gethostname()[:180]}:{os.getpid()}:{index}:{uuid.uuid4().hex[:8]}"


class Worker:
    """`concurrency` threads claiming and running jobs until `stop()`."""

    def __init__(self, settings: Settings, factory: FactoryGetter, concurrency: int = 1) -> None:
        self.settings = settings
        self.factory = factory
        self.storage = open_storage(settings)
        self.ids = [new_worker_id(n) for n in range(concurrency)]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for worker_id in self.ids:
            # Daemon: a process that must exit does not wait for a long ingest; its lease
            # then expires and another worker takes the job again.
            thread = threading.Thread(
                target=self._loop, args=(worker_id,), name=f"worker-{worker_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was queued: look now rather than at the next poll."""
        self._wake.set()

    def request_stop(self) -> None:
        """Claim nothing more (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def wait_for_stop(self, timeout: float) -> bool:
        return self._stop.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Claim nothing more; wait up to `timeout` for the running jobs to end."""
        self.request_stop()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self, worker_id: str) -> None:
        logger.info("worker %s started", worker_id)
        while not self._stop.is_set():
            try:
                ran = self.run_once(worker_id)
            except (DatabaseNotReady, OperationalError) as error:
                logger.warning("worker %s: database unavailable: %s", worker_id, error)
                self._stop.wait(RETRY_SECONDS)
                continue
            except Exception:
                # A bug in one job (already recorded as failed on it by run_ingest) must
                # not end the worker for every later job; the traceback is logged in full.
                logger.exception("worker %s: job ended with an internal error", worker_id)
                self._stop.wait(self.settings.worker_poll_seconds)
                continue
            if not ran:
                self._wake.wait(self.settings.worker_poll_seconds)
                self._wake.clear()
        logger.info("worker %s stopped", worker_id)

    def run_once(self, worker_id: str) -> bool:
        """Sweep the lost jobs, then claim and run one job; False when there was none to
        claim. The loop calls it every WORKER_POLL_SECONDS while idle, and between jobs."""
        factory = self.factory()
        with transaction(factory) as session:
            stopped = leases.fail_stopped(session)
            lost = leases.fail_lost(session)
            job = leases.claim(session, worker_id, self.settings.job_lease_seconds)
        for job_id in stopped:
            logger.warning("job %s failed: %s", job_id, leases.SYNC_LOST)
        for job_id in lost:
            logger.warning("job %s failed: %s", job_id, leases.LOST_TWICE)
            self.storage.remove_uploads(job_id)
        if job is None:
            return False
        logger.info("worker %s runs job %s (attempt %d)", worker_id, job.id, job.attempts)
        with Heartbeat(factory, job.id, worker_id, self.settings.job_lease_seconds):
            self.process(factory, job, worker_id)
        return True

    def process(self, factory: sessionmaker[Session], job: IngestionJob, worker_id: str) -> None:
        owned = True
        try:
            with tempfile.TemporaryDirectory(prefix="job-") as folder:
                try:
                    request = queue.load_request(job, self.storage, Path(folder))
                except (OSError, BacktestdbError) as error:
                    message = f"cannot read the uploaded files from storage: {error}"
                    owned = records.record_failure(factory, job.id, message, None, worker_id)
                    return
                lifecycle.run_ingest(factory, request, self.settings, job.id, worker_id)
        except BacktestdbError as error:
            logger.info("job %s failed: %s", job.id, error.message)  # recorded on the job
        except LeaseLost as error:
            owned = False
            logger.warning("worker %s gave up job %s: %s", worker_id, job.id, error)
        finally:
            # Done with (completed or failed): its uploads go. A job another worker holds
            # now keeps them for that worker.
            if owned:
                self.storage.remove_uploads(job.id)


def run_workers(settings: Settings, factory: FactoryGetter, concurrency: int) -> None:
    """`backtestdb worker`: run until SIGTERM or SIGINT, then let the running jobs end."""
    worker = Worker(settings, factory, concurrency)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping after the running jobs", signum)
        worker.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    # The main thread waits in short steps, so signal handlers run promptly.
    while not worker.wait_for_stop(0.5):
        pass
    worker.stop()
