"""Zip archives and browser folder uploads, unpacked safely into a fresh folder under
DATA_DIR/tmp that is removed when the block ends, whatever happens.

Each entry streams to disk in chunks and the bytes written are counted against the limit
(a zip's declared sizes can lie; a declared total past the limit is refused before
anything is written). Refused, with the entry named: absolute paths, `..`, links and
other non-regular entries, archives inside the archive, encrypted entries, names the
filesystem cannot hold, and more entries than `MAX_ENTRIES`. `__MACOSX/` and `.DS_Store`
are skipped; a Windows backslash is a folder separator.
"""

from __future__ import annotations

import lzma
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from backtestdb.batches.entries import MAX_ENTRIES, Entries, EntryName, safe_stem, too_large
from backtestdb.errors import ArchiveRefused, ArchiveTooLarge

#: Most a zip's central directory may take: Python reads it whole into memory on opening.
MAX_DIRECTORY_BYTES = 16 << 20
CHUNK = 1 << 20
#: A folder upload's name in messages.
FOLDER = "folder upload"
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
#: What a damaged zip raises as it is opened or read (bz2 reports bad data as OSError;
#: a feature zipfile lacks, NotImplementedError; a password wanted, RuntimeError).
DAMAGED = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)


def is_archive(path: Path) -> bool:
    """A zip file, by its name or its first bytes (a folder or another file is not)."""
    if not path.is_file():
        return False
    if path.suffix.lower() == ".zip":
        return True
    with path.open("rb") as file:
        return file.read(4) in ZIP_MAGIC


@contextmanager
def unpacked(
    archive: Path, tmp_root: Path, max_bytes: int, *, name: str | None = None
) -> Iterator[Path]:
    """The archive's content in a fresh folder under `tmp_root`, removed on exit. When every
    entry sits under one top folder, that folder (so a zip of X reads as X itself).
    `name` is the archive's name in messages (an upload's temporary file has none)."""
    shown = name or archive.name
    with fresh_folder(tmp_root) as root:
        target = root / safe_stem(shown)
        with open_zip(archive, shown) as opened:
            extract(opened, Entries(target, shown, "archive", max_bytes))
        yield content_folder(target)


@contextmanager
def gathered(files: Iterable[tuple[str, Path]], tmp_root: Path, max_bytes: int) -> Iterator[Path]:
    """A folder chosen in a browser, rebuilt under `tmp_root` from (relative path, received
    file) pairs with the checks of a zip's entries; the received files are moved."""
    with fresh_folder(tmp_root) as root:
        target = root / "folder"
        entries = Entries(target, FOLDER, "folder", max_bytes)
        for count, (relative, received) in enumerate(files, 1):
            entries.check_count(count)
            entries.add_moved(entries.parse(relative), received)
        yield content_folder(target)


def folder_too_large(max_bytes: int) -> ArchiveTooLarge:
    """What a folder upload past the limit answers (refused as its parts arrive)."""
    return too_large(FOLDER, "folder", max_bytes)


@contextmanager
def fresh_folder(tmp_root: Path) -> Iterator[Path]:
    tmp_root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=tmp_root, prefix="batch-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def content_folder(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    children = list(target.iterdir())
    if len(children) == 1 and children[0].is_dir():
        return children[0]
    return target


@contextmanager
def open_zip(archive: Path, shown: str) -> Iterator[zipfile.ZipFile]:
    with archive.open("rb") as file:
        check_directory(file, shown)
        try:
            opened = zipfile.ZipFile(file)
        except DAMAGED as error:
            raise ArchiveRefused(
                shown,
                f"is not a readable zip archive ({error}); send a .zip of the backtest folder",
            ) from None
        with opened:
            yield opened


def check_directory(file: IO[bytes], shown: str) -> None:
    """Refuse a zip whose list of entries is too long before Python reads it whole."""
    file.seek(0, 2)
    size = file.tell()
    file.seek(max(size - (22 + 0xFFFF), 0))
    tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ArchiveRefused(
            shown, "is not a zip archive (or is cut short); send a .zip of the backtest folder"
        )
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    if at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":  # zip64: the real counts
        (offset,) = struct.unpack("<Q", tail[at - 12 : at - 4])
        file.seek(min(offset, size))
        record = file.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries, directory = struct.unpack("<QQ", record[32:48])
    file.seek(0)
    if entries > MAX_ENTRIES or directory > MAX_DIRECTORY_BYTES:
        raise ArchiveTooLarge(
            f"{shown}: holds more than {MAX_ENTRIES:,} entries; split it into smaller archives"
        )


def extract(opened: zipfile.ZipFile, entries: Entries) -> None:
    infos = opened.infolist()
    entries.check_count(len(infos))
    entries.check_declared(sum(info.file_size for info in infos))
    for info in infos:
        name = entries.parse(info.filename)
        if not entries.wanted(name):
            continue
        if is_directory(info, name, entries.shown):
            entries.add_folder(name)
        else:
            check_member(info, name, entries.shown)
            with entries.add_file(name) as output, member(opened, info, name, entries) as source:
                copy(source, output, name, entries)


def is_directory(info: zipfile.ZipInfo, name: EntryName, shown: str) -> bool:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise ArchiveRefused(
            shown,
            f"entry {name.raw!r} is a symbolic link; zip the files themselves, not links to them",
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ArchiveRefused(
            shown,
            f"entry {name.raw!r} is not a regular file or folder "
            "(a device, pipe or socket); leave it out",
        )
    return name.is_folder or kind == stat.S_IFDIR or bool(info.external_attr & 0x10)


def check_member(info: zipfile.ZipInfo, name: EntryName, shown: str) -> None:
    if info.flag_bits & 0x1:
        raise ArchiveRefused(
            shown, f"entry {name.raw!r} is encrypted; zip the folder without a password"
        )
    if info.compress_type not in METHODS:
        raise ArchiveRefused(
            shown,
            f"entry {name.raw!r} uses compression method "
            f"{info.compress_type}, which cannot be read; zip it with "
            "Deflate, the usual method",
        )


@contextmanager
def member(
    opened: zipfile.ZipFile, info: zipfile.ZipInfo, name: EntryName, entries: Entries
) -> Iterator[IO[bytes]]:
    try:
        source = opened.open(info)
    except DAMAGED as error:
        raise damaged(entries.shown, name, error) from None
    with source:
        yield source


def copy(source: IO[bytes], output: IO[bytes], name: EntryName, entries: Entries) -> None:
    first = True
    while True:
        try:
            chunk = source.read(CHUNK)
        except DAMAGED as error:
            raise damaged(entries.shown, name, error) from None
        if not chunk:
            return
        if first:
            entries.check_content(name, chunk)
            first = False
        entries.count(len(chunk))
        output.write(chunk)


def damaged(shown: str, name: EntryName, error: BaseException) -> ArchiveRefused:
    return ArchiveRefused(
        shown,
        f"entry {name.raw!r} cannot be read ({error}); the archive "
        "is damaged: zip the folder again",
    )
