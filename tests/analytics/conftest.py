"""Helpers for the analytics tests: ingest a file through the job runner, then refresh."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import analytics, models
from backtestdb.config import Settings
from backtestdb.errors import RowError
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import run_ingest
from backtestdb.parsing import parse_report
from backtestdb.server import create_app
from backtestdb.storage import SourceFile


def ingest_and_refresh(
    factory: sessionmaker[Session],
    settings: Settings,
    report: Path | None = None,
    csv: Path | None = None,
    **options: Any,
) -> tuple[models.Backtest, list[RowError]]:
    """What ingest will do once analytics.refresh is wired into it: ingest, then refresh
    the stored backtest against the report's summary (when a report is given)."""
    request = IngestRequest(
        report=SourceFile("report", report.name, report) if report else None,
        csv=SourceFile("history", csv.name, csv) if csv else None,
        force=True,
        **options,
    )
    _job, outcome = run_ingest(factory, request, settings)
    summary = parse_report(report.read_bytes(), report.name).summary if report else None
    with factory.begin() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        warnings = analytics.refresh(session, backtest, summary)
    return backtest, warnings


def write_csv(
    path: Path, rows: list[tuple[str, str, str, str, str]], header_zone: str = "UTC+0"
) -> Path:
    """A History CSV from (direction, open, close, net, symbol) rows; times dd/MM/yyyy."""
    lines = [
        f"Deal ID,Symbol,Opening Direction,Opening Time ({header_zone}),"
        f"Closing Time ({header_zone}),Entry Price,Closing Price,Commissions,Swap,Net"
    ]
    for number, (direction, opened, closed, net, symbol) in enumerate(rows, 1):
        lines.append(f"{number},{symbol},{direction},{opened},{closed},1.1,1.2,0.00,0.00,{net}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:  # the lifespan disposes the engine
        yield client
