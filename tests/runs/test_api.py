"""The runs API over the grid of conftest.py: lists, passes, sensitivity, robustness, delete."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.models import Backtest
from tests.runs.conftest import add_pass, make_run

MISSING = "6f1f8e0a-3c9e-4d7b-8a51-0c2d4e6f8a10"


def test_run_list(client: TestClient, grid_run: uuid.UUID, factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        make_run(session, "Another", "batch")
    answer = client.get("/api/v1/runs", params={"sort": "name"})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    assert [r["name"] for r in body["items"]] == ["Another", "Grid EURUSD"]
    grid = body["items"][1]
    assert grid["id"] == str(grid_run)
    assert (grid["kind"], grid["symbol"], grid["period"], grid["pass_count"]) == (
        "optimization",
        "EURUSD",
        "h1",
        20,
    )
    named = client.get("/api/v1/runs", params={"name": "grid"}).json()
    assert [r["name"] for r in named["items"]] == ["Grid EURUSD"]
    bad = client.get("/api/v1/runs", params={"sort": "net_profit"})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("sort: sort by one of: name, kind, cbot")


def test_run_detail_sorted_and_filtered(client: TestClient, grid_run: uuid.UUID) -> None:
    body = client.get(f"/api/v1/runs/{grid_run}").json()
    assert body["run"]["name"] == "Grid EURUSD"
    assert (body["total"], body["limit"], body["offset"]) == (20, 100, 0)
    assert (body["parameters"], body["varying_parameters"]) == (["A", "B", "C"], ["A", "B"])
    best = body["passes"][0]  # best net profit first by default: the spike
    assert (best["pass_number"], best["net_profit"], best["total_trades"]) == (16, 500.0, 16)
    assert best["parameters"] == {"A": 20, "B": 10.0, "C": "x"}
    assert best["profit_factor"] == 5.3333
    # Sorted by another column, a page of it, filtered by metric and by parameter value.
    page = client.get(f"/api/v1/runs/{grid_run}", params={"sort": "-pass_number", "limit": 2})
    assert [p["pass_number"] for p in page.json()["passes"]] == [20, 19]
    high = client.get(f"/api/v1/runs/{grid_run}", params={"min_net_profit": "100"}).json()
    assert (high["total"], [p["pass_number"] for p in high["passes"]]) == (
        7,
        [16, 5, 6, 9, 10, 13, 14],
    )
    column = {"param.B": "1.5", "max_net_profit": "50", "sort": "pass_number"}
    found = client.get(f"/api/v1/runs/{grid_run}", params=column).json()
    assert [p["pass_number"] for p in found["passes"]] == [2, 18]  # 30.00 and 0.01


def test_run_detail_errors(client: TestClient, grid_run: uuid.UUID) -> None:
    missing = client.get(f"/api/v1/runs/{MISSING}")
    assert (missing.status_code, missing.json()["detail"]) == (404, f"Run {MISSING} not found")
    bad = client.get(f"/api/v1/runs/{grid_run}", params={"min_profit": "1"})
    assert bad.status_code == 422
    assert "unknown metric 'profit'" in bad.json()["detail"]
    twice = client.get(f"/api/v1/runs/{grid_run}?sort=name&sort=-name")
    assert twice.status_code == 422
    assert twice.json()["detail"] == "Query parameter 'sort' given more than once"
    assert client.get("/api/v1/runs/not-a-uuid").status_code == 422


def test_backtests_show_their_run(client: TestClient, grid_run: uuid.UUID) -> None:
    listed = client.get("/api/v1/backtests", params={"sort": "pass_number", "limit": 1}).json()
    first = listed["items"][0]
    assert (first["run_id"], first["pass_number"]) == (str(grid_run), 1)
    detail = client.get(f"/api/v1/backtests/{first['id']}").json()
    assert (detail["run_id"], detail["pass_number"]) == (str(grid_run), 1)


def test_sensitivity(client: TestClient, grid_run: uuid.UUID) -> None:
    url = f"/api/v1/runs/{grid_run}/sensitivity"
    one = client.get(url, params={"parameter": "A"}).json()
    assert (one["run_id"], one["metric"], one["parameters"]) == (str(grid_run), "net_profit", ["A"])
    assert one["cells"][1] == {
        "values": {"A": 10},
        "count": 4,
        "mean": 53.13,  # (100 + 100 + 12.5 + 0) / 4 = 53.125, half-up
        "min": 0.0,
        "max": 100.0,
    }
    two = client.get(f"{url}?parameter=A&parameter=B&metric=total_trades").json()
    assert (two["metric"], two["parameters"], len(two["cells"])) == (
        "total_trades",
        ["A", "B"],
        20,
    )
    assert two["cells"][-1] == {
        "values": {"A": 25, "B": 10.0},
        "count": 1,
        "mean": 20.0,
        "min": 20.0,
        "max": 20.0,
    }


def test_sensitivity_errors(client: TestClient, grid_run: uuid.UUID) -> None:
    url = f"/api/v1/runs/{grid_run}/sensitivity"
    metric = client.get(url, params={"parameter": "A", "metric": "profit"})
    assert metric.status_code == 422
    assert metric.json()["detail"].startswith("metric: unknown metric 'profit'; use one of: ")
    unknown = client.get(url, params={"parameter": "Z"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == (
        "parameter: unknown parameter 'Z'; the run's parameters: A, B, C"
    )
    same = client.get(f"{url}?parameter=A&parameter=A")
    assert same.json()["detail"] == "parameter: give two different parameters (got 'A' twice)"
    for query in ("", "?parameter=A&parameter=B&parameter=C"):
        assert client.get(f"{url}{query}").status_code == 422
    twice = client.get(f"{url}?parameter=A&metric=net_profit&metric=win_rate")
    assert twice.json()["detail"] == "Query parameter 'metric' given more than once"
    missing = client.get(f"/api/v1/runs/{MISSING}/sensitivity", params={"parameter": "A"})
    assert (missing.status_code, missing.json()["detail"]) == (404, f"Run {MISSING} not found")


def test_robustness(client: TestClient, grid_run: uuid.UUID) -> None:
    url = f"/api/v1/runs/{grid_run}/robustness"
    body = client.get(url).json()
    assert (body["run_id"], body["metric"], len(body["items"])) == (
        str(grid_run),
        "net_profit",
        20,
    )
    spike = body["items"][0]
    assert spike["pass_number"] == 16
    assert spike["parameters"] == {"A": 20, "B": 10.0, "C": "x"}
    # Its neighbours (A=15, B=10.0), (A=25, B=10.0), (A=20, B=2.5): 5, -10, -20.
    assert (spike["metric"], spike["neighbours"], spike["neighbour_mean"]) == (500.0, 3, -8.33)
    assert (spike["neighbour_min"], spike["neighbour_max"], spike["difference"]) == (
        -20.0,
        5.0,
        508.33,
    )
    plateau = next(i for i in body["items"] if i["pass_number"] == 9)
    assert (plateau["neighbours"], plateau["neighbour_mean"], plateau["difference"]) == (
        3,
        100.0,
        0.0,
    )
    factor = client.get(url, params={"metric": "profit_factor"}).json()
    assert len(factor["items"]) == 16  # NULL for the passes of A=25
    bad = client.get(url, params={"metric": "pass_number"})
    assert bad.status_code == 422
    assert "unknown metric 'pass_number'" in bad.json()["detail"]
    missing = client.get(f"/api/v1/runs/{MISSING}/robustness")
    assert missing.status_code == 404


def test_delete_run(
    client: TestClient, grid_run: uuid.UUID, factory: sessionmaker[Session]
) -> None:
    with factory.begin() as session:
        kept = add_pass(session, make_run(session, "Other"), 1, {}).id
    answer = client.delete(f"/api/v1/runs/{grid_run}")
    assert answer.status_code == 200
    assert answer.json() == {"deleted": str(grid_run), "backtests": 20}
    assert client.get(f"/api/v1/runs/{grid_run}").status_code == 404
    with factory() as session:
        assert session.scalars(select(Backtest.id)).all() == [kept]
        assert session.scalar(select(func.count()).select_from(Backtest)) == 1
    again = client.delete(f"/api/v1/runs/{grid_run}")
    assert (again.status_code, again.json()["detail"]) == (404, f"Run {grid_run} not found")
