"""The dashboard in Chromium against a real server: upload through the form, the list,
the backtest page (chart drawn, trades paged), compare, delete through the dialog, jobs.
Every request must stay on 127.0.0.1 and the console must stay free of errors (a CSP
violation or a script error fails the test). Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BASIC, DATA
from tests.web.conftest import screenshot

pytestmark = pytest.mark.browser
TO = "\N{EN DASH}"


def upload(page: Any, name: str, **files: Path) -> None:
    """Fill the upload form and send it; `files` maps input ids (report, csv) to paths."""
    page.goto("/ui/upload")
    for field, path in files.items():
        page.set_input_files(f"#u-{field}", str(path))
    page.fill("#u-name", name)
    page.fill("#u-balance", "10000")
    page.click("[data-upload]")


def uploaded(page: Any, name: str, **files: Path) -> str:
    upload(page, name, **files)
    page.wait_for_selector("[data-job-status=completed]")
    href = page.get_attribute("#upload-result a.button", "href")
    assert href is not None
    assert href.startswith("/ui/backtests/")
    return href.rsplit("/", 1)[-1]


def api_ingest(base: str, name: str, path: Path, field: str = "json_file") -> str:
    with path.open("rb") as stream:
        response = httpx.post(
            f"{base}/api/v1/ingest",
            files={field: stream},
            data={"name": name, "force": "true"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    return str(response.json()["backtest_id"])


def canvas_filled(page: Any, figure: str) -> dict[str, int]:
    """The chart's canvas size and how many of its pixels are not transparent."""
    result: dict[str, int] = page.evaluate(
        """(figure) => {
            const canvas = document.querySelector(figure + ' canvas');
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
            return {width: canvas.width, height: canvas.height, painted,
                    dataUrl: canvas.toDataURL('image/png').length};
        }""",
        figure,
    )
    return result


def test_upload_list_and_backtest_page(page: Any) -> None:
    upload(page, "Browser EURUSD", report=BASIC / "report.json")
    page.wait_for_selector("[data-job-status=completed]")
    assert "Successfully ingested 200 trades" in page.inner_text("#upload-result")
    assert page.get_attribute("#u-progress", "value") == "100"
    screenshot(page, "upload")

    page.goto("/ui")
    row = page.locator("tr", has_text="Browser EURUSD")
    assert row.count() == 1
    assert "452.42" in row.inner_text()
    screenshot(page, "list")

    row.get_by_role("link", name="Browser EURUSD").click()
    page.wait_for_selector("#equity[data-drawn=true]")
    size = canvas_filled(page, "#equity")
    assert size["width"] > 0
    assert size["height"] > 0
    assert size["painted"] > 1000, size
    assert size["dataUrl"] > 5000, size
    assert "54.50 %" in page.inner_text(".cards")
    page.wait_for_selector("#monthly table.heatmap")
    assert "2024" in page.inner_text("#monthly")
    page.wait_for_selector("#breakdown table")
    page.get_by_role("button", name="Weekday").click()
    page.wait_for_selector("#breakdown >> text=Monday")
    assert page.get_attribute("button:has-text('Weekday')", "aria-pressed") == "true"
    screenshot(page, "backtest")

    first = page.locator("#trades tbody tr").first.locator("td").first
    assert first.inner_text() == "1"
    page.click("#trades a[rel=next]")
    page.wait_for_selector(f"#trades [data-trade-range]:has-text('Trades 51{TO}100')")
    page.click("#trades a[rel=next]")
    page.wait_for_selector(f"#trades [data-trade-range]:has-text('Trades 101{TO}150')")
    page.click("#trades a[rel=prev]")
    page.wait_for_selector(f"#trades [data-trade-range]:has-text('Trades 51{TO}100')")
    page.fill("#t-start", "190")
    page.press("#t-start", "Enter")
    page.wait_for_selector(f"#trades [data-trade-range]:has-text('Trades 190{TO}200')")
    assert page.locator("#trades a[rel=next]").count() == 0


