"""A short plain-English paragraph of a backtest's key figures (for search and RAG).

Only facts that are known are stated; a missing figure drops its sentence rather than
printing "None"."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from backtestdb.analytics.store import current_metrics
from backtestdb.models import Backtest


def money(value: Any) -> str:
    return f"{float(value):,.2f}"


def day(value: Any) -> str:
    return str(value)[:10]


def summary_text(session: Session, backtest: Backtest) -> str:
    metrics = current_metrics(session, backtest)
    everything, drawdown, returns = metrics["all"], metrics["drawdown"], metrics["returns"]
    market = backtest.symbol or ", ".join(backtest.symbols or []) or "no symbol"
    if backtest.period:
        market += f" ({backtest.period})"
    sentences = [f'Backtest "{backtest.name}" traded {market}']
    if metrics.get("period_start") and metrics.get("period_end"):
        sentences[0] += (
            f" from {day(metrics['period_start'])} to {day(metrics['period_end'])}"
            f" ({metrics['period_days']:g} days)"
        )
    sentences[0] += f", starting with a balance of {money(backtest.initial_balance)}."
    total = everything["total_trades"]
    if total == 0:
        sentences.append("It closed no trades.")
        return " ".join(sentences)
    initial = float(backtest.initial_balance)
    growth = f" ({everything['net_profit'] / initial * 100:.2f}% return)" if initial > 0 else ""
    sentences.append(
        f"It closed {total} trades, {everything['winning_trades']} winning and "
        f"{everything['losing_trades']} losing (win rate {everything['win_rate']:.2f}%), "
        f"for a net profit of {money(everything['net_profit'])}{growth} and an ending "
        f"balance of {money(metrics['ending_balance'])}."
    )
    parts = [f"average trade {money(everything['average_trade'])}"]
    if everything["profit_factor"] is not None:
        parts.insert(0, f"profit factor {everything['profit_factor']:.2f}")
    for key in ("average_win", "average_loss", "largest_win", "largest_loss"):
        label = key.replace("_", " ")
        if everything[key] is not None:
            parts.append(f"{label} {money(everything[key])}")
    sentences.append(parts[0][0].upper() + "; ".join(parts)[1:] + ".")
    long, short = metrics["long"], metrics["short"]
    sentences.append(
        f"Long trades made {money(long['net_profit'])} over {long['total_trades']}, short "
        f"trades {money(short['net_profit'])} over {short['total_trades']}."
    )
    if drawdown["max_amount"] > 0:
        text = (
            f"The largest balance drawdown was {money(drawdown['max_amount'])} "
            f"({drawdown['max_percent']:.2f}%), from a peak on {day(drawdown['peak_time'])} "
            f"to a trough on {day(drawdown['trough_time'])}"
        )
        recovery = drawdown["recovery_time"]
        text += f", recovered on {day(recovery)}." if recovery else ", never recovered."
        sentences.append(text)
    else:
        sentences.append("The balance never fell below a previous high.")
    ratios = [
        f"{label} {returns[key]:.2f}{unit}"
        for key, label, unit in (
            ("sharpe_ratio", "Sharpe ratio", ""),
            ("sortino_ratio", "Sortino ratio", ""),
            ("cagr_percent", "CAGR", "%"),
        )
        if returns.get(key) is not None
    ]
    if ratios:
        sentences.append(ratios[0][0].upper() + ", ".join(ratios)[1:] + ".")
    # A file without fee columns has unknown (null) fees: no sentence rather than "0.00".
    commissions, swaps = everything.get("commissions"), everything.get("swaps")
    if commissions is not None and swaps is not None:
        sentences.append(f"Commissions came to {money(commissions)} and swaps to {money(swaps)}.")
    elif commissions is not None or swaps is not None:
        name, value = ("Commissions", commissions) if commissions is not None else ("Swaps", swaps)
        sentences.append(f"{name} came to {money(value)}.")
    if backtest.reconciliation is not None:
        if backtest.reconciliation.get("status") == "reconciled":
            sentences.append("These figures agree with the platform's report.")
        else:
            names = [i["metric"] for i in backtest.reconciliation["items"] if not i["matches"]]
            sentences.append(f"The platform's report differs on {', '.join(names)}.")
    return " ".join(sentences)
