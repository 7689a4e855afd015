"""What a file in a backtest folder is, from its first bytes and its name (pure).

Users rename files, so the content decides: an HTML page or a JSON object with a report's
sections is a report, a JSON array (or an object keyed like an event) is an events.json,
a CSV whose header (or a statement section's header) names the trade columns is a History
CSV, a `.cbotset` / flat JSON object / `key=value` text is a parameter set. The name only
breaks a tie and names a file the content does not explain (so that the ingest's own
message says what is wrong with it). cTrader's `log.txt` is nobody's business here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Literal

import ijson

from backtestdb.parsing.cli_summary import is_cli_summary
from backtestdb.parsing.events_json import looks_like_events
from backtestdb.parsing.fields import CSV_LOOKUP, map_names
from backtestdb.parsing.records import REQUIRED_TRADE_FIELDS

FileKind = Literal["report", "history", "events", "parameters"]
#: Bytes read to recognise a file.
HEAD_BYTES = 64 * 1024
#: Top-level keys of cTrader's JSON report, and of a .cbotset.
_REPORT_KEYS = frozenset({"main", "tradestatistics", "history", "equity", "positions"})
_PARAMETER_KEYS = frozenset({"parameters", "chart"})
_KEY_VALUE = re.compile(r"^\s*[A-Za-z_][\w .\-]*\s*=", re.MULTILINE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_LOG_NAMES = re.compile(r"(?:log|journal)[\w .-]*\.(?:txt|log)|.*\.log", re.IGNORECASE)


def kind_by_name(name: str) -> FileKind | None:
    lowered = name.casefold()
    if lowered.endswith(".cbotset") or lowered.startswith(("param", "cbotset")):
        return "parameters"
    if lowered.startswith("event") and lowered.endswith(".json"):
        return "events"
    if lowered.endswith((".html", ".htm")) or (
        lowered.startswith("report") and lowered.endswith(".json")
    ):
        return "report"
    if lowered.endswith(".csv"):
        return "history"
    return None


def kind_of(head: bytes, name: str) -> FileKind | None:
    """The file's kind from its first HEAD_BYTES bytes, else its name; None: not ours."""
    if _LOG_NAMES.fullmatch(name) and not head.lstrip().startswith((b"{", b"[", b"<")):
        return None
    return kind_by_content(head) or kind_by_name(name)


def kind_by_content(head: bytes) -> FileKind | None:
    text = _without_bom(head).lstrip()
    if not text:
        return None
    if text.startswith(b"<"):
        return "report"  # an HTML report (the parser says so when nothing is embedded)
    if text.startswith(b"{"):
        return _object_kind(text)
    if looks_like_events(text):
        return "events"
    decoded = _decoded(text)
    if decoded is None:
        return None
    if _holds_trade_header(decoded):
        return "history"
    if _is_key_value(decoded):
        return "parameters"
    return None


def _object_kind(text: bytes) -> FileKind | None:
    if looks_like_events(text):
        return "events"
    keys, nested, whole = _top_level(text)
    folded = {key.casefold() for key in keys}
    if folded & _REPORT_KEYS:  # a report has a "parameters" section too: first
        return "report"
    if folded & _PARAMETER_KEYS:
        return "parameters"
    if whole is not None and is_cli_summary(whole):
        return "report"  # the figures the cTrader CLI prints, saved as JSON
    if keys and not nested:
        return "parameters"  # a flat name -> value object (parameters.json)
    return None


def _top_level(text: bytes) -> tuple[list[str], bool, dict[str, Any] | None]:
    """The object's top-level keys as far as the head goes, whether any value nests, and
    the object itself when the head holds all of it."""
    keys: list[str] = []
    nested = False
    try:
        for prefix, event, value in ijson.parse(io.BytesIO(text)):
            if prefix == "" and event == "map_key":
                keys.append(value)
            elif prefix.count(".") == 0 and prefix and event in ("start_map", "start_array"):
                nested = True
    except ijson.JSONError:
        return keys, nested, None  # cut off by the head, or not JSON: what was read
    try:
        whole = json.loads(text)
    except ValueError:
        return keys, nested, None
    return keys, nested, whole if isinstance(whole, dict) else None


def _without_bom(head: bytes) -> bytes:
    for bom in _BOMS:
        if head.startswith(bom):
            return head[len(bom) :]
    return head


def _decoded(text: bytes) -> str | None:
    for encoding in ("utf-8", "utf-16", "cp1252"):
        try:
            return text.decode(encoding)
        except UnicodeDecodeError:
            continue  # the head may end inside a character: then the next guess
    return text.decode("utf-8", errors="ignore") or None


def _holds_trade_header(text: str) -> bool:
    """A line of the first 50 (a statement's sections come first) naming the trade columns."""
    lines = text.splitlines()[:50]
    for line in lines:
        for delimiter in (",", ";", "\t"):
            if delimiter not in line:
                continue
            cells = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
            found, _ = map_names([cell.strip() for cell in cells], CSV_LOOKUP)
            if all(field in found for field in REQUIRED_TRADE_FIELDS):
                return True
    return False


def _is_key_value(text: str) -> bool:
    lines = [
        line
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", ";", "//", "["))
    ]
    return bool(lines) and all(_KEY_VALUE.match(line) for line in lines[:20])
