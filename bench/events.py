"""events.json as cTrader writes it beside a backtest: position events in time order.

The first `trades` trades of the model (one symbol: the file has no symbol key) are closed;
the next two are left open (a Create Position and nothing more). Each position's events
are chosen by its number: number % 4 == 0 sets S/L and T/P and usually ends in a hit,
1 moves its S/L half-way, 2 sets a T/P half-way, 3 just opens and closes. Money and prices
are floats with the binary noise cTrader's doubles carry, each within a few ulps of the
exact value, so rounding to cents (prices: the symbol's decimals) gives it back.
Streamed: positions overlap, so events wait in a buffer bounded by MAX_HOLD_MS.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from itertools import islice
from typing import TextIO

from bench.layouts import side
from bench.model import MAX_HOLD_MS, Totals, Trade, floating_gross, iter_trades

CREATE, MODIFY, CLOSE = 0, 1, 2
STOP = 400  # points from entry: beyond any generated move, so never hit unless placed so


def money(*cents: int) -> float:
    """The float sum of amounts given in cents: noisy, as a double balance is."""
    return sum(part / 100 for part in cents)


def price(trade: Trade, points: int | None) -> float | None:
    return None if points is None else points * 10.0**-trade.decimals


def stops(trade: Trade, stage: int) -> tuple[int | None, int | None]:
    """(S/L, T/P) in points after the event at `stage`."""
    kind = trade.number % 4
    if kind == 0:
        loss = trade.exit if trade.move < 0 else trade.level(-STOP)
        return loss, trade.exit if trade.move > 0 else trade.level(STOP)
    if kind == 1:
        return trade.level(-STOP + (STOP // 8 if stage else 0)), None
    if kind == 2 and stage:
        return None, trade.level(STOP)
    return None, None


def closing_event(trade: Trade) -> str:
    if trade.number % 4 == 0 and trade.move:
        return "Take Profit Hit" if trade.move > 0 else "Stop Loss Hit"
    return "Position closed"


def schedule(trade: Trade, closed: bool) -> Iterator[tuple[int, int, int, Trade]]:
    """The (time, position, stage, trade) events of one position."""
    yield trade.opened_ms, trade.number, CREATE, trade
    if closed:
        if trade.number % 4 in (1, 2):
            half_way = (trade.opened_ms + trade.closed_ms) // 2
            yield half_way, trade.number, MODIFY, trade
        yield trade.closed_ms, trade.number, CLOSE, trade


def time_ordered(model: Iterator[Trade], trades: int) -> Iterator[tuple[int, int, Trade]]:
    """(time, stage, trade) of every event in time order: a trade closing later opens no
    earlier than its close minus MAX_HOLD_MS, so earlier events can be let out."""
    heap: list[tuple[int, int, int, Trade]] = []
    for trade in islice(model, trades + 2):
        bound = trade.closed_ms - MAX_HOLD_MS
        while heap and heap[0][0] <= bound:
            time, _, stage, done = heapq.heappop(heap)
            yield time, stage, done
        for event in schedule(trade, closed=trade.number <= trades):
            heapq.heappush(heap, event)
    while heap:
        time, _, stage, done = heapq.heappop(heap)
        yield time, stage, done


def write_events(
    out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000,
    symbol: str = "EURUSD", *, edge: int = 0,
) -> Totals:  # fmt: skip
    """Write events.json for `trades` closed positions plus two left open (`edge`: the
    model's)."""
    totals = Totals(initial_cents=capital_cents, final_cents=capital_cents)
    floating: dict[int, int] = {}  # open position -> its floating gross (cents)
    balance, open_gross = capital_cents, 0
    out.write("[")
    model = iter_trades(seed, capital_cents, (symbol,), edge=edge)
    for time, stage, t in time_ordered(model, trades):
        sl, tp = stops(t, stage)
        event: dict[str, object] = {
            "serial": totals.events + 1, "orderId": t.order_id, "positionId": t.number,
            "event": "Create Position", "time": time, "volume": float(t.volume),
            "quantity": t.volume / t.lot, "type": side(t.buy),
            "entryPrice": price(t, t.entry), "tp": price(t, tp), "sl": price(t, sl),
        }  # fmt: skip
        if stage == CREATE:
            floating[t.number] = 0
        elif stage == MODIFY:
            floating[t.number] = half = floating_gross(t)
            open_gross += half
            modified = "S/L" if t.number % 4 == 1 else "T/P"
            event["event"] = f"Position Modified ({modified})"
            event["grossProfit"] = money(half)
            event["pips"] = t.move // 2 / t.pip
        else:
            open_gross -= floating.pop(t.number)
            previous, balance = balance, t.balance
            event["event"] = closing_event(t)
            event["closePrice"] = price(t, t.exit)
            event["grossProfit"] = t.move * t.volume * 10.0**-t.decimals  # the price move's worth
            event["pips"] = t.move / t.pip
            event["balance"] = money(previous, t.gross, t.commission, t.swap)
            totals.add(t)
        event["equity"] = money(balance, open_gross)
        out.write(("\n" if totals.events == 0 else ",\n") + json.dumps(event))
        totals.events += 1
    out.write("\n]\n")
    totals.open_positions = len(floating)
    return totals
