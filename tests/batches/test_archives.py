"""Zips and browser folders unpacked under DATA_DIR/tmp: the good ones as the folder they
hold, every unsafe kind refused with its status and a message naming the entry, and
nothing left in the temporary root either way."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

import pytest

from backtestdb.batches import archives, entries
from backtestdb.batches.archives import gathered, is_archive, unpacked
from backtestdb.errors import ArchiveRefused, ArchiveTooLarge, BacktestdbError
from tests.conftest import BASIC

Entry = tuple[str | zipfile.ZipInfo, bytes]
MIB = 1 << 20


def make_zip(path: Path, *members: Entry, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def info(name: str, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name)
    entry.create_system = 3  # Unix: the mode is in the high bits of external_attr
    entry.external_attr = mode << 16
    return entry


def tree_of(folder: Path) -> dict[str, bytes | None]:
    """Every path under `folder` (relative): a file's bytes, None for a folder."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


@pytest.fixture
def tmp_root(tmp_path: Path) -> Path:
    return tmp_path / "data" / "tmp"


def refusal(archive: Path, tmp_root: Path, max_bytes: int = MIB) -> BacktestdbError:
    with pytest.raises(BacktestdbError) as caught, unpacked(archive, tmp_root, max_bytes):
        pytest.fail("the archive was unpacked")
    assert list(tmp_root.iterdir()) == []
    return caught.value


def test_a_zip_of_a_folder_unpacks_as_that_folder(tmp_path: Path, tmp_root: Path) -> None:
    report = (BASIC / "report.json").read_bytes()
    archive = make_zip(
        tmp_path / "upload.zip",
        ("MACross/", b""),
        ("MACross/Optimization/1/report.json", report),
        ("MACross\\Optimization\\2\\report.json", b"{}"),  # made on Windows
        ("MACross/Optimization/2/./parameters.cbotset", b"[]"),
        ("MACross/empty/", b""),
        ("MACross/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("__MACOSX/", b""),
        ("__MACOSX/MACross/", b""),
        ("__MACOSX/MACross/._report.json", b"\x00\x05\x16\x07"),
    )
    with unpacked(archive, tmp_root, MIB) as folder:
        assert folder.name == "MACross"
        assert folder.parent.name == "upload"
        assert folder.parent.parent.parent == tmp_root
        assert tree_of(folder) == {
            "Optimization": None,
            "Optimization/1": None,
            "Optimization/1/report.json": report,
            "Optimization/2": None,
            "Optimization/2/parameters.cbotset": b"[]",
            "Optimization/2/report.json": b"{}",
            "empty": None,
        }
    assert list(tmp_root.iterdir()) == []


def test_loose_entries_unpack_into_a_folder_named_after_the_zip(
    tmp_path: Path, tmp_root: Path
) -> None:
    members: list[Entry] = [("Optimization/1/report.json", b"{}"), ("log.txt", b"started")]
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        archive = make_zip(tmp_path / "EURUSD h1.zip", *members, method=method)
        with unpacked(archive, tmp_root, MIB, name="EURUSD h1.zip") as folder:
            assert folder.name == "EURUSD h1"
            assert tree_of(folder) == {
                "Optimization": None,
                "Optimization/1": None,
                "Optimization/1/report.json": b"{}",
                "log.txt": b"started",
            }


def test_the_folder_goes_when_the_block_raises(tmp_path: Path, tmp_root: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", ("a/report.json", b"{}"))
    with pytest.raises(KeyError), unpacked(archive, tmp_root, MIB):
        raise KeyError("the caller failed")
    assert list(tmp_root.iterdir()) == []


OUTSIDE = "zip the folder itself, with relative paths"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../x", f"points outside the archive; {OUTSIDE}"),
        ("a/../../x", f"points outside the archive; {OUTSIDE}"),
        ("a\\..\\x", f"points outside the archive; {OUTSIDE}"),
        ("/etc/x", f"has an absolute path; {OUTSIDE}"),
        ("C:\\x", f"has an absolute path; {OUTSIDE}"),
        ("c:x", f"has an absolute path; {OUTSIDE}"),
        ("\\\\server\\share\\x", f"has an absolute path; {OUTSIDE}"),
        ("a\x01b", "has a control character in its name; rename it"),
        ("inner.zip", "is an archive inside the archive; unpack it first or leave it out"),
        ("a/b.7z", "is an archive inside the archive; unpack it first or leave it out"),
        ("a/b.RAR", "is an archive inside the archive; unpack it first or leave it out"),
        ("b.tar.gz", "is an archive inside the archive; unpack it first or leave it out"),
        ("b.tgz", "is an archive inside the archive; unpack it first or leave it out"),
        ("b.tar", "is an archive inside the archive; unpack it first or leave it out"),
        ("b.bz2", "is an archive inside the archive; unpack it first or leave it out"),
        ("b.xz", "is an archive inside the archive; unpack it first or leave it out"),
    ],
)
def test_unsafe_names_are_refused(tmp_path: Path, tmp_root: Path, name: str, problem: str) -> None:
    archive = make_zip(tmp_path / "report.zip", ("ok/report.json", b"{}"), (name, b"data"))
    error = refusal(archive, tmp_root)
    assert isinstance(error, ArchiveRefused)
    assert error.status_code == 422
    assert error.message == f"report.zip: entry {name!r} {problem}"
    assert [e.as_dict() for e in error.errors] == [
        {"file": "report.zip", "message": f"entry {name!r} {problem}", "row": None,
         "column": None, "value": None}
    ]  # fmt: skip


