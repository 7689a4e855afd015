"""Deterministic generator of cTrader-style History CSVs of any size (streamed, flat memory).

    python bench/generate.py --trades 1000000 --out /tmp/history_1m.csv [--seed 7]

Money is kept in integer cents so the last Balance minus the initial balance equals the
sum of Net exactly; trades are written in close-time order, several symbols interleaved.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

HEADER = [
    "Deal ID", "Symbol", "Opening Direction", "Closing Direction", "Opening Time (UTC+0)",
    "Closing Time (UTC+0)", "Entry Price", "Closing Price", "Closing Quantity",
    "Closing Volume", "Swap", "Commissions", "Pips", "Gross", "Net", "Label", "Comment",
    "Balance",
]  # fmt: skip
# symbol: (base price in points, decimals, pip size in points, units per lot)
SYMBOLS = {
    "EURUSD": (108500, 5, 10, 100_000),
    "GBPUSD": (127000, 5, 10, 100_000),
    "XAUUSD": (203000, 2, 1, 100),
}
START = datetime(2020, 1, 2, tzinfo=UTC)


def cents(value: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 100)
    return f"{sign}{whole}.{frac:02d}"


def points(value: int, decimals: int) -> str:
    whole, frac = divmod(value, 10**decimals)
    return f"{whole}.{frac:0{decimals}d}"


def stamp(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def write_history(out: TextIO, trades: int, seed: int = 7, capital_cents: int = 1_000_000) -> int:
    """Write `trades` rows; returns the final balance in cents."""
    rng = random.Random(seed)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    balance = capital_cents
    close = START
    names = list(SYMBOLS)
    for number in range(1, trades + 1):
        symbol = names[number % len(names)]
        base, decimals, pip, lot = SYMBOLS[symbol]
        # About 5 minutes apart: a million trades span ten years, as a busy cBot's would.
        close += timedelta(milliseconds=rng.randint(6_000, 600_000))
        opened = close - timedelta(milliseconds=rng.randint(60_000, 36_000_000))
        buy = rng.random() < 0.52
        entry = base + rng.randint(-2000, 2000)
        move = rng.randint(-300, 320)
        exit_ = entry + (move if buy else -move)
        volume = lot // 10
        gross = move * volume * 100 // 10**decimals  # cents
        commission = -(volume * entry * 6 // 10**decimals // 10_000 + 1)
        swap = -rng.randint(0, 90) if rng.random() < 0.4 else 0
        net = gross + commission + swap
        balance += net
        writer.writerow([
            number * 2, symbol, "Buy" if buy else "Sell", "Sell" if buy else "Buy",
            stamp(opened), stamp(close), points(entry, decimals), points(exit_, decimals),
            "0.10", volume, cents(swap), cents(commission), f"{move / pip:.1f}",
            cents(gross), cents(net), "bench", "" if number % 7 else 'note, "quoted"',
            cents(balance),
        ])  # fmt: skip
    return balance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trades", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with args.out.open("w", newline="") as out:
        final = write_history(out, args.trades, args.seed)
    print(f"{args.trades} trades, final balance {cents(final)} -> {args.out}")


if __name__ == "__main__":
    main()
