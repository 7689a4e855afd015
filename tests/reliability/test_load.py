"""The load bench's short mode: `bench/load.py` for 5 s against `serve --workers 2` on
PostgreSQL. Zero errors is the bar; the latency bound here is loose because CI machines
are shared (the 60 s figures by hand are in docs/reliability.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ADMIN_URL, admin_connection

ROOT = Path(__file__).resolve().parents[2]
#: Reads p95 the short mode must stay under, in ms (LOAD_P95_LIMIT_MS to change it).
P95_LIMIT_MS = float(os.environ.get("LOAD_P95_LIMIT_MS", "1000"))


def test_short_load_run_has_no_errors() -> None:
    admin_connection().close()  # unreachable PostgreSQL: skip locally, fail under CI
    command = [sys.executable, str(ROOT / "bench" / "load.py"), "--duration", "5",
               "--workers", "2", "--concurrency", "4", "--seed-copies", "4",
               "--seed-trades", "5000", "--json"]  # fmt: skip
    env = {**os.environ, "BENCH_POSTGRES_URL": ADMIN_URL}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == 0, report["error_samples"]
    assert report["requests"] > 50, report
    assert report["by_kind"]["ingest"]["count"] > 0, report
    assert report["reads"]["p95_ms"] < P95_LIMIT_MS, report
