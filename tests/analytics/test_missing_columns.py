"""Analytics of a backtest whose file leaves columns out (cTrader's default History layout:
no opening time, prices, fees or deal id), on both backends.

`sparse_backtest` (tests/conftest.py) is the bundled sample with those columns NULL; the
full sample ingested beside it is what every figure that needs none of them must equal.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backtestdb.analytics.export import TRADE_COLUMNS
from backtestdb.cli import app
from backtestdb.config import Settings
from tests.analytics.conftest import ingest_and_refresh
from tests.conftest import BASIC

API = "/api/v1"
runner = CliRunner()
#: The reconciliation items a file without fee columns cannot give.
FEE_METRICS = {"commissions", "swaps", "long.commissions", "short.commissions",
               "long.swaps", "short.swaps"}  # fmt: skip
FEE_SENTENCE = " Commissions came to -133.18 and swaps to -40.00."


def full_sample(factory: sessionmaker[Session], settings: Settings) -> str:
    """The same files with every column, under the same name."""
    backtest, _ = ingest_and_refresh(
        factory, settings, BASIC / "report.json", BASIC / "history.csv", name="Sparse EURUSD"
    )
    return str(backtest.id)


def get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(API + url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def close_time_groups(group_by: str) -> list[tuple[str | int, int, Decimal]]:
    """(key, trades, net) per UTC close hour or weekday, from the CSV with csv + Decimal."""
    groups: dict[str | int, list[Decimal]] = defaultdict(list)
    with (BASIC / "history.csv").open() as stream:
        for row in csv.DictReader(stream):
            closed = datetime.strptime(row["Closing Time (UTC+0)"], "%d/%m/%Y %H:%M:%S.%f")
            closed = closed.replace(tzinfo=UTC)
            key = closed.hour if group_by == "hour" else closed.isoweekday()
            groups[key].append(Decimal(row["Net"]))
    return [(key, len(nets), sum(nets, Decimal(0))) for key, nets in sorted(groups.items())]


@pytest.mark.parametrize("group_by", ["hour", "weekday"])
def test_time_breakdowns_group_by_the_close(
    client: TestClient, sparse_backtest: str, group_by: str
) -> None:
    """No breakdown needs the opening time: hour and weekday are the close's."""
    items = get(client, f"/backtests/{sparse_backtest}/stats", group_by=group_by)["items"]
    found = [(i["key"], i["trades"], Decimal(str(i["net_profit"]))) for i in items]
    assert found == close_time_groups(group_by)
    assert sum(i["trades"] for i in items) == 200
    printed = json.loads(cli("stats", sparse_backtest, "--by", group_by, "--json"))
    assert printed == items


def test_every_breakdown_equals_the_full_samples(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, sparse_backtest: str
) -> None:
    full = full_sample(factory, settings)
    for group_by in ("symbol", "direction", "hour", "weekday", "day", "week", "month", "year"):
        sparse = get(client, f"/backtests/{sparse_backtest}/stats", group_by=group_by)["items"]
        assert sparse == get(client, f"/backtests/{full}/stats", group_by=group_by)["items"]
        assert round(sum(Decimal(str(g["net_profit"])) for g in sparse), 2) == Decimal("452.42")


def test_metrics_have_no_holding_time_and_no_fees(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, sparse_backtest: str
) -> None:
    full = get(client, f"/backtests/{full_sample(factory, settings)}/metrics")["metrics"]
    sparse = get(client, f"/backtests/{sparse_backtest}/metrics")["metrics"]
    assert sparse["average_holding_hours"] is None
    assert full["average_holding_hours"] is not None
    for side in ("all", "long", "short"):
        assert (sparse[side]["commissions"], sparse[side]["swaps"]) == (None, None)
        unknown = ("commissions", "swaps")
        assert {k: v for k, v in sparse[side].items() if k not in unknown} == {
            k: v for k, v in full[side].items() if k not in unknown
        }
    assert (full["all"]["commissions"], full["all"]["swaps"]) == (-133.18, -40.0)
    assert sparse["all"]["net_profit"] == 452.42
    assert sparse["all"]["total_trades"] == 200
    others = set(full) - {"all", "long", "short", "average_holding_hours"}
    assert {k: sparse[k] for k in others} == {k: full[k] for k in others}


def test_reconciliation_leaves_the_fees_out(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, sparse_backtest: str
) -> None:
    """The report's fees are not compared with fees the trades do not have (which would
    be 0 against -133.18: a false difference)."""
    full = get(client, f"/backtests/{full_sample(factory, settings)}")["reconciliation"]
    sparse = get(client, f"/backtests/{sparse_backtest}")["reconciliation"]
    assert full["status"] == sparse["status"] == "reconciled"
    compared = {item["metric"] for item in full["items"]}
    assert compared >= FEE_METRICS
    assert sparse["items"] == [i for i in full["items"] if i["metric"] not in FEE_METRICS]


def test_summary_text_states_no_fees(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, sparse_backtest: str
) -> None:
    full = client.get(f"{API}/backtests/{full_sample(factory, settings)}/summary.txt").text
    sparse = client.get(f"{API}/backtests/{sparse_backtest}/summary.txt").text
    assert FEE_SENTENCE in full
    assert sparse == full.replace(FEE_SENTENCE, "")
    assert cli("show", sparse_backtest, "--text") == sparse + "\n"


def test_equity_is_the_full_samples(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, sparse_backtest: str
) -> None:
    full = get(client, f"/backtests/{full_sample(factory, settings)}/equity", points=20)
    sparse = get(client, f"/backtests/{sparse_backtest}/equity", points=20)
    assert sparse["points"] == full["points"]
    assert sparse["points"][0]["time"] == "2024-01-02T00:00:00Z"  # the report's start
    assert (sparse["total_points"], sparse["max_drawdown"]) == (201, 175.68)


