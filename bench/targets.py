"""The targets of issue 15, judged on one size's figures of bench/ingest.py.

The issue sets them at 1,000,000 trades; at any other size the verdicts are indicative.
A figure the run did not measure (a method skipped, a layout not asked for) is `n/a`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bench.inputs import CSV_LAYOUTS, OTHER_FORMS

GROWTH_BASE = 100_000  # the RSS target compares the peak with this size's


@dataclass(frozen=True, slots=True)
class Measure:
    """One timed process: what it was, wall seconds and peak RSS (MiB)."""

    name: str
    seconds: float
    rss_mib: float


@dataclass(frozen=True, slots=True)
class Target:
    label: str
    value: float | None
    limit: float
    strict: bool = False  # `<` rather than `<=`
    missing: str = "not measured"

    def line(self) -> str:
        sign = "<" if self.strict else "<="
        if self.value is None:
            return f"{self.label:36} {'':>7} {sign:>2} {self.limit:<6g} n/a ({self.missing})"
        ok = self.value < self.limit if self.strict else self.value <= self.limit
        return f"{self.label:36} {self.value:7.2f} {sign:>2} {self.limit:<6g} " + (
            "ok" if ok else "MISSED"
        )


def ratio(results: dict[str, Measure], top: str, bottom: str) -> float | None:
    if top not in results or bottom not in results:
        return None
    return results[top].seconds / results[bottom].seconds


def rss(results: dict[str, Measure], key: str) -> float | None:
    return results[key].rss_mib if key in results else None


def growth(results: dict[str, Measure], base: dict[str, Measure] | None) -> Target:
    label = f"(b) peak RSS MiB over {GROWTH_BASE:,}'s"
    if base is None or "b" not in base or "b" not in results:
        missing = f"against {GROWTH_BASE:,} trades measured in the same run, at another size"
        return Target(label, None, 40, missing=missing)
    return Target(label, results["b"].rss_mib - base["b"].rss_mib, 40)


def targets(results: dict[str, Measure], base: dict[str, Measure] | None) -> Iterator[Target]:
    """Each target with its figure; `results` keyed "a", "b", "c", "e" and by layout;
    `base` the GROWTH_BASE size's results, if measured (and not this size)."""
    yield Target("(b)/(a)", ratio(results, "b", "a"), 1.5)
    yield Target("(b)/(a), the moonshot", ratio(results, "b", "a"), 1.2)
    yield Target("(c)/(a)", ratio(results, "c", "a"), 1.6)
    yield Target("(b) peak RSS MiB", rss(results, "b"), 250, strict=True)
    yield growth(results, base)
    yield Target("(e)/(b), SQLite over PostgreSQL", ratio(results, "e", "b"), 1.5)
    for form in OTHER_FORMS:
        missing = f"--layout {form}"
        yield Target(f"{form} (b)/(b) CSV", ratio(results, form, "b"), 2, missing=missing)
        yield Target(f"{form} peak RSS MiB", rss(results, form), 250, True, missing)
    for layout in CSV_LAYOUTS[1:]:
        yield Target(
            f"{layout} (b)/(b) full", ratio(results, layout, "b"), 1.3, missing=f"--layout {layout}"
        )


def print_targets(
    trades: int, results: dict[str, Measure], base: dict[str, Measure] | None
) -> None:
    print(f"\ntargets at {trades:,} trades (the issue's are at 1,000,000)", flush=True)
    for target in targets(results, base):
        print(target.line(), flush=True)
