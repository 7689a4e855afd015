"""What a batch is asked (`BatchOptions`) and what became of each backtest (`BatchItem`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from backtestdb.ingest import OnError

Status = Literal["ingested", "already stored", "failed", "queued"]


@dataclass(slots=True)
class BatchOptions:
    #: `--run NAME` / the form's `run`: the whole batch is one run of that name.
    run: str | None = None
    description: str | None = None
    initial_balance: Decimal | None = None
    symbol: str | None = None
    on_error: OnError = "strict"
    force: bool = False


@dataclass(slots=True)
class BatchItem:
    label: str
    status: Status
    backtest_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None
    trades: int = 0
    reason: str | None = None
    run_id: uuid.UUID | None = None
    pass_number: int | None = None
    net_profit: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        def text(value: object) -> str | None:
            return None if value is None else str(value)

        return {
            "path": self.label,
            "status": self.status,
            "backtest_id": text(self.backtest_id),
            "job_id": text(self.job_id),
            "trades": self.trades,
            "net_profit": text(self.net_profit),
            "reason": self.reason,
            "run_id": text(self.run_id),
            "pass_number": self.pass_number,
        }


@dataclass(slots=True)
class BatchResult:
    items: list[BatchItem] = field(default_factory=list)
    #: [{id, name, kind, pass_count}] of the runs the batch's backtests joined.
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: Backtests found; `items` holds fewer when the batch was interrupted.
    total: int = 0
    interrupted: bool = False

    @property
    def failed(self) -> int:
        return sum(item.status == "failed" for item in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": [item.as_dict() for item in self.items],
            "runs": self.runs,
            "total": self.total,
            "done": len(self.items),
            "failed": self.failed,
            "interrupted": self.interrupted,
        }