def test_trade_exports_have_empty_cells_and_nulls(
    client: TestClient, sparse_backtest: str, tmp_path: Path
) -> None:
    answer = client.get(f"{API}/backtests/{sparse_backtest}/trades.csv")
    assert answer.status_code == 200
    header, *_ = answer.text.splitlines()
    assert header.split(",") == list(TRADE_COLUMNS)
    assert "quantity_unit" in TRADE_COLUMNS
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 200
    assert rows[0] == {
        "trade_number": "1", "deal_id": "", "symbol": "EURUSD", "direction": "buy",
        "open_time": "", "close_time": "2024-01-02T16:09:14.251000+00:00", "entry_price": "",
        "exit_price": "", "quantity": "0.1000", "quantity_unit": "Lots",
        "volume": "10000.0000", "commission": "", "swap": "", "pips": "-2.7000",
        "gross_profit": "-2.70", "profit": "-3.35", "balance_after": "9996.65",
        "drawdown": "3.35", "drawdown_percent": "0.0335", "label": "MACross", "comment": "",
    }  # fmt: skip
    exported = tmp_path / "trades.csv"
    cli("export", sparse_backtest, "--format", "csv", "-o", str(exported))
    assert exported.read_bytes().decode() == answer.text

    parquet = client.get(f"{API}/backtests/{sparse_backtest}/trades.parquet")
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column_names == list(TRADE_COLUMNS)
    for name in ("deal_id", "open_time", "entry_price", "exit_price", "commission", "swap"):
        assert table.column(name).null_count == 200, name
    assert set(table.column("quantity_unit").to_pylist()) == {"Lots"}
    assert sum(table.column("profit").to_pylist()) == Decimal("452.42")


def test_backtest_list_csv_leaves_unknown_fees_empty(
    client: TestClient, sparse_backtest: str
) -> None:
    answer = client.get(f"{API}/backtests.csv")
    [row] = list(csv.DictReader(io.StringIO(answer.text)))
    assert (row["id"], row["net_profit"]) == (sparse_backtest, "452.42")
    assert (row["commissions"], row["swaps"]) == ("", "")


def test_compare_marks_the_known_fees_best(
    client: TestClient, factory: sessionmaker[Session], settings: Settings, sparse_backtest: str
) -> None:
    full = full_sample(factory, settings)
    body = get(client, "/compare", ids=f"{sparse_backtest},{full}")
    metrics = {m["metric"]: m for m in body["metrics"]}
    assert metrics["commissions"]["values"] == {sparse_backtest: None, full: -133.18}
    assert metrics["commissions"]["best"] == [full]
    assert metrics["swaps"]["values"] == {sparse_backtest: None, full: -40.0}
    assert metrics["net_profit"]["best"] == [sparse_backtest, full]
    table = cli("compare", sparse_backtest, full)
    assert "None" not in table


def test_cli_list_and_show(sparse_backtest: str) -> None:
    [listed] = json.loads(cli("list", "--json"))["items"]
    assert (listed["id"], listed["total_trades"], listed["net_profit"]) == (
        sparse_backtest, 200, 452.42)  # fmt: skip
    shown = json.loads(cli("show", sparse_backtest, "--json"))
    assert (shown["commissions"], shown["swaps"], shown["net_profit"]) == (None, None, 452.42)
    assert shown["reconciliation"]["status"] == "reconciled"
    table = cli("show", sparse_backtest)
    assert "None" not in table
    assert "Reconciliation: reconciled" in table


def without_columns(path: Path, dropped: set[str]) -> Path:
    """The sample History CSV without some of its columns."""
    with (BASIC / "history.csv").open() as stream:
        rows = list(csv.reader(stream))
    keep = [i for i, name in enumerate(rows[0]) if name not in dropped]
    with path.open("w", newline="") as stream:
        csv.writer(stream).writerows([[row[i] for i in keep] for row in rows])
    return path


@pytest.mark.parametrize(
    ("dropped", "commissions", "swaps", "sentence"),
    [
        ({"Commissions", "Swap"}, None, None, None),
        ({"Swap"}, Decimal("-133.18"), None, "Commissions came to -133.18."),
        ({"Commissions"}, None, Decimal("-40.00"), "Swaps came to -40.00."),
    ],
)
def test_a_file_without_fee_columns_has_no_fee_totals(
    client: TestClient,
    factory: sessionmaker[Session],
    settings: Settings,
    tmp_path: Path,
    dropped: set[str],
    commissions: Decimal | None,
    swaps: Decimal | None,
    sentence: str | None,
) -> None:
    """Unknown, not 0: the ingest stores NULL totals for a fee the file has no column for."""
    path = without_columns(tmp_path / "history.csv", dropped)
    backtest, warnings = ingest_and_refresh(
        factory, settings, BASIC / "report.json", path, initial_balance=Decimal(10000)
    )
    assert warnings == []
    assert (backtest.commissions, backtest.swaps) == (commissions, swaps)
    assert backtest.net_profit == Decimal("452.42")
    metrics = backtest.metrics
    assert metrics is not None
    assert metrics["all"]["commissions"] == (None if commissions is None else float(commissions))
    assert metrics["all"]["swaps"] == (None if swaps is None else float(swaps))
    assert backtest.reconciliation is not None
    assert backtest.reconciliation["status"] == "reconciled"
    text = client.get(f"{API}/backtests/{backtest.id}/summary.txt").text
    fees = [s for s in text.split(". ") if "ommissions" in s or "waps" in s]
    assert fees == ([] if sentence is None else [sentence.rstrip(".")])
