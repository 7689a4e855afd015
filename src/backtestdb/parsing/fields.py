"""Accepted names of each canonical trade field, per input format, and name matching.

cTrader has renamed columns and keys between versions and users edit CSV headers, so every
format lists all the spellings we accept and matching ignores case, punctuation, a time-zone
suffix such as "(UTC+4)" and a trailing currency code or symbol such as " USD" or " €".
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from backtestdb.errors import InputError
from backtestdb.parsing.records import REQUIRED_TRADE_FIELDS, TRADE_FIELDS, Direction

#: Keys of `history.items[]` in report.json (and the HTML report's embedded JSON).
JSON_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": ("id", "dealId", "positionId", "closingDealId"),
    "symbol": ("symbol", "symbolName"),
    "direction": ("direction", "tradeType", "side", "type"),
    "open_time": ("entryTime", "openTime", "openingTime"),
    "close_time": ("closeTime", "closingTime", "exitTime"),
    "entry_price": ("entryPrice", "openPrice", "openingPrice"),
    "exit_price": ("closePrice", "exitPrice", "closingPrice"),
    "quantity": ("quantity", "lots", "closingQuantity"),
    "volume": ("volume", "closingVolume", "volumeInUnits"),
    "commission": ("commissions", "commission"),
    "swap": ("swaps", "swap"),
    "pips": ("pips",),
    "gross_profit": ("gross", "grossProfit"),
    "profit": ("net", "netProfit", "profit"),
    "balance": ("balance",),
    "label": ("label",),
    "comment": ("comment",),
}

#: Column headers of the History tab CSV export.
CSV_FIELDS: dict[str, tuple[str, ...]] = {
    "deal_id": ("Deal ID", "ID", "Position ID", "Closing Deal ID"),
    "symbol": ("Symbol",),
    "direction": ("Opening Direction", "Direction", "Type", "Side", "Trade Side"),
    "open_time": ("Opening Time", "Open Time", "Entry Time"),
    "close_time": ("Closing Time", "Close Time", "Exit Time"),
    "entry_price": ("Entry Price", "Opening Price", "Open Price"),
    "exit_price": ("Closing Price", "Close Price", "Exit Price"),
    "quantity": ("Closing Quantity", "Quantity", "Lots"),
    "volume": ("Closing Volume", "Volume"),
    "commission": ("Commissions", "Commission", "Broker commission"),
    "swap": ("Swap", "Swaps"),
    "pips": ("Pips",),
    "gross_profit": ("Gross", "Gross Profit"),
    "profit": ("Net", "Net Profit", "Profit"),
    "balance": ("Balance",),
    "label": ("Label",),
    "comment": ("Comment",),
}

#: Columns we recognise but do not store because they follow from stored ones: cTrader's
#: closing direction is always the opposite of the opening direction.
CSV_DERIVED_COLUMNS: tuple[str, ...] = ("Closing Direction",)

DIRECTION_ALIASES: dict[str, Direction] = {
    "buy": "buy",
    "long": "buy",
    "b": "buy",
    "sell": "sell",
    "short": "sell",
    "s": "sell",
}

# Only real codes are stripped, so a header that merely ends in a 3-letter word survives.
CURRENCY_CODES: frozenset[str] = frozenset(
    {
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CHF",
        "AUD",
        "CAD",
        "NZD",
        "CNY",
        "CNH",
        "HKD",
        "SGD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RUB",
        "TRY",
        "ZAR",
        "MXN",
        "BRL",
        "INR",
        "KRW",
        "THB",
        "ILS",
        "AED",
        "SAR",
        "RON",
        "BGN",
        "ISK",
        "IDR",
        "MYR",
        "PHP",
        "TWD",
        "CLP",
        "COP",
        "PEN",
        "ARS",
        "NGN",
        "KES",
    }
)

_PAREN_SUFFIX = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")
_CURRENCY_SUFFIX = re.compile(r"[\s,]+([A-Za-z]{3})\s*$")
# A trailing currency symbol, maybe with a letter or two before it ("Net €", "Net US$").
_SYMBOL_SUFFIX = re.compile(r"\s+[A-Za-z]{0,2}(\S)\s*$")
_NON_ALNUM = re.compile(r"[\W_]+")


def _is_currency_symbol(char: str) -> bool:
    return unicodedata.category(char) == "Sc"


def normalize_name(name: str) -> str:
    """Reduce a column/key name to the form it is matched by ("Net (USD)" -> "net").

    A currency inside a name stays a word of it: "Closing € Volume" (money) must not
    become "Closing Volume" (units)."""
    text = name.strip().lstrip("\ufeff")
    text = _PAREN_SUFFIX.sub("", text)
    match = _CURRENCY_SUFFIX.search(text)
    if not (match and match.start() > 0 and match.group(1).upper() in CURRENCY_CODES):
        match = _SYMBOL_SUFFIX.search(text)
        match = match if match and _is_currency_symbol(match.group(1)) else None
    if match is not None:
        text = text[: match.start()]
    text = "".join(" ccy " if _is_currency_symbol(c) else c for c in text)
    return _NON_ALNUM.sub("", text.casefold())


def to_lookup(table: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Normalized accepted name -> canonical field."""
    lookup: dict[str, str] = {}
    for canonical in TRADE_FIELDS:
        for name in table.get(canonical, ()):
            lookup.setdefault(normalize_name(name), canonical)
    return lookup


