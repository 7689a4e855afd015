"""Ingest one backtest: parse, validate, derive, store. Flushes, never commits.

The caller owns the transaction (`jobs.run_ingest`): when anything here raises, the
caller rolls back and nothing of the backtest remains. Trades stream from the parser
through validation into batched inserts; only the per-day figures are kept in memory.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backtestdb import analytics, models
from backtestdb.analytics.figures import FiguresAccumulator
from backtestdb.errors import BacktestdbError, RowError, ValidationFailed
from backtestdb.ingest import derived
from backtestdb.ingest.validation import TradeValidator
from backtestdb.ingest.writers import portable, postgres
from backtestdb.parsing import parse_history_csv, parse_parameters, parse_report
from backtestdb.parsing.records import Parameter, Report, ReportSummary, Trade, TradeSource
from backtestdb.storage import FileInfo, LocalStorage, SourceFile, describe

OnError = Literal["strict", "skip"]


@dataclass(slots=True)
class IngestRequest:
    report: SourceFile | None = None
    csv: SourceFile | None = None
    parameters: SourceFile | None = None
    name: str | None = None
    description: str | None = None
    initial_balance: Decimal | None = None
    on_error: OnError = "strict"
    force: bool = False
    #: Called with the number of trades read so far, once per batch.
    on_progress: Callable[[int], None] | None = None

    @property
    def files(self) -> list[SourceFile]:
        return [f for f in (self.report, self.csv, self.parameters) if f is not None]


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


def ingest(
    session: Session,
    request: IngestRequest,
    storage: LocalStorage,
    *,
    backtest_id: uuid.UUID | None = None,
    max_errors: int = 1000,
    batch_size: int = 5000,
    days_per_year: int = 252,
) -> IngestOutcome:
    if request.report is None and request.csv is None:
        raise BacktestdbError("Nothing to ingest: give a report (JSON or HTML) or a History CSV")
    infos = [describe(f) for f in request.files]
    digest = content_hash(infos, request)
    if not request.force and (existing := find_by_hash(session, digest)) is not None:
        return IngestOutcome(existing, created=False, trades=existing.total_trades)

    report = None
    if request.report is not None:
        report = parse_report(request.report.path.read_bytes(), request.report.name)
    parameters = merged_parameters(report, request.parameters)
    backtest = models.Backtest(
        id=backtest_id or uuid.uuid4(),
        name=request.name or default_name(request),
        description=request.description,
        content_hash=None if request.force else digest,
    )
    with ExitStack() as stack:
        source = trade_source(stack, request, report)
        validator = TradeValidator(source, max_errors=max_errors)
        initial, warnings = resolve_initial_balance(source, request, report)
        backtest.initial_balance = initial
        session.add(backtest)
        session.flush()
        figures = FiguresAccumulator(
            initial,
            start=report.summary.testing_start if report else None,
            end=report.summary.testing_end if report else None,
            days_per_year=days_per_year,
        )
        deriver = derived.Deriver(initial, figures)
        stored = write_trades(session, backtest.id, source, validator, deriver, request, batch_size)
    if validator.error_count and request.on_error == "strict":
        raise ValidationFailed(
            failure_message(validator.error_count), validator.errors, validator.error_count
        )
    warnings += [skipped(error) for error in validator.errors]
    warnings += stored.warnings(source.file)
    warnings += count_warnings(report, request, stored.summary.total_trades)

    apply_summary(backtest, stored, report)
    if rows := stored.daily.rows():
        session.execute(
            insert(models.DailySummary), [{"backtest_id": backtest.id, **r} for r in rows]
        )
    session.add_all(parameter_rows(backtest.id, parameters))
    backtest.source_files = [
        info.as_dict(storage.save(backtest.id, f))
        for info, f in zip(infos, request.files, strict=True)
    ]
    reported = report.summary if report is not None else None
    outcome = IngestOutcome(backtest, True, stored.summary.total_trades, warnings, reported)
    if stored.figures is not None:
        outcome.warnings += analytics.store(backtest, stored.figures, reported)
    else:
        outcome.needs_metrics = True  # out of close-time order: see jobs.refresh_metrics
    session.flush()
    return outcome


def write_trades(
    session: Session,
    backtest_id: uuid.UUID,
    source: TradeSource,
    validator: TradeValidator,
    deriver: derived.Deriver,
    request: IngestRequest,
    batch_size: int,
) -> derived.StoredTrades:
    """COPY on PostgreSQL, batched executemany elsewhere; both store the same text."""

    def keep_going() -> bool:
        return request.on_error == "skip" or not validator.error_count

    if session.get_bind().dialect.name == "postgresql":
        return postgres.copy_trades(
            session, backtest_id, source, validator, deriver,
            keep_going=keep_going, on_progress=request.on_progress,
        )  # fmt: skip
    return portable.insert_trades(
        session, backtest_id, source, validator, deriver,
        keep_going=keep_going, batch_size=batch_size, on_progress=request.on_progress,
    )  # fmt: skip


def content_hash(infos: list[FileInfo], request: IngestRequest) -> str:
    """Identity of an ingest: the files' bytes plus the options that change stored figures."""
    digest = hashlib.sha256()
    for info in sorted(infos, key=lambda i: i.role):
        digest.update(f"{info.role}:{info.sha256}\n".encode())
    balance = request.initial_balance.normalize() if request.initial_balance is not None else ""
    digest.update(f"initial_balance:{balance}\non_error:{request.on_error}\n".encode())
    return digest.hexdigest()


