"""What a cTrader export's file name says (pure).

cTrader names a backtest's History export `<yyyy-MM-dd HH-mm-ss> History - <cBot name>
(<symbol>, <timeframe>, <parameter values…>).csv`: it is the only place such a file
names its symbol and timeframe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BACKTEST_HISTORY = re.compile(
    r"\d{4}-\d\d-\d\d \d\d-\d\d-\d\d History - (?P<title>(?P<cbot>.+?)\s*"
    r"\((?P<symbol>[^,()]+?)\s*,\s*(?P<period>[^,()]+?)\s*(?:,[^()]*)?\))\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class NamedBacktest:
    """`title` is the name without the export time: "MACross (EURUSD, h1, 10, 20)"."""

    title: str
    cbot: str
    symbol: str
    period: str


def backtest_history_name(file_name: str) -> NamedBacktest | None:
    """The backtest a History export's file name describes, if it has cTrader's shape."""
    stem = re.sub(r"\.csv$", "", file_name.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    match = _BACKTEST_HISTORY.fullmatch(stem)
    if match is None:
        return None
    return NamedBacktest(
        title=match["title"], cbot=match["cbot"], symbol=match["symbol"], period=match["period"]
    )
