"""The analytics routes on both backends, with exact values."""

from __future__ import annotations

import csv
import io
import json
import uuid
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from tests.analytics.conftest import ingest_and_refresh, write_csv
from tests.conftest import BASIC

API = "/api/v1"


def basic(factory: sessionmaker[Session], settings: Settings) -> str:
    backtest, _ = ingest_and_refresh(factory, settings, BASIC / "report.json")
    return str(backtest.id)


def test_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/backtests.csv", "/backtests/{backtest_id}/stats", "/backtests/{backtest_id}/equity",
        "/backtests/{backtest_id}/metrics", "/backtests/{backtest_id}/trades.csv",
        "/backtests/{backtest_id}/trades.parquet", "/backtests/{backtest_id}/summary.txt",
        "/compare",
    ):  # fmt: skip
        assert API + path in paths, path
    group_by = paths[API + "/backtests/{backtest_id}/stats"]["get"]["parameters"][1]
    assert group_by["schema"]["enum"][:3] == ["symbol", "direction", "hour"]


def test_stats_by_month_and_direction(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = basic(factory, settings)
    answer = client.get(f"{API}/backtests/{backtest_id}/stats", params={"group_by": "month"})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert [i["key"] for i in items] == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert items[0]["net_profit"] == -63.83
    assert items[-1]["net_profit"] == 230.03
    assert sum(Decimal(str(i["net_profit"])) for i in items) == Decimal("452.42")
    assert sum(i["trades"] for i in items) == 200
    sides = client.get(f"{API}/backtests/{backtest_id}/stats?group_by=direction").json()["items"]
    assert sides == [
        {"key": "buy", "label": "buy", "trades": 109, "winning_trades": 59, "losing_trades": 50,
         "win_rate": 54.13, "net_profit": 165.43, "gross_profit": 1053.07,
         "gross_loss": -887.64, "average_trade": 1.52, "profit_factor": 1.1864},
        {"key": "sell", "label": "sell", "trades": 91, "winning_trades": 50, "losing_trades": 41,
         "win_rate": 54.95, "net_profit": 286.99, "gross_profit": 993.99,
         "gross_loss": -707.0, "average_trade": 3.15, "profit_factor": 1.4059},
    ]  # fmt: skip
    bad = client.get(f"{API}/backtests/{backtest_id}/stats?group_by=minute")
    assert bad.status_code == 422
    missing = client.get(f"{API}/backtests/{uuid.uuid4()}/stats")
    assert missing.status_code == 404


def test_equity_keeps_the_max_drawdown(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = basic(factory, settings)
    full = client.get(f"{API}/backtests/{backtest_id}/equity?points=1000").json()
    assert full["total_points"] == 201
    assert len(full["points"]) == 201
    small = client.get(f"{API}/backtests/{backtest_id}/equity?points=20").json()
    points = small["points"]
    assert len(points) <= 20
    assert points[0] == {
        "time": "2024-01-02T00:00:00Z", "trade_number": None, "balance": 10000.0,
        "drawdown": 0.0, "drawdown_percent": 0.0,
    }  # fmt: skip
    assert points[-1]["balance"] == 10452.42
    assert points[-1]["trade_number"] == 200
    assert max(p["drawdown"] for p in points) == 175.68
    assert max(p["balance"] for p in points) == max(p["balance"] for p in full["points"])
    assert small["max_drawdown"] == 175.68
    assert small["max_drawdown_percent"] == 1.76
    times = [p["time"] for p in points]
    assert times == sorted(times)
    assert client.get(f"{API}/backtests/{backtest_id}/equity?points=2").status_code == 422


def test_detail_metrics_and_summary_text(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = basic(factory, settings)
    detail = client.get(f"{API}/backtests/{backtest_id}").json()
    assert detail["reconciliation"]["status"] == "reconciled"
    metrics = client.get(f"{API}/backtests/{backtest_id}/metrics").json()["metrics"]
    assert metrics["all"]["max_consecutive_wins"] == 8
    assert metrics["short"]["largest_loss"] == -20.98
    text = client.get(f"{API}/backtests/{backtest_id}/summary.txt")
    assert text.headers["content-type"].startswith("text/plain")
    assert "200 trades, 109 winning and 91 losing (win rate 54.50%)" in text.text
    assert "net profit of 452.42 (4.52% return)" in text.text
    assert "largest balance drawdown was 175.68 (1.76%)" in text.text
    assert "agree with the platform's report" in text.text


def test_compare(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    first = basic(factory, settings)
    rows = [
        ("Buy", "01/03/2024 10:00:00", "01/03/2024 11:00:00", "50.00", "EURUSD"),
        ("Buy", "04/03/2024 10:00:00", "04/03/2024 11:00:00", "-80.00", "EURUSD"),
    ]
    csv_path = write_csv(tmp_path / "small.csv", rows)
    second, _ = ingest_and_refresh(factory, settings, csv=csv_path, initial_balance=Decimal(1000))
    answer = client.get(f"{API}/compare", params={"ids": f"{first},{second.id}"})
    assert answer.status_code == 200
    body = answer.json()
    assert [b["id"] for b in body["backtests"]] == [first, str(second.id)]
    metrics = {m["metric"]: m for m in body["metrics"]}
    assert metrics["net_profit"]["values"] == {first: 452.42, str(second.id): -30.0}
    assert metrics["net_profit"]["best"] == [first]
    assert metrics["max_balance_drawdown_percent"]["best"] == [first]  # 1.76 < 7.62
    assert metrics["total_trades"]["best"] == []
    # The CSV-only backtest has no parameters: every one of the report's differs.
    names = [p["name"] for p in body["parameters"]]
    assert len(names) == 6
    assert all(p["values"][str(second.id)] is None for p in body["parameters"])
    assert client.get(f"{API}/compare?ids={first}").status_code == 422
    assert client.get(f"{API}/compare?ids={first},nonsense").status_code == 422
    assert client.get(f"{API}/compare?ids={first},{uuid.uuid4()}").status_code == 404


def test_trades_csv_is_escaped_and_parquet_round_trips(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "Deal ID,Symbol,Opening Direction,Opening Time (UTC+0),Closing Time (UTC+0),"
        "Entry Price,Closing Price,Net,Label,Comment\n"
        '1,EURUSD,Buy,01/03/2024 10:00:00,01/03/2024 11:00:00,1.1,1.2,-5.25,=1+1,"@SUM(A1)"\n'
        "2,EURUSD,Sell,01/03/2024 12:00:00,01/03/2024 13:00:00,1.1,1.2,3.00,-12.5,+x\n"
    )
    backtest, _ = ingest_and_refresh(factory, settings, csv=path, initial_balance=Decimal(100))
    answer = client.get(f"{API}/backtests/{backtest.id}/trades.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["profit"] for r in rows] == ["-5.25", "3.00"]  # numbers are not quoted
    assert [r["label"] for r in rows] == ["'=1+1", "-12.5"]  # a plain number stays
    assert [r["comment"] for r in rows] == ["'@SUM(A1)", "'+x"]
    assert rows[0]["close_time"] == "2024-03-01T11:00:00+00:00"
    parquet = client.get(f"{API}/backtests/{backtest.id}/trades.parquet")
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == 2
    assert table.column("profit").to_pylist() == [Decimal("-5.25"), Decimal("3.00")]
    assert table.column("label").to_pylist() == ["=1+1", "-12.5"]  # Parquet is not a sheet
    assert client.get(f"{API}/backtests/{uuid.uuid4()}/trades.csv").status_code == 404


def test_parquet_is_written_in_row_groups(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    from backtestdb.analytics.export import trades_parquet

    backtest_id = uuid.UUID(basic(factory, settings))
    data = b"".join(trades_parquet(factory, backtest_id, row_group=64))
    parquet = pq.ParquetFile(io.BytesIO(data))
    assert parquet.metadata.num_rows == 200
    assert parquet.metadata.num_row_groups == 4


def test_backtests_csv_lists_metrics_with_filters(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    backtest_id = basic(factory, settings)
    answer = client.get(f"{API}/backtests.csv", params={"min_sharpe_ratio": "0.5"})
    assert answer.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(answer.text)))
    assert row["id"] == backtest_id
    assert row["net_profit"] == "452.42"
    assert row["largest_win"] == "68.73"
    assert row["max_consecutive_losses"] == "8"
    none = client.get(f"{API}/backtests.csv", params={"min_sharpe_ratio": "1000"})
    assert list(csv.DictReader(io.StringIO(none.text))) == []
    assert client.get(f"{API}/backtests.csv?sort=nonsense").status_code == 422
    assert json.loads(client.get(f"{API}/backtests.csv?min_nope=1").text)["detail"]
