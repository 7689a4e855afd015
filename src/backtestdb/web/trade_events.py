"""The dashboard's page of one trade: its position events (an events.json's) and the path
of its stop-loss, drawn in the browser from the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from backtestdb import backtests
from backtestdb.api.deps import SessionDep
from backtestdb.backtests.events import get_trade, trade_events
from backtestdb.errors import BacktestdbError, NotFound
from backtestdb.web.routes import error_page, parse_id
from backtestdb.web.templating import render

#: Included into `routes.router`, which gives the /ui prefix and the API key check.
router = APIRouter()


@router.get("/backtests/{backtest_id}/trades/{trade_number}")
def trade_page(
    request: Request, backtest_id: str, trade_number: str, session: SessionDep
) -> Response:
    try:
        found = backtests.get_backtest(session, parse_id(backtest_id, "backtest"))
        number = parse_number(trade_number)
        trade = get_trade(session, found.id, number)
        events = trade_events(session, found.id, number)
    except BacktestdbError as error:
        return error_page(request, error)
    context = {
        "title": f"Trade {number} · {found.name}",
        "backtest": found,
        "trade": trade,
        "events": events,
        "has_stops": any(e.stop_loss is not None or e.take_profit is not None for e in events),
    }
    return render(request, "trade.html", context)


def parse_number(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= backtests.MAX_INT:
        raise NotFound(f"No trade {raw[:64]!r}: not a trade number")
    return int(raw)