def test_a_very_long_name_is_refused(tmp_path: Path, tmp_root: Path) -> None:
    name = "a" * 256
    error = refusal(make_zip(tmp_path / "r.zip", (name, b"x")), tmp_root)
    assert error.status_code == 422
    assert error.message == (
        f"r.zip: entry '{'a' * 120}…' has a name too long to unpack (over 255 bytes a name, "
        "1024 a path); shorten it"
    )


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        (info("link", stat.S_IFLNK | 0o777),
         "is a symbolic link; zip the files themselves, not links to them"),
        (info("fifo", stat.S_IFIFO | 0o644),
         "is not a regular file or folder (a device, pipe or socket); leave it out"),
        (info("dev", stat.S_IFCHR | 0o644),
         "is not a regular file or folder (a device, pipe or socket); leave it out"),
    ],
)  # fmt: skip
def test_links_devices_and_encrypted_entries_are_refused(
    tmp_path: Path, tmp_root: Path, member: zipfile.ZipInfo, problem: str
) -> None:
    archive = make_zip(tmp_path / "r.zip", ("a/report.json", b"{}"), (member, b"../../etc"))
    error = refusal(archive, tmp_root)
    assert error.status_code == 422
    assert error.message == f"r.zip: entry {member.filename!r} {problem}"


def test_an_encrypted_entry_is_refused(tmp_path: Path, tmp_root: Path) -> None:
    archive = make_zip(tmp_path / "r.zip", ("a/secret.json", b"{}"), method=zipfile.ZIP_STORED)
    rewrite(archive, FLAGS, 0x1)
    error = refusal(archive, tmp_root)
    assert error.status_code == 422
    assert error.message == (
        "r.zip: entry 'a/secret.json' is encrypted; zip the folder without a password"
    )


@pytest.mark.parametrize(
    "head",
    [b"PK\x03\x04rest", b"PK\x05\x06" + bytes(18), b"\x1f\x8b\x08\x00", b"7z\xbc\xaf\x27\x1c",
     b"Rar!\x1a\x07\x00", b"\xfd7zXZ\x00\x00"],
)  # fmt: skip
def test_an_archive_inside_is_refused_by_its_content(
    tmp_path: Path, tmp_root: Path, head: bytes
) -> None:
    archive = make_zip(tmp_path / "r.zip", ("a/report.json", b"{}"), ("a/data.bin", head))
    error = refusal(archive, tmp_root)
    assert error.status_code == 422
    assert error.message == (
        "r.zip: entry 'a/data.bin' is an archive inside the archive; unpack it first or leave "
        "it out"
    )


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        ([("a/x", b"1"), ("a\\x", b"2")], "entry 'a\\\\x' appears twice; keep one of them"),
        ([("a/x", b"1"), ("a/x/", b"")], "entry 'a/x/' is both a file and a folder; keep one of them"),
        ([("a/x/", b""), ("a/x", b"1")], "entry 'a/x' is both a file and a folder; keep one of them"),
        ([("a/x", b"1"), ("a/x/y", b"2")],
         "entry 'a/x/y' needs 'a/x' as a folder, but it is a file; keep one of them"),
    ],
)  # fmt: skip
def test_entries_that_collide_are_refused(
    tmp_path: Path, tmp_root: Path, members: list[Entry], problem: str
) -> None:
    error = refusal(make_zip(tmp_path / "r.zip", *members), tmp_root)
    assert error.status_code == 422
    assert error.message == f"r.zip: {problem}"


