"""The benchmarks run (tiny sizes) so they cannot rot; their figures are read by hand."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


LAYOUTS = ["full", "default", "backtest", "statement", "report-json", "report-html", "events"]
ARGS = {"ingest.py": ["--trades", "200", "--layout", "all"]}  # the others: --smoke


@pytest.mark.parametrize("script", ["ingest.py", "reads.py", "filters.py", "batch.py"])
def test_bench_smoke(script: str, postgres_url: str, tmp_path: Path) -> None:
    """Needs PostgreSQL: `postgres_url` fails the run under CI when it is unreachable."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *ARGS.get(script, ["--smoke"])],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    if script == "ingest.py":
        assert_ingest_bench(done.stdout)
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


def assert_ingest_bench(stdout: str) -> None:
    """Every method and layout measured, each layout's stored trades checked, and every
    target given a verdict (which one, at 200 trades, is not the suite's business)."""
    for method in ["(a)  psql \\copy", "(a') psql", "(b)  backtestdb ingest (CLI)",
                   "(c)  API upload", "(d)  naive", "(e)  backtestdb ingest on SQLite"]:  # fmt: skip
        assert method in stdout
    for layout in LAYOUTS:
        assert f"check {layout}: 200 trades stored, SUM(profit) " in stdout
        assert re.search(rf"^{layout} +\d+\.\d\d +[\d,]+ +\d+ +[\d.]+ +[\d.]+$", stdout, re.M)
    assert stdout.count(": OK\n") == len(LAYOUTS)
    verdicts = re.findall(r"^(.+?) +(?:[\d.]+)? +<=? [\d.]+ +(ok|MISSED|n/a)", stdout, re.M)
    assert len(verdicts) == 15
    assert ("(b)/(a)", "ok") in verdicts or ("(b)/(a)", "MISSED") in verdicts
