"""Async ingests in and out of the queue: what the API stores, what a worker reads back.

The uploaded files go to the storage location first, then the job row (pending) records
the request: file roles, the user's file names, the storage keys and the options. Any
replica that reaches the same database and storage can then run the job.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args

from sqlalchemy.orm import Session, sessionmaker

from backtestdb.db import transaction
from backtestdb.errors import BacktestdbError
from backtestdb.ingest import IngestRequest, OnError
from backtestdb.models import IngestionJob
from backtestdb.storage import Role, SourceFile, Storage

ROLES: tuple[Role, ...] = get_args(Role)


def request_options(request: IngestRequest) -> dict[str, Any]:
    """The options as a job row keeps them (JSON: the balance as its exact decimal text)."""
    balance = request.initial_balance
    return {
        "name": request.name,
        "description": request.description,
        "initial_balance": str(balance) if balance is not None else None,
        "symbol": request.symbol,
        "on_error": request.on_error,
        "force": request.force,
        "run_id": str(request.run_id) if request.run_id is not None else None,
        "pass_number": request.pass_number,
    }


def enqueue(
    factory: sessionmaker[Session], storage: Storage, request: IngestRequest
) -> IngestionJob:
    """Store the files, then commit the pending job; the files go again if the row does not."""
    job_id = uuid.uuid4()
    try:
        files = [
            {"role": f.role, "name": f.name, "key": storage.put_upload(job_id, f)}
            for f in request.files
        ]
        with transaction(factory) as session:
            job = IngestionJob(
                id=job_id,
                job_type="ingest",
                status="pending",
                source_files=files,
                options=request_options(request),
            )
            session.add(job)
    except BaseException:
        storage.remove_uploads(job_id)
        raise
    return job


def load_request(job: IngestionJob, storage: Storage, folder: Path) -> IngestRequest:
    """The job's request, its files copied from storage into `folder` (raises OSError,
    FileNotFoundError included, when storage cannot give them)."""
    sources: dict[Role, SourceFile] = {}
    for entry in job.source_files:
        role = next((r for r in ROLES if r == entry.get("role")), None)
        if role is None or not isinstance(entry.get("key"), str):
            raise BacktestdbError(f"Job {job.id} has a malformed file entry: {entry}")
        source = SourceFile(role, str(entry.get("name") or role), folder / role)
        storage.fetch(entry["key"], source.path)
        sources[role] = source
    options = job.options
    balance = options.get("initial_balance")
    on_error: OnError = "skip" if options.get("on_error") == "skip" else "strict"
    run_id, pass_number = options.get("run_id"), options.get("pass_number")
    return IngestRequest(
        report=sources.get("report"),
        csv=sources.get("history"),
        parameters=sources.get("parameters"),
        events=sources.get("events"),
        symbol=options.get("symbol"),
        name=options.get("name"),
        description=options.get("description"),
        initial_balance=Decimal(balance) if balance is not None else None,
        on_error=on_error,
        force=bool(options.get("force")),
        run_id=uuid.UUID(run_id) if isinstance(run_id, str) else None,
        pass_number=pass_number if isinstance(pass_number, int) else None,
    )
