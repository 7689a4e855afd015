"""Batches through the upload form in Chromium against a real server: a zip, a folder
chosen with the folder picker (its files sent under their paths inside it), and a refused
zip (see test_browser.py: every request stays local, the console stays free of errors)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BASIC
from tests.web.conftest import screenshot

pytestmark = pytest.mark.browser


def sweep(root: Path, fast: tuple[int, ...]) -> Path:
    """<root>/EURUSD h1/Optimization/<n>/ with the sample report and a .cbotset each."""
    instance = root / "EURUSD h1"
    for number, period in enumerate(fast, 1):
        folder = instance / "Optimization" / str(number)
        folder.mkdir(parents=True)
        shutil.copy(BASIC / "report.json", folder / "report.json")
        text = (BASIC / "parameters.cbotset").read_text()
        (folder / "parameters.cbotset").write_text(
            text.replace('"FastPeriod": 9', f'"FastPeriod": {period}')
        )
    return instance


def zip_of(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            archive.write(file, file.relative_to(folder.parent).as_posix())
    return path


def batch_rows(page: Any) -> list[list[str]]:
    rows = page.locator("#upload-result table.batch tbody tr")
    return [rows.nth(i).locator("td").all_inner_texts()[:3] for i in range(rows.count())]


def test_a_zip_through_the_form_shows_the_batch_table(
    page: Any, live_server: str, tmp_path: Path
) -> None:
    archive = zip_of(sweep(tmp_path / "zip", (5, 6)), tmp_path / "sweep.zip")
    page.goto("/ui/upload")
    page.set_input_files("#u-archive", str(archive))
    page.fill("#u-name", "dropped for a batch")
    page.click("[data-upload]")
    page.wait_for_selector("#upload-result [data-batch-status=done]")
    assert batch_rows(page) == [
        ["EURUSD h1/Optimization/1", "ingested", "200"],
        ["EURUSD h1/Optimization/2", "ingested", "200"],
    ]
    run = page.locator("#upload-result a[data-run]")
    assert run.inner_text() == "EURUSD h1 Optimization"
    run_id = run.get_attribute("data-run")
    assert run.get_attribute("href") == f"/ui/runs/{run_id}"
    links = page.locator("#upload-result table.batch a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert [link.rsplit("/", 1)[0] for link in links] == ["/ui/backtests"] * 2
    screenshot(page, "upload-batch")
    for link in links:
        detail = httpx.get(f"{live_server}/api/v1{link.removeprefix('/ui')}").json()
        assert (detail["run_id"], detail["total_trades"]) == (run_id, 200)


def test_a_folder_through_the_picker_is_sent_with_its_paths(page: Any, tmp_path: Path) -> None:
    folder = sweep(tmp_path / "picked", (7, 8, 9))
    page.goto("/ui/upload")
    page.set_input_files("#u-folder", str(folder))
    page.fill("#u-run", "picked sweep")
    page.click("[data-upload]")
    page.wait_for_selector("#upload-result [data-batch-status=done]")
    assert batch_rows(page) == [
        ["EURUSD h1/Optimization/1", "ingested", "200"],
        ["EURUSD h1/Optimization/2", "ingested", "200"],
        ["EURUSD h1/Optimization/3", "ingested", "200"],
    ]
    assert page.inner_text("#upload-result a[data-run]") == "picked sweep"
    assert "(batch, 3 backtests)" in page.inner_text("#upload-result")


def test_an_unsafe_zip_is_refused_with_the_entry_named(page: Any, tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as bad:
        bad.writestr("EURUSD h1/report.json", (BASIC / "report.json").read_bytes())
        bad.writestr("../outside.txt", b"x")
    page.goto("/ui/upload")
    page.set_input_files("#u-archive", str(archive))
    page.click("[data-upload]")
    page.wait_for_selector("#upload-result .error")
    assert page.inner_text("#upload-result .error") == (
        "evil.zip: entry '../outside.txt' points outside the archive; zip the folder itself, "
        "with relative paths"
    )
    page.guard.console_errors = [e for e in page.guard.console_errors if "status of 422" not in e]


def test_single_files_and_a_zip_together_are_refused_in_the_page(page: Any, tmp_path: Path) -> None:
    archive = zip_of(sweep(tmp_path / "both", (5,)), tmp_path / "both.zip")
    page.goto("/ui/upload")
    page.set_input_files("#u-archive", str(archive))
    page.set_input_files("#u-report", str(BASIC / "report.json"))
    page.click("[data-upload]")
    assert page.inner_text("#upload-result .error") == (
        "Send single files or a zip or folder, not both: clear one of them."
    )
