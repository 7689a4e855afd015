"""A run's page in Chromium against a real server whose database holds the known run
(tests/web/runs_data.py): the chart and the heatmap drawn, a select applied at once,
"compare the top 3" landing on the compare page with the 3 best passes, and deleting a
run through its dialog. Requests stay on 127.0.0.1 and the console stays free of errors
(the `page` fixture checks both)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from backtestdb.db import make_engine, session_factory, upgrade
from tests.web.conftest import database_file, screenshot, serving
from tests.web.runs_data import TOP_3, KnownRun, add_known_run
from tests.web.test_browser import canvas_filled

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, KnownRun]:
    """A migrated SQLite database holding the known run (with trades, for the curves)."""
    folder = tmp_path_factory.mktemp("ui-runs")
    engine = make_engine(f"sqlite:///{database_file(folder)}")
    try:
        upgrade(engine)
        with session_factory(engine).begin() as session:
            known = add_known_run(session, trades=True)
    finally:
        engine.dispose()
    return folder, known


@pytest.fixture(scope="module")
def live_server(seeded: tuple[Path, KnownRun]) -> Iterator[str]:
    """This module's server: on the seeded database (the `page` fixture opens it)."""
    with serving(seeded[0]) as base:
        yield base


@pytest.fixture(scope="module")
def known(seeded: tuple[Path, KnownRun]) -> KnownRun:
    return seeded[1]


def test_run_page_draws_its_chart_and_heatmap(page: Any, known: KnownRun) -> None:
    page.goto("/ui")
    page.get_by_role("link", name="Runs").click()
    page.get_by_role("link", name="Opt MACross").click()
    page.wait_for_url(f"**/ui/runs/{known.run_id}")
    page.wait_for_selector("#sensitivity-chart[data-drawn=true]")
    size = canvas_filled(page, "#sensitivity-chart")
    assert size["width"] > 0
    assert size["painted"] > 1000, size
    assert "3 values of FastPeriod" in page.inner_text("#sensitivity-chart figcaption")
    spike = page.locator("#run-heatmap td.heat-pos-4")
    assert spike.inner_text() == "900.00"
    assert spike.is_visible()
    assert page.locator("#run-heatmap tbody tr").count() == 3
    assert page.locator("#robustness tr[data-spike]").all_inner_texts()[0].startswith("4")
    screenshot(page, "run")

    # A select applies at once: the page comes back with the other metric, chart redrawn.
    page.select_option("#a-metric", "sharpe_ratio")
    page.wait_for_url(re.compile(r"metric=sharpe_ratio"))
    page.wait_for_selector("#sensitivity-chart[data-drawn=true]")
    assert page.inner_text("#sensitivity-title") == "Sharpe ratio by FastPeriod"
    page.select_option("#p-sort", "pass_number")
    page.wait_for_url(re.compile(r"sort=pass_number"))
    numbers = page.locator("#pass-table tbody td:first-child").all_inner_texts()
    assert numbers == ["1", "2", "3", "4", "5", "6"]
    assert "metric=sharpe_ratio" in page.url

    # A text parameter stands on its own axis (one value here, "Trend").
    page.goto(f"/ui/runs/{known.run_id}?x=Label")
    page.wait_for_selector("#sensitivity-chart[data-drawn=true]")
    assert "1 value of Label" in page.inner_text("#sensitivity-chart figcaption")


def test_compare_the_top_three(page: Any, known: KnownRun) -> None:
    page.goto(f"/ui/runs/{known.run_id}")
    page.fill("#top-n", "3")
    page.click("[data-compare-top]")
    page.wait_for_url(re.compile(r"/ui/compare\?ids="))
    page.wait_for_selector("#compare-chart[data-drawn=true]")
    names = page.locator(".compare-table thead a").all_inner_texts()
    assert names == [f"MACross pass {n}" for n in TOP_3]
    assert page.locator("[data-series]").count() == 3
    assert canvas_filled(page, "#compare-chart")["painted"] > 1000
    screenshot(page, "run-compare-top")


def test_delete_a_run_through_its_dialog(page: Any, known: KnownRun, live_server: str) -> None:
    page.goto(f"/ui/runs/{known.other_run}")
    page.get_by_role("button", name="Delete run").click()
    dialog = page.locator("#confirm-delete-run")
    assert dialog.is_visible()
    assert "“Other batch” will be deleted with its 2 backtests" in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()
    assert httpx.get(f"{live_server}/api/v1/runs/{known.other_run}").status_code == 200

    page.get_by_role("button", name="Delete run").click()
    dialog.get_by_role("button", name="Delete the run and 2 backtests").click()
    page.wait_for_url(f"{live_server}/ui/runs")
    assert "Other batch" not in page.inner_text("#runs")
    assert "Opt MACross" in page.inner_text("#runs")
    assert httpx.get(f"{live_server}/api/v1/runs/{known.other_run}").status_code == 404
