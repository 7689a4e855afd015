"""Hypothesis strategies: valid cTrader exports, and mutations of them.

Valid files are built as tables (header + rows of text) so that the mutations can work on
structure (columns, rows) before the text is encoded, and on bytes after.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

HEADER = [
    "Deal ID", "Symbol", "Opening Direction", "Closing Direction", "Opening Time (UTC+0)",
    "Closing Time (UTC+0)", "Entry Price", "Closing Price", "Closing Quantity",
    "Closing Volume", "Swap", "Commissions", "Pips", "Gross", "Net", "Label", "Comment",
    "Balance",
]  # fmt: skip
SYMBOLS = ["EURUSD", "GBPUSD", "XAUUSD", "US500", "BTC/USD"]
FIRST = datetime(1971, 1, 1, tzinfo=UTC)
LAST = datetime(2099, 12, 1, tzinfo=UTC)
#: Values chosen to break things: huge, not-a-number, out of range, long, odd text.
HOSTILE_CELLS = [
    "", " ", "NaN", "nan", "Infinity", "-Infinity", "inf", "1e999999", "-1e999999", "1e-999999",
    "9" * 400, "-" + "9" * 40, "1" * 5000, "0", "-0", "1,2,3", "1.2.3", "1 000,5", "\u22121,5",
    "31/12/9999 23:59:59.999", "00/00/0000 00:00:00.000", "29/02/2023 10:00:00.000",
    "31/04/2024 10:00:00.000", "01/01/1969 00:00:00.000", "1969-12-31T23:59:59",
    "2101-01-01T00:00:00Z", "99999999999999", "-1", "2024-13-45", "x" * 10_000,
    "=cmd|' /C calc'!A0", "\u2028", "\u202e", "Buy\u0000", "Sell", "Long", "b", "null",
    "\"", "'", "\\", "\t", "\r", "\n", "\ufeff", "\udcff",
]  # fmt: skip
HOSTILE_JSON: list[Any] = [
    None, True, [], {}, "", "NaN", float("nan"), float("inf"), -float("inf"), 10**400,
    -(10**30), 1e308, 1e-320, "1e999999", "x" * 10_000, "\u0000", "\ud800", [[[[[]]]]],
    {"all": "NaN"}, {"all": 10**20}, 1.5, -1, 0, "31/12/9999 23:59:59.999", 2**63,
]  # fmt: skip


def money(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@st.composite
def trade_rows(draw: st.DrawFn, min_rows: int = 1, max_rows: int = 12) -> Table:
    count = draw(st.integers(min_rows, max_rows))
    deal_ids = draw(st.lists(st.integers(1, 10**12), min_size=count, max_size=count, unique=True))
    balance = Decimal(draw(st.integers(0, 10**9))) / 100
    rows = []
    for deal in deal_ids:
        opened = draw(st.datetimes(FIRST.replace(tzinfo=None), LAST.replace(tzinfo=None)))
        closed = opened + draw(st.timedeltas(timedelta(0), timedelta(days=20)))
        buy = draw(st.booleans())
        entry = Decimal(draw(st.integers(1, 10**11))) / 10**5
        exit_ = Decimal(draw(st.integers(1, 10**11))) / 10**5
        swap, commission, gross = (Decimal(draw(st.integers(-10**8, 10**8))) / 100
                                   for _ in range(3))  # fmt: skip
        net = gross + swap + commission
        balance += net
        text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
        rows.append([
            str(deal), draw(st.sampled_from(SYMBOLS)), "Buy" if buy else "Sell",
            "Sell" if buy else "Buy", stamp(opened), stamp(closed), str(entry), str(exit_),
            "0.10", "10000", money(swap), money(commission), "1.5", money(gross), money(net),
            draw(text).strip(), draw(text), money(balance),
        ])  # fmt: skip
    return Table(list(HEADER), rows)


def stamp(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass
class Layout:
    separator: str = ","
    encoding: str = "utf-8"
    newline: str = "\n"


layouts = st.builds(
    Layout,
    separator=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)


def render(table: Table, layout: Layout) -> bytes:
    """The table as a CSV file; with `;` numbers get a decimal comma, as cTrader writes."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=layout.separator, lineterminator=layout.newline)
    writer.writerow(table.header)
    for row in table.rows:
        if layout.separator == ";":
            row = [decimal_comma(cell) for cell in row]
        writer.writerow(row)
    return out.getvalue().encode(layout.encoding, errors="surrogatepass")


def decimal_comma(cell: str) -> str:
    try:
        Decimal(cell)
    except ArithmeticError:
        return cell
    return cell.replace(".", ",") if cell.count(".") == 1 else cell


@st.composite
def reordered(draw: st.DrawFn, table: Table) -> Table:
    order = draw(st.permutations(range(len(table.header))))
    return Table([table.header[i] for i in order], [[r[i] for i in order] for r in table.rows])