def find_by_hash(session: Session, digest: str) -> models.Backtest | None:
    query = select(models.Backtest).where(models.Backtest.content_hash == digest)
    return session.scalars(query).first()


def default_name(request: IngestRequest) -> str:
    first = request.report or request.csv
    assert first is not None
    return Path(first.name).stem or "backtest"


def trade_source(stack: ExitStack, request: IngestRequest, report: Report | None) -> TradeSource:
    """The History CSV when given (it is the complete trade list), else the report's trades."""
    if request.csv is not None:
        stream = stack.enter_context(request.csv.path.open("rb"))
        return parse_history_csv(stream, request.csv.name)
    assert report is not None
    return report.trades


def merged_parameters(report: Report | None, file: SourceFile | None) -> list[Parameter]:
    """A parameters file wins over the report's values; the report still supplies groups."""
    from_report = {p.name: p for p in report.parameters} if report else {}
    if file is None:
        return list(from_report.values())
    merged: dict[str, Parameter] = {}
    for parameter in parse_parameters(file.path.read_bytes(), file.name):
        known = from_report.get(parameter.name)
        if known is not None:
            parameter.group = parameter.group or known.group
            parameter.display_name = parameter.display_name or known.display_name
        merged[parameter.name] = parameter
    return list(merged.values())


def resolve_initial_balance(
    source: TradeSource, request: IngestRequest, report: Report | None
) -> tuple[Decimal, list[RowError]]:
    """The form value, else the report's starting capital, else the CSV's first Balance."""
    reported = report.summary.starting_capital if report else None
    if request.initial_balance is not None:
        warnings = []
        if report is not None and reported is not None and reported != request.initial_balance:
            warnings.append(
                RowError(
                    report.file,
                    f"initial balance {request.initial_balance} was given, the report "
                    f"says {reported}; using {request.initial_balance}",
                    column="startingCapital",
                )
            )
        return request.initial_balance, warnings
    if reported is not None:
        return reported, []
    first = peek_first_trade(source)
    if first is not None and first.balance is not None:
        return first.balance - first.profit, []
    raise BacktestdbError(
        "Initial balance unknown: give --initial-balance (form field initial_balance); "
        "no report startingCapital and no Balance column to infer it from"
    )


def peek_first_trade(source: TradeSource) -> Trade | None:
    """Validate the first row on the side, leaving the source to be read from the start."""
    first = source.peek()
    return TradeValidator(source).validate(first) if first is not None else None


def count_warnings(report: Report | None, request: IngestRequest, stored: int) -> list[RowError]:
    if report is None or request.csv is None:
        return []
    reported = report.summary.total_trades
    if reported is None or reported == stored:
        return []
    return [
        RowError(
            request.csv.name,
            f"the report counts {reported} trades but the CSV gave {stored}; "
            "the CSV is the trade source",
        )
    ]


def failure_message(count: int) -> str:
    noun = "row error" if count == 1 else "row errors"
    return f"Validation failed with {count} {noun}; nothing was stored"


def skipped(error: RowError) -> RowError:
    return RowError(
        error.file, f"row skipped: {error.message}", error.row, error.column, error.value
    )


def apply_summary(
    backtest: models.Backtest, stored: derived.StoredTrades, report: Report | None
) -> None:
    summary = stored.summary
    for name in (
        "ending_balance", "net_profit", "gross_profit", "gross_loss", "total_trades",
        "winning_trades", "losing_trades", "win_rate", "profit_factor",
        "max_balance_drawdown", "max_balance_drawdown_percent", "commissions", "swaps",
    ):  # fmt: skip
        setattr(backtest, name, getattr(summary, name))
    symbols = sorted(stored.symbols)
    reported = report.summary if report else None
    backtest.symbols = (reported.symbols if reported and reported.symbols else None) or symbols
    backtest.symbol = (reported.symbol if reported else None) or (
        symbols[0] if len(symbols) == 1 else None
    )
    backtest.period = reported.period if reported else None
    backtest.testing_start = (reported.testing_start if reported else None) or stored.first_open
    backtest.testing_end = (reported.testing_end if reported else None) or stored.last_close
    if reported is not None:
        backtest.ending_equity = reported.ending_equity
        backtest.max_equity_drawdown = reported.max_equity_drawdown
        backtest.max_equity_drawdown_percent = reported.max_equity_drawdown_percent
        backtest.reported_statistics = reported.reported


def parameter_rows(backtest_id: uuid.UUID, parameters: list[Parameter]) -> list[models.Parameter]:
    return [
        models.Parameter(
            backtest_id=backtest_id,
            name=p.name,
            value=p.value,
            value_type=p.value_type,
            group_name=p.group,
            display_name=p.display_name,
        )
        for p in parameters
    ]