def test_list_filters_and_sorts_in_place(page: Any, live_server: str) -> None:
    api_ingest(live_server, "Filter alpha", BASIC / "report.json")
    api_ingest(live_server, "Filter beta", DATA / "multi_symbol_history.csv", "csv_file")
    page.goto("/ui")
    page.fill("#f-name", "filter b")
    expect = pytest.importorskip("playwright.sync_api").expect
    expect(page.locator("#results")).not_to_contain_text("Filter alpha")
    assert "Filter beta" in page.inner_text("#results")
    assert "name=filter+b" in page.url
    page.fill("#f-name", "filter")
    page.wait_for_selector("#results >> text=Filter alpha")
    page.click("#results th a:has-text('Net profit')")
    page.wait_for_selector("#results th[aria-sort=ascending]")
    assert "sort=net_profit" in page.url
    names = page.locator("#results tbody td:nth-child(2)").all_inner_texts()
    assert names.index("Filter beta") != names.index("Filter alpha")


def test_bad_upload_shows_the_row_errors(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "history.csv"
    lines = (BASIC / "history.csv").read_text(encoding="utf-8-sig").splitlines()
    lines[3] = re.sub(r"\d{2}/\d{2}/\d{4}", "99/99/2024", lines[3], count=1)
    bad.write_text("\n".join(lines) + "\n")
    upload(page, "Broken", csv=bad)
    page.wait_for_selector("#upload-result table.row-errors")
    text = page.inner_text("#upload-result")
    assert "refused" in text
    assert page.locator("#upload-result table.row-errors tbody tr").count() >= 1
    assert "history.csv" in page.inner_text("#upload-result table.row-errors")
    screenshot(page, "upload-errors")
    page.click("#upload-result a:has-text('a failed job')")
    page.wait_for_selector("table.row-errors")
    screenshot(page, "job")
    # The refused XHR is logged by Chromium as a failed resource; that is expected here.
    page.guard.console_errors = [e for e in page.guard.console_errors if "status of 422" not in e]


def test_compare_two_and_delete_one(page: Any, live_server: str) -> None:
    first = api_ingest(live_server, "Compare one", BASIC / "report.json")
    second = api_ingest(live_server, "Compare two", DATA / "multi_symbol_history.csv", "csv_file")
    page.goto("/ui?name=compare")
    page.check(f"input[value='{first}']")
    assert page.is_disabled("[data-compare]")
    page.check(f"input[value='{second}']")
    page.click("[data-compare]")
    page.wait_for_url(re.compile(r"/ui/compare\?ids="))
    page.wait_for_selector("#compare-chart[data-drawn=true]")
    size = canvas_filled(page, "#compare-chart")
    assert size["painted"] > 1000, size
    assert page.locator("td.best").count() > 5
    assert "Compare one" in page.inner_text(".compare-table thead")
    page.select_option("[data-compare-scale]", "balance")
    page.wait_for_selector("#compare-chart[data-drawn=true]")
    screenshot(page, "compare")

    page.goto("/ui?name=compare")
    page.click(f"tr[data-id='{second}'] [data-delete]")
    dialog = page.locator("#confirm-delete")
    assert dialog.is_visible()
    assert "Compare two" in dialog.inner_text()
    screenshot(page, "delete-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()
    # By keyboard: Enter on the row's button opens the dialog, Escape cancels it.
    page.focus(f"tr[data-id='{second}'] [data-delete]")
    page.keyboard.press("Enter")
    assert dialog.is_visible()
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.locator(f"tr[data-id='{second}']").count() == 1
    page.click(f"tr[data-id='{second}'] [data-delete]")
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_selector(f"tr[data-id='{second}']", state="detached")
    assert httpx.get(f"{live_server}/api/v1/backtests/{second}").status_code == 404
    assert httpx.get(f"{live_server}/api/v1/backtests/{first}").status_code == 200


def test_jobs_page_and_keyboard(page: Any) -> None:
    page.goto("/ui/jobs")
    assert page.locator("#jobs tbody tr").count() >= 1
    assert page.locator(".badge.completed").count() >= 1
    screenshot(page, "jobs")
    # The skip link comes first, then the navigation; focus is visible.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "backtestdb"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"


def test_dark_mode_follows_the_system(page: Any, live_server: str) -> None:
    backtest = api_ingest(live_server, "Dark", BASIC / "report.json")
    page.emulate_media(color_scheme="dark")
    page.goto(f"/ui/backtests/{backtest}")
    page.wait_for_selector("#equity[data-drawn=true]")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 20, 25)"
    screenshot(page, "backtest-dark")
