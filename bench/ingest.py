"""Ingest benchmark: backtestdb against the raw COPY ceiling, measured in one run.

    python bench/ingest.py --trades 100000 1000000      # by hand (minutes)
    python bench/ingest.py --smoke                      # tiny, proves the harness works

For each size, against the same PostgreSQL (BENCH_POSTGRES_URL, default the local server)
in a scratch database it creates and drops:
  (a)  psql \\copy of the very rows backtestdb writes into a table identical to `trades`
       (same primary key and indexes) without the foreign key: the ceiling; and
  (a') the same with the foreign key to backtests that `trades` has;
  (b)  `backtestdb ingest --csv` end to end, as a separate process;
  (c)  the same file uploaded to a running `backtestdb serve`;
  (d)  the naive way: csv module + SQLAlchemy executemany in batches of 10k;
  (e)  `backtestdb ingest` on SQLite.
Prints wall seconds, rows/s, peak RSS of the measured process and the ratio to (a).
"""

from __future__ import annotations

import argparse
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
from bench.generate import write_history  # noqa: E402


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process; fails loudly on error.

    GNU time reports the RSS: a child forked straight from this (large) process would
    count our pages until it execs."""
    report = WORK / "rss.txt"
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), *args], env=env, capture_output=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")
        raise SystemExit(f"{' '.join(args)} failed:\n{output}")
    return elapsed, int(report.read_text().split()[-1]) / 1024


def history(trades: int) -> Path:
    WORK.mkdir(exist_ok=True)
    path = WORK / f"history_{trades}.csv"
    if not path.exists():
        # Written aside and renamed: a run stopped half-way leaves no truncated file that
        # a later run would take for the whole one.
        partial = path.with_suffix(".partial")
        with partial.open("w", newline="") as out:
            write_history(out, trades)
        partial.replace(path)
    return path


def copy_text(path: Path, url: str) -> Path:
    """The exact COPY input backtestdb produces for `path` (prepared, not timed)."""
    from backtestdb.ingest.derived import Deriver
    from backtestdb.ingest.stored_rows import encoded_trades
    from backtestdb.ingest.validation import TradeValidator
    from backtestdb.ingest.writers.postgres import copy_line
    from backtestdb.parsing import parse_history_csv

    target = path.with_suffix(".copy")
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
    result = run_measured(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", copy], dict(os.environ)
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP TABLE {table}")
        connection.execute("CHECKPOINT")
    return result


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


def measure(trades: int, url: str, naive: bool, sqlite: bool) -> list[tuple[str, float, float]]:
    path = history(trades)
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(WORK / "data")}
    env["MAX_FILE_SIZE_MB"] = "1024"  # a 1M-trade History CSV is about 150 MB
    ingest = [str(BIN / "backtestdb"), "ingest", "--csv", str(path), "--force", "--json"]
    ingest += ["--initial-balance", "10000"]
    rows = copy_text(path, url)
    results = [
        ("(a)  psql \\copy, same rows, no FK", *ceiling(url, rows, False)),
        ("(a') psql \\copy, same rows, with FK", *ceiling(url, rows, True)),
        ("(b)  backtestdb ingest (CLI)", *run_measured(ingest, env)),
    ]
    check_newest(url, path, trades)
    results += [
        ("(c)  API upload (server RSS growth)", *api_upload(path, env)),
    ]
    rows.unlink()
    if naive:
        script = [sys.executable, str(ROOT / "bench" / "naive.py"), str(path), url]
        results.append(("(d)  naive csv + executemany", *run_measured(script, env)))
    if sqlite:
        lite = {**env, "DATABASE_URL": f"sqlite:///{WORK / 'bench.sqlite3'}"}
        (WORK / "bench.sqlite3").unlink(missing_ok=True)
        results.append(("(e)  backtestdb ingest on SQLite", *run_measured(ingest, lite)))
    return results


def check_newest(url: str, path: Path, trades: int) -> None:
    """The newest backtest holds every trade, and its profits add up to the file's last
    Balance minus the initial balance, to the cent."""
    last_line = path.read_bytes()[-200:].decode().strip().splitlines()[-1]
    final = Decimal(last_line.rsplit(",", 1)[1])
    with psycopg.connect(url) as connection:
        count, total = connection.execute(
            "SELECT count(*), sum(profit) FROM trades WHERE backtest_id = "
            "(SELECT id FROM backtests ORDER BY created_at DESC LIMIT 1)"
        ).fetchone() or (0, None)
    status = "OK" if (count, total) == (trades, final - 10000) else "MISMATCH"
    print(f"check: {count:,} trades stored, SUM(profit) {total} = last Balance {final} "
          f"- 10000: {status}", flush=True)  # fmt: skip
    if status != "OK":
        raise SystemExit("stored trades do not add up")


def report(trades: int, results: list[tuple[str, float, float]]) -> None:
    base = results[0][1]
    print(f"\n{trades:,} trades", flush=True)
    print(f"{'method':40} {'seconds':>8} {'rows/s':>10} {'RSS MiB':>8} {'ratio':>6}")
    for name, seconds, rss in results:
        rate, ratio = trades / seconds, seconds / base
        print(f"{name:40} {seconds:8.2f} {rate:10,.0f} {rss:8.0f} {ratio:6.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--smoke", action="store_true", help="2,000 trades, every method")
    parser.add_argument("--no-naive", action="store_true", help="skip (d), the slowest")
    args = parser.parse_args()
    sizes = [2000] if args.smoke else args.trades
    try:
        with migrated_database("backtestdb_bench") as url:
            for trades in sizes:
                sqlite = args.smoke or trades >= 1_000_000 or len(sizes) == 1
                report(trades, measure(trades, url, not args.no_naive, sqlite))
    finally:
        if args.smoke:
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
