"""bench/report_stream.py writes byte for byte what bench/reports.py writes, streamed."""

from __future__ import annotations

import io

import pytest
from bench import report_stream, reports
from bench.reports import Parameter, ReportSpec

SPECS = [
    ReportSpec(trades=0),
    ReportSpec(trades=1),
    ReportSpec(trades=237, seed=3, symbol="XAUUSD", cbot="Grid </script> bot"),
    ReportSpec(trades=120, edge=40, parameters=(Parameter("Main", "Fast", "Fast", 9),)),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: f"{spec.trades}-{spec.symbol}")
@pytest.mark.parametrize("form", ["json", "html"])
def test_streamed_report_is_the_in_memory_one(spec: ReportSpec, form: str) -> None:
    expected, streamed = io.StringIO(), io.StringIO()
    whole = getattr(reports, f"write_report_{form}")(expected, spec)
    totals = getattr(report_stream, f"write_report_{form}")(streamed, spec)
    assert streamed.getvalue() == expected.getvalue()
    assert totals == whole
