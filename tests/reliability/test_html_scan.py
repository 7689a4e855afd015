"""Regression tests for the quadratic HTML report parser (issue 13, defect 3).

html.parser rescanned an unclosed tag at every later `<`: 100 KB of `<a ` took over 90 s
of CPU, 2 MB hours, and nothing could cancel it. Each hostile page below must now be refused
at once. The guards only catch a hang (30 s for work that takes well under a second);
they time nothing.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backtestdb.config import Settings
from backtestdb.errors import InputError
from backtestdb.ingest.validation import TradeValidator
from backtestdb.parsing import parse_report
from backtestdb.server import create_app
from tests.conftest import BASIC

SIZE = 2 << 20
HANG_GUARD_SECONDS = 30
NOT_FOUND = (
    'no <script id="backtesting-report"> found: export the report again, or give the '
    "report JSON (--report-json)"
)
CUT_OFF = 'the embedded report (<script id="backtesting-report">) is cut off'
REPORT_OPEN = '<script type="application/json" id="backtesting-report">'
# Parse in a child process, so that a hang is killed at the guard instead of running on.
CHILD = """\
import sys
from backtestdb.errors import InputError
from backtestdb.parsing import parse_report
try:
    parse_report(sys.stdin.buffer.read(), "hostile.html")
except InputError as error:
    print(error.errors[0].message)
"""


def repeated(unit: str, prefix: str = "<html>") -> bytes:
    return (prefix + unit * (SIZE // len(unit))).encode()


HOSTILE = {
    "a": (repeated("<a "), NOT_FOUND),
    "a-quoted": (repeated("<a b='"), NOT_FOUND),
    "script": (repeated("<script "), NOT_FOUND),
    "script-id": (repeated("<script id="), NOT_FOUND),
    "comment": (repeated("<!--"), NOT_FOUND),
    "unterminated-quote": (repeated("<a ", prefix='<html><a b="'), NOT_FOUND),
    "unterminated-report-id": (repeated("<a ", prefix='<script id="backtesting-report'), NOT_FOUND),
    "script-without-end": (repeated("<a ", prefix=REPORT_OPEN), CUT_OFF),
}


def parsed_in_child(data: bytes) -> str:
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=data,
        capture_output=True,
        timeout=HANG_GUARD_SECONDS,
        check=True,
    )
    return child.stdout.decode().strip()


@pytest.mark.parametrize(("data", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_html_is_refused_at_once(data: bytes, message: str) -> None:
    assert parsed_in_child(data) == message


NOT_MARKUP = {
    "in-a-comment": f"<!-- {REPORT_OPEN}{{}}</script> -->",
    "in-another-script": f"<script>var s = '{REPORT_OPEN}{{}}';</script>",
    "in-a-style": f"<style>{REPORT_OPEN}{{}}</style>",
    "in-an-attribute": f"<div title='{REPORT_OPEN}{{}}</script>'></div>",
}


@pytest.mark.parametrize("page", NOT_MARKUP.values(), ids=NOT_MARKUP.keys())
def test_report_script_counts_only_as_markup(page: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_report(f"<html>{page}</html>".encode(), "page.html")
    assert raised.value.errors[0].message == NOT_FOUND


def test_report_script_after_tricky_markup_is_found() -> None:
    page = (
        "<html><!-- <script> --><!--> <? x ?><!doctype html></ p>"
        "<a title='>' data-x=\"a>b\" <script>< 3"
        "<style>p > a { }</style><SCRIPT>var a = '</scrip';</SCRIPT >"
        "<script data-x=1 ID = backtesting&#45;REPORT type=application/json >"
        '{"main": {"symbol": "EURUSD"}}</script ></html>'
    )
    assert parse_report(page.encode(), "page.html").summary.symbol == "EURUSD"


def test_sample_html_report_is_the_json_report() -> None:
    from_html = parse_report((BASIC / "report.html").read_bytes(), "report")
    from_json = parse_report((BASIC / "report.json").read_bytes(), "report")
    assert from_html.summary == from_json.summary
    assert from_html.parameters == from_json.parameters
    from_html_trades = list(TradeValidator(from_html.trades))
    assert from_html_trades == list(TradeValidator(from_json.trades))
    assert len(from_html_trades) == 200


@pytest.fixture
def loose_client(settings: Settings) -> Iterator[TestClient]:
    """A client not entered, so its app runs no lifespan: each request has an event loop of
    its own, and one that hangs holds up nothing (an entered client's exit waits for it)."""
    app = create_app(settings)
    yield TestClient(app)
    app.state.database.dispose()


def test_hostile_html_upload_answers_422_at_once(loose_client: TestClient) -> None:
    client = loose_client
    answers: list[Any] = []
    upload = threading.Thread(
        target=lambda: answers.append(
            client.post(
                "/api/v1/ingest",
                files={"json_file": ("hostile.html", repeated("<a "))},
                data={"name": "h"},
            )
        ),
        daemon=True,  # a hang must not keep the test run alive
    )
    upload.start()
    upload.join(HANG_GUARD_SECONDS)
    assert not upload.is_alive(), f"no answer within {HANG_GUARD_SECONDS} s"
    [response] = answers
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == f"hostile.html: {NOT_FOUND}"
    assert client.get("/api/v1/backtests").json()["total"] == 0
