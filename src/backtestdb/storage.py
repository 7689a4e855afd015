"""Raw source files, kept beside the database: one folder per backtest id.

User file names are never used as paths: a stored file is named by its role
(`report`, `history`, `parameters`) plus a sanitised extension.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["report", "history", "parameters"]
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,12}$")
_HASH_CHUNK = 1024 * 1024


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


class LocalStorage:
    """Stores raw files under `root/<backtest id>/`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, backtest_id: uuid.UUID) -> Path:
        return self.root / str(backtest_id)

    def save(self, backtest_id: uuid.UUID, source: SourceFile) -> str:
        folder = self.folder(backtest_id)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{source.role}{source.safe_suffix}"
        shutil.copyfile(source.path, target)
        return str(target)

    def remove(self, backtest_id: uuid.UUID) -> None:
        shutil.rmtree(self.folder(backtest_id), ignore_errors=True)
