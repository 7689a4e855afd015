"""A trade's stop-loss chart in Chromium against a real server (see test_browser.py: every
request stays local, the console stays free of errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.event_files import events_file
from tests.web.conftest import screenshot
from tests.web.test_browser import canvas_filled

pytestmark = pytest.mark.browser


def test_a_trade_page_draws_the_stop_loss_path(page: Any, live_server: str, tmp_path: Path) -> None:
    path, _ = events_file(tmp_path, trades=12)
    response = httpx.post(
        f"{live_server}/api/v1/ingest",
        files={"events_file": (path.name, path.read_bytes())},
        data={"symbol": "EURUSD", "name": "Browser events", "force": "true"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    backtest_id = response.json()["backtest_id"]

    page.goto(f"/ui/backtests/{backtest_id}")
    page.click(f'a[href="/ui/backtests/{backtest_id}/trades/5"]')
    page.wait_for_selector("figure#stop-loss[data-drawn=true]")
    assert page.inner_text("[data-chart-status]") == "3 events. S/L solid, T/P dashed."
    filled = canvas_filled(page, "figure#stop-loss")
    assert filled["painted"] > 1000
    assert page.locator("table.trade-events tbody tr").count() == 3
    screenshot(page, "trade-events")