JSON_LOOKUP = to_lookup(JSON_FIELDS)
CSV_LOOKUP = to_lookup(CSV_FIELDS)


def missing_required(
    columns: Mapping[str, object],
    table: Mapping[str, Sequence[str]],
    file: str,
    *,
    kind: str,
    where: str = "",
    hint: Callable[[], str] | None = None,
) -> None:
    """Raise when a required field has no column, naming each one and the names tried."""
    missing = [canonical for canonical in REQUIRED_TRADE_FIELDS if canonical not in columns]
    if not missing:
        return
    described = [
        f"{name!r} not found{where} (looked for: {', '.join(table[name])})" for name in missing
    ]
    more = f". {hint()}" if hint is not None else ""
    raise InputError(file, f"required {kind} " + f"; required {kind} ".join(described) + more)


def map_names(names: Sequence[str], lookup: Mapping[str, str]) -> tuple[dict[str, int], list[int]]:
    """Map header cells to canonical fields: (field -> index, indexes of unknown columns).

    When two columns match one field the first wins and the other is kept as extra, so no
    data is dropped silently.
    """
    found: dict[str, int] = {}
    extra: list[int] = []
    derived = {normalize_name(name) for name in CSV_DERIVED_COLUMNS}
    for index, name in enumerate(names):
        canonical = lookup.get(normalize_name(name))
        if canonical is None and normalize_name(name) in derived:
            continue
        if canonical is None or canonical in found:
            extra.append(index)
        else:
            found[canonical] = index
    return found, extra


def decode_text(data: bytes, file: str, *, what: str = "text file") -> str:
    """Decode a whole small file (report, parameters): UTF-8 or UTF-16, BOM optional."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(file, f"not a {what} (invalid UTF-16: {exc.reason})") from exc
    else:
        if b"\x00" in data[:8192]:
            raise InputError(file, f"not a {what} (binary content)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(
                file, f"not a {what} (invalid UTF-8 at line {line}, byte {exc.start})"
            ) from exc
        text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise InputError(file, f"not a {what} (binary content)")
    return text


#: Text PostgreSQL cannot store (text or jsonb): NUL, and a surrogate left unpaired by a
#: JSON \u escape (json.loads joins the valid pairs).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def load_json(text: str, file: str) -> Any:
    """json.loads with every way it fails as an InputError naming the file. NaN and
    Infinity literals are kept as text (jsonb has no such numbers; a field that needs a
    number still refuses them), and text the database cannot hold is refused."""
    try:
        obj = json.loads(text, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise InputError(
            file, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError:
        raise InputError(file, "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise InputError(file, f"invalid JSON: {exc}") from None
    check_storable(obj, file)
    return obj


def check_storable(obj: Any, file: str) -> None:
    """Refuse a NUL or a lone surrogate anywhere in decoded JSON, naming its key path (never
    the value: the error itself is stored in the job's jsonb errors)."""
    stack: list[tuple[str, Any]] = [("", obj)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            bad = _UNSTORABLE.search(value) is not None
        elif isinstance(value, dict):
            bad = any(_UNSTORABLE.search(key) for key in value)
            if not bad:
                stack.extend((f"{path}.{k}" if path else k, v) for k, v in value.items())
        else:
            bad = False
            if isinstance(value, list):
                stack.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
        if bad:
            raise InputError(
                file,
                "text holds a NUL character or an unpaired \\u surrogate escape",
                column=path or None,
            )
