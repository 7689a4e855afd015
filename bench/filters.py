"""Parameter filters on PostgreSQL: EXPLAIN ANALYZE of the list's queries with N `param.*`
filters, built as they were (one correlated EXISTS per filter) and as they are now
(`backtests.conditions`: one subquery over the (name, value) index, whatever N).

    python bench/filters.py [--backtests 10000] [--counts 1,5,20,150,400] [--timeout 60]
    python bench/filters.py --smoke

Fills a scratch database (BENCH_POSTGRES_URL, default the local server) with `--backtests`
backtests of 50 parameters each (bench/reads.py's two, plus 48 generated ones with 2 to 10
values each), then, for each count, runs the list's count and first page (newest first,
50 rows) under EXPLAIN ANALYZE, each under statement_timeout=--timeout seconds, with the
filters of one stored backtest (so at least one matches). Prints planning and execution
times in milliseconds, the rows each query returned, and whether the plan reads the
index. Counts above MAX_PARAMETER_FILTERS are refused by the API; they are built here
directly, to compare. Run by hand; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.dialects import postgresql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from backtestdb.backtests import BacktestQuery, conditions, sort_order  # noqa: E402
from backtestdb.models import Backtest, Parameter  # noqa: E402
from bench.common import migrated_database  # noqa: E402
from bench.reads import fill_backtests  # noqa: E402

INDEX = "ix_parameters_name_value"
# 48 more parameters per backtest; P<n> takes one of 2 + n % 9 values, spread by a hash.
MORE_PARAMETERS = """
INSERT INTO parameters (backtest_id, name, value, value_type)
SELECT b.id, 'P' || lpad(n::text, 2, '0'),
       ((hashtext(b.id::text || n::text) & 2147483647) % (2 + n % 9))::text, 'int'
FROM backtests b, generate_series(1, 48) AS n
"""


def as_before(wanted: dict[str, str]) -> list[ColumnElement[bool]]:
    """The filters as they were built before: one correlated EXISTS per parameter."""
    return [
        exists().where(
            Parameter.backtest_id == Backtest.id, Parameter.name == name, Parameter.value == value
        )
        for name, value in wanted.items()
    ]


def statements(where: list[ColumnElement[bool]]) -> dict[str, Any]:
    """The two queries of one list request (search_backtests): the count and the page."""
    return {
        "count": select(func.count()).select_from(Backtest).where(*where),
        "page": select(Backtest).where(*where).order_by(*sort_order("-created_at")).limit(50),
    }


def explain(url: str, statement: Any, timeout: float) -> dict[str, Any]:
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    with psycopg.connect(url) as connection:
        connection.execute(f"SET statement_timeout = {round(timeout * 1000)}")
        try:
            row = connection.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), compiled.params
            ).fetchone()
        except psycopg.errors.QueryCanceled:
            return {"timeout": True}
    assert row is not None
    [plan] = row[0]
    return {
        "planning": plan["Planning Time"],
        "execution": plan["Execution Time"],
        "rows": returned(plan["Plan"]),
        "index": INDEX in json.dumps(plan["Plan"]),
    }


def returned(node: dict[str, Any]) -> int:
    """Rows the query returned; for the count, the rows it counted (the aggregate's input)."""
    if node["Node Type"] == "Aggregate" and node.get("Plans"):
        return int(node["Plans"][0]["Actual Rows"])
    return int(node["Actual Rows"])


def filters_of(url: str, count: int) -> dict[str, str]:
    """The first `count` parameters (by name) of the oldest backtest."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT name, value FROM parameters WHERE backtest_id = "
            "(SELECT id FROM backtests ORDER BY created_at, id LIMIT 1) ORDER BY name LIMIT %s",
            [count],
        ).fetchall()
    wanted = {str(name): str(value) for name, value in rows}
    # Past the 50 stored parameters, names no backtest has (each still costs a filter).
    wanted.update({f"Unknown{n:03d}": "1" for n in range(count - len(wanted))})
    return wanted


def shown(result: dict[str, Any], timeout: float) -> str:
    if result.get("timeout"):
        return f"{'> ' + format(timeout * 1000, '.0f'):>10} {'(cancelled)':>10} {'':>6} {'':>5}"
    index = "yes" if result["index"] else "no"
    return f"{result['planning']:10.1f} {result['execution']:10.1f} {result['rows']:>6} {index:>5}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backtests", type=int, default=10_000)
    parser.add_argument("--counts", default="1,5,20,150,400")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per statement")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.backtests, args.counts, args.timeout = 50, "1,3", 10
    counts = [int(n) for n in args.counts.split(",")]
    with migrated_database("backtestdb_filters") as url:
        fill_backtests(url, args.backtests)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(MORE_PARAMETERS)
            connection.execute("VACUUM ANALYZE")
        print(f"{args.backtests:,} backtests x 50 parameters; EXPLAIN ANALYZE, milliseconds")
        print(f"{'filters':>7} {'form':7} {'query':6} {'planning':>10} {'execution':>10} "
              f"{'rows':>6} {'index':>5}")  # fmt: skip
        for count in counts:
            wanted = filters_of(url, count)
            forms = {
                "before": as_before(wanted),
                "now": conditions(BacktestQuery(parameters=wanted)),
            }
            for form, where in forms.items():
                for label, statement in statements(where).items():
                    result = explain(url, statement, args.timeout)
                    print(
                        f"{count:>7} {form:7} {label:6} {shown(result, args.timeout)}", flush=True
                    )


if __name__ == "__main__":
    main()
