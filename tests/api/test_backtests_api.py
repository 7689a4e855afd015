"""Backtest reads and delete: list filters and sort, detail, trade pages, daily rows."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from backtestdb import models
from tests.api.conftest import ingest, seed_upload
from tests.conftest import BASIC, row_counts


@pytest.fixture
def two(client: TestClient, tmp_path: Path) -> tuple[str, str]:
    """Alpha: the sample at 10000. Beta: the same trades at 20000, FastPeriod 12."""
    alpha = seed_upload(client, name="Alpha EURUSD").json()["backtest_id"]
    params = tmp_path / "parameters.json"
    params.write_text('{"FastPeriod": 12, "SlowPeriod": 21}')
    beta = ingest(
        client,
        {"name": "Beta", "initial_balance": "20000"},
        json_file=BASIC / "report.json",
        parameters_file=params,
    ).json()["backtest_id"]
    return alpha, beta


def names(client: TestClient, **params: str | int) -> list[str]:
    response = client.get("/api/v1/backtests", params=params)
    assert response.status_code == 200, response.json()
    return [item["name"] for item in response.json()["items"]]


def test_list_pages_sorts_and_filters(client: TestClient, two: tuple[str, str]) -> None:
    page = client.get("/api/v1/backtests").json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert [i["name"] for i in page["items"]] == ["Beta", "Alpha EURUSD"]  # newest first
    assert page["items"][1]["net_profit"] == 452.42
    assert names(client, sort="initial_balance") == ["Alpha EURUSD", "Beta"]
    assert names(client, sort="-initial_balance") == ["Beta", "Alpha EURUSD"]
    assert names(client, sort="name", limit=1, offset=1) == ["Beta"]
    assert names(client, min_initial_balance=15000) == ["Beta"]
    assert names(client, max_initial_balance="10000.00") == ["Alpha EURUSD"]
    assert names(client, min_win_rate="54.5", max_total_trades=200, sort="name") == [
        "Alpha EURUSD",
        "Beta",
    ]
    assert names(client, min_net_profit=452.43) == []
    assert names(client, name="alpha") == ["Alpha EURUSD"]
    assert names(client, name="%") == []  # LIKE wildcards are plain text
    assert names(client, symbol="EURUSD", sort="name") == ["Alpha EURUSD", "Beta"]
    assert names(client, symbol="GBPUSD") == []
    assert names(client, **{"param.FastPeriod": 9}) == ["Alpha EURUSD"]
    assert names(client, **{"param.FastPeriod": 12}) == ["Beta"]
    assert names(client, **{"param.FastPeriod": 12, "param.SlowPeriod": 21}) == ["Beta"]
    assert names(client, created_from="2000-01-01T00:00:00", sort="name") == [
        "Alpha EURUSD",
        "Beta",
    ]
    assert names(client, created_to="2000-01-01T00:00:00Z") == []
    counted = client.get("/api/v1/backtests", params={"min_initial_balance": 15000}).json()
    assert counted["total"] == 1


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"min_colour": "1"}, "min_colour"),
        ({"max_name": "1"}, "max_name"),
        ({"min_net_profit": "lots"}, "min_net_profit"),
        ({"min_total_trades": "1.5"}, "min_total_trades"),
        ({"min_win_rate": "NaN"}, "min_win_rate"),
        ({"param.": "9"}, "param."),
    ],
)
def test_bad_filters_answer_422(client: TestClient, params: dict[str, str], where: str) -> None:
    response = client.get("/api/v1/backtests", params=params)
    assert response.status_code == 422
    assert response.json()["errors"][0]["column"] == where


@pytest.mark.parametrize(("name", "value"), [("created_from", "30475787"), ("created_to", "1.5e9")])
def test_a_number_is_not_taken_for_a_time(client: TestClient, name: str, value: str) -> None:
    """The schema says ISO 8601; pydantic alone would read seconds since 1970."""
    response = client.get("/api/v1/backtests", params={name: value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", name]
    assert "expected an ISO 8601 date or time" in response.json()["detail"]
    assert client.get("/api/v1/backtests", params={name: "2026-08-20"}).status_code == 200


def test_bad_list_options_answer_422(client: TestClient) -> None:
    for params in ({"sort": "id; DROP TABLE backtests"}, {"limit": 0}, {"limit": 501}):
        assert client.get("/api/v1/backtests", params=params).status_code == 422
    response = client.get("/api/v1/backtests", params={"sort": "-colour"})
    assert response.json()["errors"][0]["column"] == "sort"
    repeated = client.get("/api/v1/backtests?limit=5&limit=2")
    assert repeated.status_code == 422
    assert repeated.json()["detail"] == "Query parameter 'limit' given more than once"


def test_detail_has_summary_parameters_job_and_links(client: TestClient) -> None:
    uploaded = seed_upload(client).json()
    backtest_id = uploaded["backtest_id"]
    response = client.get(f"/api/v1/backtests/{backtest_id}")
    assert response.status_code == 200
    detail = response.json()
    assert (detail["total_trades"], detail["winning_trades"], detail["losing_trades"]) == (
        200,
        109,
        91,
    )
    assert detail["net_profit"] == 452.42
    assert detail["win_rate"] == 54.5
    assert detail["max_balance_drawdown"] == 175.68
    assert detail["symbol"] == "EURUSD"
    assert len(detail["parameters"]) == 6
    assert detail["latest_job"]["id"] == uploaded["job_id"]
    assert detail["links"] == {
        "self": f"/api/v1/backtests/{backtest_id}",
        "trades": f"/api/v1/backtests/{backtest_id}/trades",
        "daily": f"/api/v1/backtests/{backtest_id}/daily",
        "job": f"/api/v1/jobs/{uploaded['job_id']}",
    }
    # The seed's example script reads the same document here.
    assert client.get(f"/api/v1/ingest/backtests/{backtest_id}").json() == detail


def test_trades_come_in_keyset_pages(client: TestClient) -> None:
    backtest_id = seed_upload(client).json()["backtest_id"]
    url = f"/api/v1/backtests/{backtest_id}/trades"
    pages: list[list[int]] = []
    after: int | None = 0
    while after is not None:
        page = client.get(url, params={"after": after, "limit": 50}).json()
        pages.append([t["trade_number"] for t in page["items"]])
        after = page["next_after"]
    assert [len(p) for p in pages] == [50, 50, 50, 50]
    assert pages[1][0] == 51
    assert [n for page in pages for n in page] == list(range(1, 201))
    first = client.get(url, params={"limit": 1}).json()["items"][0]
    assert (first["deal_id"], first["profit"], first["balance_after"]) == ("2", -3.35, 9996.65)
    assert first["open_time"] == "2024-01-02T01:43:50.846000Z"
    buys = client.get(url, params={"direction": "buy", "limit": 1000}).json()["items"]
    assert len(buys) == 109
    assert {t["direction"] for t in buys} == {"buy"}
    assert client.get(url, params={"symbol": "GBPUSD"}).json() == {"items": [], "next_after": None}
    january = client.get(
        url, params={"open_from": "2024-01-01T00:00:00Z", "open_to": "2024-01-02T23:59:59Z"}
    ).json()["items"]
    # Trades 1, 2 and 4 open on 2 January (file order is close order).
    assert [t["trade_number"] for t in january] == [1, 2, 4]
    assert client.get(url, params={"direction": "long"}).status_code == 422


def test_daily_rows_add_up_to_the_net_profit(client: TestClient) -> None:
    backtest_id = seed_upload(client).json()["backtest_id"]
    days = client.get(f"/api/v1/backtests/{backtest_id}/daily").json()["items"]
    assert len(days) == 96
    assert days[0] == {
        "trade_date": "2024-01-02",
        "total_trades": 1,
        "winning_trades": 0,
        "losing_trades": 1,
        "net_profit": -3.35,
        "win_rate": 0.0,
        "end_balance": 9996.65,
    }
    assert days[-1]["end_balance"] == 10452.42
    assert sum(d["total_trades"] for d in days) == 200
    assert round(sum(d["net_profit"] for d in days), 2) == 452.42


def test_delete_keeps_the_job_unlinked(client: TestClient, engine: Engine) -> None:
    uploaded = seed_upload(client).json()
    url = f"/api/v1/backtests/{uploaded['backtest_id']}"
    response = client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    counts = row_counts(engine)
    assert (counts["backtests"], counts["trades"], counts["daily_summary"]) == (0, 0, 0)
    assert counts["ingestion_jobs"] == 1
    with engine.connect() as connection:
        job = connection.execute(select(models.IngestionJob.backtest_id)).one()
    assert job.backtest_id is None
    assert client.get(f"/api/v1/jobs/{uploaded['job_id']}").json()["backtest_id"] is None


def test_unknown_ids_answer_404_and_malformed_ones_422(client: TestClient) -> None:
    missing = uuid.uuid4()
    for path in ("", "/trades", "/daily"):
        response = client.get(f"/api/v1/backtests/{missing}{path}")
        assert response.status_code == 404
        assert response.json() == {"detail": f"Backtest {missing} not found"}
    assert client.delete(f"/api/v1/backtests/{missing}").status_code == 404
    assert client.get(f"/api/v1/jobs/{missing}").json() == {"detail": f"Job {missing} not found"}
    for path in ("/api/v1/backtests/42", "/api/v1/jobs/not-a-uuid"):
        response = client.get(path)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"][0] == "path"


def test_symbol_filter_finds_multi_symbol_backtests(client: TestClient) -> None:
    """A multi-symbol backtest has no single `symbol`; it is found by any traded one."""
    from tests.api.conftest import ingest
    from tests.conftest import BASIC, DATA

    single = ingest(client, {"name": "single"}, json_file=BASIC / "report.json")
    multi = ingest(client, {"name": "multi"}, csv_file=DATA / "multi_symbol_history.csv")
    assert single.status_code == multi.status_code == 200

    def names(symbol: str) -> list[str]:
        page = client.get("/api/v1/backtests", params={"symbol": symbol, "sort": "name"}).json()
        return [item["name"] for item in page["items"]]

    assert names("EURUSD") == ["multi", "single"]
    assert names("XAUUSD") == ["multi"]
    assert names("XAU") == []
    assert names('X"%') == []


def test_a_backtest_without_open_times_prices_or_fees(
    client: TestClient, sparse_backtest: str
) -> None:
    """cTrader's default History layout: the list, the detail and the trade pages show
    nulls; an open-time filter matches none of these trades, as they have no opening time."""
    listed = client.get("/api/v1/backtests").json()["items"]
    assert [(i["id"], i["total_trades"], i["net_profit"]) for i in listed] == [
        (sparse_backtest, 200, 452.42)
    ]
    detail = client.get(f"/api/v1/backtests/{sparse_backtest}").json()
    assert (detail["commissions"], detail["swaps"]) == (None, None)
    assert (detail["net_profit"], detail["max_balance_drawdown"]) == (452.42, 175.68)
    url = f"/api/v1/backtests/{sparse_backtest}/trades"
    page = client.get(url, params={"limit": 2})
    assert page.status_code == 200, page.text
    assert page.json()["next_after"] == 2
    assert page.json()["items"][0] == {
        "trade_number": 1, "deal_id": None, "symbol": "EURUSD", "direction": "buy",
        "open_time": None, "close_time": "2024-01-02T16:09:14.251000Z", "entry_price": None,
        "exit_price": None, "quantity": 0.1, "quantity_unit": "Lots", "volume": 10000.0,
        "commission": None, "swap": None, "pips": -2.7, "gross_profit": -2.7, "profit": -3.35,
        "balance_after": 9996.65, "drawdown": 3.35, "drawdown_percent": 0.0335,
        "label": "MACross", "comment": None, "extra": None,
    }  # fmt: skip
    numbers: list[int] = []
    after: int | None = 0
    while after is not None:
        found = client.get(url, params={"after": after, "limit": 150}).json()
        numbers += [t["trade_number"] for t in found["items"]]
        after = found["next_after"]
    assert numbers == list(range(1, 201))
    sells = client.get(url, params={"direction": "sell", "limit": 1000}).json()["items"]
    assert (len(sells), sells[0]["open_time"]) == (91, None)
    nothing = {"items": [], "next_after": None}
    assert client.get(url, params={"open_from": "2000-01-01T00:00:00Z"}).json() == nothing
    assert client.get(url, params={"open_to": "2100-01-01T00:00:00Z"}).json() == nothing


def test_trades_pages_leave_extra_out_unless_asked(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    lines = (BASIC / "history.csv").read_text().splitlines()
    path.write_text(f"{lines[0]},Channel\n{lines[1]},cBot\n")
    answer = client.post(
        "/api/v1/ingest",
        files={"csv_file": (path.name, path.read_bytes(), "text/csv")},
        data={"initial_balance": "10000"},
    )
    backtest = answer.json()["backtest_id"]
    plain = client.get(f"/api/v1/backtests/{backtest}/trades").json()["items"]
    asked = client.get(f"/api/v1/backtests/{backtest}/trades?fields=extra").json()["items"]
    assert [t["extra"] for t in plain] == [None]
    assert [t["extra"] for t in asked] == [{"Channel": "cBot"}]
    assert client.get(f"/api/v1/backtests/{backtest}/trades?fields=everything").status_code == 422
