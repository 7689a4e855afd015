"""Deleting a stored backtest, and keeping its run's pass count in step."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backtestdb.backtests.service import get_backtest
from backtestdb.models import Backtest, Run
from backtestdb.storage import Storage


def delete_backtest(session: Session, backtest_id: uuid.UUID, storage: Storage) -> None:
    """Delete the backtest (its trades, parameters and days cascade); jobs keep a NULL link.

    The raw files go too; the caller commits right after, so a crash in between leaves at
    worst files without a row, never a row without its files' record."""
    backtest = get_backtest(session, backtest_id)
    run_id = backtest.run_id
    session.delete(backtest)
    session.flush()
    if run_id is not None:
        recount_passes(session, run_id)
    storage.remove(backtest_id)


def recount_passes(session: Session, run_id: uuid.UUID) -> None:
    """The run's pass count, from its backtests as this transaction sees them."""
    count = select(func.count()).where(Backtest.run_id == run_id).scalar_subquery()
    session.execute(update(Run).where(Run.id == run_id).values(pass_count=count))
