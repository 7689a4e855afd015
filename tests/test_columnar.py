"""The columnar History CSV path stores exactly what the row path stores, and reports the
same errors and warnings, for every layout, value form and kind of bad row.

Each file is ingested twice: through the columnar path (the default) and with
`columnar.ROW_PATH_ONLY`; every stored column of trades, daily_summary and backtests
(the metric set included) and every error and warning must agree.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from bench.generate import write_layout
from bench.layouts import Forms
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.analytics import close_order
from backtestdb.config import Settings
from backtestdb.errors import BacktestdbError, ValidationFailed
from backtestdb.ingest import IngestRequest, columnar
from backtestdb.ingest.columnar import numbers, store, times
from backtestdb.jobs import lifecycle, run_ingest
from backtestdb.parsing.values import to_decimal, to_utc
from backtestdb.storage import SourceFile

N = 120
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Backtest columns that differ between two ingests of the same file by nature.
UNLIKE = {"id", "created_at", "updated_at", "source_files", "content_hash", "name"}
FORMS = {
    "full": ("full", Forms()),
    "full-comma-thousands": ("full", Forms(thousands="comma")),
    "full-indices-filtered-tz": ("full", Forms(quantity_unit="Indices", filtered=True, tz_offset=3)),
    "default": ("default", Forms()),
    "default-month-nbsp-lots": ("default", Forms(time_format="month", thousands="nbsp", quantity_unit="Lots")),
    "backtest": ("backtest", Forms()),
    "backtest-noms-space-dash-ids": ("backtest", Forms(
        time_format="month-noms", thousands="space", quantity_unit="Units", empty_dash=True,
        id_prefix=True)),
    "statement": ("statement", Forms()),
    "statement-comma-semicolon": ("statement", Forms(
        decimal_comma=True, delimiter=";", thousands="nnbsp", time_format="slash-noms",
        id_prefix=True, tz_offset=-3)),
    "full-tab-truncated": ("full", Forms(delimiter="\t", truncate_last=True)),
    "default-decimal-comma-tab": ("default", Forms(decimal_comma=True, delimiter="\t", thousands="space")),
}  # fmt: skip


def snapshot(engine: Engine, backtest_id: object) -> dict[str, Any]:
    """Every stored column of the backtest, its trades and its days."""
    result: dict[str, Any] = {}
    for model, order in ((models.Trade, "trade_number"), (models.DailySummary, "trade_date")):
        table = model.__table__
        names = [c.name for c in table.columns if c.name not in ("backtest_id", "id")]
        query = (
            select(*(table.c[name] for name in names))
            .where(table.c.backtest_id == backtest_id)
            .order_by(table.c[order])
        )
        with engine.connect() as connection:
            result[table.name] = [
                dict(zip(names, row, strict=True)) for row in connection.execute(query)
            ]
    table = models.Backtest.__table__
    with engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.id == backtest_id)).mappings().one()
    result["backtest"] = {k: v for k, v in row.items() if k not in UNLIKE}
    return result


def outcome_of(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, request: IngestRequest
) -> dict[str, Any]:
    try:
        job, outcome = run_ingest(factory, request, settings)
    except ValidationFailed as exc:
        return {
            "failed": str(exc),
            "errors": [e.as_dict() for e in exc.errors],
            "count": exc.error_count,
        }
    except BacktestdbError as exc:
        return {"failed": str(exc)}
    return {
        "stored": snapshot(engine, outcome.backtest.id),
        "warnings": [w.as_dict() for w in outcome.warnings],
        "job_errors": job.errors,
        "trades": outcome.trades,
    }


def recorded(real: Callable[..., Any], calls: list[tuple[Any, ...]]) -> Callable[..., Any]:
    """`real`, recording the arguments of each call in `calls`."""

    def call(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    return call


def both_ways(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, path: Path,
    monkeypatch: pytest.MonkeyPatch, **options: Any,
) -> tuple[dict[str, Any], dict[str, Any], int]:  # fmt: skip
    """(columnar outcome, row-path outcome, blocks the columnar path read itself)."""
    request = IngestRequest(csv=SourceFile("history", path.name, path), force=True, **options)
    blocks: list[tuple[Any, ...]] = []
    with monkeypatch.context() as patch:
        patch.setattr(store, "valid_trades", recorded(store.valid_trades, blocks))
        fast = outcome_of(factory, settings, engine, request)
    with monkeypatch.context() as patch:
        patch.setattr(columnar, "ROW_PATH_ONLY", True)
        slow = outcome_of(factory, settings, engine, request)
    return fast, slow, len(blocks)


def written(tmp_path: Path, layout: str, forms: Forms, trades: int = N) -> Path:
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        write_layout(out, layout, trades, seed=11, forms=forms)
    return path


@pytest.mark.parametrize("case", list(FORMS))
def test_every_layout_and_form_is_stored_alike(
    case: str, factory: sessionmaker[Session], settings: Settings, engine: Engine,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    layout, forms = FORMS[case]
    path = written(tmp_path, layout, forms)
    fast, slow, blocks = both_ways(factory, settings, engine, path, monkeypatch, on_error="skip")
    assert blocks >= 1  # the columnar path read it (a truncated last line: the tail)
    assert "stored" in fast, fast
    assert fast == slow


def test_exact_count_and_net_sum(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "history.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        totals = write_layout(out, "full", 2_000, seed=3)
    request = IngestRequest(csv=SourceFile("history", path.name, path), force=True)
    backtest = run_ingest(factory, request, settings)[1].backtest
    with engine.connect() as connection:
        count, net = connection.execute(
            select(func.count(), func.sum(models.Trade.profit)).where(
                models.Trade.backtest_id == backtest.id
            )
        ).one()
    assert count == 2_000 == totals.trades
    assert Decimal(str(net)).quantize(Decimal("0.01")) == Decimal(
        totals.final_cents - totals.initial_cents
    ).scaleb(-2)


HEADER = (
    "Deal ID,Symbol,Opening Direction,Closing Direction,Opening Time (UTC+2),"
    "Closing Time (UTC+2),Entry Price,Closing Price,Closing Quantity,Closing Volume,Swap,"
    "Commissions,Pips,Gross,Net,Label,Comment,Balance,Channel"
)


def row(deal: str, net: str = "10.00", balance: str = "", **cells: str) -> str:
    values = {
        "deal": deal, "symbol": "EURUSD", "dir": "Buy", "cdir": "Sell",
        "open": "01/03/2024 10:00:00.000", "close": "01/03/2024 11:00:00.000",
        "entry": "1.1", "exit": "1.2", "qty": "0.1", "vol": "10000", "swap": "0",
        "comm": "-0.5", "pips": "10", "gross": "10.50", "net": net, "label": "a",
        "comment": "", "balance": balance, "channel": "Web",
    }  # fmt: skip
    values.update(cells)
    return ",".join(values.values())


GOOD = [row(str(100 + i), net=f"{(i % 7) - 3}.25", close=f"0{1 + i % 9}/03/2024 11:00:00.000", open="01/03/2024 09:00:00.000") for i in range(40)]  # fmt: skip
BAD_ROWS = [
    row("900", close="31/04/2024 10:00:00.000"),  # no such day
    row("901", close="01/03/2024 25:00:00.000"),  # bad time
    row("902", net="1.2.3"),  # bad number
    row("903", net="12,5"),  # a comma in a point file
    row("904", dir="Up"),  # bad direction
    row("905", symbol=""),  # missing required cell
    row("906", net="—"),  # empty mark where a value is required
    row("907", entry="0"),  # out of range
    row("908", qty="-1"),  # out of range
    row("909", pips="1.123456"),  # too many places
    row("910", entry="0.00000001"),  # Decimal writes it in exponent form
    row("101"),  # duplicate deal id
    row("911", open="02/03/2024 10:00:00.000"),  # closes before it opens
    row("912", label="x" * 300),  # too long
    row("913") + ",extra",  # too many cells
    ",".join(row("914").split(",")[:5]),  # too few cells
    row("915", comment='say "hi"'),  # a quote inside a cell
    row("916", symbol=" EURUSD\u00a0"),  # edges only Python's strip may read alike
    row("917", net="+5.00"),  # a sign the columnar path leaves to the validator
    row("918", net="1e3"),
    row("919", net="12.345"),  # more than cents: stored as given
    row("920", channel='"with, comma"'),
    row("921", open="01/03/1970 00:00:00.000", close="01/03/1970 01:00:00.000"),
    row("00922"),  # a deal id kept as text
]


def file_with(tmp_path: Path, lines: list[str], name: str = "edge.csv", **kwargs: Any) -> Path:
    path = tmp_path / name
    path.write_text(
        kwargs.get("before", "") + HEADER + "\n" + "\n".join(lines) + kwargs.get("end", "\n"),
        encoding="utf-8",
        newline="",
    )
    return path


@pytest.mark.parametrize("on_error", ["skip", "strict"])
@pytest.mark.parametrize("place", ["middle", "start", "end"])
def test_bad_rows_give_the_same_errors(
    on_error: str, place: str, factory: sessionmaker[Session], settings: Settings,
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    lines = {
        "middle": GOOD[:20] + BAD_ROWS + GOOD[20:],
        "start": GOOD[:1] + BAD_ROWS + GOOD[1:],
        "end": GOOD + BAD_ROWS,
    }[place]
    path = file_with(tmp_path, lines)
    fast, slow, _ = both_ways(
        factory, settings, engine, path, monkeypatch,
        on_error=on_error, initial_balance=Decimal("1000"),
    )  # fmt: skip
    assert fast == slow
    assert ("stored" in fast) == (on_error == "skip")


def test_bad_rows_within_blocks_go_to_the_validator(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Rows as wide as the header, well quoted: the blocks are read whole (no tail), and
    each bad row still gets the validator's exact error."""
    same_width = [line for line in BAD_ROWS if line.count(",") == HEADER.count(",")]
    same_width = [line for line in same_width if 'say "hi"' not in line]
    path = file_with(tmp_path, GOOD[:20] + same_width + GOOD[20:])
    tails: list[object] = []
    monkeypatch.setattr(store, "encoded_trades", lambda *args: tails.append(args) or iter(()))
    fast, slow, _ = both_ways(
        factory, settings, engine, path, monkeypatch,
        on_error="skip", initial_balance=Decimal("1000"),
    )  # fmt: skip
    assert not tails
    assert fast == slow
    assert len(fast["warnings"]) > 10


