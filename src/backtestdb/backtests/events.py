"""One trade and its position events (the trade_events of an events.json ingest), for the
API and the dashboard."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from backtestdb.backtests.service import require_backtest
from backtestdb.errors import NotFound
from backtestdb.models import Trade, TradeEvent


def get_trade(session: Session, backtest_id: uuid.UUID, trade_number: int) -> Trade:
    """NotFound for an unknown backtest or trade number."""
    require_backtest(session, backtest_id)
    trade = session.get(Trade, (backtest_id, trade_number))
    if trade is None:
        raise NotFound(f"Trade {trade_number} of backtest {backtest_id} not found")
    return trade


def trade_events(session: Session, backtest_id: uuid.UUID, trade_number: int) -> list[TradeEvent]:
    """The events of one trade in serial order: empty for a trade that has none (one
    ingested from a CSV or a report); NotFound for an unknown backtest or trade."""
    get_trade(session, backtest_id, trade_number)
    query = (
        select(TradeEvent)
        .where(TradeEvent.backtest_id == backtest_id, TradeEvent.trade_number == trade_number)
        .order_by(TradeEvent.serial)
    )
    return list(session.scalars(query))


def has_events(session: Session, backtest_id: uuid.UUID) -> bool:
    """Whether the backtest came with position events (an events.json)."""
    query = select(TradeEvent.serial).where(TradeEvent.backtest_id == backtest_id).limit(1)
    return session.scalar(query) is not None
