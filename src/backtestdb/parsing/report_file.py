"""Reports read in streamed passes, in memory that does not grow with the trades.

A pass checks the text as `decode_text` would; the JSON (the file's, or the HTML page's
embedded script, found in a pass of its own) is then read once for everything but the
trades (`json_stream.skeleton`), and the trades are read again when the ingest reads them.
A file the streamed passes cannot read as `json.loads` would (`json_stream.Unusual`: NaN
literals, the CLI summary's bare dashes, invalid JSON...) of at most `WHOLE_LIMIT` bytes
is read whole, as before, so its result or error is exactly the whole-file reader's; a
bigger one is refused with the streamed reader's error. UTF-16 files are read whole.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO, Final, Literal

from backtestdb.errors import InputError
from backtestdb.parsing import report_html, report_json
from backtestdb.parsing.fields import check_storable, decode_text
from backtestdb.parsing.html_stream import ByteSpan, Entities, is_blank, locate
from backtestdb.parsing.json_reader import Reader, Unusual
from backtestdb.parsing.json_stream import deferred_items, read_skeleton
from backtestdb.parsing.records import Report
from backtestdb.parsing.report_html import REPORT_SCRIPT_ID, not_json
from backtestdb.parsing.text_stream import Opener, TextFacts, check_text

Kind = Literal["report", "json", "html"]
WHOLE_LIMIT: Final = 16 << 20
_WHAT: Final[dict[str, str]] = {
    "report": "cTrader report", "json": "JSON report", "html": "HTML report",
}  # fmt: skip


def parse_report(data: bytes, file: str) -> Report:
    """Parse a JSON or HTML report, whichever `data` is (file names can lie)."""
    return read_report(lambda: io.BytesIO(data), file)


def parse_report_json(data: bytes, file: str) -> Report:
    return read_report(lambda: io.BytesIO(data), file, "json")


def parse_report_html(data: bytes, file: str) -> Report:
    return read_report(lambda: io.BytesIO(data), file, "html")


def parse_report_file(
    path: Path, file: str, kind: Kind = "report", *, spool: bool = False
) -> Report:
    """The report in the file at `path`, named `file` in errors; its trades are read
    from the file when the Report's trade source is iterated (`spool`: their cells are
    also kept from the first pass, for the columnar ingest: `json_spool`)."""
    return read_report(lambda: path.open("rb"), file, kind, spool=spool)


def read_report(
    opener: Opener, file: str, kind: Kind = "report", whole_limit: int = WHOLE_LIMIT,
    *, spool: bool = False,
) -> Report:  # fmt: skip
    facts = check_text(opener, file, _WHAT[kind])
    if facts.utf16:
        return _whole(opener, file, kind)
    form = kind if kind != "report" else {"{": "json", "<": "html"}.get(facts.first)
    if form is None:
        raise InputError(file, "not a cTrader report (expected JSON or HTML)")
    try:
        if form == "json":
            return _streamed_json(opener, file, facts, spool)
        return _streamed_html(opener, file, facts, spool)
    except Unusual:
        if facts.size > whole_limit:
            raise
    return _whole(opener, file, kind)


def _whole(opener: Opener, file: str, kind: Kind) -> Report:
    with opener() as stream:
        data = stream.read()
    if kind == "json":
        return report_json.parse_report_json(data, file)
    if kind == "html":
        return report_html.parse_report_html(data, file)
    if not data.strip():
        raise InputError(file, "file is empty")
    text = decode_text(data, file, what=_WHAT[kind])
    start = text.lstrip()[:1]
    if start == "{":
        return report_json.report_from_json_text(text, file)
    if start == "<":
        return report_html.report_from_html_text(text, file)
    raise InputError(file, "not a cTrader report (expected JSON or HTML)")


def _streamed_json(opener: Opener, file: str, facts: TextFacts, spool: bool) -> Report:
    def region(stream: BinaryIO, scan: bool = False) -> Reader:
        return Reader(stream, facts.start, None, scan=scan, file=file)

    with opener() as stream:
        obj = read_skeleton(region(stream, scan=True), file, spool=spool)
    check_storable(obj, file)
    return report_json.report_from_decoded(
        obj, file, lambda deferred: deferred_items(opener, deferred, region, file)
    )


def _streamed_html(opener: Opener, file: str, facts: TextFacts, spool: bool) -> Report:
    with opener() as stream:
        span = locate(stream, facts.start, REPORT_SCRIPT_ID)
        if span is None:
            raise InputError(file, report_html.NOT_FOUND)
        if span.end is None:
            raise InputError(file, report_html.CUT_OFF)
        if is_blank(stream, span.start, span.end):
            raise InputError(file, report_html.EMPTY)
    try:
        obj, escaped = _embedded(opener, span, file, False, spool), False
    except Unusual as as_written:
        entities = Entities()
        try:
            obj, escaped = _embedded(opener, span, file, entities, spool), True
        except Unusual as error:
            if not entities.changed:
                raise as_written from None
            message = not_json(as_written.errors[0].message, error.errors[0].message)
            raise Unusual(file, message) from None

    def region(stream: BinaryIO) -> Reader:
        return _region(stream, span, file, Entities() if escaped else False, scan=False)

    return report_json.report_from_decoded(
        obj, file, lambda deferred: deferred_items(opener, deferred, region, file)
    )


def _embedded(
    opener: Opener, span: ByteSpan, file: str, escaped: Entities | bool, spool: bool
) -> Any:
    """The first pass over the script's text: `skeleton` of its JSON."""
    with opener() as stream:
        obj = read_skeleton(_region(stream, span, file, escaped, scan=True), file, spool=spool)
    check_storable(obj, file)
    return obj


def _region(
    stream: BinaryIO, span: ByteSpan, file: str, escaped: Entities | bool, *, scan: bool
) -> Reader:
    assert span.end is not None
    reader = Reader(stream, span.start, span.end - span.start, scan=scan, file=file)
    if isinstance(escaped, Entities):
        reader.convert = escaped
    return reader
