"""Time cells of a whole column at a time: cTrader's "dd/MM/yyyy HH:mm:ss[.fff]" and
"dd MMM yyyy HH:mm:ss[.fff]" at the header's offset, and epoch milliseconds (a report's),
as microseconds since the epoch (UTC).

A subset of what `parsing.values.to_utc` takes: two-digit fields, years 1971-2099 (so the
offset can move no time out of the validator's 1970-2100), days that exist. Any other
cell is null and its row goes to the validator.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.parsing.values import MAX_EPOCH_MS

_CLOCK = r" (?P<H>[01]\d|2[0-3]):(?P<M>[0-5]\d):(?P<S>[0-5]\d)(?:\.(?P<f>\d{1,6}))?$"
_SLASH = r"^(?P<d>\d\d)/(?P<m>\d\d)/(?P<y>\d{4})" + _CLOCK
_NAMED = r"^(?P<d>\d\d) (?P<m>[A-Za-z]{3}) (?P<y>\d{4})" + _CLOCK
_MONTHS = pa.array(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
)
#: Epoch milliseconds as `to_utc` reads them in text (a report's are numbers: as text).
_EPOCH_MS = r"^\d{11,13}$"
_DAYS_IN_MONTH = pa.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], pa.int64())
MICROS = 1_000_000
DAY_MICROS = 86_400 * MICROS


def _int(part: Any) -> Any:
    return pc.cast(part, pa.int64())


def _days_from_civil(year: Any, month: Any, day: Any) -> Any:
    """Days since 1970-01-01 (H. Hinnant's algorithm; every year here is positive)."""
    early = pc.less_equal(month, 2)
    y = pc.subtract(year, pc.cast(early, pa.int64()))
    era = pc.divide(y, 400)
    yoe = pc.subtract(y, pc.multiply(era, 400))
    shifted = pc.if_else(early, pc.add(month, 9), pc.subtract(month, 3))
    doy = pc.add(pc.divide(pc.add(pc.multiply(shifted, 153), 2), 5), pc.subtract(day, 1))
    doe = pc.add(
        pc.subtract(pc.add(pc.multiply(yoe, 365), pc.divide(yoe, 4)), pc.divide(yoe, 100)),
        doy,
    )
    return pc.subtract(pc.add(pc.multiply(era, 146097), doe), 719468)


def _leap(year: Any) -> Any:
    by4 = pc.equal(pc.subtract(year, pc.multiply(pc.divide(year, 4), 4)), 0)
    by100 = pc.equal(pc.subtract(year, pc.multiply(pc.divide(year, 100), 100)), 0)
    by400 = pc.equal(pc.subtract(year, pc.multiply(pc.divide(year, 400), 400)), 0)
    return pc.and_(by4, pc.or_(pc.invert(by100), by400))


def _field(cells: Any, start: int, stop: int | None = None) -> Any:
    return pc.utf8_slice_codeunits(cells, start, stop if stop is not None else 1 << 30)


def epoch_micros(cells: Any) -> Any:
    """UTC microseconds of epoch-millisecond cells (no offset applies to these), null for
    any other cell and past the validator's last year."""
    taken = pc.match_substring_regex(cells, _EPOCH_MS)
    ms = pc.cast(pc.if_else(taken, cells, None), pa.int64())
    return pc.multiply(pc.if_else(pc.less(ms, MAX_EPOCH_MS), ms, None), 1000)


def micros(cells: Any, offset: timedelta) -> Any:
    """UTC microseconds of each time cell (null: empty or a form not taken here).

    The forms are fixed-width up to the fraction, so once a cell matches one, its fields
    are slices (cheaper than a regex's captures)."""
    taken = pc.match_substring_regex(cells, _SLASH)
    named = not pc.any(taken).as_py() and bool(pc.any(pc.is_valid(cells)).as_py())
    if named:
        taken = pc.match_substring_regex(cells, _NAMED)
        if not pc.any(taken).as_py():
            return epoch_micros(cells)
    cells = pc.if_else(taken, cells, None)
    at = 1 if named else 0  # a named month is three letters, not two digits
    year = _int(_field(cells, 6 + at, 10 + at))
    if named:
        index = pc.index_in(pc.utf8_lower(_field(cells, 3, 6)), value_set=_MONTHS)
        month = pc.add(pc.cast(index, pa.int64()), 1)
    else:
        month = _int(_field(cells, 3, 5))
    day = _int(_field(cells, 0, 2))
    in_range = pc.and_(
        pc.and_(pc.greater_equal(year, 1971), pc.less_equal(year, 2099)),
        pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12)),
    )
    month = pc.if_else(in_range, month, None)
    longest = pc.add(
        pc.take(_DAYS_IN_MONTH, pc.subtract(month, 1)),
        pc.cast(pc.and_(pc.equal(month, 2), _leap(year)), pa.int64()),
    )
    exists = pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, longest))
    fraction = _field(cells, 20 + at)  # after "HH:MM:SS."; "" when there is none
    micro = _int(pc.if_else(pc.equal(fraction, ""), "0", pc.utf8_rpad(fraction, 6, "0")))
    seconds = pc.add(
        pc.add(
            pc.multiply(_int(_field(cells, 11 + at, 13 + at)), 3600),
            pc.multiply(_int(_field(cells, 14 + at, 16 + at)), 60),
        ),
        _int(_field(cells, 17 + at, 19 + at)),
    )
    total = pc.add(
        pc.add(
            pc.multiply(_days_from_civil(year, month, day), DAY_MICROS),
            pc.multiply(seconds, MICROS),
        ),
        micro,
    )
    shift = offset // timedelta(microseconds=1)
    return pc.if_else(pc.fill_null(exists, False), pc.subtract(total, shift), None)
