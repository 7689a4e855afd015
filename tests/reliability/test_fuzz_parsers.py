"""Parser fuzzing: valid exports parse exactly; damaged ones parse or fail cleanly.

Every parser either returns typed, storable records or raises a BacktestdbError that names
the file (parser_oracles.py says what that means). The search depth follows
HYPOTHESIS_PROFILE (`ci` by default, `long` by hand).
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import example, given
from hypothesis import strategies as st

from backtestdb.errors import BacktestdbError
from tests.reliability import strategies as s
from tests.reliability.parser_oracles import run_history_csv, run_parameters, run_report
from tests.reliability.profiles import PROFILE

DEEP = 100_000
BIG_INT = "1" * 5000


@PROFILE
@given(table=s.trade_rows(), layout=s.layouts, data=st.data())
def test_valid_history_csv_parses_exactly(
    table: s.Table, layout: s.Layout, data: st.DataObject
) -> None:
    table = data.draw(s.reordered(table))
    trades = run_history_csv(s.render(table, layout))
    assert not isinstance(trades, BacktestdbError), trades.errors
    assert len(trades) == len(table.rows)
    net = table.header.index("Net")
    deal = table.header.index("Deal ID")
    assert [t.profit for t in trades] == [Decimal(r[net]) for r in table.rows]
    assert [t.deal_id for t in trades] == [r[deal] for r in table.rows]


@PROFILE
@given(table=s.trade_rows(), layout=s.layouts, data=st.data())
@example(table=s.Table(s.HEADER, []), layout=s.Layout(), data=None).via("header only")
def test_damaged_history_csv_parses_or_fails_cleanly(
    table: s.Table, layout: s.Layout, data: st.DataObject | None
) -> None:
    if data is not None:
        table = data.draw(s.mutated_table(table))
    raw = s.render(table, layout)
    if data is not None:
        raw = data.draw(s.mutated_bytes(raw))
    run_history_csv(raw)


@PROFILE
@given(obj=s.report_objects(), html=st.booleans())
def test_valid_report_parses(obj: dict[str, object], html: bool) -> None:
    raw = s.dump_json(obj)
    report = run_report(s.as_html(raw) if html else raw, "report.html" if html else "report.json")
    assert not isinstance(report, BacktestdbError), report.errors


@PROFILE
@given(obj=s.report_objects(), data=st.data(), html=st.booleans())
def test_damaged_report_parses_or_fails_cleanly(
    obj: dict[str, object], data: st.DataObject, html: bool
) -> None:
    raw = data.draw(s.mutated_bytes(s.dump_json(data.draw(s.mutated_json(obj)))))
    run_report(s.as_html(raw) if html else raw, "report.html" if html else "report.json")


@PROFILE
@given(obj=s.parameter_objects(), data=st.data(), form=st.sampled_from(["json", "text"]))
def test_damaged_parameters_parse_or_fail_cleanly(
    obj: object, data: st.DataObject, form: str
) -> None:
    if form == "text" and isinstance(obj, dict) and "Parameters" not in obj:
        raw = s.parameter_text(obj)
    else:
        raw = s.dump_json(data.draw(s.mutated_json(obj)) if data.draw(st.booleans()) else obj)
    run_parameters(data.draw(s.mutated_bytes(raw)))
