"""The History layouts cTrader writes, and what a file that fits none of them is told.

A refused file's message names the layout it came closest to, the columns it has and the
ones it lacks; an accepted file that lacks optional columns gets one warning saying what
each takes away.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from backtestdb.parsing.fields import CSV_FIELDS, CSV_LOOKUP, normalize_name

#: The History layouts cTrader writes, as their headers (currency and zone as one example):
#: a refused file is told which one it came closest to.
CSV_LAYOUTS: dict[str, tuple[str, ...]] = {
    "default History (8 columns)": (
        "Symbol", "Opening direction", "Closing time (UTC+0)", "Entry price", "Closing price",
        "Closing Quantity", "Net €", "Balance €",
    ),
    "backtest History": (
        "Label", "Entry time (UTC+1)", "Symbol", "Quantity", "Volume", "Type", "Entry price",
        "Broker commission", "Swaps", "Closing price", "Closing time (UTC+1)", "Net $", "Pips",
        "Gross $", "Balance $", "ID",
    ),
    "account statement (Deals section)": (
        "Deal ID", "Order ID", "Symbol", "Opening Direction", "Closing Direction",
        "Opening time (UTC+8)", "Closing Time (UTC+8)", "Entry price", "Closing price",
        "Closing Quantity", "Commissions", "Pips", "Net USD", "Channel", "Balance USD",
    ),
    "full History": (
        "Deal ID", "Symbol", "Opening Direction", "Closing Direction", "Opening Time (UTC+0)",
        "Closing Time (UTC+0)", "Entry Price", "Closing Price", "Closing Quantity",
        "Closing Volume", "Swap", "Commissions", "Pips", "Gross", "Net", "Label", "Comment",
        "Balance",
    ),
}  # fmt: skip

#: What a file without the field's column loses (the one warning an ingest gives).
MISSING_FIELD_COSTS: dict[str, str] = {
    "open_time": "no holding times and no open-time breakdowns",
    "deal_id": "no duplicate-deal check",
    "entry_price": "no entry prices",
    "exit_price": "no exit prices",
    "commission": "commissions unknown (NULL, not 0)",
    "swap": "swaps unknown (NULL, not 0)",
    "balance": "no check of the computed balances against the file's",
}


def closest_layout(header: Sequence[str], found: Mapping[str, int]) -> str:
    """Which cTrader History layout a header came closest to, with the columns it has and
    the ones that layout has and it lacks: what a refused file's user needs to change."""
    spelled = {normalize_name(cell) for cell in header}

    def likeness(columns: tuple[str, ...]) -> tuple[int, int]:
        # Same spellings first (they tell layouts apart), then the same fields.
        names = {normalize_name(column) for column in columns}
        fields = {CSV_LOOKUP.get(name) for name in names}
        return len(spelled & names), len(found.keys() & fields)

    name, columns = max(CSV_LAYOUTS.items(), key=lambda item: likeness(item[1]))
    lacking = [
        column
        for column in columns
        if (field := CSV_LOOKUP.get(normalize_name(column))) and field not in found
    ]
    shown = ", ".join(cell for cell in header if cell) or "none"
    return (
        f"Closest layout: {name}. Columns found: {shown}. "
        f"Missing for that layout: {', '.join(lacking) or 'none'}"
    )


def missing_columns_warning(found: Mapping[str, object]) -> str | None:
    """One sentence naming the optional columns a CSV lacks and what each takes away."""
    lacking = [
        f"{CSV_FIELDS[field][0]} ({cost})"
        for field, cost in MISSING_FIELD_COSTS.items()
        if field not in found
    ]
    if not lacking:
        return None
    return "the file has no column " + "; no column ".join(lacking)
