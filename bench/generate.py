"""Deterministic generator of cTrader exports of any size (streamed, flat memory).

    python bench/generate.py --trades 1000000 --out /tmp/history_1m.csv [--seed 7]
    python bench/generate.py --trades 500 --out /tmp/bt/ --layout backtest --events
    python bench/generate.py --trades 50 --out s.csv --layout statement --decimal-comma \\
        --delimiter ';' --thousands nbsp --time-format month-noms --id-prefix
    python bench/generate.py --tree optimization --passes 100 --trades 500 --out /tmp/t/ \\
        [--sources report-events|csv] [--report-format html|json]

Money is kept in integer cents so the last Balance minus the initial balance equals the
sum of Net exactly; every layout and events.json of the same (trades, seed, capital,
symbols) describe the same trades (bench/model.py holds the model). Layouts: `full`
(the original History CSV, close-time order, several symbols interleaved), `default`,
`backtest` and `statement`; `--events` also writes events.json beside the CSV. `--tree`
writes cTrader's Backtesting or Optimization folders instead (bench/trees.py: the
parameter grid, and the edge that makes each pass's results depend on its parameters).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol, TextIO

if __package__ in (None, ""):  # run as `python bench/generate.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import write_events
from bench.layouts import (
    DELIMITERS,
    PLAIN,
    QUANTITY_UNITS,
    THOUSANDS,
    TIME_FORMATS,
    Cells,
    CsvFile,
    Forms,
    backtest_file_name,
    chosen,
    side,
    write_backtest,
    write_default,
    write_statement,
)
from bench.model import ALL_SYMBOLS, START, SYMBOLS, Totals, iter_trades
from bench.trees import REPORT_FORMATS, SOURCES, TREES, describe, write_tree

__all__ = [
    "HEADER", "LAYOUTS", "START", "SYMBOLS", "Forms", "Totals", "backtest_file_name",
    "cents", "write_events", "write_full", "write_history", "write_layout",
]  # fmt: skip

HEADER = [
    "Deal ID", "Symbol", "Opening Direction", "Closing Direction", "Opening Time (UTC+0)",
    "Closing Time (UTC+0)", "Entry Price", "Closing Price", "Closing Quantity",
    "Closing Volume", "Swap", "Commissions", "Pips", "Gross", "Net", "Label", "Comment",
    "Balance",
]  # fmt: skip
# The moment the CLI names backtest exports by (cTrader uses the export's local time).
EXPORT_TIME = datetime(2026, 8, 20, 21, 56, 13)


class Writer(Protocol):
    def __call__(
        self, out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
        *, forms: Forms = PLAIN, symbols: Sequence[str] = ALL_SYMBOLS,
    ) -> Totals: ...  # fmt: skip


def cents(value: int) -> str:
    return Cells(PLAIN).money(value)


def write_full(
    out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
    *, forms: Forms = PLAIN, symbols: Sequence[str] = ALL_SYMBOLS,
) -> Totals:  # fmt: skip
    """The full History CSV (every column), close-time order; with the default forms it is
    exactly what write_history writes."""
    cells, file = Cells(forms, 0), CsvFile(out, forms)
    file.row([name.replace("(UTC+0)", cells.zone) for name in HEADER])
    totals = Totals(initial_cents=capital_cents, final_cents=capital_cents)
    for t in chosen(iter_trades(seed, capital_cents, symbols, forms.whole_seconds), trades, forms):
        file.row([
            cells.ident("DID", t.deal_id), t.symbol, side(t.buy), side(not t.buy),
            cells.time(t.opened_ms), cells.time(t.closed_ms), cells.price(t.entry, t.decimals),
            cells.price(t.exit, t.decimals), cells.quantity(t), t.volume, cells.swap(t.swap),
            cells.money(t.commission), cells.pips(t.pips_tenths), cells.money(t.gross),
            cells.money(t.net), "bench", cells.blank(t.comment), cells.money(t.balance),
        ])  # fmt: skip
        totals.add(t)
    file.finish()
    return totals


def write_history(out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000) -> int:
    """Write `trades` rows; returns the final balance in cents."""
    return write_full(out, trades, seed, capital_cents).final_cents


LAYOUTS: dict[str, Writer] = {
    "full": write_full,
    "default": write_default,
    "backtest": write_backtest,
    "statement": write_statement,
}


def write_layout(
    out: TextIO, layout: str, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
    *, forms: Forms = PLAIN, symbols: Sequence[str] = ALL_SYMBOLS,
) -> Totals:  # fmt: skip
    """Write one History CSV layout (`full`, `default`, `backtest` or `statement`)."""
    return LAYOUTS[layout](out, trades, seed, capital_cents, forms=forms, symbols=symbols)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--trades", type=int, required=True)
    add("--out", type=Path, required=True, help="a file, or a directory to name it in")
    add("--seed", type=int, default=7)
    add("--capital-cents", type=int, default=1_000_000)
    add("--layout", choices=list(LAYOUTS), default="full")
    add("--symbol", choices=list(SYMBOLS), help="one symbol only (default: all; EURUSD w/ events)")
    add("--events", action="store_true", help="also write events.json beside the CSV")
    add("--cbot", default="MACross", help="cBot name in a backtest export's file name")
    add("--timeframe", default="h1", help="timeframe in a backtest export's file name")
    add("--values", default="10,20,0.1", help="parameter values in that name, comma-separated")
    add("--tz-offset", type=int, help="write times in UTC+H (default: the layout's own)")
    add("--time-format", choices=TIME_FORMATS, default="slash")
    add("--quantity-unit", choices=QUANTITY_UNITS)
    add("--thousands", choices=list(THOUSANDS), default="none")
    add("--decimal-comma", action="store_true")
    add("--delimiter", default=",", type=lambda text: "\t" if text in ("\\t", "tab") else text)
    add("--empty-dash", action="store_true", help="write empty cells as an em dash")
    add("--id-prefix", action="store_true", help="DID/PID/OID before ids")
    add("--filtered", action="store_true", help="drop every 5th trade")
    add("--truncate-last", action="store_true", help="cut the last line in half")
    add("--tree", choices=TREES, help="write cTrader's folder tree under --out (a directory)")
    add("--passes", type=int, default=1, help="optimisation passes in the tree")
    add("--sources", choices=SOURCES, default="report-events", help="each tree folder's files")
    add("--report-format", choices=REPORT_FORMATS, default="html", help="report.html or .json")
    args = parser.parse_args(argv)
    if args.delimiter not in DELIMITERS:
        parser.error(f"--delimiter must be one of {DELIMITERS!r}")
    if args.decimal_comma and args.thousands == "comma":
        parser.error("--decimal-comma cannot go with --thousands comma")
    if (args.tree == "backtesting" and args.passes != 1) or args.passes < 1:
        parser.error("--passes: a Backtesting folder holds one backtest; at least 1")
    return args


def main_tree(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    result = write_tree(
        args.out, tree=args.tree, passes=args.passes, trades=args.trades,
        sources=args.sources, report_format=args.report_format, seed=args.seed,
        cbot=args.cbot, symbol=args.symbol or "EURUSD", timeframe=args.timeframe,
        capital_cents=args.capital_cents,
    )  # fmt: skip
    print(describe(result))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.tree is not None:
        main_tree(args)
        return
    forms = Forms(
        args.tz_offset, args.time_format, args.quantity_unit, args.thousands,
        args.decimal_comma, args.delimiter, args.empty_dash, args.id_prefix, args.filtered,
        args.truncate_last,
    )  # fmt: skip
    symbol = args.symbol or ("EURUSD" if args.events else None)
    symbols = ALL_SYMBOLS if symbol is None else (symbol,)
    path: Path = args.out
    if path.is_dir():
        name = "history.csv"
        if args.layout == "backtest":
            values = args.values.split(",") if args.values else []
            name = backtest_file_name(EXPORT_TIME, args.cbot, symbols[0], args.timeframe, values)
        path = path / name
    with path.open("w", newline="", encoding="utf-8") as out:
        totals = write_layout(
            out, args.layout, args.trades, args.seed, args.capital_cents,
            forms=forms, symbols=symbols,
        )  # fmt: skip
    print(
        f"{totals.trades} trades, final balance {cents(totals.final_cents)} -> {path}"
        f" (net {cents(totals.net_cents)}, initial {cents(totals.initial_cents)})"
    )
    if args.events:
        events_path = path.parent / "events.json"
        with events_path.open("w", encoding="utf-8") as out:
            done = write_events(out, args.trades, args.seed, args.capital_cents, symbols[0])
        print(
            f"{done.events} events, {done.trades} closed and {done.open_positions} open"
            f" positions, final balance {cents(done.final_cents)} -> {events_path}"
        )


if __name__ == "__main__":
    main()
