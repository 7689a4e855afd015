"""The dashboard's page of one trade's events (an events.json's): the table of its events
with their S/L, the chart's data source, the link from the backtest's trades."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from backtestdb.web.templating import CSP
from tests.api.conftest import ingest
from tests.conftest import BASIC
from tests.event_files import events_file, price, read_events

HX = {"HX-Request": "true"}


def html_of(client: TestClient, url: str, status: int = 200, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-security-policy"] == CSP
    assert not re.search(r'(src|href)="(https?:)?//', response.text), "external reference"
    return response.text


def test_a_trade_page_lists_its_events_and_draws_its_stop_loss(
    client: TestClient, tmp_path: Path
) -> None:
    path, _ = events_file(tmp_path, trades=20)
    backtest_id = ingest(client, {"symbol": "EURUSD", "name": "Events EURUSD"}, events_file=path)
    backtest_id = backtest_id.json()["backtest_id"]

    listing = html_of(client, f"/ui/backtests/{backtest_id}")
    assert f'href="/ui/backtests/{backtest_id}/trades/5">S/L path</a>' in listing
    fragment = html_of(client, f"/ui/backtests/{backtest_id}/trades?after=10", **HX)
    assert f'href="/ui/backtests/{backtest_id}/trades/11">S/L path</a>' in fragment

    html = html_of(client, f"/ui/backtests/{backtest_id}/trades/5")
    assert "<h1>Trade 5</h1>" in html
    assert f'<a href="/ui/backtests/{backtest_id}">Events EURUSD</a>' in html
    api = f"/api/v1/backtests/{backtest_id}/trades/5/events"
    assert f'data-trade-events="{api}"' in html
    assert "vendor/uplot/uPlot.iife.min.js" in html
    assert "/ui/static/events.js" in html
    five = [e for e in read_events(path) if e["positionId"] == 5]
    cells = re.findall(r"<td class=\"num\" data-stop-loss>(.*?)</td>", html)
    assert cells == [f"{price(e['sl']):,.5f}" for e in five]
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>(.*?)</td><td>(.*?)</td>", html)
    assert [(int(serial), event) for serial, _, event in rows] == [
        (e["serial"], e["event"]) for e in five
    ]
    assert "None" not in html


def test_a_trade_without_events_and_unknown_trades(client: TestClient) -> None:
    body = ingest(client, {"initial_balance": "10000"}, csv_file=BASIC / "history.csv").json()
    backtest_id = body["backtest_id"]
    assert "S/L path" not in html_of(client, f"/ui/backtests/{backtest_id}")
    html = html_of(client, f"/ui/backtests/{backtest_id}/trades/1")
    assert "No events for this trade" in html
    assert "data-trade-events" not in html
    missing = html_of(client, f"/ui/backtests/{backtest_id}/trades/201", 404)
    assert f"Trade 201 of backtest {backtest_id} not found" in missing
    assert "not a trade number" in html_of(client, f"/ui/backtests/{backtest_id}/trades/x1", 404)
