"""POST /api/v1/ingest takes every History layout cTrader writes (exact figures)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from bench.layouts import Forms
from fastapi.testclient import TestClient

from tests.test_real_layouts import cents, written


def test_api_ingests_each_layout(client: TestClient, tmp_path: Path) -> None:
    for layout in ("default", "backtest", "statement"):
        path, totals = written(tmp_path, layout, Forms(time_format="month"), name=f"{layout}.csv")
        answer = client.post(
            "/api/v1/ingest",
            files={"csv_file": (path.name, path.read_bytes(), "text/csv")},
            data={"initial_balance": "10000"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["message"] == f"Successfully ingested {totals.trades} trades"
        detail = client.get(f"/api/v1/backtests/{answer.json()['backtest_id']}").json()
        assert cents(Decimal(str(detail["net_profit"]))) == totals.net_cents
        assert json.dumps(detail)  # serialisable with NULL open times and fees
