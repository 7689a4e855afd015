"""Reports read in streamed passes (parsing.report_file): history before main, HTML in
both escapings and the whole-file reader store exactly the same rows, on both backends;
the trades add up; parsing memory does not grow with the trades."""

from __future__ import annotations

import html
import io
import json
import sys
import tracemalloc
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.errors import InputError
from backtestdb.ingest import IngestRequest
from backtestdb.ingest.validation import TradeValidator
from backtestdb.jobs import run_ingest
from backtestdb.parsing import parse_report_file, report_file
from backtestdb.parsing.json_stream import Deferred
from backtestdb.storage import SourceFile
from tests.conftest import BASIC
from tests.parsing.test_unread_runs import chunked

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import report_stream  # noqa: E402
from bench.reports import ReportSpec  # noqa: E402

SCRIPT_OPEN = '<script type="application/json" id="backtesting-report">'
TRADE_COLUMNS = [c.name for c in models.Trade.__table__.columns if c.name != "backtest_id"]


def bench_report(trades: int, *, html_page: bool = False) -> str:
    out = io.StringIO()
    writer = report_stream.write_report_html if html_page else report_stream.write_report_json
    writer(out, ReportSpec(trades=trades))
    return out.getvalue()


def history_first(text: str) -> str:
    """The same report with history (and every other key) before main."""
    document = json.loads(text)
    return json.dumps({key: document[key] for key in reversed(list(document))})


def entity_page(page: str, escape: Any) -> str:
    start = page.index(SCRIPT_OPEN) + len(SCRIPT_OPEN)
    end = page.index("</script>", start)
    return page[:start] + escape(page[start:end].replace("<\\/", "</")) + page[end:]


def ingested(
    factory: sessionmaker[Session], settings: Settings, path: Path
) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    request = IngestRequest(report=SourceFile("report", path.name, path), force=True)
    job, outcome = run_ingest(factory, request, settings)
    assert job.status == "completed", job
    with factory() as session:
        backtest = session.get_one(models.Backtest, outcome.backtest.id)
        row = {
            c.name: getattr(backtest, c.name)
            for c in models.Backtest.__table__.columns
            if c.name
            not in ("id", "name", "created_at", "updated_at", "content_hash", "source_files")
        }
        trades = session.execute(
            select(*[models.Trade.__table__.c[c] for c in TRADE_COLUMNS])
            .where(models.Trade.backtest_id == backtest.id)
            .order_by(models.Trade.trade_number)
        ).all()
    return row, [tuple(t) for t in trades]


@pytest.mark.parametrize("chunk", [None, 3000], ids=["streamed", "runs-cut"])
def test_history_first_and_html_forms_store_what_the_plain_report_stores(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, chunk: int | None,
) -> None:  # fmt: skip
    if chunk is not None:  # the trade list's runs cut out for pyarrow (parsing.item_runs)
        chunked(monkeypatch, chunk)
    text = bench_report(300)
    page = bench_report(300, html_page=True)
    forms = {
        "plain.json": text,
        "history-first.json": history_first(text),
        "report.html": page,
        "named.html": entity_page(page, html.escape),
        "numeric.html": entity_page(page, lambda t: t.replace("&", "&amp;").replace('"', "&#34;")),
    }
    assert "&quot;main&quot;" in forms["named.html"]
    results = {}
    for name, content in forms.items():
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        results[name] = ingested(factory, settings, path)
    row, trades = results.pop("plain.json")
    assert len(trades) == 300
    profit = TRADE_COLUMNS.index("profit")
    assert row["ending_balance"] - row["initial_balance"] == sum(t[profit] for t in trades)
    for name, (other_row, other_trades) in results.items():
        assert other_row == row, name
        assert other_trades == trades, name


@pytest.mark.parametrize("html_page", [False, True], ids=["json", "html"])
def test_exactly_n_trades_adding_up_to_the_ending_balance(
    factory: sessionmaker[Session], settings: Settings, tmp_path: Path, html_page: bool
) -> None:
    path = tmp_path / ("report.html" if html_page else "report.json")
    path.write_text(bench_report(2000, html_page=html_page), encoding="utf-8")
    document = json.loads(bench_report(2000))
    row, trades = ingested(factory, settings, path)
    profits = [t[TRADE_COLUMNS.index("profit")] for t in trades]
    assert len(profits) == 2000
    ending = Decimal(str(document["main"]["endingBalance"]))
    initial = Decimal(str(document["main"]["startingCapital"]))
    assert sum(profits) == ending - initial
    assert row["ending_balance"] == ending


def test_streamed_reader_defers_the_trades_and_reads_them_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(history_first(bench_report(50)), encoding="utf-8")
    report = parse_report_file(path, "report.json")
    assert report.summary.total_trades == 50
    path.unlink()  # the trades are read when iterated: from the file, which is gone now
    with pytest.raises(FileNotFoundError):
        next(report.trades.rows)


