"""Ingestion job routes."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backtestdb import jobs
from backtestdb.api.deps import ApiKeyDep, SessionDep, SingleQueryDep
from backtestdb.api.openapi import error_responses
from backtestdb.schemas import JobList, JobOut

router = APIRouter(prefix="/api/v1", tags=["jobs"], dependencies=[ApiKeyDep, SingleQueryDep])

JobStatus = Literal["pending", "running", "completed", "failed"]


@router.get(
    "/jobs",
    summary="Recent ingestion jobs, newest first",
    responses=error_responses(401, 422, 503),
)
def list_jobs(
    session: SessionDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobList:
    found = jobs.list_jobs(session, status, limit)
    return JobList(items=[JobOut.model_validate(j) for j in found])


@router.get(
    "/jobs/{job_id}",
    summary="One job, with its row errors and warnings",
    responses=error_responses(401, 404, 422, 503),
)
def get_job(job_id: uuid.UUID, session: SessionDep) -> JobOut:
    return JobOut.model_validate(jobs.get_job(session, job_id))