def test_a_declared_total_over_the_limit_is_refused_at_once(tmp_path: Path, tmp_root: Path) -> None:
    archive = make_zip(
        tmp_path / "big.zip", ("a/1.csv", bytes(600_000)), ("a/2.csv", bytes(600_000))
    )
    error = refusal(archive, tmp_root, max_bytes=MIB)
    assert isinstance(error, ArchiveTooLarge)
    assert error.status_code == 413
    assert error.message == (
        "big.zip: holds more than 1 MiB unpacked (MAX_ARCHIVE_UNPACKED_MB); split it into "
        "smaller archives, or raise MAX_ARCHIVE_UNPACKED_MB"
    )


def test_the_bytes_written_are_counted_whatever_the_zip_declares(
    tmp_path: Path, tmp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entries.Entries, "check_declared", lambda self, total: None)
    archive = make_zip(
        tmp_path / "big.zip", ("a/1.csv", bytes(600_000)), ("a/2.csv", bytes(600_000))
    )
    error = refusal(archive, tmp_root, max_bytes=MIB)
    assert error.status_code == 413
    assert error.message.startswith("big.zip: holds more than 1 MiB unpacked")


#: Where a header field sits: (in each local header, in each central directory record).
FLAGS, METHOD, SIZE = (6, 8), (8, 10), (22, 24)


def rewrite(path: Path, field: tuple[int, int], value: int, width: str = "<H") -> None:
    """Set a field of every entry, in its local header and its central directory record
    (zipfile writes what it is given, so a lying or odd zip is made by hand)."""
    data = bytearray(path.read_bytes())
    for signature, at in zip((b"PK\x03\x04", b"PK\x01\x02"), field, strict=True):
        start = data.find(signature)
        while start >= 0:
            data[start + at : start + at + struct.calcsize(width)] = struct.pack(width, value)
            start = data.find(signature, start + 4)
    path.write_bytes(bytes(data))


