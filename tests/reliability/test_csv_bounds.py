"""History CSVs whose lines or width are out of all proportion are refused at once, with
bounded memory; wide rows' unknown columns are capped and kept out of trades pages."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from backtestdb.errors import InputError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_history_csv
from backtestdb.parsing.csv_text import CsvLimits
from tests.conftest import BASIC

HEADER = (BASIC / "history.csv").read_text().splitlines()[0]
ROW = (BASIC / "history.csv").read_text().splitlines()[1]


def refusal(data: bytes) -> InputError:
    with pytest.raises(InputError) as info:
        list(parse_history_csv(io.BytesIO(data), "history.csv", CsvLimits()).rows)
    return info.value


def test_a_file_without_newline_is_refused_before_it_is_read_whole() -> None:
    error = refusal(b"x" * 3_000_000)
    assert str(error) == (
        "history.csv: line 1 is longer than 1,048,576 characters (MAX_CSV_HEADER_BYTES) "
        "before any header was found: is this a History CSV?"
    )


def test_a_long_row_names_its_row() -> None:
    data = f"{HEADER}\n{ROW}\n{ROW}\n{ROW.replace('MACross', 'M' * 70_000)}\n{ROW}\n".encode()
    error = refusal(data)
    assert error.errors[0].row == 3
    assert error.errors[0].message == (
        "row is longer than 65,536 characters (MAX_CSV_ROW_BYTES): a History row is far "
        "shorter; is this a History CSV, with one trade per line?"
    )


def test_the_row_bound_holds_inside_quotes_too() -> None:
    # A quoted cell with line breaks is read line by line, each line bounded.
    data = f'{HEADER}\n{ROW}\n"{"y" * 80_000}\n'.encode()
    assert refusal(data).errors[0].row == 2


def test_peak_memory_stays_within_a_few_times_the_bound(tmp_path: Path) -> None:
    """A 60 MB History CSV with no newline: refused, in a child process whose peak RSS is
    compared with the same interpreter's baseline."""
    path = tmp_path / "one-line.csv"
    with path.open("wb") as out:
        out.write(HEADER.encode() + b"\n")
        for _ in range(60):
            out.write(b"1" * (1 << 20))
    script = (
        "import resource, sys\n"
        "from backtestdb.parsing import parse_history_csv\n"
        "from backtestdb.errors import InputError\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"with open({str(path)!r}, 'rb') as f:\n"
        "    try:\n"
        "        list(parse_history_csv(f, 'h.csv').rows)\n"
        "    except InputError as e:\n"
        "        print(e.errors[0].row)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    row, grown_kib = done.stdout.split()
    assert row == "1"
    assert int(grown_kib) < 50 * 1024  # the file is 60 MB; the bound is 64 KiB


def test_too_many_columns_are_refused() -> None:
    wide = HEADER + "".join(f",x{i}" for i in range(600))
    error = refusal(f"{wide}\n".encode())
    assert str(error) == (
        "history.csv: the header has 618 columns; at most 500 are read (MAX_CSV_COLUMNS): "
        "export the History with fewer columns"
    )


def test_unknown_columns_holding_too_much_are_a_row_error() -> None:
    data = f"{HEADER},Notes\n{ROW},short\n{ROW[:-1]}7,{'n' * 20_000}\n".encode()
    validator = TradeValidator(parse_history_csv(io.BytesIO(data), "history.csv"))
    trades = list(validator)
    assert [t.extra for t in trades] == [{"Notes": "short"}]
    assert [(e.row, e.message) for e in validator.errors] == [
        (2, "the columns backtestdb does not know hold 20,005 characters in this row; at "
            "most 16,384 are kept per row (MAX_CSV_EXTRA_BYTES): export fewer columns"),
    ]  # fmt: skip


def test_two_unknown_columns_of_one_name_are_both_kept() -> None:
    data = f"{HEADER},Margin,Margin\n{ROW},12.5,13.5\n".encode()
    [trade] = list(TradeValidator(parse_history_csv(io.BytesIO(data), "history.csv")))
    assert trade.extra == {"Margin": "12.5", "Margin (2)": "13.5"}


def test_cli_refuses_a_long_line_at_once(tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_bytes(HEADER.encode() + b"\n" + b"2" * 5_000_000)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("backtestdb")), "ingest", "--csv", str(path),
         "--initial-balance", "10000", "--json"],
        capture_output=True, text=True, timeout=120,
        env={"DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 1
    assert "row is longer than 65,536 characters" in done.stdout
