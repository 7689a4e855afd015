"""Read benchmark: a real server over 10,000 backtests plus one with 1,000,000 trades.

    python bench/reads.py [--backtests 10000] [--trades 1000000] [--requests 200]
    python bench/reads.py --smoke

Fills a scratch PostgreSQL database (BENCH_POSTGRES_URL, default the local server) fast
with COPY, starts `backtestdb serve`, and sends a bounded number of sequential requests per
endpoint on loopback. Prints p50/p95/p99 in milliseconds.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import BIN, WORK, migrated_database, serving  # noqa: E402
from bench.ingest import history  # noqa: E402

BACKTEST_COLUMNS = (
    "id, name, symbol, symbols, period, initial_balance, ending_balance, net_profit, "
    "gross_profit, gross_loss, total_trades, winning_trades, losing_trades, win_rate, "
    "profit_factor, max_balance_drawdown, max_balance_drawdown_percent, commissions, swaps, "
    "reported_statistics, source_files, created_at, updated_at"
)


def fill_backtests(url: str, count: int) -> None:
    """`count` plausible backtests, each with two parameters, in two COPYs."""
    rng = random.Random(5)
    backtests, parameters = io.StringIO(), io.StringIO()
    for number in range(count):
        backtest_id = uuid.uuid4()
        trades = rng.randint(50, 5000)
        wins = rng.randint(trades // 3, trades * 2 // 3)
        net = rng.randint(-500_000, 900_000) / 100
        symbol = rng.choice(["EURUSD", "GBPUSD", "XAUUSD", "USDJPY"])
        created = f"2025-{number % 12 + 1:02d}-{number % 28 + 1:02d} 12:00:00+00"
        backtests.write(
            f'{backtest_id}\tbacktest {number}\t{symbol}\t["{symbol}"]\th1\t10000\t'
            f"{10000 + net:.2f}\t{net:.2f}\t{abs(net) + 100:.2f}\t-100.00\t{trades}\t{wins}\t"
            f"{trades - wins}\t{wins * 100 / trades:.2f}\t{rng.uniform(0.5, 2.5):.4f}\t"
            f"{rng.uniform(10, 900):.2f}\t{rng.uniform(0.1, 9):.2f}\t-10.00\t-1.00\t{{}}\t[]\t"
            f"{created}\t{created}\n"
        )
        fast = rng.choice([5, 9, 12, 20])
        parameters.write(f"{backtest_id}\tFastPeriod\t{fast}\tint\n")
        parameters.write(f"{backtest_id}\tSource\tClose\tstring\n")
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY backtests ({BACKTEST_COLUMNS}) FROM STDIN") as copy:
            copy.write(backtests.getvalue())
        with cursor.copy(
            "COPY parameters (backtest_id, name, value, value_type) FROM STDIN"
        ) as copy:
            copy.write(parameters.getvalue())
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def ingest_big(url: str, trades: int) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(WORK / "data")}
    command = [str(BIN / "backtestdb"), "ingest", "--csv", str(history(trades)), "--json"]
    command += ["--force", "--initial-balance", "10000", "--name", "big"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    import json

    return str(json.loads(done.stdout)["backtest_id"])


def percentiles(client: httpx.Client, path: str, requests: int) -> tuple[float, float, float]:
    client.get(path).raise_for_status()  # warm
    timings = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        timings.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backtests", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.backtests, args.trades, args.requests = 50, 3000, 5
    with migrated_database("backtestdb_reads") as url:
        env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(WORK / "data")}
        fill_backtests(url, args.backtests)
        big = ingest_big(url, args.trades)
        deep = max(args.trades - 1000, 0)
        paths = {
            "list, newest first": "/api/v1/backtests",
            "list, sort=-net_profit": "/api/v1/backtests?sort=-net_profit",
            "list, min_win_rate=55 sort=-profit_factor": (
                "/api/v1/backtests?min_win_rate=55&sort=-profit_factor"
            ),
            "list, symbol=XAUUSD": "/api/v1/backtests?symbol=XAUUSD",
            "list, param.FastPeriod=9": "/api/v1/backtests?param.FastPeriod=9",
            "detail (1M-trade backtest)": f"/api/v1/backtests/{big}",
            "trades, first page": f"/api/v1/backtests/{big}/trades?limit=100",
            f"trades, after={deep}": f"/api/v1/backtests/{big}/trades?limit=100&after={deep}",
            "trades, symbol filter, deep": (
                f"/api/v1/backtests/{big}/trades?limit=100&symbol=XAUUSD&after={deep // 2}"
            ),
            "daily": f"/api/v1/backtests/{big}/daily",
            "stats by month": f"/api/v1/backtests/{big}/stats?group_by=month",
        }
        with serving(env) as (base, _), httpx.Client(base_url=base, timeout=30) as client:
            print(f"{args.backtests:,} backtests, one with {args.trades:,} trades; "
                  f"{args.requests} sequential requests each")  # fmt: skip
            print(f"{'endpoint':46} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
            for label, path in paths.items():
                p50, p95, p99 = percentiles(client, path, args.requests)
                print(f"{label:46} {p50:8.1f} {p95:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