@pytest.mark.parametrize(
    "shape",
    [
        "totals",
        "blank-middle",
        "crlf",
        "bom",
        "quoted-break",
        "sections",
        "trailing-sep",
        "lone-cr",
        "long-row",
        "copy-specials",
    ],
)
def test_file_shapes_are_read_alike(
    shape: str, factory: sessionmaker[Session], settings: Settings, engine: Engine,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    lines = list(GOOD)
    extra: dict[str, str] = {}
    if shape == "totals":
        lines.append(",,,,,,,,,,0,-20.00,,,100.00,,,,")
    elif shape == "blank-middle":
        lines.insert(10, "")
        lines.insert(11, ",,,,,,,,,,,,,,,,,,")
    elif shape == "crlf":
        lines = [line + "\r" for line in lines]
    elif shape == "bom":
        extra["before"] = "\ufeff"
    elif shape == "quoted-break":
        lines.insert(5, row("990", comment='"two\nlines"'))
    elif shape == "sections":
        extra["before"] = "Deals\n"
        lines += [",,,,,,,,,,,,,,100.00,,,,", "", "Positions", "ID,Symbol", "1,EURUSD"]
    elif shape == "trailing-sep":
        lines = [line + "," for line in lines]
    elif shape == "lone-cr":
        lines = [line + "\r" for line in lines[:5]] + lines[5:]
    elif shape == "long-row":
        settings = settings.model_copy(update={"max_csv_row_bytes": 300})
        lines.insert(30, row("991", comment="y" * 400))
    elif shape == "copy-specials":  # what COPY's text format must escape
        lines.insert(7, row("992", comment="back\\slash\ttab \\N", label="a\\b"))
    path = file_with(tmp_path, lines, **extra)
    fast, slow, _ = both_ways(
        factory, settings, engine, path, monkeypatch,
        on_error="skip", initial_balance=Decimal("1000"),
    )  # fmt: skip
    assert fast == slow
    if shape == "copy-specials":
        assert "'back\\\\slash\\ttab \\\\N'" in repr(fast)


def test_many_blocks_carry_their_state(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Small blocks: balances, peaks, days and deal ids carried across block edges, and a
    bad row in a later block sends the rest to the row path's reader."""
    monkeypatch.setattr(store.BlockReader.blocks, "__defaults__", (1, 4096))
    path = written(tmp_path, "backtest", Forms(), trades=600)
    text = path.read_text(encoding="utf-8").splitlines()
    text.insert(400, text[400].replace("Buy", "Up").replace("Sell", "Up"))
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    fast, slow, blocks = both_ways(factory, settings, engine, path, monkeypatch, on_error="skip")
    assert blocks > 5
    assert fast == slow


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_numbers_read_as_to_decimal_reads_them(database_url: str) -> None:
    """Every cell the columnar number reader takes, it reads as `to_decimal` does."""
    pieces = ["0", "1", "12", "123", "1234", ",", ".", " ", "\u00a0", "\u202f", "-", "'", "00", "5"]
    chooser = random.Random(4)
    cells = [
        "".join(chooser.choice(pieces) for _ in range(chooser.randint(1, 7))) for _ in range(20_000)
    ]
    for comma in (False, True):
        found = numbers.canonical(pa.array(cells, pa.string()), decimal_comma=comma).to_pylist()
        for cell, text in zip(cells, found, strict=True):
            if text is None:
                continue
            try:
                expected = to_decimal(cell.strip(), decimal_comma=comma)
            except (ValueError, InvalidOperation):
                raise AssertionError(f"{cell!r} taken as {text!r}, refused by to_decimal") from None
            assert Decimal(text) == expected, cell
            checked = numbers.numbers(pa.array([cell.strip()]), "profit", decimal_comma=comma)
            if checked.text[0].is_valid:
                assert checked.text[0].as_py() == str(expected), cell


@pytest.mark.parametrize(
    ("cells", "taken"),
    [
        (["01/02/2024 03:04:05.123", "29/02/2023 00:00:00", "31/12/2099 23:59:59.999999", ""],
         [True, False, True, False]),
        (["20 Aug 2026 21:56:13.342", "01 feb 2024 03:04:05", "31 Apr 2024 00:00:00"],
         [True, True, False]),
        (["1704159830846", "04133980799999", "4133980799999", "4133980800000", "99999999999",
          "9999999999"], [True, False, True, False, True, False]),
        (["1704159830846", "1704159830846.5", "-1704159830846", " 1704159830846"],
         [True, False, False, False]),
    ],
    ids=["slash", "named", "epoch-ms", "epoch-ms-odd"],
)  # fmt: skip
def test_times_read_as_to_utc_reads_them(cells: list[str], taken: list[bool]) -> None:
    """Each cell the columnar times take is the validator's time at the header's offset
    (none for epoch milliseconds); the others are null, and their rows go to the validator."""
    read = times.micros(pa.array(cells, pa.string()), timedelta(hours=2)).to_pylist()
    assert [micros is not None for micros in read] == taken
    for cell, micros in zip(cells, read, strict=True):
        if micros is not None:
            moment = to_utc(cell, offset=timedelta(hours=2))
            assert micros == (moment - EPOCH) // timedelta(microseconds=1)


@pytest.mark.parametrize("held", [None, 3], ids=["held", "too-many-held"])
def test_an_entry_ordered_file_gets_its_metric_set_in_the_same_pass(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, held: int | None,
) -> None:  # fmt: skip
    """The backtest History lists trades by opening: the columnar path feeds the metric
    set in close order as it reads (`CloseOrder`), and stores what the row path's
    recomputation afterwards stores; past MAX_HELD it leaves it to the recomputation."""
    monkeypatch.setattr(store.BlockReader.blocks, "__defaults__", (1, 4096))
    if held is not None:
        monkeypatch.setattr(close_order, "MAX_HELD", held)
    refreshed: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        lifecycle, "refresh_metrics", recorded(lifecycle.refresh_metrics, refreshed)
    )
    path = written(tmp_path, "backtest", Forms(), trades=600)
    fast, slow, blocks = both_ways(factory, settings, engine, path, monkeypatch)
    assert blocks > 5
    assert "stored" in fast, fast
    assert len(refreshed) == (1 if held else 0) + 1  # the row path's run recomputes
    assert fast["stored"]["backtest"]["profit_factor"] is not None
    assert fast == slow


def test_openings_out_of_order_leave_the_metric_set_to_the_recomputation(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(store.BlockReader.blocks, "__defaults__", (1, 4096))
    path = written(tmp_path, "backtest", Forms(), trades=300)
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    rows[150], rows[10] = rows[10], rows[150]  # an opening earlier than one before it
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    refreshed: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        lifecycle, "refresh_metrics", recorded(lifecycle.refresh_metrics, refreshed)
    )
    fast, slow, _ = both_ways(
        factory, settings, engine, path, monkeypatch, initial_balance=Decimal("10000")
    )
    assert "stored" in fast, fast
    assert len(refreshed) == 2
    assert fast == slow
