"""POST /api/v1/ingest: the seed's upload endpoint, streamed to disk, then `jobs.run_ingest`
(sync, the default), or queued for a worker (`?mode=async`: the files go to storage, the
answer is 202 with the pending job). A zip or a folder's files make it a batch
(`batch_ingest`)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.concurrency import run_in_threadpool

from backtestdb import jobs
from backtestdb.api.batch_ingest import (
    ARCHIVE_FIELD,
    FOLDER_FIELD,
    MAX_FOLDER_FILES,
    check_batch,
    ingest_batch_upload,
    is_batch,
)
from backtestdb.api.deps import ApiKeyDep, FactoryDep, SettingsDep, SingleQueryDep
from backtestdb.api.observability import Metrics
from backtestdb.api.openapi import INGEST_BODY, INGESTED, QUEUED, error_responses
from backtestdb.api.uploads import ReceivedForm, UploadLimits, receive_form
from backtestdb.batches import BatchOptions
from backtestdb.batches.batch_runs import named_run
from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError, InvalidRequest
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import queue
from backtestdb.schemas import BatchOut, IngestQueued, IngestResponse
from backtestdb.storage import Role, SourceFile, open_storage

router = APIRouter(prefix="/api/v1", tags=["ingest"], dependencies=[ApiKeyDep, SingleQueryDep])

#: Form field -> the file's role; the parameters are accepted under either name.
FILE_FIELDS: dict[str, Role] = {
    "json_file": "report",
    "csv_file": "history",
    "parameters_file": "parameters",
    "params_file": "parameters",
    "events_file": "events",
}
#: What `initial_balance` accepts (the OpenAPI pattern says the same): 10000 or 10000.00.
AMOUNT = re.compile(r"[0-9]{1,15}(\.[0-9]{1,2})?")
#: Fields where an empty value (a form's input left blank) means "not given".
OPTIONAL_TEXT = frozenset({"name", "description", "initial_balance", "symbol", "run"})


class IngestForm(BaseModel):
    """The text fields of the upload."""

    model_config = ConfigDict(extra="ignore")

    name: Annotated[str | None, Field(max_length=255)] = None
    description: Annotated[str | None, Field(max_length=10_000)] = None
    initial_balance: Decimal | None = None
    #: The symbol of an events.json's trades (the file names none).
    symbol: Annotated[str | None, Field(max_length=64)] = None
    on_error: Literal["strict", "skip"] = "strict"
    force: bool = False
    #: A run name: a batch's backtests (or the one backtest) join the run of that name.
    run: Annotated[str | None, Field(max_length=255)] = None

    @field_validator("initial_balance", mode="before")
    @classmethod
    def _plain_amount(cls, value: object) -> object:
        # No sign, exponent or spaces: a typo must not become a different balance.
        if isinstance(value, str) and not AMOUNT.fullmatch(value):
            raise ValueError("must be an amount like 10000 or 10000.00")
        return value

    @field_validator("name", "description", "symbol", "run")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


def read_form(fields: dict[str, str]) -> IngestForm:
    try:
        given = {k: v for k, v in fields.items() if v or k not in OPTIONAL_TEXT}
        return IngestForm.model_validate(given)
    except ValidationError as error:
        details = error.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in details]) from None


def upload_limits(settings: Settings) -> UploadLimits:
    """Three single files, or one zip, or a folder's files (MAX_ARCHIVE_UNPACKED_MB)."""
    return UploadLimits(
        frozenset({*FILE_FIELDS, ARCHIVE_FIELD}),
        settings.max_file_size_bytes,
        max_parts=32 + MAX_FOLDER_FILES,
        repeated_fields=frozenset({FOLDER_FIELD}),
        max_repeated_files=MAX_FOLDER_FILES,
        max_repeated_bytes=settings.max_archive_unpacked_bytes,
    )


def batch_options(fields: IngestForm) -> BatchOptions:
    return BatchOptions(
        run=fields.run,
        description=fields.description,
        initial_balance=fields.initial_balance,
        symbol=fields.symbol,
        on_error=fields.on_error,
        force=fields.force,
    )


