"""Dashboard benchmark: how long the backtest page of a large backtest takes to draw.

    python bench/ui.py [--trades 1000000] [--runs 3]
    python bench/ui.py --smoke

Ingests a History CSV made by bench.generate.write_history into a scratch PostgreSQL
database (BENCH_POSTGRES_URL, default the local server; created and dropped), starts
`backtestdb serve`, and loads /ui/backtests/<id> in Chromium (/usr/bin/chromium, headless,
driven by Playwright). Prints, per load, milliseconds from navigation start to: the HTML
received, DOMContentLoaded (the page is usable: links, trade table, buttons), the equity
chart drawn (the /equity fetch plus uPlot's first draw), and the monthly heatmap and the
first breakdown swapped in. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import WORK, migrated_database, serving  # noqa: E402
from bench.reads import ingest_big  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TIMINGS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const equity = performance.getEntriesByType('resource').find(r => r.name.includes('/equity'));
    return {
        html: nav.responseEnd,
        dom: nav.domContentLoadedEventEnd,
        chart: window.backtestdb.chartDrawnAt,
        equity_fetch: equity ? equity.duration : null,
        marks: window.__marks || {},
    };
}"""
# Records when the lazily loaded fragments arrive (htmx:afterSwap), from navigation start.
MARKS = """window.__marks = {};
document.addEventListener('htmx:afterSwap', (e) => {
    const id = e.detail.target && e.detail.target.id;
    if (id && !(id in window.__marks)) window.__marks[id] = performance.now();
});"""


def measure(base: str, backtest: str, runs: int) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.add_init_script(MARKS)
            page.goto(f"{base}/ui/backtests/{backtest}", timeout=600_000)
            page.wait_for_selector("#equity[data-drawn=true]", timeout=600_000)
            page.wait_for_selector("#monthly table, #monthly p", timeout=600_000)
            page.wait_for_selector("#breakdown table", timeout=600_000)
            raw = page.evaluate(TIMINGS)
            marks = raw.pop("marks")
            raw["heatmap"] = marks.get("monthly")
            raw["breakdown"] = marks.get("breakdown")
            results.append(raw)
            context.close()
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.trades, args.runs = 3000, 1
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    with migrated_database("backtestdb_ui") as url:
        env = {**os.environ, "DATABASE_URL": url, "DATA_DIR": str(WORK / "data")}
        started = time.perf_counter()
        backtest = ingest_big(url, args.trades)
        print(f"ingested {args.trades:,} trades in {time.perf_counter() - started:.1f} s")
        with serving({**env, "LOG_LEVEL": "WARNING"}) as (base, _):
            results = measure(base, backtest, args.runs)
        columns = ("html", "dom", "chart", "equity_fetch", "heatmap", "breakdown")
        print(f"backtest page, {args.trades:,} trades; ms from navigation start "
              "(equity_fetch: the /equity request alone)")  # fmt: skip
        print(f"{'run':>4} " + " ".join(f"{c:>13}" for c in columns))
        for number, row in enumerate(results, start=1):
            cells = " ".join(f"{(row[c] or 0):13.0f}" for c in columns)
            print(f"{number:>4} {cells}")
        medians = " ".join(
            f"{statistics.median(r[c] or 0 for r in results):13.0f}" for c in columns
        )
        print(f"{'p50':>4} {medians}")


if __name__ == "__main__":
    main()