def test_whole_file_and_streamed_readers_agree_on_the_sample() -> None:
    for name in ("report.json", "report.html"):
        data = (BASIC / name).read_bytes()
        streamed = report_file.parse_report(data, name)
        whole = report_file._whole(partial(io.BytesIO, data), name, "report")
        assert streamed.summary == whole.summary
        assert streamed.parameters == whole.parameters
        assert streamed.trades.columns == whole.trades.columns
        assert list(TradeValidator(streamed.trades)) == list(TradeValidator(whole.trades))


def test_a_big_unusual_report_is_refused_by_the_streamed_reader() -> None:
    """Above the whole-file limit, what only json.loads reads is refused, not loaded."""
    data = (BASIC / "report.json").read_bytes()
    cut = data[:500]
    with pytest.raises(InputError) as info:
        report_file.read_report(lambda: io.BytesIO(cut), "big.json", whole_limit=100)
    assert info.value.errors[0].message.startswith("invalid JSON: ")
    nul = data.replace(b'"MACross"', b'"MA\\u0000Cross"', 1)
    with pytest.raises(InputError) as info:
        report_file.read_report(lambda: io.BytesIO(nul), "big.json", whole_limit=100)
    assert info.value.errors[0].message == (
        "text holds a NUL character or an unpaired \\u surrogate escape"
    )
    paired = data.replace(b'"MACross"', b'"MA\\ud83d\\ude00Cross"')
    report = report_file.read_report(lambda: io.BytesIO(paired), "big.json", whole_limit=100)
    assert {t.label for t in TradeValidator(report.trades)} == {"MA\U0001f600Cross"}


def test_parsing_memory_does_not_grow_with_the_trades(tmp_path: Path) -> None:
    """A 50k-trade report (about 20 MB, some 150 MB decoded) parses and streams its
    trades within a fixed few MB of Python allocations."""
    path = tmp_path / "report.json"
    path.write_text(bench_report(50_000), encoding="utf-8")
    assert path.stat().st_size > 15 << 20
    tracemalloc.start()
    try:
        report = parse_report_file(path, "report.json")
        assert isinstance(report.summary.reported, dict)
        rows = sum(1 for _ in report.trades.rows)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 50_000
    assert peak < 8 << 20, f"peak {peak:,} bytes"


def test_deferred_is_an_empty_list_to_the_summary() -> None:
    deferred = Deferred("history.items.item", 0)
    assert isinstance(deferred, list)
    assert deferred == []


def _item(number: int, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": number, "symbol": "EURUSD", "direction": "Buy", "closeTime": 1704211754251 + number,
        "net": -3.35, "comment": "",
    }  # fmt: skip
    item.update(changes)
    return {k: v for k, v in item.items() if v is not ...}


ITEM_SHAPES = {
    "same-shape": [_item(n) for n in range(1, 7)],
    "a-key-more-midway": [_item(1), _item(2), _item(3, label="x"), _item(4), _item(5)],
    "a-key-renamed": [_item(1), _item(2), _item(3, comment=..., label="x"), _item(4)],
    "last-item-shorter": [_item(1), _item(2), _item(3), _item(4, comment=...)],
    "last-item-much-shorter": [_item(1), _item(2), {"id": 3}],
    "keys-reordered": [_item(1), _item(2), dict(reversed(list(_item(3).items()))), _item(4)],
    "a-nested-value": [_item(1), _item(2), _item(3, comment={"a": [1, {"b": 2}]}), _item(4)],
    "not-an-object": [_item(1), _item(2), [1, 2], _item(4)],
    "one-item": [_item(1)],
    "none": [],
}


@pytest.mark.parametrize("shape", list(ITEM_SHAPES))
@pytest.mark.parametrize("after", [False, True], ids=["history-last", "keys-after-history"])
def test_streamed_and_whole_readers_agree_on_every_item_shape(shape: str, after: bool) -> None:
    """The first pass takes like-shaped items (and equity points) whole; whatever
    follows, it reads what json.loads reads (the document after them included)."""
    document: dict[str, Any] = {"main": {"startingCapital": 1000.0}}
    # The equity points are skipped the same way: like-shaped objects whole.
    document["equity"] = {"points": ITEM_SHAPES[shape], "maxEquityDrawdownAbsolute": 5.5}
    document["positions"] = ITEM_SHAPES[shape]
    document["history"] = {"items": ITEM_SHAPES[shape], "total": 9}
    if after:
        document["tradeStatistics"] = {"totalTrades": {"all": 9}, "netProfit": 1.5}
        document["extra"] = [{"x": 1}, {"y": [2, 3]}]
    data = json.dumps(document).encode()
    whole = _read_or_refused(
        lambda: report_file._whole(partial(io.BytesIO, data), "r.json", "json")
    )
    streamed = _read_or_refused(lambda: report_file.parse_report_json(data, "r.json"))
    assert streamed == whole


def _read_or_refused(read: Any) -> Any:
    """(summary, columns, rows) of the report read, or the errors it was refused with."""
    try:
        report = read()
    except InputError as refused:
        return refused.errors
    return report.summary, report.trades.columns, list(report.trades.rows)
