"""The History CSV fast path of the COPY ingest: one regular expression per row.

With one connection the server's COPY work is the ceiling, so the client must stay under
it. Rows of the usual shape are checked with one compiled pattern over the record's text
(built for the file's own column order) and their original text goes to COPY: turning
parsed numbers back into text would cost more than parsing them.

`TradeValidator` stays the one definition of a valid row: the pattern accepts only a
subset of what the validator accepts, with identical stored values (tests compare both
paths), and every row the pattern refuses is handed to the validator.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from operator import itemgetter

from backtestdb.ingest.derived import Deriver
from backtestdb.ingest.validation import TradeValidator
from backtestdb.money import money_text
from backtestdb.parsing.fields import DIRECTION_ALIASES
from backtestdb.parsing.records import EMPTY_MARKS, TradeSource

# Bounds and decimal places as `validation` enforces them; {S} is the separator.
_PRICE = r"(?=[^{S}]*[1-9])\d{{1,11}}(?:\.\d{{1,8}})?"
_SIZE = r"\d{{1,15}}(?:\.\d{{1,4}})?"
_PIPS = r"-?\d{{1,11}}(?:\.\d{{1,4}})?"
_MONEY = r"-?\d{{1,15}}(?:\.\d{{1,2}})?"
# Money with exactly two decimals, as cTrader writes it: its cents are its digits.
_CENTS = r"-?\d{{1,15}}\.\d\d"
_DAY = r"(?:0[1-9]|[12]\d|3[01])/(?:0[1-9]|1[0-2])/(?:19[7-9]\d|20\d\d|2100)"
_TIME = _DAY + r" \d\d:\d\d:\d\d\.\d{{3}}"
# field: (pattern, required)
FIELDS: dict[str, tuple[str, bool]] = {
    "deal_id": (r"[1-9]\d{{0,17}}", False),
    "open_time": (_TIME, True),
    "close_time": (_TIME, True),
    "entry_price": (_PRICE, True),
    "exit_price": (_PRICE, True),
    "quantity": (_SIZE, False),
    "volume": (_SIZE, False),
    "commission": (_CENTS, False),
    "swap": (_CENTS, False),
    "pips": (_PIPS, False),
    "gross_profit": (_MONEY, False),
    "profit": (_CENTS, True),
    "balance": (_CENTS, False),
    "symbol": (r"[A-Za-z0-9._#/+-]{{1,64}}", True),
    "direction": (r"[^{S}]*", True),
    "label": (r"[^{S}]{{0,255}}", True),
    "comment": (r"[^{S}]*", True),
}
#: Group names in the order `encode` unpacks them.
ORDER = (
    *("deal_id", "open_time", "close_time", "entry_price", "exit_price", "quantity", "volume"),
    *("commission", "swap", "pips", "gross_profit", "profit", "balance"),
    *("symbol", "direction", "label", "comment"),
)
_DIRECTIONS = {"Buy": "buy", "Sell": "sell"}
#: One trade's columns after backtest_id and trade_number, as text (None: NULL), in
#: `writers.postgres.COLUMNS` order: what both writers take.
Fields = tuple[str | None, ...]


def row_pattern(source: TradeSource, separator: str) -> re.Pattern[str]:
    """One record joined by `separator`, in the file's column order, as named groups."""
    by_index = {index: name for name, index in source.indexes.items()}
    sep = re.escape(separator)
    parts = []
    for index in range(len(source.header)):
        name = by_index.get(index)
        if name is None:  # a recognised column we do not store (Closing Direction)
            parts.append(f"[^{sep}]*")
            continue
        pattern, required = FIELDS[name]
        body = pattern.format(S=sep, N=name)
        parts.append(f"(?P<{name}>{body})" if required else f"(?P<{name}>(?:{body})?)")
    return re.compile(sep.join(parts))


class CsvFastPath:
    """Checks and encodes one History CSV record, or says "ask the validator" (None).

    Enabled for files that have every column of a full cTrader export (any order), no
    unknown columns (those need a JSON document per row), no decimal comma, and one time
    zone for both time columns.
    """

    def __init__(self, source: TradeSource, validator: TradeValidator) -> None:
        offsets = source.utc_offsets
        self.enabled = (
            all(name in source.indexes for name in FIELDS)
            and not source.extra_columns
            and not source.decimal_comma
            and offsets.get("open_time") == offsets.get("close_time")
        )
        self.validator = validator
        self.offset = offsets.get("open_time", timedelta(0))
        if not self.enabled:
            return
        line_pattern = row_pattern(source, source.separator)
        self.match_line = line_pattern.fullmatch
        # Quoted records arrive as cells (a comment may hold the separator): joined by a
        # character no cell holds, they match the same pattern with the same groups.
        self.match_cells = row_pattern(source, "\x1f").fullmatch
        self.pick = itemgetter(*(line_pattern.groupindex[name] - 1 for name in ORDER))

    def encode(
        self, row: int, line: str | None, cells: list[str] | None, deriver: Deriver
    ) -> Fields | None:
        """The stored values after trade_number, as text, or None: ask the validator."""
        if line is not None:
            match = self.match_line(line)
        else:
            match = self.match_cells("\x1f".join(cells or ()))
        if match is None:
            return None
        (deal_id, opened, closed, entry, exit_, quantity, volume, commission, swap, pips,
         gross, profit, balance, symbol, written_direction, label, comment,
         ) = self.pick(match.groups())  # fmt: skip
        direction = _DIRECTIONS.get(written_direction) or DIRECTION_ALIASES.get(
            written_direction.casefold()
        )
        if direction is None or not _plain(label, comment):
            return None
        open_utc = utc_from_ctrader(opened, self.offset)
        close_utc = utc_from_ctrader(closed, self.offset)
        if open_utc is None or close_utc is None or close_utc < open_utc:
            return None
        if deal_id and self.validator.first_row_of(int(deal_id), row) != row:
            return None  # the validator names the first row
        balance_after, drawdown, drawdown_percent = deriver.add(
            row,
            symbol,
            direction,
            open_utc,
            close_utc,
            int(profit.replace(".", "")),
            int(commission.replace(".", "")) if commission else 0,
            int(swap.replace(".", "")) if swap else 0,
            int(balance.replace(".", "")) if balance else None,
        )
        return (
            deal_id or None, symbol, direction, open_utc, close_utc, entry, exit_,
            quantity or None, volume or None, commission or "0", swap or "0", pips or None,
            gross or None, profit, money_text(balance_after), money_text(drawdown),
            drawdown_percent, label or None, comment or None, None, None,
        )  # fmt: skip


def _plain(label: str, comment: str) -> bool:
    """Text the validator would store unchanged: no spaces at either end, no "—"."""
    for text in (label, comment):
        if text and (text[0].isspace() or text[-1].isspace() or text in EMPTY_MARKS):
            return False
    return True


def utc_from_ctrader(text: str, offset: timedelta) -> str | None:
    """ "dd/MM/yyyy HH:mm:ss.fff" at `offset` as UTC text; None if no such day (31/04)."""
    iso = f"{text[6:10]}-{text[3:5]}-{text[0:2]} {text[11:23]}"
    if not offset and text[0] != "3" and text[:2] != "29":
        return iso  # days 01-28 exist in every month; the pattern checked the rest
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return (moment - offset).isoformat(sep=" ", timespec="milliseconds") if offset else iso
