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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

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
    it is in this run now. The run counts it, and takes the symbol, timeframe and testing
    period of its first pass to arrive when it has none."""
    if backtest.run_id == run_id:
        return True  # stored by this run before (its pass number stays)
    if backtest.run_id is not None:
        return False
    backtest.run_id, backtest.pass_number = run_id, pass_number
    session.flush()
    session.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(
            pass_count=Run.pass_count + 1,  # atomic: concurrent passes of one run add up
            symbol=func.coalesce(Run.symbol, backtest.symbol),
            period=func.coalesce(Run.period, backtest.period),
            testing_start=func.coalesce(Run.testing_start, backtest.testing_start),
            testing_end=func.coalesce(Run.testing_end, backtest.testing_end),
        )
        .execution_options(synchronize_session=False)
    )
    return True
