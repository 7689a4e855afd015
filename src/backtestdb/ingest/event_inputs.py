"""What an events.json ingest starts from: the events file found by its content (file
names lie: one given as the report is the events file), the symbol of its trades, which
the file itself does not name, and the file's own starting balance."""

from __future__ import annotations

from decimal import Decimal

from backtestdb.errors import BacktestdbError
from backtestdb.ingest.reported import chart_of_file
from backtestdb.ingest.requests import IngestRequest
from backtestdb.money import from_cents, to_cents
from backtestdb.parsing.events_json import RawEvent, looks_like_events
from backtestdb.parsing.records import Report
from backtestdb.storage import SourceFile

#: Enough of a file to tell an events.json (a JSON array) from a report (an object).
HEAD_BYTES = 4096
#: The symbol column's width (backtests.symbol, trades.symbol).
MAX_SYMBOL = 64


def classify(request: IngestRequest) -> None:
    """Move a report that is an events.json to `request.events` (in place, so the files'
    roles, and so the content hash, say what they are)."""
    report = request.report
    if report is None or not is_events_file(report):
        return
    if request.events is not None:
        raise BacktestdbError(
            f"Two events files: {report.name} (given as the report) and {request.events.name}"
        )
    request.events = SourceFile("events", report.name, report.path)
    request.report = None


def is_events_file(file: SourceFile) -> bool:
    with file.path.open("rb") as stream:
        return looks_like_events(stream.read(HEAD_BYTES))


def events_symbol(
    given: str | None, report: Report | None, parameters: SourceFile | None, file: str
) -> str:
    """The symbol option, else the report's `main.symbol`, else the parameters file's
    `Chart.Symbol`; refused when none of them names one."""
    symbol = (given or "").strip() or None
    if symbol is None and report is not None:
        symbol = report.summary.symbol
    if symbol is None:
        symbol = chart_of_file(parameters).symbol
    if symbol is None:
        raise BacktestdbError(
            f"{file} has no symbol: give --symbol (form field symbol), a report, or a "
            ".cbotset parameters file with Chart.Symbol"
        )
    if len(symbol) > MAX_SYMBOL or "\x00" in symbol:
        raise BacktestdbError(
            f"Symbol {symbol[:80]!r} is not valid: at most {MAX_SYMBOL} characters, no NUL"
        )
    return symbol


def starting_equity(first: RawEvent | None) -> Decimal | None:
    """The first event's equity in cents, if it is a number (a bad one is reported when
    the event is checked)."""
    value = None if first is None else first.fields.get("equity")
    if value is None or isinstance(value, bool):
        return None
    try:
        return from_cents(to_cents(Decimal(str(value))))
    except ArithmeticError:
        return None
