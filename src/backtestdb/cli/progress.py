"""Progress bars on stderr: one backtest by bytes read, a batch by backtests done."""

from __future__ import annotations

import time

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from backtestdb.batches import BatchItem, FoundBacktest
from backtestdb.cli.output import errors_console


def file_bar(total_bytes: int, *, disable: bool) -> tuple[Progress, TaskID]:
    """One ingest: a bar over the trade source's bytes, the trades read and their rate."""
    progress = Progress(
        TextColumn("Ingesting"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[trades]:,} trades ({task.fields[rate]:,.0f}/s)"),
        TimeRemainingColumn(),
        console=errors_console,
        transient=True,
        disable=disable,
    )
    task = progress.add_task("ingest", total=max(total_bytes, 1), trades=0, rate=0.0)
    return progress, task


class FileProgress:
    """The request's `on_progress` for one ingest: (trades, bytes read)."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress, self.task = progress, task
        self.started = time.monotonic()

    def __call__(self, trades: int, bytes_read: int) -> None:
        rate = trades / max(time.monotonic() - self.started, 1e-6)
        self.progress.update(self.task, completed=bytes_read, trades=trades, rate=rate)


class BatchBar:
    """A batch: backtests done of the total, trades per second over the batch, an ETA."""

    def __init__(self, total: int, *, disable: bool) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", style="bold"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("backtests · {task.fields[rate]:,.0f} trades/s"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", style="dim"),
            console=errors_console,
            transient=True,
            disable=disable,
        )
        self.task = self.progress.add_task("Ingesting", total=total, rate=0.0, current="")
        self.started = time.monotonic()
        self.trades_done = 0

    def start(self, found: FoundBacktest, index: int) -> None:
        self.progress.update(self.task, current=found.label)

    def advance(self, trades: int, bytes_read: int) -> None:
        self._rate(self.trades_done + trades)

    def done(self, item: BatchItem) -> None:
        self.trades_done += item.trades if item.status == "ingested" else 0
        self._rate(self.trades_done)
        self.progress.advance(self.task)

    def _rate(self, trades: int) -> None:
        rate = trades / max(time.monotonic() - self.started, 1e-6)
        self.progress.update(self.task, rate=rate)
