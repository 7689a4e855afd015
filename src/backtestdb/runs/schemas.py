"""Shapes of runs as they leave the service: API responses and the CLI's `--json` alike."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from backtestdb.runs.analysis import Robustness, Sensitivity
from backtestdb.runs.service import PassRow, Value
from backtestdb.schemas import Number, Schema


class RunOut(Schema):
    id: uuid.UUID
    name: str
    kind: str = Field(description="optimization (an Optimization folder) or batch")
    cbot: str | None
    symbol: str | None
    period: str | None = Field(description="The chart's timeframe, e.g. h1")
    testing_start: datetime | None
    testing_end: datetime | None
    pass_count: int = Field(description="How many backtests belong to the run")
    created_at: datetime


class RunPage(Schema):
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class PassOut(Schema):
    """One pass: its parameters' values and every numeric summary column."""

    backtest_id: uuid.UUID
    pass_number: int | None = Field(description="The pass's folder number in the Optimization")
    name: str
    parameters: dict[str, Value] = Field(description="Typed as stored (int, float, bool…)")
    initial_balance: Number
    ending_balance: Number | None
    ending_equity: Number | None
    net_profit: Number
    gross_profit: Number
    gross_loss: Number
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: Number
    profit_factor: Number | None
    max_balance_drawdown: Number
    max_balance_drawdown_percent: Number
    max_equity_drawdown: Number | None
    max_equity_drawdown_percent: Number | None
    commissions: Number | None
    swaps: Number | None
    expectancy: Number | None
    average_win: Number | None
    average_loss: Number | None
    largest_win: Number | None
    largest_loss: Number | None
    payoff_ratio: Number | None
    max_consecutive_wins: int | None
    max_consecutive_losses: int | None
    recovery_factor: Number | None
    sharpe_ratio: Number | None
    sortino_ratio: Number | None
    calmar_ratio: Number | None
    cagr_percent: Number | None

    @classmethod
    def of(cls, row: PassRow) -> PassOut:
        columns = cls.model_fields.keys() - {"backtest_id", "parameters"}
        fields = {name: getattr(row.backtest, name) for name in columns}
        return cls.model_validate(
            {**fields, "backtest_id": row.backtest.id, "parameters": row.parameters}
        )


class RunDetail(Schema):
    run: RunOut
    passes: list[PassOut]
    total: int = Field(description="Passes matching the filters")
    limit: int
    offset: int
    parameters: list[str] = Field(
        description="The run's parameter names: those that vary across passes first"
    )
    varying_parameters: list[str] = Field(description="The names whose value differs by pass")


class SensitivityCell(Schema):
    values: dict[str, Value] = Field(description="The analysed parameters' values")
    count: int
    mean: Number = Field(description="Rounded half-up to the metric's scale")
    min: Number
    max: Number


class SensitivityOut(Schema):
    run_id: uuid.UUID
    metric: str
    parameters: list[str]
    cells: list[SensitivityCell] = Field(description="In the values' order, by the first first")

    @classmethod
    def of(cls, found: Sensitivity) -> SensitivityOut:
        return cls.model_validate(found)


class RobustnessItem(Schema):
    backtest_id: uuid.UUID
    pass_number: int | None
    name: str
    parameters: dict[str, Value]
    metric: Number
    neighbours: int = Field(
        description="Passes equal in every parameter but one, one step away in that one"
    )
    neighbour_mean: Number | None = Field(description="null without neighbours")
    neighbour_min: Number | None
    neighbour_max: Number | None
    difference: Number | None = Field(description="metric - neighbour_mean")


class RobustnessOut(Schema):
    run_id: uuid.UUID
    metric: str
    items: list[RobustnessItem] = Field(description="Best metric first")

    @classmethod
    def of(cls, run_id: uuid.UUID, metric: str, rows: list[Robustness]) -> RobustnessOut:
        items = [RobustnessItem.model_validate(row) for row in rows]
        return cls(run_id=run_id, metric=metric, items=items)


class RunDeleted(Schema):
    deleted: uuid.UUID = Field(description="The run's id")
    backtests: int = Field(description="How many backtests were deleted with it")
