"""The checks every unpacked entry passes, a zip's or a browser folder's: its name (no
absolute path, no `..`, nothing the filesystem cannot hold), its place in the tree (no
entry twice, no file where a folder must be), its content (no archive inside) and the
running total of bytes against MAX_ARCHIVE_UNPACKED_MB."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from backtestdb.errors import ArchiveRefused, ArchiveTooLarge

Origin = Literal["archive", "folder"]
#: Most entries one archive (or folder upload) may hold.
MAX_ENTRIES = 100_000
#: Linux's limits: a name part, and (well under PATH_MAX) a whole relative path.
MAX_PART_BYTES = 255
MAX_PATH_BYTES = 1024
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".gz", ".tgz", ".bz2", ".xz")
ARCHIVE_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\xfd7zXZ\x00",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"[A-Za-z]:")
#: What to change, said once per origin.
_NOUN = {"archive": "entry", "folder": "file"}
_RELATIVE = {
    "archive": "zip the folder itself, with relative paths",
    "folder": "send each file's path inside the chosen folder",
}
_SMALLER = {"archive": "split it into smaller archives", "folder": "upload fewer files at once"}


@dataclass(frozen=True, slots=True)
class EntryName:
    raw: str
    parts: tuple[str, ...]
    is_folder: bool

    @property
    def suffix(self) -> str:
        return Path(self.parts[-1]).suffix.lower() if self.parts else ""


@dataclass(slots=True)
class Entries:
    """The tree being written under `target`; `shown` names the source in messages."""

    target: Path
    shown: str
    origin: Origin
    max_bytes: int
    written: int = 0
    files: set[tuple[str, ...]] = field(default_factory=set)
    folders: set[tuple[str, ...]] = field(default_factory=set)

    def parse(self, raw: str) -> EntryName:
        """The entry's name as path parts, or ArchiveRefused naming what is wrong with it."""
        if _CONTROL.search(raw):
            self.refuse(raw, "has a control character in its name; rename it")
        text = raw.replace("\\", "/")  # zips made on Windows may use backslashes
        if text.startswith("/") or _DRIVE.match(text):
            self.refuse(raw, f"has an absolute path; {_RELATIVE[self.origin]}")
        parts = tuple(part for part in text.split("/") if part not in ("", "."))
        if ".." in parts:
            self.refuse(raw, f"points outside the {self.origin}; {_RELATIVE[self.origin]}")
        if any(len(p.encode()) > MAX_PART_BYTES for p in parts) or (
            len("/".join(parts).encode()) > MAX_PATH_BYTES
        ):
            self.refuse(
                raw,
                f"has a name too long to unpack (over {MAX_PART_BYTES} bytes a "
                f"name, {MAX_PATH_BYTES} a path); shorten it",
            )
        return EntryName(raw, parts, text.endswith("/") or not parts)

    def refuse(self, raw: str, problem: str) -> None:
        shown = raw if len(raw) <= 120 else raw[:120] + "…"
        raise ArchiveRefused(self.shown, f"{_NOUN[self.origin]} {shown!r} {problem}")

    def wanted(self, name: EntryName) -> bool:
        """False for macOS's litter (__MACOSX/, .DS_Store), skipped without a word."""
        return bool(name.parts) and name.parts[0] != "__MACOSX" and name.parts[-1] != ".DS_Store"

    def check_count(self, count: int) -> None:
        if count > MAX_ENTRIES:
            raise ArchiveTooLarge(
                f"{self.shown}: holds more than {MAX_ENTRIES:,} entries; {_SMALLER[self.origin]}"
            )

    def check_declared(self, total: int) -> None:
        if total > self.max_bytes:
            raise self.too_large()

    def count(self, size: int) -> None:
        self.written += size
        if self.written > self.max_bytes:
            raise self.too_large()

    def too_large(self) -> ArchiveTooLarge:
        return too_large(self.shown, self.origin, self.max_bytes)

    def check_content(self, name: EntryName, head: bytes) -> None:
        if head.startswith(ARCHIVE_MAGIC):
            self.nested(name)

    def nested(self, name: EntryName) -> None:
        where = "the archive" if self.origin == "archive" else "the folder"
        self.refuse(name.raw, f"is an archive inside {where}; unpack it first or leave it out")

    def add_folder(self, name: EntryName) -> None:
        if name.parts in self.files:
            self.refuse(name.raw, "is both a file and a folder; keep one of them")
        self.place(name.parts, name)
        (self.target.joinpath(*name.parts)).mkdir(parents=True, exist_ok=True)

    @contextmanager
    def add_file(self, name: EntryName) -> Iterator[IO[bytes]]:
        """The entry's output file, opened for writing once the name is checked."""
        path = self.claim(name)
        with path.open("xb") as output:
            yield output

    def add_moved(self, name: EntryName, received: Path) -> None:
        """A file already received (a folder upload's part), checked and moved into place."""
        if not self.wanted(name):
            return
        with received.open("rb") as file:
            self.check_content(name, file.read(8))
        self.count(received.stat().st_size)
        shutil.move(received, self.claim(name))

    def claim(self, name: EntryName) -> Path:
        if name.suffix in ARCHIVE_SUFFIXES:
            self.nested(name)
        if name.parts in self.files:
            self.refuse(name.raw, "appears twice; keep one of them")
        if name.parts in self.folders:
            self.refuse(name.raw, "is both a file and a folder; keep one of them")
        self.place(name.parts[:-1], name)
        self.files.add(name.parts)
        path = self.target.joinpath(*name.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def place(self, folder: tuple[str, ...], name: EntryName) -> None:
        """Record `folder` and its parents as folders; none of them may be a file."""
        for depth in range(1, len(folder) + 1):
            if folder[:depth] in self.files:
                self.refuse(
                    name.raw,
                    f"needs {'/'.join(folder[:depth])!r} as a folder, but "
                    "it is a file; keep one of them",
                )
            self.folders.add(folder[:depth])


def too_large(shown: str, origin: Origin, max_bytes: int) -> ArchiveTooLarge:
    return ArchiveTooLarge(
        f"{shown}: holds more than {max_bytes / (1 << 20):g} MiB unpacked "
        f"(MAX_ARCHIVE_UNPACKED_MB); {_SMALLER[origin]}, or raise MAX_ARCHIVE_UNPACKED_MB"
    )


def safe_stem(shown: str) -> str:
    """A folder name for an archive's content: its name without `.zip`, or `archive`."""
    stem = _CONTROL.sub("", shown).replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem[:-4] if stem.lower().endswith(".zip") else stem
    stem = stem.strip().encode()[:100].decode(errors="ignore")
    return stem if stem not in ("", ".", "..") else "archive"
