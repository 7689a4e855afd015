"""Trade event routes: the position events an events.json gave for one trade."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from backtestdb.api.deps import ApiKeyDep, SessionDep, SingleQueryDep
from backtestdb.api.openapi import error_responses
from backtestdb.backtests import MAX_INT
from backtestdb.backtests.events import trade_events
from backtestdb.schemas import TradeEventList, TradeEventOut

router = APIRouter(prefix="/api/v1", tags=["backtests"], dependencies=[ApiKeyDep, SingleQueryDep])


@router.get(
    "/backtests/{backtest_id}/trades/{trade_number}/events",
    summary="One trade's position events (events.json): stop-loss, take-profit, equity",
    responses=error_responses(401, 404, 422, 503),
)
def list_trade_events(
    backtest_id: uuid.UUID,
    trade_number: Annotated[int, Path(ge=1, le=MAX_INT)],
    session: SessionDep,
) -> TradeEventList:
    """In serial order. An empty list for a trade without events (its backtest came from a
    History CSV or a report); 404 for an unknown backtest or trade number."""
    events = trade_events(session, backtest_id, trade_number)
    return TradeEventList(items=[TradeEventOut.model_validate(e) for e in events])
