"""The run each backtest of a batch joins: one per Optimization folder, or one for the
whole batch when it is given a name; none for a loose backtest. Runs are found again by
`runs.run_for_batch`, so a batch run again (or after an interruption) joins the same run.
"""

from __future__ import annotations

import contextlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session, sessionmaker

from backtestdb import runs
from backtestdb.batches.discovery import FoundBacktest
from backtestdb.db import transaction
from backtestdb.errors import InputError
from backtestdb.ingest import IngestRequest, content_hash
from backtestdb.parsing.file_names import backtest_history_name
from backtestdb.parsing.parameters import chart_of
from backtestdb.storage import describe


@dataclass(frozen=True, slots=True)
class PassNames:
    """What names an optimisation's passes: only what lies inside the path given and the
    files themselves, so a zip of a folder names its passes as the folder does."""

    cbot: str | None
    symbol: str | None
    period: str | None
    #: The Optimization folder as given ("MACross/EURUSD h1/Optimization").
    folder: str

    @property
    def run(self) -> str:
        described = " ".join(p for p in (self.cbot, self.symbol, self.period) if p)
        return f"{described} Optimization" if described else self.folder

    def of_pass(self, number: int) -> str:
        return f"{self.run.removesuffix(' Optimization')} pass {number}"


def names_of(found: FoundBacktest) -> PassNames:
    """The cBot from cTrader's `<cBot>/<instance>/Optimization` path or its History file's
    name; the symbol and timeframe from the .cbotset's Chart (or that file's name)."""
    parts = PurePosixPath(found.label).parent.parts
    cbot = parts[-3] if len(parts) >= 3 else None
    named = backtest_history_name(found.history.name) if found.history is not None else None
    symbol, period = (named.symbol, named.period) if named is not None else (None, None)
    if found.parameters is not None and found.parameters.suffix.casefold() == ".cbotset":
        with contextlib.suppress(InputError):  # its ingest will say what is wrong with it
            chart = chart_of(found.parameters.read_bytes(), found.parameters.name)
            symbol, period = chart.symbol or symbol, chart.period or period
    return PassNames(cbot or (named.cbot if named else None), symbol, period,
                     "/".join(parts) or "Optimization")  # fmt: skip


def runs_for(
    factory: sessionmaker[Session],
    found: Sequence[FoundBacktest],
    requests: Sequence[IngestRequest | None],
    named: str | None,
) -> list[uuid.UUID | None]:
    """The run id of each backtest (None: no run), the runs made or found and committed."""
    groups: dict[tuple[str, str | None, str], list[int]] = defaultdict(list)
    for index, (backtest, request) in enumerate(zip(found, requests, strict=True)):
        if request is None:
            continue
        if named is not None:
            groups[(named, None, "batch")].append(index)
        elif backtest.optimization is not None:
            names = names_of(backtest)
            groups[(names.run, names.cbot, "optimization")].append(index)
    chosen: list[uuid.UUID | None] = [None] * len(found)
    if not groups:
        return chosen
    with transaction(factory) as session:
        for (name, cbot, kind), indexes in groups.items():
            hashes = [_hash(requests[i]) for i in indexes]
            run = runs.run_for_batch(
                session, name=name, kind=kind, hashes=hashes, named=named is not None
            )
            run.cbot = run.cbot or cbot
            for index in indexes:
                chosen[index] = run.id
    return chosen


def named_run(factory: sessionmaker[Session], request: IngestRequest, name: str) -> uuid.UUID:
    """The run named `name` (made when there is none) for one backtest's request."""
    [run_id] = runs_for(factory, [FoundBacktest(Path("."), name)], [request], name)
    assert run_id is not None
    return run_id


def _hash(request: IngestRequest | None) -> str:
    assert request is not None
    return content_hash([describe(f) for f in request.files], request)
