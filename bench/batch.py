"""Batch ingest benchmark: an optimisation tree through one `backtestdb ingest TREE`.

    python bench/batch.py                               # 1,000 passes of 500 trades (minutes)
    python bench/batch.py --passes 100 --trades 500
    python bench/batch.py --smoke                       # tiny, proves the harness works

Generates (cached under $TMPDIR/backtestdb-bench) an Optimization tree of `--passes`
folders of `--trades` trades (bench/trees.py), for each of `--sources`: report-events
(report.html + events.json + parameters.cbotset + log.txt) and csv (the backtest History
CSV + parameters.cbotset + log.txt). Then, on each backend (a scratch PostgreSQL database,
BENCH_POSTGRES_URL, created and dropped; SQLite in a fresh DATA_DIR with no DATABASE_URL):
  (s) the single-file rate: one History CSV of passes x trades trades, `backtestdb ingest
      --csv`, the baseline of the ratio;
  (b) each tree by ONE `backtestdb ingest TREE --json` process.
Checks every pass was ingested into one run of `passes` backtests holding passes x trades
trades whose net profits sum to the generator's, and prints seconds, passes/s, trades/s,
peak RSS and trades/s as a ratio of (s)'s. Target: 30 passes/s on PostgreSQL.
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
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Uuid, bindparam, create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import BIN, WORK, migrated_database  # noqa: E402
from bench.ingest import history  # noqa: E402
from bench.trees import SOURCES, write_tree  # noqa: E402

TARGET_PASSES_PER_SECOND = 30
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Result:
    method: str
    seconds: float
    passes: int | None  # None: a single file
    trades: int
    rss_mib: float


def tree(passes: int, trades: int, sources: str) -> tuple[Path, dict[str, int]]:
    """The cached tree's root and its totals ({passes, trades, net_cents})."""
    WORK.mkdir(exist_ok=True)
    root = WORK / f"tree_{sources}_{passes}x{trades}"
    sums = root.with_suffix(".json")
    if not (root.exists() and sums.exists()):
        # Written aside and renamed: a run stopped half-way leaves no partial tree that a
        # later run would take for the whole one.
        partial = root.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        start = time.perf_counter()
        done = write_tree(partial, passes=passes, trades=trades, sources=sources)
        totals = {"passes": len(done.passes), "trades": done.trades, "net_cents": done.net_cents}
        shutil.rmtree(root, ignore_errors=True)
        partial.replace(root)
        sums.write_text(json.dumps(totals))
        print(f"generated {root} in {time.perf_counter() - start:.1f} s", flush=True)
    return root, json.loads(sums.read_text())


