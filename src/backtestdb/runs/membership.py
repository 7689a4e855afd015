"""Which run a batch's backtests join, and the run's pass count and description.

A run is found again, never made twice for the same passes: by its name when the user
named it (`--run NAME`), else by its source key (a hash of its passes' content hashes,
so an interrupted batch run again finds its run even before any pass was stored), else by
the run most of the passes already belong to. Flushes, never commits.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from backtestdb.backtests import recount_passes
from backtestdb.models import Backtest, Run


def source_key(hashes: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()


def run_for_batch(
    session: Session, *, name: str, kind: str, hashes: Sequence[str], named: bool
) -> Run:
    """The run these passes (their content hashes) belong to, made when there is none."""
    if named:
        found = session.scalars(
            select(Run).where(Run.name == name).order_by(Run.created_at, Run.id).limit(1)
        ).first()
    else:
        key = source_key(hashes)
        found = session.scalars(select(Run).where(Run.source_key == key).limit(1)).first()
        found = found or _run_holding(session, hashes)
    if found is not None:
        return found
    run = Run(id=uuid.uuid4(), name=name, kind=kind, source_key=None if named else key)
    session.add(run)
    session.flush()
    return run


def _run_holding(session: Session, hashes: Sequence[str]) -> Run | None:
    """The run holding most of these passes already (a batch that grew, re-run)."""
    held: Counter[uuid.UUID] = Counter()
    for start in range(0, len(hashes), 500):  # bounded IN lists on both backends
        query = select(Backtest.run_id).where(
            Backtest.content_hash.in_(hashes[start : start + 500]), Backtest.run_id.is_not(None)
        )
        held.update(run_id for run_id in session.scalars(query) if run_id is not None)
    if not held:
        return None
    return session.get(Run, held.most_common(1)[0][0])


def attach(
    session: Session, backtest: Backtest, run_id: uuid.UUID, pass_number: int | None
) -> bool:
    """Put the backtest in the run, unless it is a pass of another run already; True when
    it is in this run now. The run's count and description follow."""
    if backtest.run_id == run_id:
        return True  # stored by this run before (its pass number stays)
    if backtest.run_id is not None:
        return False
    backtest.run_id, backtest.pass_number = run_id, pass_number
    session.flush()
    refresh_run(session, run_id)
    return True


def refresh_run(session: Session, run_id: uuid.UUID) -> None:
    """The pass count from the backtests, and the cBot-independent description (symbol,
    timeframe, testing period) from its first pass when the run has none yet."""
    recount_passes(session, run_id)
    run = session.get_one(Run, run_id, populate_existing=True)
    if run.symbol is None:
        first = session.scalars(
            select(Backtest)
            .where(Backtest.run_id == run_id)
            .order_by(Backtest.pass_number.asc().nulls_last(), Backtest.created_at)
            .limit(1)
        ).first()
        if first is not None:
            run.symbol, run.period = first.symbol, first.period
            run.testing_start, run.testing_end = first.testing_start, first.testing_end
    session.flush()
