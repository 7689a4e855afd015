"""The trades of an entry-ordered file fed to the metric set in close-time order as they
are read (cTrader's backtest History export lists trades by their opening).

A trade is held until no later trade can close before it: the later ones open no
earlier than the last opening seen, so every held trade closing before that is let out,
in close order (`block_figures.add_block` puts trades closing at one instant in their
canonical order). Only the positions still open at the last opening are held. When the
file breaks that order (an opening earlier than one before it, or none), or more than
`MAX_HELD` trades would wait, `add` says so and the metric set is computed afterwards
from the stored trades, as for any other file out of order.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from backtestdb.analytics.block_figures import add_block
from backtestdb.analytics.figures import FiguresAccumulator

#: The most trades held (bounded memory: BLOCK_COLUMNS are about 60 bytes a trade).
MAX_HELD: Final = 200_000


class CloseOrder:
    def __init__(self, figures: FiguresAccumulator) -> None:
        self.figures = figures
        self._held: pa.Table | None = None
        #: The last opening seen: no later trade opens, so closes, before it.
        self._frontier: int | None = None

    def add(self, rows: pa.Table) -> bool:
        """Feed a block of `block_figures.BLOCK_COLUMNS` in file order; False when the
        file is not in opening order (nothing more can be fed)."""
        opens = rows.column("open_us").combine_chunks()
        if len(opens) == 0:
            return True
        if opens.null_count or not _ascending(opens, self._frontier):
            return False
        self._frontier = opens[len(opens) - 1].as_py()
        held = rows if self._held is None else pa.concat_tables([self._held, rows])
        held = held.take(pc.sort_indices(held, sort_keys=[("close_us", "ascending")]))
        closes = held.column("close_us")
        due = int(pc.sum(pc.less(closes, self._frontier)).as_py() or 0)
        if due:
            add_block(self.figures, held.slice(0, due))
        self._held = held.slice(due)
        return bool(self._held.num_rows <= MAX_HELD)

    def finish(self) -> None:
        """Feed the trades still held (the file has ended: none can close before them)."""
        if self._held is not None and self._held.num_rows:
            add_block(self.figures, self._held)
        self._held = None


def _ascending(opens: pa.Array, after: int | None) -> bool:
    """Whether the openings never go back, nor before `after`."""
    if after is not None and pc.min(opens).as_py() < after:
        return False
    if len(opens) < 2:
        return True
    return bool(pc.all(pc.greater_equal(opens[1:], opens[:-1])).as_py())
