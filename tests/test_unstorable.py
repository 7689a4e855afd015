"""Valid but extreme trades never reach the database as a numeric overflow (a 500): a
balance past NUMERIC(18,2) fails the ingest at its row, a figure past its column is
stored empty with a warning. Both paths, on both backends."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.config import Settings
from backtestdb.ingest import IngestRequest, columnar
from backtestdb.storage import SourceFile
from tests.test_columnar import outcome_of

START_MS = 1_704_159_830_846


def report(tmp_path: Path, nets: list[float]) -> IngestRequest:
    trades = [
        {
            "id": number, "symbol": "EURUSD", "direction": "Buy", "entryTime": START_MS,
            "closeTime": START_MS + number * 1000, "entryPrice": 1.1, "closePrice": 1.2,
            "net": net,
        }
        for number, net in enumerate(nets, start=1)
    ]  # fmt: skip
    document = {"main": {"startingCapital": 10000.0}, "history": {"items": trades}}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return IngestRequest(report=SourceFile("report", path.name, path), force=True)


@pytest.fixture(params=[False, True], ids=["columnar", "row-path"])
def row_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(columnar, "ROW_PATH_ONLY", request.param)
    return bool(request.param)


@pytest.mark.usefixtures("row_path")
def test_a_balance_past_what_is_stored_is_refused_at_its_row(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    outcome = outcome_of(factory, settings, engine, report(tmp_path, [9e14] * 20))
    assert outcome["failed"] == (
        "r.json, row 12, column 'net': the balance after this trade reaches "
        "10800000000010000.00, beyond what backtestdb stores (below 1e16 in absolute "
        "value): check this Net and the initial balance"
    )


@pytest.mark.usefixtures("row_path")
def test_figures_past_their_columns_are_stored_empty_with_a_warning(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    outcome: Any = outcome_of(factory, settings, engine, report(tmp_path, [5e12, 5e12, -0.01]))
    backtest = outcome["stored"]["backtest"]
    assert backtest["profit_factor"] is None
    assert backtest["recovery_factor"] is None
    assert backtest["net_profit"] == Decimal("9999999999999.99")
    assert backtest["metrics"]["all"]["profit_factor"] == 1e15
    assert {
        "file": "r.json",
        "message": "profit_factor is 1000000000000000.0000, beyond what its column holds: "
        "stored empty",
        "row": None,
        "column": "profit_factor",
        "value": "1000000000000000.0000",
    } in outcome["warnings"]
