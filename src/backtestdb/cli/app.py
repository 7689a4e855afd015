"""The `backtestdb` command: a thin layer over the same functions the API calls."""

from __future__ import annotations

import sys

import pyarrow
import typer
from pydantic import ValidationError

from backtestdb.cli import analytics, backtests, database, maintenance, runs, service
from backtestdb.cli.output import show_error
from backtestdb.errors import BacktestdbError

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
backtests.register(app)  # ingest, list, show, delete, jobs
analytics.register(app)  # stats, compare, export
service.register(app)  # serve, worker
app.add_typer(database.app, name="db")
app.add_typer(maintenance.app, name="maintenance")
app.add_typer(runs.app, name="runs")


def main() -> None:
    """Console entry point: errors raised before a command handles them (an unreachable or
    unmigrated database) still print as one readable line, not a traceback."""
    # Ctrl-C and SIGTERM are the commands' to handle (a batch stops after the current
    # backtest). pyarrow would otherwise catch one that lands during a read and raise
    # ArrowCancelled, failing the backtest being read.
    pyarrow.enable_signal_handlers(False)
    try:
        app()
    except BacktestdbError as error:
        show_error(error, "--json" in sys.argv)
        sys.exit(1)
    except ValidationError as error:
        if error.title != "Settings":  # a model of ours refusing data is a bug: surface it
            raise
        show_error(BacktestdbError(settings_problem(error)), "--json" in sys.argv)
        sys.exit(1)


def settings_problem(error: ValidationError) -> str:
    """`Invalid settings: API_KEYS is only separators…`, each named as its variable."""
    problems = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"]).upper()
        message = item["msg"].removeprefix("Value error, ")
        problems.append(message if name in message else f"{name}: {message}")
    return "Invalid settings: " + "; ".join(problems)