def test_a_zip_bomb_that_declares_small_sizes_is_refused(tmp_path: Path, tmp_root: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", ("a/history.csv", bytes(5 * MIB)))
    assert archive.stat().st_size < 10_000
    rewrite(archive, SIZE, 100, "<I")
    error = refusal(archive, tmp_root, max_bytes=MIB)
    assert error.status_code == 422
    assert error.message.startswith("bomb.zip: entry 'a/history.csv' cannot be read (")
    assert error.message.endswith("); the archive is damaged: zip the folder again")


def test_an_unknown_compression_method_is_refused(tmp_path: Path, tmp_root: Path) -> None:
    archive = make_zip(tmp_path / "r.zip", ("a/report.json", b"{}"), method=zipfile.ZIP_STORED)
    rewrite(archive, METHOD, 9)  # Deflate64
    error = refusal(archive, tmp_root)
    assert error.status_code == 422
    assert error.message == (
        "r.zip: entry 'a/report.json' uses compression method 9, which cannot be read; zip it "
        "with Deflate, the usual method"
    )


@pytest.mark.parametrize(
    "content", [b"", b"hello, not a zip", (BASIC / "report.json").read_bytes()]
)
def test_a_file_that_is_not_a_zip_is_refused(
    tmp_path: Path, tmp_root: Path, content: bytes
) -> None:
    path = tmp_path / "report.zip"
    path.write_bytes(content)
    error = refusal(path, tmp_root)
    assert error.status_code == 422
    assert error.message == (
        "report.zip: is not a zip archive (or is cut short); send a .zip of the backtest folder"
    )


def test_a_cut_short_zip_is_refused(tmp_path: Path, tmp_root: Path) -> None:
    whole = make_zip(
        tmp_path / "whole.zip", ("a/report.json", (BASIC / "report.json").read_bytes())
    )
    cut = tmp_path / "cut.zip"
    cut.write_bytes(whole.read_bytes()[:-30])
    assert refusal(cut, tmp_root).message.startswith("cut.zip: is not a zip archive")


def test_more_entries_than_a_batch_takes_are_refused(tmp_path: Path, tmp_root: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(entries.MAX_ENTRIES + 1):
            archive.writestr(f"{number}", b"")
    error = refusal(path, tmp_root)
    assert error.status_code == 413
    assert (
        error.message == "many.zip: holds more than 100,000 entries; split it into smaller archives"
    )


def test_a_central_directory_too_long_to_read_is_refused(
    tmp_path: Path, tmp_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(archives, "MAX_DIRECTORY_BYTES", 1000)
    members = [(f"folder/{'n' * 50}{number}.txt", b"") for number in range(20)]
    error = refusal(make_zip(tmp_path / "long.zip", *members), tmp_root)
    assert error.status_code == 413
    assert (
        error.message == "long.zip: holds more than 100,000 entries; split it into smaller archives"
    )


def test_zip64_counts_are_read(tmp_path: Path, tmp_root: Path) -> None:
    path = tmp_path / "z64.zip"
    with (
        zipfile.ZipFile(path, "w") as archive,
        archive.open("a/report.json", "w", force_zip64=True) as member,
    ):
        member.write(b"{}")
    with unpacked(path, tmp_root, MIB) as folder:
        assert tree_of(folder) == {"report.json": b"{}"}


def test_is_archive(tmp_path: Path) -> None:
    zipped = make_zip(tmp_path / "a.zip", ("a/report.json", b"{}"))
    renamed = tmp_path / "export.bin"
    renamed.write_bytes(zipped.read_bytes())
    assert is_archive(zipped)
    assert is_archive(renamed)
    assert not is_archive(BASIC / "report.json")
    assert not is_archive(BASIC)
    assert not is_archive(tmp_path / "missing.zip")


def received(tmp_path: Path, **files: bytes) -> list[tuple[str, Path]]:
    """(relative path, a received part's file) pairs, as api/uploads.py leaves them."""
    parts = tmp_path / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    pairs = []
    for number, (relative, data) in enumerate(files.items()):
        path = parts / str(number)
        path.write_bytes(data)
        pairs.append((relative.replace("|", "/"), path))
    return pairs


def test_a_browser_folder_is_rebuilt(tmp_path: Path, tmp_root: Path) -> None:
    parts = received(
        tmp_path,
        **{"EURUSD h1|Optimization|3|report.json": b"{}", "EURUSD h1|Optimization|3|log.txt": b"",
           "EURUSD h1|.DS_Store": b"Bud1"},
    )  # fmt: skip
    with gathered(parts, tmp_root, MIB) as folder:
        assert folder.name == "EURUSD h1"
        assert tree_of(folder) == {
            "Optimization": None,
            "Optimization/3": None,
            "Optimization/3/log.txt": b"",
            "Optimization/3/report.json": b"{}",
        }
    assert list(tmp_root.iterdir()) == []


@pytest.mark.parametrize(
    ("relative", "data", "problem"),
    [
        ("../x", b"1", "points outside the folder; send each file's path inside the chosen folder"),
        ("/x", b"1", "has an absolute path; send each file's path inside the chosen folder"),
        ("a/b.zip", b"1", "is an archive inside the folder; unpack it first or leave it out"),
        ("a/b.bin", b"PK\x03\x04", "is an archive inside the folder; unpack it first or leave it out"),
    ],
)  # fmt: skip
def test_a_browser_folder_gets_the_checks_of_a_zip(
    tmp_path: Path, tmp_root: Path, relative: str, data: bytes, problem: str
) -> None:
    odd = received(tmp_path / "more", x=data)[0][1]
    parts = [*received(tmp_path, **{"a/report.json": b"{}"}), (relative, odd)]
    with pytest.raises(ArchiveRefused) as caught, gathered(parts, tmp_root, MIB):
        pytest.fail("the folder was accepted")
    assert caught.value.message == f"folder upload: file {relative!r} {problem}"
    assert list(tmp_root.iterdir()) == []


def test_a_browser_folder_over_the_limit_is_refused(tmp_path: Path, tmp_root: Path) -> None:
    parts = received(tmp_path, **{"a/1.csv": bytes(600_000), "a/2.csv": bytes(600_000)})
    with pytest.raises(ArchiveTooLarge) as caught, gathered(parts, tmp_root, MIB):
        pytest.fail("the folder was accepted")
    assert caught.value.message == (
        "folder upload: holds more than 1 MiB unpacked (MAX_ARCHIVE_UNPACKED_MB); upload fewer "
        "files at once, or raise MAX_ARCHIVE_UNPACKED_MB"
    )
    assert list(tmp_root.iterdir()) == []
