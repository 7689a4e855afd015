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
from decimal import Decimal
from pathlib import Path
from typing import IO, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backtestdb import analytics, models
from backtestdb.analytics.figures import FiguresAccumulator
from backtestdb.errors import BacktestdbError, RowError, ValidationFailed
from backtestdb.ingest import columnar, derived, events, history_file
from backtestdb.ingest.backtest_row import (
    apply_summary,
    count_warnings,
    failure_message,
    parameter_rows,
    skipped,
)
from backtestdb.ingest.columnar import store as columnar_store
from backtestdb.ingest.reported import (
    apply_reported_figures,
    summary_only,
)
from backtestdb.ingest.requests import IngestOutcome, IngestRequest
from backtestdb.ingest.validation import TradeValidator
from backtestdb.ingest.writers import portable, postgres
from backtestdb.parsing import parse_history_csv, parse_parameters, parse_report_file
from backtestdb.parsing.csv_text import CsvLimits
from backtestdb.parsing.file_names import backtest_history_name
from backtestdb.parsing.history_csv import DEFAULT_LIMITS
from backtestdb.parsing.records import Parameter, Report, TradeSource
from backtestdb.storage import FileInfo, LocalStorage, SourceFile, describe


def ingest(
    session: Session,
    request: IngestRequest,
    storage: LocalStorage,
    *,
    backtest_id: uuid.UUID | None = None,
    max_errors: int = 1000,
    batch_size: int = 5000,
    days_per_year: int = 252,
    csv_limits: CsvLimits = DEFAULT_LIMITS,
) -> IngestOutcome:
    events.classify(request)  # an events.json given as the report is the events file
    if request.report is None and request.csv is None and request.events is None:
        raise BacktestdbError(
            "Nothing to ingest: give a report (JSON or HTML), a History CSV or an events.json"
        )
    infos = [describe(f) for f in request.files]
    digest = content_hash(infos, request)
    if not request.force and (existing := find_by_hash(session, digest)) is not None:
        return IngestOutcome(existing, created=False, trades=existing.total_trades)

    report = None
    if request.report is not None:
        # The columnar path reads the trades' cells the first pass spools: only worth it
        # when the report's trades are the ones stored (not a History CSV's or events').
        spool = not columnar.ROW_PATH_ONLY and request.csv is None and request.events is None
        report = parse_report_file(request.report.path, request.report.name, spool=spool)
    parameters = merged_parameters(report, request.parameters)
    backtest = models.Backtest(
        id=backtest_id or uuid.uuid4(),
        name=request.name or default_name(request),
        description=request.description,
        content_hash=None if request.force else digest,
    )
    with ExitStack() as stack:
        if report is not None and report.trades.item_spool is not None:
            stack.callback(report.trades.item_spool.close)
        plan = events.open_events(stack, request, report, batch_size)
        reading: IO[bytes] | None = plan.stream if plan is not None else None
        if plan is None:
            csv = stack.enter_context(request.csv.path.open("rb")) if request.csv else None
            source, reading = trade_source(csv, request, report, csv_limits), csv
        else:
            source = plan.source
        validator = TradeValidator(source, max_errors=max_errors)
        if plan is not None:
            plan.bind(validator)
        initial, warnings = (
            (plan.initial, []) if plan else resolve_initial_balance(source, request, report)
        )
        backtest.initial_balance = initial
        session.add(backtest)
        session.flush()
        figures = FiguresAccumulator(
            initial,
            start=report.summary.testing_start if report else None,
            end=report.summary.testing_end if report else None,
            days_per_year=days_per_year,
        )
        deriver = derived.Deriver(
            initial, figures, file=source.file, column=source.columns.get("profit")
        )
        progress = progress_of(request, reading)
        stored = write_trades(
            session, backtest.id, source, validator, deriver, progress, request,
            csv_limits=csv_limits, from_events=plan,
        )  # fmt: skip
        if plan is not None:
            plan.store_events(session, backtest.id)
    if validator.error_count and request.on_error == "strict":
        raise ValidationFailed(
            failure_message(validator.error_count), validator.errors, validator.error_count
        )
    warnings += [skipped(error) for error in validator.errors]
    warnings += stored.warnings(source.file)
    warnings += count_warnings(report, request, stored.summary.total_trades)
    warnings += history_file.missing_columns(source) if plan is None else []

    apply_summary(backtest, stored, report, request.parameters)
    only = summary_only(report, source, stored.summary.total_trades + validator.error_count)
    if only is not None:  # no trades to compute figures from, nor to reconcile with
        apply_reported_figures(backtest, only)
    warnings += analytics.unstorable_figures(backtest, source.file)  # before a flush
    named = backtest_history_name(request.csv.name) if request.csv is not None else None
    if report is None and named is not None:  # a backtest History export's own name
        backtest.symbol, backtest.period = named.symbol, named.period
    # A CSV without a fee column stores NULL fees (validation): their totals are unknown.
    for fee, total in (("commission", "commissions"), ("swap", "swaps")):
        if source.header and fee not in source.columns:
            setattr(backtest, total, None)
    if plan is not None:
        warnings += plan.finish(backtest)
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
        outcome.warnings += analytics.store(
            backtest, stored.figures, None if only is not None else reported
        )
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
    on_progress: Callable[[int], None] | None,
    request: IngestRequest,
    batch_size: int = 5000,
    csv_limits: CsvLimits = DEFAULT_LIMITS,
    from_events: events.EventsIngest | None = None,
) -> derived.StoredTrades:
    """COPY on PostgreSQL, batched executemany elsewhere; both store the same text. A
    History CSV goes through the columnar path where it reads the file, a report's items
    and the trades of an events.json always."""

    def keep_going() -> bool:
        return request.on_error == "skip" or not validator.error_count

    path = request.csv.path if request.csv is not None and request.events is None else None
    blocks = None
    if (start := columnar_store.reads(source, path)) is not None:
        assert path is not None
        blocks = columnar_store.csv_texts(path, start, source, validator, deriver, csv_limits)
    elif columnar_store.reads_items(source):
        blocks = columnar_store.item_texts(source, validator, deriver)
    elif from_events is not None and not columnar.ROW_PATH_ONLY:
        blocks = columnar_store.block_texts(
            from_events.trade_blocks(), from_events.plan, validator, deriver, from_events.checked
        )
    if blocks is not None:
        return columnar_store.store_trades(
            session, backtest_id, blocks, deriver, keep_going=keep_going, on_progress=on_progress
        )
    if session.get_bind().dialect.name == "postgresql":
        return postgres.copy_trades(
            session, backtest_id, source, validator, deriver,
            keep_going=keep_going, on_progress=on_progress,
        )  # fmt: skip
    return portable.insert_trades(
        session, backtest_id, source, validator, deriver,
        keep_going=keep_going, batch_size=batch_size, on_progress=on_progress,
    )  # fmt: skip


