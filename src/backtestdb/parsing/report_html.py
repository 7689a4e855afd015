"""The cTrader HTML report: the same JSON as report.json, embedded in a script element."""

from __future__ import annotations

from html.parser import HTMLParser

from backtestdb.errors import InputError
from backtestdb.parsing.fields import decode_text
from backtestdb.parsing.records import Report
from backtestdb.parsing.report_json import report_from_json_text

REPORT_SCRIPT_ID = "backtesting-report"


class _ReportScriptFinder(HTMLParser):
    """Collects the text of the first `<script id="backtesting-report">`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = False
        self.done = False
        self._capturing = False
        self._parts: list[str] = []

    @property
    def content(self) -> str:
        return "".join(self._parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "script" or self.found:
            return
        attributes = {name.lower(): (value or "") for name, value in attrs}
        if attributes.get("id", "").strip().lower() == REPORT_SCRIPT_ID:
            self.found = self._capturing = True

    def handle_data(self, data: str) -> None:
        if self._capturing:
            self._parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._capturing:
            self._capturing = False
            self.done = True


def parse_report_html(data: bytes, file: str) -> Report:
    if not data.strip():
        raise InputError(file, "file is empty")
    return report_from_html_text(decode_text(data, file, what="HTML report"), file)


def report_from_html_text(text: str, file: str) -> Report:
    finder = _ReportScriptFinder()
    finder.feed(text)
    finder.close()
    if not finder.found:
        raise InputError(file, 'no embedded report (<script id="backtesting-report">) found')
    if not finder.done:
        raise InputError(file, 'the embedded report (<script id="backtesting-report">) is cut off')
    content = finder.content.strip()
    if not content:
        raise InputError(file, 'the embedded report (<script id="backtesting-report">) is empty')
    return report_from_json_text(content, file)
