"""Ingest benchmark: backtestdb against the raw COPY ceiling, measured in one run.

    python bench/ingest.py --trades 100000 1000000      # by hand (minutes)
    python bench/ingest.py --trades 1000000 --layout all
    python bench/ingest.py --smoke                      # tiny, proves the harness works

For each size, against the same PostgreSQL (BENCH_POSTGRES_URL, default the local server)
in a scratch database it creates and drops:
  (a)  psql \\copy of the very rows backtestdb writes for the full History CSV into a
       table identical to `trades` (same primary key and indexes) without the foreign
       key: the ceiling; and
  (a') the same with the foreign key to backtests that `trades` has;
  (b)  `backtestdb ingest --csv` end to end, as a separate process;
  (c)  the same file uploaded to a running `backtestdb serve`;
  (d)  the naive way: csv module + SQLAlchemy executemany in batches of 10k;
  (e)  `backtestdb ingest` on SQLite.
Then (b) of each other --layout (bench/inputs.py: the same trades as the History layouts
default, backtest and statement, as report.json, report.html and events.json). Each (b)
is checked: exactly the file's trades stored, SUM(profit) = its final balance minus the
initial one, to the cent. Prints wall seconds, rows/s, peak RSS of the measured process
and the ratio to (a); per layout also the ratio to the full layout's (b) (for a report
or events.json: its ratio to the CSV's); then the issue's targets, each with its verdict.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import BIN, WORK, migrated_database, serving  # noqa: E402
from bench.inputs import LAYOUTS, Input, bench_input, history  # noqa: E402
from bench.targets import GROWTH_BASE, Measure, print_targets  # noqa: E402

__all__ = ["history", "run_measured"]
# This run's own files (RSS reports, COPY text, DATA_DIR, SQLite): other benches may be
# running beside it in the same WORK.
SCRATCH = WORK / f"run_{os.getpid()}"


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) and stdout of one child process; fails loudly on error.

    GNU time reports the RSS: a child forked straight from this (large) process would
    count our pages until it execs."""
    report = SCRATCH / "rss.txt"
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), *args], env=env, capture_output=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    rss = int(report.read_text().split()[-1]) / 1024
    return elapsed, rss, done.stdout.decode(errors="replace")


def copy_text(path: Path, url: str) -> Path:
    """The exact COPY input backtestdb produces for `path` (prepared, not timed)."""
    from backtestdb.ingest.derived import Deriver
    from backtestdb.ingest.stored_rows import encoded_trades
    from backtestdb.ingest.validation import TradeValidator
    from backtestdb.ingest.writers.postgres import copy_line
    from backtestdb.parsing import parse_history_csv

    target = SCRATCH / path.with_suffix(".copy").name
    backtest_id = uuid.uuid4()
    with path.open("rb") as stream, target.open("w") as out:
        source = parse_history_csv(stream, path.name)
        validator = TradeValidator(source)
        rows = encoded_trades(source, validator, Deriver(Decimal(10000)))
        for number, fields in enumerate(rows, start=1):
            out.write(copy_line(f"{backtest_id}\t", number, fields))
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO backtests (id, name, initial_balance, net_profit, gross_profit, "
            "gross_loss, total_trades, winning_trades, losing_trades, win_rate, "
            "max_balance_drawdown, max_balance_drawdown_percent, commissions, swaps, symbols, "
            "reported_statistics, source_files) VALUES "
            "(%s, 'ceiling', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', '{}', '[]')",
            (backtest_id,),
        )
    return target


