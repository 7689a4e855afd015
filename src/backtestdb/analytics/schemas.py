"""Response shapes of the analytics routes (and the CLI's --json output)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from backtestdb.analytics.compare import Comparison
from backtestdb.schemas import Number, Schema


class GroupOut(Schema):
    key: int | str = Field(description="hour 0-23, ISO weekday 1-7, or text (day: yyyy-mm-dd)")
    label: str
    trades: int
    winning_trades: int
    losing_trades: int
    win_rate: Number = Field(description="Percent (0-100)")
    net_profit: Number
    gross_profit: Number
    gross_loss: Number
    average_trade: Number
    profit_factor: Number | None = Field(description="null when the group has no loss")


class BreakdownOut(Schema):
    backtest_id: uuid.UUID
    group_by: str
    items: list[GroupOut]


class EquityPointOut(Schema):
    time: datetime | None = Field(description="The trade's close (UTC); the start for the first")
    trade_number: int | None = Field(description="null for the initial balance")
    balance: Number
    drawdown: Number
    drawdown_percent: Number


class EquityOut(Schema):
    backtest_id: uuid.UUID
    initial_balance: Number
    total_points: int = Field(description="Points before downsampling: trades + 1")
    max_drawdown: Number
    max_drawdown_percent: Number
    points: list[EquityPointOut]


class MetricsOut(Schema):
    backtest_id: uuid.UUID
    metrics: dict[str, Any] = Field(description="The full metric set (docs/metrics.md)")


class CompareBacktestOut(Schema):
    id: uuid.UUID
    name: str
    symbol: str | None
    period: str | None


class CompareMetricOut(Schema):
    metric: str
    better: str | None = Field(description="higher, lower, or null when neither is better")
    values: dict[uuid.UUID, int | Number | None]
    best: list[uuid.UUID]


class CompareParameterOut(Schema):
    name: str
    values: dict[uuid.UUID, str | None] = Field(description="null: the backtest lacks it")


class ComparisonOut(Schema):
    backtests: list[CompareBacktestOut]
    metrics: list[CompareMetricOut]
    parameters: list[CompareParameterOut] = Field(description="Only those that differ")

    @classmethod
    def of(cls, found: Comparison) -> ComparisonOut:
        return cls(
            backtests=[CompareBacktestOut.model_validate(b) for b in found.backtests],
            metrics=[CompareMetricOut.model_validate(m) for m in found.metrics],
            parameters=[CompareParameterOut.model_validate(p) for p in found.parameters],
        )
