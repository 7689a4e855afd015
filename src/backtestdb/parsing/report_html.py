"""The cTrader HTML report: the same JSON as report.json, embedded in a script element
that one pass over the page finds (`script_span`)."""

from __future__ import annotations

import html
import re
from typing import Any, NamedTuple

from backtestdb.errors import InputError
from backtestdb.parsing.fields import decode_text, load_json
from backtestdb.parsing.records import Report
from backtestdb.parsing.report_json import report_from_decoded

REPORT_SCRIPT_ID = "backtesting-report"
NOT_FOUND = (
    f'no <script id="{REPORT_SCRIPT_ID}"> found: export the report again, or give the '
    "report JSON (--report-json)"
)
CUT_OFF = f'the embedded report (<script id="{REPORT_SCRIPT_ID}">) is cut off'
EMPTY = f'the embedded report (<script id="{REPORT_SCRIPT_ID}">) is empty'


# Read the page once, as the HTML tokenizer does (html.parser rescans an unclosed tag at
# every later `<`: 100 KB of `<a ` took over 90 s). A tag runs to its `>` outside quoted
# values, a comment to `-->`, a script's or style's text to its end tag; one that never
# ends swallows the rest of the page, so the scan stops there rather than look again.
# Every repetition is possessive (`*+`): no pattern gives back what it has read, so none
# backtracks, and `NEXT_RAW_TEXT_TAG` skips any run of other markup in one call.
_SPACE = r"[\t\n\f\r ]"
_VALUE = r"""(?:"[^"]*+"|'[^']*+'|(?!["'])[^\t\n\f\r >]*+)"""
_ATTRIBUTE = re.compile(  # groups: the name, the value as written
    rf"[\t\n\f\r /]*+([^\t\n\f\r />][^\t\n\f\r />=]*+)"
    rf"(?:{_SPACE}*+={_SPACE}*+({_VALUE})|(?!{_SPACE}*+=))"
)
_TAG_REST = rf"(?:{_ATTRIBUTE.pattern})*+[\t\n\f\r /]*+>"
_RAW_TEXT = r"(?i:script|style)(?=[\t\n\f\r />])"  # html.parser's CDATA_CONTENT_ELEMENTS
NEXT_RAW_TEXT_TAG = re.compile(
    r"(?:[^<]++"  # text
    r"|<(?![a-zA-Z!?/])"  # a `<` that opens nothing
    r"|<!--(?:-?>|(?:[^-]++|-(?!->))*+-->)"  # a comment (`<!-->` and `<!--->` close at once)
    r"|<(?:!(?!--)|\?|/(?![a-zA-Z]))[^>]*+>"  # `<!…>`, `<?…>`, `</…>`: bogus comments
    rf"|<(?:/|(?!{_RAW_TEXT}))[a-zA-Z][^\t\n\f\r />]*+{_TAG_REST}"  # any other tag
    rf")*+<(?P<name>{_RAW_TEXT})(?P<attributes>{_TAG_REST})",
    re.ASCII,
)
END_TAGS = {
    name: re.compile(rf"</{name}(?=[\t\n\f\r />])", re.IGNORECASE | re.ASCII)
    for name in ("script", "style")
}


class ScriptSpan(NamedTuple):
    """Where a script element's text starts, and ends (None: the page ends first)."""

    start: int
    end: int | None


def script_span(page: str, script_id: str) -> ScriptSpan | None:
    """The first `<script id=script_id>` outside comments, tags and other scripts' text."""
    position = 0
    while True:
        # None: the page ends, or in something that never closes, before another one.
        tag = NEXT_RAW_TEXT_TAG.match(page, position)
        if tag is None:
            return None
        name = tag["name"].lower()
        close = END_TAGS[name].search(page, tag.end())
        if name == "script" and id_of(tag["attributes"]) == script_id:
            return ScriptSpan(tag.end(), close.start() if close else None)
        if close is None:
            return None
        position = close.start()


def id_of(attributes: str) -> str:
    """A start tag's id as HTML reads it (the first one), unquoted, unescaped, stripped
    and lower-cased."""
    for attribute in _ATTRIBUTE.finditer(attributes):
        if attribute[1].lower() == "id":
            value = attribute[2] or ""
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            return html.unescape(value).strip().lower()
    return ""


def parse_report_html(data: bytes, file: str) -> Report:
    """The whole-file reader (see `report_file` for the streamed one)."""
    if not data.strip():
        raise InputError(file, "file is empty")
    return report_from_html_text(decode_text(data, file, what="HTML report"), file)


def report_from_html_text(text: str, file: str) -> Report:
    span = script_span(text, REPORT_SCRIPT_ID)
    if span is None:
        raise InputError(file, NOT_FOUND)
    if span.end is None:
        raise InputError(file, CUT_OFF)
    content = text[span.start : span.end].strip()
    if not content:
        raise InputError(file, EMPTY)
    return report_from_decoded(embedded_json(content, file), file)


def embedded_json(content: str, file: str) -> Any:
    """The script's JSON as written, else with its HTML entities (`&quot;`, `&#34;`,
    `&amp;` …) decoded: some exports escape the script like any other element."""
    try:
        return load_json(content, file)
    except InputError as error:
        unescaped = html.unescape(content)
        if unescaped == content:
            raise
        as_written = error.errors[0].message
    try:
        return load_json(unescaped, file)
    except InputError as error:
        raise InputError(file, not_json(as_written, error.errors[0].message)) from None


def not_json(as_written: str, decoded: str) -> str:
    return (
        f"the embedded report ({REPORT_SCRIPT_ID}) is not JSON: as written, {as_written}; "
        f"with its HTML entities decoded, {decoded}. Export the report again from cTrader, "
        "or give its --report-json file instead"
    )