@st.composite
def mutated_table(draw: st.DrawFn, table: Table) -> Table:
    """One to three structural mutations: columns and rows dropped, doubled, moved, broken."""
    header, rows = list(table.header), [list(r) for r in table.rows]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["drop_col", "dup_col", "shuffle_header", "drop_row",
                                     "dup_row", "shuffle_rows", "cell", "ragged", "header"]))  # fmt: skip
        width = len(header)
        if kind == "drop_col" and width > 1:
            i = draw(st.integers(0, width - 1))
            header.pop(i)
            for r in rows:
                del r[i : i + 1]
        elif kind == "dup_col" and width:
            i = draw(st.integers(0, width - 1))
            header.insert(i, header[i])
            for r in rows:
                r.insert(i, r[i] if len(r) > i else "")
        elif kind == "shuffle_header":
            header = draw(st.permutations(header))
        elif kind == "drop_row" and rows:
            rows.pop(draw(st.integers(0, len(rows) - 1)))
        elif kind == "dup_row" and rows:
            rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))
        elif kind == "shuffle_rows":
            rows = draw(st.permutations(rows))
        elif kind == "cell" and rows and width:
            r = draw(st.integers(0, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1)) if rows[r] else 0
            if rows[r]:
                rows[r][c] = draw(st.sampled_from(HOSTILE_CELLS) | st.text(max_size=50))
        elif kind == "ragged" and rows:
            r = draw(st.integers(0, len(rows) - 1))
            rows[r] = rows[r][: draw(st.integers(0, len(rows[r])))] + draw(
                st.lists(st.sampled_from(HOSTILE_CELLS), max_size=3))  # fmt: skip
        elif kind == "header" and width:
            header[draw(st.integers(0, width - 1))] = draw(st.sampled_from(HOSTILE_CELLS))
    return Table(header, rows)


@st.composite
def mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Byte-level damage: cut short, bytes replaced or inserted, re-encoded."""
    kind = draw(st.sampled_from(["truncate", "replace", "insert", "reencode", "none"]))
    if kind == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if kind == "replace" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at + 1 :]
    if kind == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at:]
    if kind == "reencode":
        text = data.decode("utf-8", errors="replace")
        codec = draw(st.sampled_from(["latin-1", "cp1252", "utf-32", "utf-16-be", "utf-7"]))
        return text.encode(codec, errors="replace")
    return data


# -- reports ---------------------------------------------------------------------------------


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@st.composite
def report_objects(draw: st.DrawFn) -> dict[str, Any]:
    """A cTrader report.json object with a few trades (epoch-millisecond times)."""
    table = draw(trade_rows(max_rows=6))
    items = []
    for row in table.rows:
        opened = datetime.strptime(row[4], "%d/%m/%Y %H:%M:%S.%f").replace(tzinfo=UTC)
        closed = datetime.strptime(row[5], "%d/%m/%Y %H:%M:%S.%f").replace(tzinfo=UTC)
        items.append({
            "id": int(row[0]), "symbol": row[1], "direction": row[2], "entryTime":
            epoch_ms(opened), "closeTime": epoch_ms(closed), "entryPrice": float(row[6]),
            "closePrice": float(row[7]), "volume": 10000, "swap": float(row[10]),
            "commissions": float(row[11]), "net": float(row[14]), "label": row[15],
            "comment": row[16], "balance": float(row[17]),
        })  # fmt: skip
    start = draw(st.integers(epoch_ms(FIRST), epoch_ms(LAST)))
    return {
        "main": {
            "symbol": draw(st.sampled_from(SYMBOLS)), "period": "h1",
            "startingCapital": 10000.0, "endingBalance": 10452.42, "netProfit": 452.42,
            "testingPeriod": {"startDate": start, "endDate": start + 86_400_000},
        },
        "equity": {"maxEquityDrawdownPercent": 1.94, "maxBalanceDrawdownAbsolute": 175.68},
        "tradeStatistics": {"totalTrades": {"all": len(items)}, "commissions": -1.3},
        "parameters": draw(parameter_objects()),
        "usedSymbols": [table.rows[0][1]] if table.rows else [],
        "history": {"items": items},
    }  # fmt: skip


PARAMETER_VALUES = st.one_of(
    st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(), st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20),
    st.none(),
)  # fmt: skip


@st.composite
def parameter_objects(draw: st.DrawFn) -> Any:
    names = draw(st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True),
                          max_size=6, unique=True))  # fmt: skip
    values = [draw(PARAMETER_VALUES) for _ in names]
    shape = draw(st.sampled_from(["flat", "cbotset", "list"]))
    if shape == "flat":
        return dict(zip(names, values, strict=True))
    if shape == "cbotset":
        return {"Chart": {"Symbol": "EURUSD"}, "Parameters": dict(zip(names, values, strict=True))}
    return [{"name": n, "value": v, "group": "G"} for n, v in zip(names, values, strict=True)]


def paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path inside a JSON value (for picking a spot to damage)."""
    found = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, obj: Any) -> Any:
    """Replace or delete one to three values anywhere in the object."""
    obj = json.loads(json.dumps(obj))
    for _ in range(draw(st.integers(1, 3))):
        spots = paths(obj)[1:]
        if not spots:
            break
        spot = draw(st.sampled_from(spots))
        parent = obj
        for key in spot[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[spot[-1]]
        else:
            # A copy: the hostile values are shared, and later mutations edit in place.
            value = draw(st.sampled_from(HOSTILE_JSON) | st.text(max_size=20))
            parent[spot[-1]] = copy.deepcopy(value)
    return obj


def dump_json(obj: Any) -> bytes:
    # NaN/Infinity and lone surrogates are written as Python writes them (cTrader never
    # does; a damaged or hand-edited file may).
    return json.dumps(obj, allow_nan=True, ensure_ascii=True).encode()


def as_html(json_bytes: bytes) -> bytes:
    return (b'<html><body><script id="backtesting-report" type="application/json">'
            + json_bytes + b"</script></body></html>")  # fmt: skip


def parameter_text(obj: dict[str, Any]) -> bytes:
    """key=value lines of a flat parameter object."""
    return "\n".join(f"{k}={'' if v is None else v}" for k, v in obj.items()).encode()
