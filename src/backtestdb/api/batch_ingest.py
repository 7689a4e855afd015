"""`POST /api/v1/ingest` with `archive_file` (a zip) or `folder_file` parts (a folder chosen
in a browser, each part's filename its path inside it): a batch. The upload is unpacked
under DATA_DIR/tmp (`batches.archives`), its backtests found and ingested one by one, and
the answer is the batch table: 200 when they were ingested, 202 when queued (`?mode=async`,
one job per backtest). The unpacked folder is removed before the answer leaves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from backtestdb.api.uploads import ReceivedForm
from backtestdb.batches import BatchOptions, BatchResult, discover, ingest_batch, queue_batch
from backtestdb.batches.archives import FOLDER, gathered, unpacked
from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError, InvalidRequest
from backtestdb.schemas import BatchOut

ARCHIVE_FIELD = "archive_file"
FOLDER_FIELD = "folder_file"
#: Most files a folder upload may send (a zip may hold up to archives.MAX_ENTRIES).
MAX_FOLDER_FILES = 20_000
#: Each status's label in the ingests counter of /metrics.
METRIC_LABELS = {
    "ingested": "created",
    "already stored": "existing",
    "failed": "failed",
    "queued": "queued",
}


def is_batch(form: ReceivedForm) -> bool:
    return ARCHIVE_FIELD in form.files or bool(form.repeated)


def check_batch(form: ReceivedForm, single_fields: set[str], name: str | None) -> None:
    """Refuse what a batch cannot take: both kinds at once, single files beside them
    (their backtests come from the folders), or one name for many backtests."""
    given = ARCHIVE_FIELD if ARCHIVE_FIELD in form.files else FOLDER_FIELD
    if ARCHIVE_FIELD in form.files and form.repeated:
        raise BacktestdbError(f"Send {ARCHIVE_FIELD} or {FOLDER_FIELD}, not both")
    if singles := sorted(single_fields & form.files.keys()):
        raise BacktestdbError(
            f"{given} cannot be combined with {', '.join(singles)}: put those files in the "
            f"{'zip' if given == ARCHIVE_FIELD else 'folder'}, or send them on their own"
        )
    if name is not None:
        raise BacktestdbError(
            f"name names one backtest; with {given} each backtest is named from its folder "
            "(send run to name the batch's run)"
        )
    if any(not part.filename for part in form.repeated):
        raise BacktestdbError(
            f"Each {FOLDER_FIELD} part needs its path inside the folder as its filename "
            "(e.g. Optimization/3/report.html)"
        )


async def ingest_batch_upload(
    request: Request,
    settings: Settings,
    factory: sessionmaker[Session],
    form: ReceivedForm,
    options: BatchOptions,
    mode: Literal["sync", "async"],
) -> JSONResponse:
    result = await run_in_threadpool(run_batch, factory, settings, form, options, mode)
    metrics = request.app.state.metrics
    for item in result.items:
        metrics.ingests.labels(METRIC_LABELS[item.status]).inc()
        if item.status == "ingested":
            metrics.trades.inc(item.trades)
    if mode == "async" and (worker := request.app.state.worker) is not None:
        worker.wake()
    body = BatchOut.model_validate(result.as_dict()).model_dump(mode="json")
    return JSONResponse(body, status_code=202 if mode == "async" else 200)


def run_batch(
    factory: sessionmaker[Session],
    settings: Settings,
    form: ReceivedForm,
    options: BatchOptions,
    mode: Literal["sync", "async"],
) -> BatchResult:
    """Unpack, find the backtests, ingest (or queue) them; the folder goes at the end."""
    with unpacked_upload(settings, form) as (folder, shown):
        try:
            # Labels as the CLI gives them for that folder: its own name first.
            found = discover([folder], labels_from=folder.parent)
        except InvalidRequest as error:
            raise InvalidRequest(error.message.replace(str(folder), shown)) from None
        if mode == "async":
            return queue_batch(factory, settings, found, options)
        return ingest_batch(factory, settings, found, options)


@contextmanager
def unpacked_upload(settings: Settings, form: ReceivedForm) -> Iterator[tuple[Path, str]]:
    """(the upload's folder under DATA_DIR/tmp, its name for messages)."""
    limit = settings.max_archive_unpacked_bytes
    tmp_root = settings.upload_tmp_dir
    if (archive := form.files.get(ARCHIVE_FIELD)) is not None:
        with unpacked(archive.path, tmp_root, limit, name=archive.filename) as folder:
            yield folder, archive.filename
    else:
        pairs = [(part.filename, part.path) for part in form.repeated]
        with gathered(pairs, tmp_root, limit) as folder:
            yield folder, FOLDER