def ingest_request(form: ReceivedForm, fields: IngestForm) -> IngestRequest:
    if "parameters_file" in form.files and "params_file" in form.files:
        raise InvalidRequest("Send parameters_file or params_file, not both")
    sources = {
        FILE_FIELDS[name]: SourceFile(FILE_FIELDS[name], file.filename, file.path)
        for name, file in form.files.items()
    }
    if not sources.keys() & {"report", "history", "events"}:
        raise InvalidRequest(
            "Nothing to ingest: send json_file (the report, JSON or HTML), csv_file "
            "(the History CSV) or events_file (events.json)"
        )
    return IngestRequest(
        report=sources.get("report"),
        csv=sources.get("history"),
        parameters=sources.get("parameters"),
        events=sources.get("events"),
        symbol=fields.symbol,
        name=fields.name,
        description=fields.description,
        initial_balance=fields.initial_balance,
        on_error=fields.on_error,
        force=fields.force,
    )


@router.post(
    "/ingest",
    summary="Upload a backtest export (or a zip or folder of them) and ingest it",
    response_description="The job and the backtest (new, or the existing identical one); "
    "for a zip or a folder, the batch table",
    response_model=IngestResponse | BatchOut,
    responses={
        200: INGESTED,
        202: QUEUED,
        **error_responses(400, 401, 403, 409, 413, 415, 422, 503),
    },
    openapi_extra=INGEST_BODY,
)
async def ingest_upload(
    request: Request,
    settings: SettingsDep,
    factory: FactoryDep,
    mode: Annotated[
        Literal["sync", "async"],
        Query(description="sync: ingest now and answer the result; async: queue it, 202"),
    ] = "sync",
) -> IngestResponse | JSONResponse:
    """Multipart upload: `json_file` (report, JSON or HTML), `csv_file` (History CSV) and/or
    `events_file` (events.json; also accepted as `json_file`), optional `parameters_file`
    (or `params_file`), and the fields `name`, `description`, `initial_balance`, `symbol`
    (an events.json's), `on_error` (strict|skip), `force`. Identical files again answer
    the existing backtest ("Already ingested…") unless `force` is set. Files over
    MAX_FILE_SIZE_MB answer 413. With `mode=async` the answer is 202 `{job_id, status:
    "pending"}` at once; `GET /api/v1/jobs/{job_id}` follows the job.

    A batch instead: `archive_file` (a .zip of backtest folders) or repeated `folder_file`
    parts (a folder's files, each filename its path inside it, e.g.
    `EURUSD h1/Optimization/3/report.html`), with the fields above but `name`, plus `run`
    (one run of that name for all). Each backtest is ingested in its own transaction; the
    answer is the batch table `{items, runs, total, done, failed, interrupted}`, 202 with
    one queued job per backtest under `mode=async`. Unpacked past MAX_ARCHIVE_UNPACKED_MB
    answers 413; a path outside the zip, a link or an archive inside it, 422."""
    metrics: Metrics = request.app.state.metrics
    async with receive_form(request, upload_limits(settings), settings.upload_tmp_dir) as form:
        fields = read_form(form.fields)
        if is_batch(form):
            check_batch(form, set(FILE_FIELDS), fields.name)
            options = batch_options(fields)
            return await ingest_batch_upload(request, settings, factory, form, options, mode)
        wanted = ingest_request(form, fields)
        if fields.run is not None:  # one backtest into the named run, as `ingest --run`
            wanted.run_id = await run_in_threadpool(named_run, factory, wanted, fields.run)
        if mode == "async":
            return await queue_ingest(request, settings, factory, wanted)
        try:
            # run_ingest commits its own transactions (the job first, then the backtest).
            job, outcome = await run_in_threadpool(jobs.run_ingest, factory, wanted, settings)
        except BacktestdbError:
            metrics.ingests.labels("failed").inc()
            raise
    metrics.ingests.labels("created" if outcome.created else "existing").inc()
    if outcome.created:
        metrics.trades.inc(outcome.trades)
    return IngestResponse(
        job_id=job.id, backtest_id=outcome.backtest.id, status=job.status, message=outcome.message
    )


async def queue_ingest(
    request: Request, settings: SettingsDep, factory: FactoryDep, wanted: IngestRequest
) -> JSONResponse:
    storage = open_storage(settings)
    # Files to storage first, then the pending job row, committed: a worker may take it now.
    job = await run_in_threadpool(queue.enqueue, factory, storage, wanted)
    request.app.state.metrics.ingests.labels("queued").inc()
    if (worker := request.app.state.worker) is not None:
        worker.wake()
    body = IngestQueued(job_id=job.id, status=job.status)
    return JSONResponse(body.model_dump(mode="json"), status_code=202)
