"""events.json over HTTP: the form fields events_file and symbol (and an events.json sent
as json_file), the async path, and GET /trades/{number}/events."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import ingest, wait_for_job
from tests.conftest import BASIC
from tests.event_files import cents, events_file, price, read_events


def sl_path(path: Path, position: int) -> list[float | None]:
    """The S/L of each event of one position, as the symbol writes it (5 decimals)."""
    found = [price(e["sl"]) for e in read_events(path) if e["positionId"] == position]
    return [None if sl is None else float(sl) for sl in found]


def test_events_file_and_symbol_fields_ingest_and_serve_the_events(
    client: TestClient, tmp_path: Path
) -> None:
    path, totals = events_file(tmp_path, trades=20)
    response = ingest(client, {"symbol": "EURUSD"}, events_file=path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == f"Successfully ingested {totals.trades} trades"
    backtest_id = body["backtest_id"]
    detail = client.get(f"/api/v1/backtests/{backtest_id}").json()
    assert detail["symbol"] == "EURUSD"
    assert detail["net_profit"] == totals.net_cents / 100
    assert detail["ending_balance"] == totals.final_cents / 100
    assert [f["role"] for f in detail["source_files"]] == ["events"]
    job = client.get(f"/api/v1/jobs/{body['job_id']}").json()
    assert [w["value"] for w in job["warnings"]] == ["2"]  # the positions left open

    events = client.get(f"/api/v1/backtests/{backtest_id}/trades/5/events")
    assert events.status_code == 200
    items = events.json()["items"]
    assert [e["stop_loss"] for e in items] == sl_path(path, 5)
    assert [e["event"] for e in items] == [
        "Create Position", "Position Modified (S/L)", "Position closed",
    ]  # fmt: skip
    closing = [e for e in read_events(path) if e["positionId"] == 5][-1]
    assert items[-1]["balance"] == float(cents(closing["balance"]))
    assert items[-1]["close_price"] == float(price(closing["closePrice"]) or 0)
    assert {e["trade_number"] for e in items} == {5}
    assert list(items[0]) == [
        "serial", "trade_number", "position_id", "order_id", "event", "time", "direction",
        "volume", "quantity", "entry_price", "close_price", "stop_loss", "take_profit",
        "gross_profit", "pips", "balance", "equity",
    ]  # fmt: skip
    # Trade 4 ends at its take-profit or its stop-loss (number % 4 == 0 sets both).
    four = client.get(f"/api/v1/backtests/{backtest_id}/trades/4/events").json()["items"]
    assert four[-1]["event"] in ("Take Profit Hit", "Stop Loss Hit")
    assert four[0]["take_profit"] is not None


def test_trade_events_answer_404_for_an_unknown_backtest_or_trade(
    client: TestClient, tmp_path: Path
) -> None:
    path, _ = events_file(tmp_path, trades=3)
    backtest_id = ingest(client, {"symbol": "EURUSD"}, events_file=path).json()["backtest_id"]
    missing = client.get(f"/api/v1/backtests/{backtest_id}/trades/4/events")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"Trade 4 of backtest {backtest_id} not found"
    unknown = "6f1f8e0a-3c9e-4d7b-8a51-0c2d4e6f8a10"
    nobody = client.get(f"/api/v1/backtests/{unknown}/trades/1/events")
    assert (nobody.status_code, nobody.json()["detail"]) == (404, f"Backtest {unknown} not found")
    assert client.get(f"/api/v1/backtests/{backtest_id}/trades/0/events").status_code == 422


def test_a_csv_backtest_s_trades_have_no_events(client: TestClient) -> None:
    body = ingest(client, {"initial_balance": "10000"}, csv_file=BASIC / "history.csv").json()
    response = client.get(f"/api/v1/backtests/{body['backtest_id']}/trades/1/events")
    assert (response.status_code, response.json()) == (200, {"items": []})


def test_an_events_file_sent_as_json_file_is_the_events(client: TestClient, tmp_path: Path) -> None:
    path, totals = events_file(tmp_path, trades=6, name="report.json")
    body = ingest(client, {"symbol": "GBPUSD"}, json_file=path).json()
    detail = client.get(f"/api/v1/backtests/{body['backtest_id']}").json()
    assert (detail["total_trades"], detail["symbol"]) == (totals.trades, "GBPUSD")
    assert [(f["role"], f["name"]) for f in detail["source_files"]] == [("events", "report.json")]


def test_without_a_symbol_the_upload_is_refused(client: TestClient, tmp_path: Path) -> None:
    path, _ = events_file(tmp_path, trades=3)
    response = ingest(client, {"symbol": ""}, events_file=path)
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "events.json has no symbol: give --symbol (form field symbol), a report, or a "
        ".cbotset parameters file with Chart.Symbol"
    )
    too_long = ingest(client, {"symbol": "X" * 65}, events_file=path)
    assert too_long.status_code == 422


def test_async_ingest_carries_the_events_file_and_the_symbol(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(worker_poll_seconds=0.05)
    path, totals = events_file(tmp_path, trades=15)
    response = client.post(
        "/api/v1/ingest?mode=async",
        files={"events_file": (path.name, path.read_bytes())},
        data={"symbol": "XAUUSD"},
    )
    assert response.status_code == 202, response.text
    job = wait_for_job(client, response.json()["job_id"])
    assert (job["status"], job["trades_ingested"]) == ("completed", totals.trades)
    detail = client.get(f"/api/v1/backtests/{job['backtest_id']}").json()
    assert detail["symbol"] == "XAUUSD"
    events = client.get(f"/api/v1/backtests/{job['backtest_id']}/trades/5/events").json()
    assert [e["stop_loss"] for e in events["items"]] == sl_path(path, 5)
