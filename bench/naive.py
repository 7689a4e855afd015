"""The baseline a user would write by hand: csv module, typed values, SQLAlchemy
executemany in batches of 10,000, running balance computed on the way.

    python bench/naive.py HISTORY.csv DATABASE_URL
"""

from __future__ import annotations

import csv
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert

from backtestdb.config import normalize_database_url
from backtestdb.db import make_engine
from backtestdb.models import Backtest, Trade


def when(text: str) -> datetime:
    return datetime.strptime(text, "%d/%m/%Y %H:%M:%S.%f").replace(tzinfo=UTC)


def main(path: str, url: str) -> None:
    engine = make_engine(normalize_database_url(url))
    backtest_id = uuid.uuid4()
    with engine.begin() as connection, open(path, newline="") as stream:
        connection.execute(
            insert(Backtest),
            [{"id": backtest_id, "name": "naive", "initial_balance": Decimal(10000)}],
        )
        balance, peak, batch = Decimal(10000), Decimal(10000), []
        for number, row in enumerate(csv.DictReader(stream), start=1):
            profit = Decimal(row["Net"])
            balance += profit
            peak = max(peak, balance)
            batch.append({
                "backtest_id": backtest_id, "trade_number": number, "deal_id": row["Deal ID"],
                "symbol": row["Symbol"], "direction": row["Opening Direction"].lower(),
                "open_time": when(row["Opening Time (UTC+0)"]),
                "close_time": when(row["Closing Time (UTC+0)"]),
                "entry_price": Decimal(row["Entry Price"]),
                "exit_price": Decimal(row["Closing Price"]),
                "quantity": Decimal(row["Closing Quantity"]),
                "volume": Decimal(row["Closing Volume"]),
                "commission": Decimal(row["Commissions"]), "swap": Decimal(row["Swap"]),
                "pips": Decimal(row["Pips"]), "gross_profit": Decimal(row["Gross"]),
                "profit": profit, "balance_after": balance, "drawdown": peak - balance,
                "drawdown_percent": (peak - balance) * 100 / peak, "label": row["Label"],
                "comment": row["Comment"] or None,
            })  # fmt: skip
            if len(batch) == 10_000:
                connection.execute(insert(Trade), batch)
                batch = []
        if batch:
            connection.execute(insert(Trade), batch)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
