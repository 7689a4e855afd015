"""The one error family of backtestdb.

Every error a user can cause is a `BacktestdbError`: it carries the HTTP status the API
answers with and, for input problems, the row-level `RowError`s. The CLI prints them as a
table, the API renders them with a single exception handler.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in an input file. `row` is the 1-based data row (header excluded)."""

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        value = f" (value {self.value!r})" if self.value is not None else ""
        return f"{where}: {self.message}{value}"


class BacktestdbError(Exception):
    """Base of every error the user can cause; `status_code` is what the API answers."""

    status_code = 400

    def __init__(
        self, message: str, errors: list[RowError] | None = None, error_count: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[RowError] = errors or []
        #: All problems found; `errors` may hold only the first of them.
        self.error_count = len(self.errors) if error_count is None else error_count
        #: The ingestion job that recorded this failure, when there is one.
        self.job_id: uuid.UUID | None = None

    def __str__(self) -> str:
        return self.message


class InputError(BacktestdbError):
    """A file could not be read as the format it claims to be (one error, not per row)."""

    status_code = 422

    def __init__(
        self,
        file: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        error = RowError(file=file, message=message, row=row, column=column, value=value)
        super().__init__(str(error), [error])


class ValidationFailed(BacktestdbError):
    """Rows failed validation; `errors` holds (at most a capped number of) them."""

    status_code = 422


class NotFound(BacktestdbError):
    status_code = 404


class Conflict(BacktestdbError):
    status_code = 409


class DatabaseNotReady(BacktestdbError):
    status_code = 503


class StorageUnavailable(BacktestdbError):
    """The raw-file storage cannot be written: the server's fault, not the input's."""

    status_code = 503


class FileTooLarge(BacktestdbError):
    """An upload is over MAX_FILE_SIZE_MB; the message is part of the API contract."""

    status_code = 413

    def __init__(self) -> None:
        super().__init__("File too large")


class IngestInterrupted(BacktestdbError):
    """A sync ingest lost its job's lease (its heartbeat did not reach the database for
    JOB_LEASE_SECONDS) and a worker failed the job meanwhile; nothing was stored."""

    status_code = 503


class UploadTimeout(BacktestdbError):
    """The body did not arrive within UPLOAD_TIMEOUT_SECONDS (a stalled or trickling client
    would otherwise hold a connection and a temporary file for ever)."""

    status_code = 408


class Unauthorized(BacktestdbError):
    status_code = 401


class CrossSiteRefused(BacktestdbError):
    """A write sent by a browser page of another origin (a cross-site form or fetch)."""

    status_code = 403


class UnsupportedMediaType(BacktestdbError):
    status_code = 415


class InvalidRequest(BacktestdbError):
    """A request's options (not its files) are invalid: a filter, a sort, a form field."""

    status_code = 422


class ArchiveRefused(InputError):
    """A zip (or a folder upload) that cannot be unpacked safely: a path outside it, a link,
    an archive inside it, an encrypted or damaged entry, or no zip at all."""


class ArchiveTooLarge(BacktestdbError):
    """An archive or folder upload past MAX_ARCHIVE_UNPACKED_MB unpacked, or with more
    entries than a batch takes."""

    status_code = 413
