"""The benchmarks run (tiny sizes) so they cannot rot; their figures are read by hand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["ingest.py", "reads.py", "filters.py", "batch.py"])
def test_bench_smoke(script: str, postgres_url: str, tmp_path: Path) -> None:
    """Needs PostgreSQL: `postgres_url` fails the run under CI when it is unreachable."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    if script == "ingest.py":
        assert "(a)  psql \\copy" in done.stdout
        assert "(b)  backtestdb ingest (CLI)" in done.stdout
        assert "(e)  backtestdb ingest on SQLite" in done.stdout
    elif script == "batch.py":
        assert done.stdout.count("check: 4 backtests in the run, 400 trades stored") == 4
        assert "(b) batch report-events, 4 x 100" in done.stdout
        assert "(b) batch csv, 4 x 100" in done.stdout
    elif script == "filters.py":
        assert "50 backtests x 50 parameters" in done.stdout
        assert "      3 now     count" in done.stdout
    else:
        assert "trades, first page" in done.stdout
        assert "stats by month" in done.stdout
