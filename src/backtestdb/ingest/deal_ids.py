"""Which row first used each deal id, in little memory (for the duplicate check).

A dict of a million ints costs about 90 MB. cTrader numbers closing deals in close-time
order, so ids mostly arrive increasing: those are appended to a typed array and looked up
by bisection, their rows beside them (`FirstRows`: nothing while each row follows the one
before, as a file's rows mostly do, else a second typed array; 8 or 16 bytes a trade).
Ids that arrive out of order (all of an entry-ordered export's, nearly), and ids that are
not plain integers, go to a dict; once it holds many integers they move to a second pair
of arrays, kept sorted (a merge by Arrow's sort), so memory stays at 16 bytes a trade in
any order.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import pairwise

import pyarrow as pa
import pyarrow.compute as pc


def deal_key(deal_id: str) -> int | str:
    """The key a deal id is recorded under: plain digits as an integer (a million ints
    keep the structure small), anything else, "007" included, as its text."""
    plain = deal_id.isascii() and deal_id.isdigit() and not (deal_id[0] == "0" and len(deal_id) > 1)
    return int(deal_id) if plain else deal_id


#: Out-of-order integers the dict holds before they move to the sorted arrays (at least;
#: a quarter of those arrays' size, so that merges cost O(n log n) in all).
SPILL = 1 << 16
_INT64 = (-(2**63), 2**63)


def _int64s(values: array[int]) -> pa.Array:
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _array(values: pa.Array) -> array[int]:
    """An int64 Arrow array (offset 0, no nulls) as a typed array."""
    out = array("q")
    out.frombytes(values.buffers()[1].to_pybytes()[: 8 * len(values)])
    return out


class FirstRows:
    """The rows of the increasing ids, by index: `first + index` while each row is the one
    after the row before; a typed array from the first that is not."""

    def __init__(self) -> None:
        self.first, self.count = 0, 0
        self.stored: array[int] | None = None

    def __getitem__(self, at: int) -> int:
        return self.first + at if self.stored is None else self.stored[at]

    def append(self, row: int) -> None:
        if self.stored is None:
            if not self.count:
                self.first = row
            if row == self.first + self.count:
                self.count += 1
                return
            self._store()
        assert self.stored is not None
        self.stored.append(row)

    def extend(self, rows: Iterable[int]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.stored is None:
            if not self.count:
                self.first = rows[0]
            follow_on = self.first + self.count
            if rows == list(range(follow_on, follow_on + len(rows))):  # compared in C
                self.count += len(rows)
                return
            self._store()
        assert self.stored is not None
        self.stored.extend(rows)

    def _store(self) -> None:
        self.stored = array("q", range(self.first, self.first + self.count))


class DealIds:
    def __init__(self) -> None:
        self._ids = array("q")  # increasing
        self._rows = FirstRows()
        self._others: dict[int | str, int] = {}
        self._sorted_ids = array("q")  # out-of-order integers moved from the dict, sorted
        self._sorted_rows = array("q")

    def _sorted_row(self, deal_id: int) -> int | None:
        ids = self._sorted_ids
        at = bisect_left(ids, deal_id)
        return self._sorted_rows[at] if at < len(ids) and ids[at] == deal_id else None

    def _spill(self) -> None:
        """Move the dict's int64 keys into the sorted arrays, when it holds many."""
        if len(self._others) < max(SPILL, len(self._sorted_ids) // 4):
            return
        moved = {
            k: r for k, r in self._others.items() if type(k) is int and _INT64[0] <= k < _INT64[1]
        }
        if not moved:
            return
        ids = pa.concat_arrays([_int64s(self._sorted_ids), pa.array(list(moved), pa.int64())])
        rows = pa.concat_arrays(
            [_int64s(self._sorted_rows), pa.array(list(moved.values()), pa.int64())]
        )
        order = pc.sort_indices(ids)
        self._sorted_ids, self._sorted_rows = _array(ids.take(order)), _array(rows.take(order))
        for key in moved:
            del self._others[key]

    def first_row_of(self, deal_id: int | str, row: int) -> int:
        """The row where `deal_id` was first seen; records `row` when it is new."""
        ids = self._ids
        if type(deal_id) is int and -(2**63) <= deal_id < 2**63:
            if not ids or deal_id > ids[-1]:
                ids.append(deal_id)
                self._rows.append(row)
                return row
            at = bisect_left(ids, deal_id)
            if ids[at] == deal_id:
                return self._rows[at]
            if (first := self._sorted_row(deal_id)) is not None:
                return first
        first = self._others.setdefault(deal_id, row)
        if first == row:
            self._spill()
        return first

    def extend_new(self, deal_ids: list[int], rows: list[int]) -> bool:
        """Record a block of distinct ids none of which was seen before; False, recording
        nothing, when one repeats or is out of int64's range.

        A close-ordered export's block, each id above the one before and every id so
        far, extends the increasing arrays as it is. In another order (an entry-ordered
        export) those above every id so far extend them sorted and the rest go to the
        dict, which so holds only ids below the arrays' last, as `first_row_of` assumes."""
        if not deal_ids:
            return True
        if min(deal_ids) < -(2**63) or max(deal_ids) >= 2**63:
            return False
        ids = self._ids
        last = ids[-1] if ids else -(2**63) - 1
        if deal_ids[0] > last and all(a < b for a, b in pairwise(deal_ids)):
            ids.extend(deal_ids)  # the dict's ids are all below `last`: none can repeat
            self._rows.extend(rows)
            return True
        if len(set(deal_ids)) != len(deal_ids) or not self._others.keys().isdisjoint(deal_ids):
            return False
        for deal_id in deal_ids:
            if deal_id <= last and ids[bisect_left(ids, deal_id)] == deal_id:
                return False
            if self._sorted_ids and self._sorted_row(deal_id) is not None:
                return False
        above = sorted((i, r) for i, r in zip(deal_ids, rows, strict=True) if i > last)
        ids.extend(i for i, _ in above)
        self._rows.extend(r for _, r in above)
        self._others.update((i, r) for i, r in zip(deal_ids, rows, strict=True) if i <= last)
        self._spill()
        return True
