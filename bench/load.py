"""Load test: a bounded asyncio loop of mixed requests against `backtestdb serve`.

    python bench/load.py                          # 60 s, 2 workers, 16 concurrent clients
    python bench/load.py --duration 5 --json      # the CI short mode (tests/reliability)
    python bench/load.py --url http://host:8000 --api-key KEY   # an existing server

Without --url it makes a scratch PostgreSQL database (BENCH_POSTGRES_URL, default the
local server), starts `backtestdb serve --workers N` on loopback and seeds it: the sample
report ingested --seed-copies times and one History CSV of --seed-trades trades. Then
--concurrency clients loop for --duration seconds over: the list (sorted, filtered),
a backtest's detail, a page of its trades (keyset, at a random point), its daily rows,
and now and then an ingest (the sample again, forced). Prints throughput, p50/p95/p99 per
kind and overall, and every non-2xx answer or transport error as an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import WORK, migrated_database, serving  # noqa: E402
from bench.generate import write_history  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "basic" / "report.json"
#: kind: weight. Reads dominate, as they would behind a dashboard; ingests are a few %.
MIX = {"list": 30, "detail": 25, "trades": 30, "daily": 10, "ingest": 5}
READS = ("list", "detail", "trades", "daily")


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    def summary(self, seconds: float) -> dict[str, Any]:
        def figures(values: list[float]) -> dict[str, float]:
            if len(values) < 2:
                return {"count": len(values)}
            cuts = statistics.quantiles(values, n=100, method="inclusive")
            ms = {f"p{p}_ms": round(cuts[p - 1] * 1000, 2) for p in (50, 95, 99)}
            return {"count": len(values), **ms}

        reads = [v for kind in READS for v in self.latencies[kind]]
        total = sum(len(v) for v in self.latencies.values())
        return {
            "seconds": round(seconds, 2),
            "requests": total,
            "throughput_rps": round(total / seconds, 1),
            "errors": len(self.errors),
            "error_samples": self.errors[:10],
            "reads": figures(reads),
            "by_kind": {kind: figures(self.latencies[kind]) for kind in MIX},
        }


async def one_request(
    client: httpx.AsyncClient, kind: str, ids: list[tuple[str, int]], rng: random.Random
) -> httpx.Response:
    backtest_id, trades = rng.choice(ids)
    if kind == "list":
        sort = rng.choice(["-created_at", "net_profit", "-win_rate", "name"])
        return await client.get("/api/v1/backtests", params={"sort": sort, "limit": 50,
                                                             "min_total_trades": 1})  # fmt: skip
    if kind == "detail":
        return await client.get(f"/api/v1/backtests/{backtest_id}")
    if kind == "trades":
        after = rng.randrange(max(trades - 100, 1))
        return await client.get(f"/api/v1/backtests/{backtest_id}/trades",
                                params={"after": after, "limit": 100})  # fmt: skip
    if kind == "daily":
        return await client.get(f"/api/v1/backtests/{backtest_id}/daily")
    return await client.post(
        "/api/v1/ingest", files={"json_file": ("report.json", SAMPLE.read_bytes())},
        data={"force": "true", "name": "load"},
    )  # fmt: skip


async def worker(
    client: httpx.AsyncClient, ids: list[tuple[str, int]], until: float, seed: int,
    results: Results,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    kinds, weights = list(MIX), list(MIX.values())
    while time.perf_counter() < until:
        kind = rng.choices(kinds, weights)[0]
        started = time.perf_counter()
        try:
            response = await one_request(client, kind, ids, rng)
        except httpx.HTTPError as error:
            results.errors.append(f"{kind}: {type(error).__name__}: {error}")
            continue
        results.latencies[kind].append(time.perf_counter() - started)
        if response.status_code >= 300:
            results.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")


async def run_load(
    base: str, ids: list[tuple[str, int]], seconds: float, concurrency: int, api_key: str | None
) -> dict[str, Any]:
    headers = {"X-API-Key": api_key} if api_key else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    results = Results()
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=30) as client:  # fmt: skip
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(worker(client, ids, until, n, results)
                               for n in range(concurrency)))  # fmt: skip
        return results.summary(time.perf_counter() - started)


def seed(base: str, copies: int, trades: int, api_key: str | None) -> list[tuple[str, int]]:
    headers = {"X-API-Key": api_key} if api_key else {}
    ids: list[tuple[str, int]] = []
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        for _ in range(copies):
            report = {"json_file": ("report.json", SAMPLE.read_bytes())}
            answer = client.post("/api/v1/ingest", data={"force": "true"}, files=report)
            answer.raise_for_status()
            ids.append((answer.json()["backtest_id"], 200))
        if trades:
            history = WORK / f"load_history_{trades}.csv"
            if not history.exists():
                with history.open("w", newline="") as out:
                    write_history(out, trades)
            with history.open("rb") as upload:
                form = {"initial_balance": "10000", "force": "true"}
                answer = client.post("/api/v1/ingest", files={"csv_file": upload}, data=form)
            answer.raise_for_status()
            ids.append((answer.json()["backtest_id"], trades))
    return ids


@contextmanager
def local_server(workers: int) -> Iterator[str]:
    """A scratch database and `backtestdb serve --workers N` on loopback."""
    WORK.mkdir(parents=True, exist_ok=True)
    with migrated_database("backtestdb_load") as url:
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING",
               "DATA_DIR": str(WORK / url.rsplit("/", 1)[1])}  # fmt: skip
        env.pop("API_KEYS", None)
        with serving(env, workers) as (base, _):
            yield base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed-copies", type=int, default=20)
    parser.add_argument("--seed-trades", type=int, default=100_000)
    parser.add_argument("--url", help="an existing server (nothing is created or dropped)")
    parser.add_argument("--api-key", default=os.environ.get("API_KEY"))
    parser.add_argument("--no-ingest", action="store_true", help="reads only")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    if args.no_ingest:
        MIX.pop("ingest")

    def measure(base: str) -> dict[str, Any]:
        ids = seed(base, args.seed_copies, args.seed_trades, args.api_key)
        report = asyncio.run(run_load(base, ids, args.duration, args.concurrency, args.api_key))
        report.update(workers=args.workers, concurrency=args.concurrency)
        return report

    if args.url:
        report = measure(args.url)
    else:
        with local_server(args.workers) as base:
            report = measure(base)
    if args.json:
        print(json.dumps(report))
        return
    print(f"{report['requests']} requests in {report['seconds']} s: "
          f"{report['throughput_rps']} req/s, {report['errors']} errors")  # fmt: skip
    for kind, figures in {"reads": report["reads"], **report["by_kind"]}.items():
        print(f"  {kind:8} {figures}")
    for sample in report["error_samples"]:
        print(f"  error: {sample}")


if __name__ == "__main__":
    main()
