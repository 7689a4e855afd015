"""Raw source files, kept beside the database (or in object storage): one folder per
backtest id.

User file names are never used as paths: a stored file is named by its role
(`report`, `history`, `parameters`, `events`) plus a sanitised extension.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import fsspec
from fsspec.implementations.local import LocalFileSystem

from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError, StorageUnavailable

Role = Literal["report", "history", "parameters", "events"]
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,12}$")
_HASH_CHUNK = 1024 * 1024
#: Async uploads wait for their worker under this folder of the storage root.
UPLOADS = "uploads"


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file handed to an ingest: `name` is what the user called it (display only)."""

    role: Role
    name: str
    path: Path

    @property
    def safe_suffix(self) -> str:
        suffix = Path(self.name).suffix.lower()
        return suffix if _SAFE_SUFFIX.match(suffix) else ""


@dataclass(frozen=True, slots=True)
class FileInfo:
    role: Role
    name: str
    size: int
    sha256: str

    def as_dict(self, location: str | None = None) -> dict[str, object]:
        info: dict[str, object] = {
            "role": self.role,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
        }
        if location is not None:
            info["location"] = location
        return info


def describe(source: SourceFile) -> FileInfo:
    digest = hashlib.sha256()
    size = 0
    with source.path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileInfo(source.role, source.name, size, digest.hexdigest())


class Storage:
    """Raw files under an fsspec location: `<root>/<backtest id>/` for stored backtests,
    `<root>/uploads/<job id>/` for async uploads waiting for a worker. A plain path is a
    local folder (the default); `s3://bucket/prefix` and the like work the same way."""

    def __init__(self, url: str | Path, options: dict[str, Any] | None = None) -> None:
        self.url = str(url)
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **(options or {}))
        self.is_local = isinstance(self.fs, LocalFileSystem)

    def folder(self, backtest_id: uuid.UUID) -> Path:
        """The local folder of a backtest's files (maintenance reads it directly)."""
        if not self.is_local:
            raise BacktestdbError(f"{self.url} is not a local folder; this needs STORAGE_DIR")
        return Path(self._path(str(backtest_id)))

    def save(self, backtest_id: uuid.UUID, source: SourceFile) -> str:
        """Keep a backtest's source file; returns its location (a path, or a URL if remote)."""
        target = self._put(str(backtest_id), source)
        return target if self.is_local else str(self.fs.unstrip_protocol(target))

    def remove(self, backtest_id: uuid.UUID) -> None:
        self._remove_tree(str(backtest_id))

    def put_upload(self, job_id: uuid.UUID, source: SourceFile) -> str:
        """Keep an async upload until a worker ingests it; returns its key (root-relative)."""
        folder = f"{UPLOADS}/{job_id}"
        target = self._put(folder, source)
        return f"{folder}/{target.rsplit('/', 1)[-1]}"

    def fetch(self, key: str, target: Path) -> None:
        """Copy a stored upload to a local file (raises FileNotFoundError when it is gone)."""
        self.fs.get_file(self._path(key), str(target))

    def remove_uploads(self, job_id: uuid.UUID) -> None:
        self._remove_tree(f"{UPLOADS}/{job_id}")

    def _path(self, key: str) -> str:
        return f"{self.root.rstrip('/')}/{key}"

    def _put(self, folder: str, source: SourceFile) -> str:
        # User file names are never paths: the role plus a sanitised extension.
        directory = self._path(folder)
        target = f"{directory}/{source.role}{source.safe_suffix}"
        try:
            self.fs.makedirs(directory, exist_ok=True)
            self.fs.put_file(str(source.path), target)
        except OSError as error:
            # A full disk, a read-only or missing volume: the job records why, the API
            # answers 503; the server's paths stay out of the message.
            reason = error.strerror or type(error).__name__
            raise StorageUnavailable(
                f"Cannot store the raw files: the storage is not writable ({reason}); "
                "nothing was stored"
            ) from error
        return target

    def _remove_tree(self, key: str) -> None:
        # Missing: nothing was stored there (a failed ingest), or it went already; under a
        # file (a broken STORAGE_DIR): nothing can be there either.
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self.fs.rm(self._path(key), recursive=True)


#: The old name; the ingest pipeline and the archive still annotate with it.
LocalStorage = Storage


def open_storage(settings: Settings) -> Storage:
    return Storage(settings.effective_storage_url, settings.storage_options)