def ceiling(url: str, rows: Path, with_foreign_key: bool) -> tuple[float, float]:
    from backtestdb.ingest.writers.postgres import COLUMNS

    table = "ceiling_fk" if with_foreign_key else "ceiling"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
        connection.execute(f"CREATE TABLE {table} (LIKE trades INCLUDING ALL)")
        if with_foreign_key:
            connection.execute(
                f"ALTER TABLE {table} ADD FOREIGN KEY (backtest_id) "
                "REFERENCES backtests (id) ON DELETE CASCADE"
            )
        connection.execute("CHECKPOINT")
    copy = f"\\copy {table} ({COLUMNS}) FROM '{rows}'"
    seconds, rss, _ = run_measured(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", copy], dict(os.environ)
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP TABLE {table}")
        connection.execute("CHECKPOINT")
    return seconds, rss


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def api_upload(path: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of the upload and how much the server's RSS peak grew (MiB)."""
    with serving(env) as (base, pid):
        httpx.get(f"{base}/api/v1/backtests", timeout=10)  # warm the engine
        before = rss_mib(pid)
        start = time.perf_counter()
        with path.open("rb") as stream:
            response = httpx.post(
                f"{base}/api/v1/ingest",
                files={"csv_file": (path.name, stream, "text/csv")},
                data={"initial_balance": "10000", "force": "true"},
                timeout=600,
            )
        elapsed = time.perf_counter() - start
        response.raise_for_status()
        return elapsed, rss_mib(pid, "VmHWM") - before


def ingested(source: Input, url: str, env: dict[str, str]) -> tuple[float, float]:
    """(b): `backtestdb ingest` of `source` into `url`, checked; seconds and peak RSS."""
    args = [str(BIN / "backtestdb"), "ingest", *source.ingest_args(), "--force", "--json"]
    seconds, rss, stdout = run_measured(args, {**env, "DATABASE_URL": url})
    check_stored(url, source, uuid.UUID(json.loads(stdout)["backtest_id"]))
    return seconds, rss


def check_stored(url: str, source: Input, backtest_id: uuid.UUID) -> None:
    """The backtest holds every trade of the file, and its profits add up to the file's
    final balance minus the initial balance, to the cent."""
    with psycopg.connect(url) as connection:
        count, total = connection.execute(
            "SELECT count(*), sum(profit) FROM trades WHERE backtest_id = %s", (backtest_id,)
        ).fetchone() or (0, None)
    ok = count == source.trades and total == source.net
    print(f"check {source.layout}: {count:,} trades stored, SUM(profit) {total} = final "
          f"balance - 10000 = {source.net}: {'OK' if ok else 'MISMATCH'}", flush=True)  # fmt: skip
    if not ok:
        raise SystemExit(f"{source.path}: the stored trades do not add up")


def measure(
    trades: int, url: str, layouts: list[str], naive: bool, sqlite: bool
) -> dict[str, Measure]:
    """Every method's measure for one size: keyed a, a', b, c, d, e, then by layout."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    full = bench_input("full", trades)
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(SCRATCH / "data")}
    env["MAX_FILE_SIZE_MB"] = "4096"  # a 1M-trade events.json is over 1 GB
    rows = copy_text(full.path, url)
    results = {
        "a": Measure("(a)  psql \\copy, same rows, no FK", *ceiling(url, rows, False)),
        "a'": Measure("(a') psql \\copy, same rows, with FK", *ceiling(url, rows, True)),
        "b": Measure("(b)  backtestdb ingest (CLI)", *ingested(full, url, env)),
        "c": Measure("(c)  API upload (server RSS growth)", *api_upload(full.path, env)),
    }
    rows.unlink()
    if naive:
        script = [sys.executable, str(ROOT / "bench" / "naive.py"), str(full.path), url]
        results["d"] = Measure("(d)  naive csv + executemany", *run_measured(script, env)[:2])
    if sqlite:
        lite = SCRATCH / "bench.sqlite3"
        lite.unlink(missing_ok=True)
        on_lite = {**env, "DATABASE_URL": f"sqlite:///{lite}"}
        upgrade = [str(BIN / "backtestdb"), "db", "upgrade"]  # as PostgreSQL's: not timed
        subprocess.run(upgrade, env=on_lite, check=True, capture_output=True)
        ingest = [str(BIN / "backtestdb"), "ingest", *full.ingest_args(), "--force", "--json"]
        on_sqlite = run_measured(ingest, on_lite)
        results["e"] = Measure("(e)  backtestdb ingest on SQLite", *on_sqlite[:2])
    for layout in layouts:
        results[layout] = Measure(layout, *ingested(bench_input(layout, trades), url, env))
    return results


def report(trades: int, results: dict[str, Measure], layouts: list[str]) -> None:
    base = results["a"].seconds
    print(f"\n{trades:,} trades", flush=True)
    print(f"{'method':40} {'seconds':>8} {'rows/s':>10} {'RSS MiB':>8} {'ratio':>6}")
    for key, got in results.items():
        if key not in LAYOUTS:
            rate, ratio = trades / got.seconds, got.seconds / base
            print(f"{got.name:40} {got.seconds:8.2f} {rate:10,.0f} {got.rss_mib:8.0f} "
                  f"{ratio:6.2f}", flush=True)  # fmt: skip
    print(f"\n{trades:,} trades, (b) of each layout; /(b): to the full layout's (b), the "
          "CSV's for a report or events.json", flush=True)  # fmt: skip
    print(f"{'layout':14} {'seconds':>8} {'rows/s':>10} {'RSS MiB':>8} {'/(a)':>6} {'/(b)':>6}")
    for layout in ["full", *layouts]:
        got = results["b" if layout == "full" else layout]
        seconds = got.seconds
        ratios = f"{seconds / base:6.2f} {seconds / results['b'].seconds:6.2f}"
        print(f"{layout:14} {seconds:8.2f} {trades / seconds:10,.0f} {got.rss_mib:8.0f} {ratios}")


def chosen_layouts(asked: list[str]) -> list[str]:
    """The layouts beyond `full` (which always runs: it is (b)), in LAYOUTS' order."""
    wanted = set(LAYOUTS) if "all" in asked else set(asked)
    return [layout for layout in LAYOUTS[1:] if layout in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trades", type=int, nargs="+", default=[GROWTH_BASE, 1_000_000])
    parser.add_argument("--smoke", action="store_true", help="2,000 trades, every method")
    parser.add_argument("--no-naive", action="store_true", help="skip (d), the slowest")
    parser.add_argument(
        "--layout", nargs="+", choices=[*LAYOUTS, "all"], default=["full"],
        help="the inputs (b) ingests besides the full History CSV; `all`: every one",
    )  # fmt: skip
    args = parser.parse_args()
    sizes = [2000] if args.smoke else args.trades
    layouts = chosen_layouts(args.layout)
    measured: dict[int, dict[str, Measure]] = {}
    try:
        with migrated_database("backtestdb_bench") as url:
            for trades in sizes:
                sqlite = args.smoke or trades >= 1_000_000 or len(sizes) == 1
                measured[trades] = measure(trades, url, layouts, not args.no_naive, sqlite)
                report(trades, measured[trades], layouts)
            for trades, results in measured.items():
                base = measured.get(GROWTH_BASE) if trades != GROWTH_BASE else None
                print_targets(trades, results, base)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
        if args.smoke:
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
