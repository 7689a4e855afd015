"""The lease heartbeat: one thread that renews a running job's lease while its ingest works.

Used alike by a worker for the job it claimed and by a sync ingest (CLI or API request) for
the job it created: while the heartbeat beats the job is this process's; once the process
dies the beats stop, the lease runs out and any worker's sweep ends the job (`leases`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
from typing import Self

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.db import transaction
from backtestdb.jobs import leases

logger = logging.getLogger(__name__)


class Heartbeat:
    """Renews a job's lease every third of the lease, in its own thread and connection."""

    def __init__(
        self, factory: sessionmaker[Session], job_id: uuid.UUID, worker_id: str, lease: float
    ) -> None:
        self.factory = factory
        self.job_id = job_id
        self.worker_id = worker_id
        self.lease = lease
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.lease / 3):
            try:
                with transaction(self.factory) as session:
                    renewed = leases.renew(session, self.job_id, self.worker_id, self.lease)
            except OperationalError as error:
                # Briefly down, or busy: the next beat tries again. On SQLite the ingest
                # itself holds the one write lock until it commits (so no sweep can fail its
                # job meanwhile either): expected, not worth a warning on a CLI's stderr.
                busy = isinstance(error.orig, sqlite3.OperationalError)
                logger.log(logging.INFO if busy else logging.WARNING,
                           "job %s: lease not renewed: %s", self.job_id, error.orig)  # fmt: skip
                continue
            if not renewed:
                # Finished meanwhile, or lost (another worker, or the sweep that failed it):
                # the fence then stops the ingest's writes.
                return
