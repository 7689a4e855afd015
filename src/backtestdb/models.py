"""The tables. The seed's five tables and their columns are a compatibility contract
(DEVELOPERS.md).

Money is NUMERIC with 2 decimals, prices NUMERIC with 8, percents are percent units
(0-100). Child tables are keyed by `backtest_id` first so they could later be distributed
by it, and cascade when their backtest is deleted.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backtestdb.db import Base, JSONType, UTCDateTime

Money = Numeric(18, 2)
Price = Numeric(20, 8)
Amount = Numeric(20, 4)
Percent = Numeric(7, 2)
FinePercent = Numeric(9, 4)
Ratio = Numeric(14, 4)

JOB_STATUSES = ("pending", "running", "completed", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created_at() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, default=utcnow, server_default=func.now(), nullable=False)


class Run(Base):
    """A set of backtests ingested together: an optimisation's passes (one per numbered
    folder of an `Optimization` folder), or any batch given a run name (migration 0007)."""

    __tablename__ = "runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    #: optimization (an Optimization folder) or batch (named with --run / the form's run).
    kind: Mapped[str] = mapped_column(String(16), default="batch")
    cbot: Mapped[str | None] = mapped_column(String(255))
    symbol: Mapped[str | None] = mapped_column(String(64))
    #: The chart's timeframe ("h1"), as backtests.period.
    period: Mapped[str | None] = mapped_column(String(32))
    testing_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    testing_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sha256 over the sorted content hashes of the passes it was made from: the same
    #: folder ingested again (or after an interruption) finds its run, even an empty one.
    source_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: How many backtests belong to the run, kept in step by every ingest and delete.
    pass_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = _created_at()

    __table_args__ = (Index("ix_runs_created_at", "created_at"),)


class Backtest(Base):
    __tablename__ = "backtests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(32), default="ctrader", server_default="ctrader")
    symbol: Mapped[str | None] = mapped_column(String(64))
    symbols: Mapped[list[str]] = mapped_column(JSONType, default=list)
    period: Mapped[str | None] = mapped_column(String(32))
    testing_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    testing_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    initial_balance: Mapped[Decimal] = mapped_column(Money)
    ending_balance: Mapped[Decimal | None] = mapped_column(Money)
    ending_equity: Mapped[Decimal | None] = mapped_column(Money)
    net_profit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    gross_profit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    gross_loss: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    total_trades: Mapped[int] = mapped_column(Integer, default=0)
    winning_trades: Mapped[int] = mapped_column(Integer, default=0)
    losing_trades: Mapped[int] = mapped_column(Integer, default=0)
    win_rate: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    profit_factor: Mapped[Decimal | None] = mapped_column(Ratio)
    max_balance_drawdown: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    max_balance_drawdown_percent: Mapped[Decimal] = mapped_column(Percent, default=Decimal(0))
    max_equity_drawdown: Mapped[Decimal | None] = mapped_column(Money)
    max_equity_drawdown_percent: Mapped[Decimal | None] = mapped_column(Percent)
    #: NULL when the trades' file has no such column (migration 0006): unknown, not 0.
    commissions: Mapped[Decimal | None] = mapped_column(Money, default=Decimal(0))
    swaps: Mapped[Decimal | None] = mapped_column(Money, default=Decimal(0))
    reported_statistics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    source_files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: sha256 over the source files and the options that change the result. Unique, so
    #: the same upload twice finds the first; a forced copy stores NULL here.
    content_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )
    #: The run this backtest is a pass of (migration 0007); deleting a run deletes its
    #: backtests in `runs.delete_run`, so the database only unlinks.
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    #: The pass's folder number in an Optimization folder (`.../Optimization/17/`).
    pass_number: Mapped[int | None] = mapped_column(Integer)

    # Analytics (migration 0002, filled by analytics.refresh): the common figures typed,
    # so lists can sort and filter on them; the full set in `metrics`.
    expectancy: Mapped[Decimal | None] = mapped_column(Money)
    average_win: Mapped[Decimal | None] = mapped_column(Money)
    average_loss: Mapped[Decimal | None] = mapped_column(Money)
    largest_win: Mapped[Decimal | None] = mapped_column(Money)
    largest_loss: Mapped[Decimal | None] = mapped_column(Money)
    payoff_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    max_consecutive_wins: Mapped[int | None] = mapped_column(Integer)
    max_consecutive_losses: Mapped[int | None] = mapped_column(Integer)
    recovery_factor: Mapped[Decimal | None] = mapped_column(Ratio)
    sharpe_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    sortino_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    calmar_ratio: Mapped[Decimal | None] = mapped_column(Ratio)
    cagr_percent: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: {status: reconciled|differences, items: [{metric, reported, computed, difference,
    #: matches}]}; NULL when there was no report to compare with.
    reconciliation: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    parameters: Mapped[list[Parameter]] = relationship(
        back_populates="backtest",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Parameter.name",
    )

    __table_args__ = (
        Index("ix_backtests_created_at", "created_at"),
        Index("ix_backtests_net_profit", "net_profit"),
        Index("ix_backtests_run_id_pass_number", "run_id", "pass_number"),
    )


class Trade(Base):
    __tablename__ = "trades"

    backtest_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    #: 1-based position in the source file (close-time order for cTrader exports).
    trade_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(4))
    #: NULL where the file has no opening time (cTrader's default History layout); so are
    #: the prices, the fees and deal_id when their columns are missing.
    open_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_time: Mapped[datetime] = mapped_column(UTCDateTime)
    entry_price: Mapped[Decimal | None] = mapped_column(Price)
    exit_price: Mapped[Decimal | None] = mapped_column(Price)
    quantity: Mapped[Decimal | None] = mapped_column(Amount)
    #: The unit written beside the quantity ("Lots", "Indices", "Contracts"…), if any.
    quantity_unit: Mapped[str | None] = mapped_column(String(16))
    volume: Mapped[Decimal | None] = mapped_column(Amount)
    commission: Mapped[Decimal | None] = mapped_column(Money)
    swap: Mapped[Decimal | None] = mapped_column(Money)
    pips: Mapped[Decimal | None] = mapped_column(Amount)
    gross_profit: Mapped[Decimal | None] = mapped_column(Money)
    #: Net profit: gross + commission + swap.
    profit: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    #: Peak balance so far (the initial balance counts) minus balance_after; >= 0.
    drawdown: Mapped[Decimal] = mapped_column(Money)
    #: drawdown as percent of that peak.
    drawdown_percent: Mapped[Decimal] = mapped_column(FinePercent)
    label: Mapped[str | None] = mapped_column(String(255))
    comment: Mapped[str | None] = mapped_column(Text)
    #: Columns of the source file that backtestdb does not know, verbatim.
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        CheckConstraint("direction IN ('buy', 'sell')", name="direction"),
        Index("ix_trades_backtest_id_open_time", "backtest_id", "open_time"),
        # trade_number last: a symbol filter pages by keyset without sorting.
        Index("ix_trades_backtest_id_symbol", "backtest_id", "symbol", "trade_number"),
    )


class TradeEvent(Base):
    """One position event of an events.json (cTrader writes it beside each backtest)."""

    __tablename__ = "trade_events"

    backtest_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    #: The file's `serial`: the events' order.
    serial: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The trade this position became; NULL for a position still open at the end.
    trade_number: Mapped[int | None] = mapped_column(Integer)
    position_id: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[str | None] = mapped_column(String(64))
    #: As written: "Create Position", "Position Modified (S/L)", "Stop Loss Hit"…
    event: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str | None] = mapped_column(String(4))
    volume: Mapped[Decimal | None] = mapped_column(Amount)
    quantity: Mapped[Decimal | None] = mapped_column(Amount)
    entry_price: Mapped[Decimal | None] = mapped_column(Price)
    close_price: Mapped[Decimal | None] = mapped_column(Price)
    stop_loss: Mapped[Decimal | None] = mapped_column(Price)
    take_profit: Mapped[Decimal | None] = mapped_column(Price)
    gross_profit: Mapped[Decimal | None] = mapped_column(Money)
    pips: Mapped[Decimal | None] = mapped_column(Amount)
    balance: Mapped[Decimal | None] = mapped_column(Money)
    equity: Mapped[Decimal | None] = mapped_column(Money)

    __table_args__ = (
        Index("ix_trade_events_backtest_id_trade_number", "backtest_id", "trade_number"),
    )


class Parameter(Base):
    __tablename__ = "parameters"

    backtest_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    #: int, float, bool, string, null or json: how to read `value` back.
    value_type: Mapped[str] = mapped_column(String(16))
    #: The cBot's parameter group ("group" is an SQL keyword, hence the suffix).
    group_name: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))

    backtest: Mapped[Backtest] = relationship(back_populates="parameters")

    __table_args__ = (Index("ix_parameters_name_value", "name", "value"),)


class DailySummary(Base):
    __tablename__ = "daily_summary"

    backtest_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    #: UTC calendar day of the trades' close.
    trade_date: Mapped[date] = mapped_column(Date, primary_key=True)
    total_trades: Mapped[int] = mapped_column(Integer)
    winning_trades: Mapped[int] = mapped_column(Integer)
    losing_trades: Mapped[int] = mapped_column(Integer)
    gross_profit: Mapped[Decimal] = mapped_column(Money)
    gross_loss: Mapped[Decimal] = mapped_column(Money)
    net_profit: Mapped[Decimal] = mapped_column(Money)
    win_rate: Mapped[Decimal] = mapped_column(Percent)
    end_balance: Mapped[Decimal] = mapped_column(Money)


class IngestionJob(Base):
    __tablename__ = "ingestion_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job_type: Mapped[str] = mapped_column(String(32), default="ingest")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error_message: Mapped[str | None] = mapped_column(Text)
    #: Row-level problems: [{file, row, column, value, message}], capped.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: All errors found, including those beyond the cap.
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    #: [{role, name, size, sha256, location}] of the files this job was given.
    source_files: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    trades_ingested: Mapped[int] = mapped_column(Integer, default=0)
    backtest_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("backtests.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = _created_at()
    # Worker leases (migration 0003, async ingests): a running job belongs to `worker_id`
    # until `lease_expires_at`; the worker renews it while it works. An expired lease means
    # the worker died, and another claims the job again while `attempts` < 2.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    worker_id: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'running', 'completed', 'failed')", name="status"),
        Index("ix_ingestion_jobs_status_created_at", "status", "created_at"),
    )


def unstorable_numbers(row: Base) -> list[tuple[str, Decimal]]:
    """Null the NUMERIC values of `row` its columns cannot hold (a figure computed from
    extreme but valid trades, like a profit factor of 1e12); (column, value) of each."""
    nulled: list[tuple[str, Decimal]] = []
    for column in row.__table__.columns:
        kind = column.type
        if not isinstance(kind, Numeric) or kind.precision is None:
            continue
        value = getattr(row, column.key, None)
        scale = kind.scale or 0
        if isinstance(value, Decimal) and value.is_finite():
            # What rounds to 10^(precision - scale) at the column's scale does not fit.
            limit = Decimal(10) ** (kind.precision - scale) - Decimal(5).scaleb(-scale - 1)
            if abs(value) >= limit:
                setattr(row, column.key, None)
                nulled.append((column.key, value))
    return nulled
