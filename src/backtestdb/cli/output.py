"""How the CLI prints: rich tables for people, JSON (`--json`) for scripts."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from backtestdb.errors import BacktestdbError
from backtestdb.schemas import BacktestOut, Schema

console = Console()
errors_console = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def dump(model: Schema) -> dict[str, Any]:
    return model.model_dump(mode="json")


def fail(error: BacktestdbError, as_json: bool) -> None:
    show_error(error, as_json)
    raise typer.Exit(1)


def show_error(error: BacktestdbError, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "detail": error.message,
                "job_id": str(error.job_id) if error.job_id else None,
                "error_count": error.error_count,
                "errors": [e.as_dict() for e in error.errors],
            }
        )
    else:
        errors_console.print(f"[bold red]Error:[/] {error.message}")
        if error.errors:
            errors_console.print(row_table("Problems", [e.as_dict() for e in error.errors]))
        if error.error_count > len(error.errors):
            errors_console.print(f"… and {error.error_count - len(error.errors)} more")
        if error.job_id:
            errors_console.print(f"Job {error.job_id} recorded the failure.")


ROW_ERROR_COLUMNS = ("file", "row", "column", "value", "message")


def row_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ROW_ERROR_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row[c]) for c in ROW_ERROR_COLUMNS))
    return table


def summary_table(backtest: BacktestOut) -> Table:
    table = Table(title=f"Backtest {backtest.id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    # Python values, not JSON ones: Decimals keep their cents ("10000.00", not 10000.0).
    for field, value in backtest.model_dump().items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        table.add_row(field, "" if shown is None else str(shown))
    return table
