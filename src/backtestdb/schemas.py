"""Shapes that leave the service: API responses and the CLI's `--json` output alike."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Decimals are exact in the database; JSON clients expect numbers, and every stored value
# has at most 8 decimals, which a float's shortest repr reproduces exactly.
Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RowErrorOut(Schema):
    file: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    message: str


class JobOut(Schema):
    id: uuid.UUID
    job_type: str
    status: str = Field(description="pending, running, completed or failed")
    backtest_id: uuid.UUID | None
    trades_ingested: int
    error_message: str | None
    error_count: int = Field(description="All row errors found; `errors` keeps the first ones")
    errors: list[RowErrorOut]
    warnings: list[RowErrorOut]
    source_files: list[dict[str, Any]]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int = Field(description="Times a worker (or the sync request) started the job")
    worker_id: str | None = Field(
        description="The worker that ran it last (async ingests); `sync:<host>:<pid>:…` for "
        "the process of a sync ingest"
    )


class ParameterOut(Schema):
    name: str
    value: str | None
    value_type: str
    group: str | None = Field(validation_alias="group_name")
    display_name: str | None


class BacktestOut(Schema):
    id: uuid.UUID
    name: str
    description: str | None
    symbol: str | None
    symbols: list[str]
    period: str | None
    initial_balance: Number
    ending_balance: Number | None
    net_profit: Number
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: Number = Field(description="Percent of trades with net profit > 0 (0-100)")
    profit_factor: Number | None
    max_balance_drawdown: Number
    max_balance_drawdown_percent: Number
    run_id: uuid.UUID | None = Field(default=None, description="The run it is a pass of")
    pass_number: int | None = Field(
        default=None, description="Its folder number in an Optimization folder"
    )
    created_at: datetime


class ReconciliationItem(Schema):
    metric: str = Field(description="Our name; `long.` / `short.` for a side's figure")
    reported: float
    computed: float
    difference: float = Field(description="computed - reported")
    matches: bool = Field(description="Within 0.01 (money, percent points, ratios); counts exact")


class Reconciliation(Schema):
    status: str = Field(description="reconciled or differences")
    items: list[ReconciliationItem]


class BacktestDetail(BacktestOut):
    platform: str
    testing_start: datetime | None
    testing_end: datetime | None
    ending_equity: Number | None
    gross_profit: Number
    gross_loss: Number
    max_equity_drawdown: Number | None
    max_equity_drawdown_percent: Number | None
    commissions: Number | None = Field(description="null when the trades have no fee column")
    swaps: Number | None = Field(description="null when the trades have no swap column")
    reported_statistics: dict[str, Any]
    source_files: list[dict[str, Any]]
    parameters: list[ParameterOut]
    updated_at: datetime
    reconciliation: Reconciliation | None = Field(
        default=None, description="The stored trades' figures against the report's; null: no report"
    )


class BacktestPage(Schema):
    items: list[BacktestOut]
    total: int
    limit: int
    offset: int


class DailyOut(Schema):
    trade_date: date
    total_trades: int
    winning_trades: int
    losing_trades: int
    net_profit: Number
    win_rate: Number
    end_balance: Number


class IngestResponse(Schema):
    job_id: uuid.UUID
    backtest_id: uuid.UUID
    status: str
    message: str


class IngestQueued(Schema):
    """`POST /api/v1/ingest?mode=async`: the job a worker will run."""

    job_id: uuid.UUID
    status: str = Field(description="pending")


class BatchItemOut(Schema):
    """One backtest of a batch (a zip or a folder upload): a row of the batch table."""

    path: str = Field(description='Its folder in the upload, e.g. "MACross/Optimization/17"')
    status: str = Field(description="ingested, already stored, failed or queued")
    backtest_id: uuid.UUID | None
    job_id: uuid.UUID | None = Field(description="Its job (queued: follow it at /jobs/{id})")
    trades: int
    net_profit: Number | None
    reason: str | None = Field(description="Why it failed; the job keeps every row error")
    run_id: uuid.UUID | None
    pass_number: int | None = Field(description="Its folder number in an Optimization folder")


class BatchRunOut(Schema):
    id: uuid.UUID
    name: str
    kind: str = Field(description="optimization (an Optimization folder) or batch (`run`)")
    pass_count: int


class BatchOut(Schema):
    """`POST /api/v1/ingest` with `archive_file` or `folder_file`: the batch table."""

    items: list[BatchItemOut]
    runs: list[BatchRunOut] = Field(description="The runs its backtests joined")
    total: int = Field(description="Backtests found")
    done: int = Field(description="Rows in `items`")
    failed: int
    interrupted: bool


class TradeOut(Schema):
    trade_number: int = Field(description="1-based position in the source file")
    deal_id: str | None
    symbol: str
    direction: str = Field(description="buy or sell")
    open_time: datetime | None = Field(description="null when the file has no opening time")
    close_time: datetime
    entry_price: Number | None
    exit_price: Number | None
    quantity: Number | None
    quantity_unit: str | None = Field(description="As written beside the quantity: Lots…")
    volume: Number | None
    commission: Number | None = Field(description="null when the file has no such column")
    swap: Number | None = Field(description="null when the file has no such column")
    pips: Number | None
    gross_profit: Number | None
    profit: Number = Field(description="Net profit: gross + commission + swap")
    balance_after: Number
    drawdown: Number
    drawdown_percent: Number
    label: str | None
    comment: str | None
    extra: dict[str, Any] | None


class TradePage(Schema):
    items: list[TradeOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page"
    )


class DailyPage(Schema):
    items: list[DailyOut]


class TradeEventOut(Schema):
    """One position event of an events.json, as the file gave it (money to cents)."""

    serial: int = Field(description="The file's serial: the events' order")
    trade_number: int | None = Field(description="null: the position was still open at the end")
    position_id: str | None
    order_id: str | None
    event: str = Field(description='As written: "Create Position", "Stop Loss Hit"…')
    time: datetime
    direction: str | None = Field(description="buy or sell")
    volume: Number | None
    quantity: Number | None
    entry_price: Number | None
    close_price: Number | None
    stop_loss: Number | None
    take_profit: Number | None
    gross_profit: Number | None
    pips: Number | None
    balance: Number | None = Field(description="After a closing event")
    equity: Number | None


class TradeEventList(Schema):
    items: list[TradeEventOut] = Field(description="In serial order; empty: no events stored")


class JobList(Schema):
    items: list[JobOut]


class BacktestView(BacktestDetail):
    """A backtest as the API shows it: the detail plus its newest job and related URLs."""

    latest_job: JobOut | None = None
    links: dict[str, str] = Field(default_factory=dict)


class ErrorItem(Schema):
    """A row problem (`file`, `row`, `column`, `value`) or a request problem (`loc`, `type`)."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    loc: list[str | int] | None = None
    type: str | None = None


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem] | None = None
    error_count: int | None = Field(default=None, description="All problems, beyond `errors`")
    job_id: uuid.UUID | None = Field(default=None, description="The job that recorded it")