def content_hash(infos: list[FileInfo], request: IngestRequest) -> str:
    """Identity of an ingest: the files' bytes plus the options that change stored figures."""
    digest = hashlib.sha256()
    for info in sorted(infos, key=lambda i: i.role):
        digest.update(f"{info.role}:{info.sha256}\n".encode())
    balance = request.initial_balance.normalize() if request.initial_balance is not None else ""
    digest.update(f"initial_balance:{balance}\non_error:{request.on_error}\n".encode())
    if request.symbol is not None:  # only then: older ingests keep their hash
        digest.update(f"symbol:{request.symbol}\n".encode())
    return digest.hexdigest()


def find_by_hash(session: Session, digest: str) -> models.Backtest | None:
    query = select(models.Backtest).where(models.Backtest.content_hash == digest)
    return session.scalars(query).first()


def default_name(request: IngestRequest) -> str:
    """The report's file name, or what a backtest History export's name says, or its name."""
    if request.report is None and request.csv is not None:
        named = backtest_history_name(request.csv.name)
        if named is not None:
            return named.title
    first = request.report or request.csv or request.events
    assert first is not None
    return Path(first.name).stem or "backtest"


def progress_of(request: IngestRequest, reading: IO[bytes] | None) -> Callable[[int], None] | None:
    """The writers' progress (trades so far) as the request's: trades and bytes read of the
    streamed trade source (a report is read whole before the trades: all its bytes)."""
    report = request.on_progress
    if report is None:
        return None
    if reading is None:
        size = request.report.path.stat().st_size if request.report is not None else 0
        return lambda trades: report(trades, size)
    return lambda trades: report(trades, reading.tell())


def trade_source(
    stream: BinaryIO | None, request: IngestRequest, report: Report | None, limits: CsvLimits
) -> TradeSource:
    """The History CSV when given (it is the complete trade list), else the report's trades."""
    if request.csv is not None:
        assert stream is not None
        return parse_history_csv(stream, request.csv.name, limits)
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
    return history_file.balance_before_first_trade(source), []
