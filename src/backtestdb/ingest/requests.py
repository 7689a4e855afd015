"""What an ingest is asked to do (`IngestRequest`) and what it did (`IngestOutcome`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from backtestdb import models
from backtestdb.errors import RowError
from backtestdb.parsing.records import ReportSummary
from backtestdb.storage import SourceFile

OnError = Literal["strict", "skip"]


@dataclass(slots=True)
class IngestRequest:
    report: SourceFile | None = None
    csv: SourceFile | None = None
    parameters: SourceFile | None = None
    #: An events.json: the trade source instead of the CSV or the report (ingest.events).
    events: SourceFile | None = None
    #: The events' symbol (an events.json names none); else the report's or Chart.Symbol.
    symbol: str | None = None
    name: str | None = None
    description: str | None = None
    initial_balance: Decimal | None = None
    on_error: OnError = "strict"
    force: bool = False
    #: The run the backtest is a pass of (batches), and its pass folder's number.
    run_id: uuid.UUID | None = None
    pass_number: int | None = None
    #: Called with the trades read so far and the trade source's bytes read, per batch.
    on_progress: Callable[[int, int], None] | None = None

    @property
    def files(self) -> list[SourceFile]:
        files = (self.report, self.csv, self.parameters, self.events)
        return [f for f in files if f is not None]


@dataclass(slots=True)
class IngestOutcome:
    backtest: models.Backtest
    created: bool
    trades: int
    warnings: list[RowError] = field(default_factory=list)
    #: What the report said, for reconciling the full metric set afterwards.
    reported: ReportSummary | None = None
    #: The full metric set could not be computed during the ingest pass.
    needs_metrics: bool = False

    @property
    def message(self) -> str:
        if not self.created:
            return f"Already ingested: identical files are backtest {self.backtest.id}"
        return f"Successfully ingested {self.trades} trades"