def measured(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB, by GNU time) and stdout of one child process."""
    report = WORK / "rss.txt"
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(report), *args],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return elapsed, int(report.read_text().split()[-1]) / 1024, done.stdout


def stored(url: str, run_id: str) -> tuple[int, int, int, Decimal]:
    """(backtests in the run, their total_trades, trade rows, sum of net profit)."""
    run = bindparam("run", uuid.UUID(run_id), type_=Uuid)  # SQLite keeps UUIDs as hex
    totals = text(
        "SELECT count(*), sum(total_trades), sum(net_profit) FROM backtests WHERE run_id = :run"
    ).bindparams(run)
    rows = text(
        "SELECT count(*) FROM trades JOIN backtests ON backtests.id = trades.backtest_id "
        "WHERE backtests.run_id = :run"
    ).bindparams(run)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            backtests, total, net = connection.execute(totals).one()
            count = connection.execute(rows).scalar_one()
    finally:
        engine.dispose()
    # SQLite sums the Numeric column as floats: back to cents.
    return int(backtests), int(total or 0), int(count), Decimal(str(net or 0)).quantize(CENT)


def check_batch(output: str, url: str, totals: dict[str, int]) -> None:
    """Every pass ingested, into one run holding what the generator wrote."""
    batch: dict[str, Any] = json.loads(output)
    statuses = [item["status"] for item in batch["items"]]
    failed = [item for item in batch["items"] if item["status"] != "ingested"]
    if failed or batch["interrupted"] or len(statuses) != totals["passes"]:
        first = failed[0] if failed else {}
        raise SystemExit(f"batch: {len(statuses)} items, {len(failed)} not ingested: {first}")
    run_ids = {item["run_id"] for item in batch["items"]}
    if len(run_ids) != 1 or None in run_ids:
        raise SystemExit(f"batch: the passes are in runs {run_ids}, not one")
    backtests, total, rows, net = stored(url, str(run_ids.pop()))
    expected = (totals["passes"], totals["trades"], totals["trades"])
    net_ok = net * 100 == totals["net_cents"]
    status = "OK" if (backtests, total, rows) == expected and net_ok else "MISMATCH"
    print(f"check: {backtests:,} backtests in the run, {rows:,} trades stored "
          f"({total:,} counted), net {net}: {status}", flush=True)  # fmt: skip
    if status != "OK":
        raise SystemExit(f"stored {(backtests, total, rows, net)}, expected {expected}")


def single_file(trades: int, env: dict[str, str]) -> Result:
    path = history(trades)
    args = [str(BIN / "backtestdb"), "ingest", "--csv", str(path), "--force", "--json"]
    seconds, rss, _ = measured([*args, "--initial-balance", "10000"], env)
    return Result(f"(s) single CSV, {trades:,} trades", seconds, None, trades, rss)


def backend(
    name: str, env: dict[str, str], url: str, passes: int, trades: int, sources: list[str]
) -> list[Result]:
    subprocess.run([str(BIN / "backtestdb"), "db", "upgrade"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    results = [single_file(passes * trades, env)]
    for sources_name in sources:
        root, totals = tree(passes, trades, sources_name)
        args = [str(BIN / "backtestdb"), "ingest", str(root), "--json"]
        seconds, rss, output = measured(args, env)
        check_batch(output, url, totals)
        method = f"(b) batch {sources_name}, {passes:,} x {trades:,}"
        results.append(Result(method, seconds, passes, totals["trades"], rss))
    report(name, results)
    return results


def report(name: str, results: list[Result]) -> None:
    base = results[0].trades / results[0].seconds
    print(f"\n{name}", flush=True)
    print(f"{'method':40} {'seconds':>8} {'passes/s':>9} {'trades/s':>10} {'RSS MiB':>8} "
          f"{'ratio':>6}")  # fmt: skip
    for r in results:
        rate = r.trades / r.seconds
        per_pass = "-" if r.passes is None else f"{r.passes / r.seconds:,.1f}"
        print(f"{r.method:40} {r.seconds:8.2f} {per_pass:>9} {rate:10,.0f} {r.rss_mib:8.0f} "
              f"{rate / base:6.2f}", flush=True)  # fmt: skip
    if name == "PostgreSQL":
        for r in results[1:]:
            assert r.passes is not None
            verdict = "OK" if r.passes / r.seconds >= TARGET_PASSES_PER_SECOND else "MISSED"
            print(f"target >= {TARGET_PASSES_PER_SECOND} passes/s, {r.method}: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passes", type=int, default=1000)
    parser.add_argument("--trades", type=int, default=500, help="trades per pass")
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES))
    parser.add_argument("--backends", nargs="+", choices=("postgresql", "sqlite"),
                        default=["postgresql", "sqlite"])  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="4 passes of 100 trades")
    args = parser.parse_args()
    passes, trades = (4, 100) if args.smoke else (args.passes, args.trades)
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    base["MAX_FILE_SIZE_MB"] = "1024"  # the single CSV of 500,000 trades is about 75 MB
    try:
        if "postgresql" in args.backends:
            with migrated_database("backtestdb_batch") as url:
                env = {**base, "DATABASE_URL": url, "DATA_DIR": str(WORK / "batch-pg")}
                sqlalchemy_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
                backend("PostgreSQL", env, sqlalchemy_url, passes, trades, args.sources)
        if "sqlite" in args.backends:
            data = WORK / "batch-sqlite"
            shutil.rmtree(data, ignore_errors=True)
            env = {**base, "DATA_DIR": str(data)}
            url = f"sqlite:///{data / 'backtestdb.sqlite3'}"
            backend("SQLite", env, url, passes, trades, args.sources)
    finally:
        shutil.rmtree(WORK / "batch-pg", ignore_errors=True)
        shutil.rmtree(WORK / "batch-sqlite", ignore_errors=True)
        if args.smoke:
            shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
