"""The `backtestdb` command: a thin layer over the same functions the API calls."""

from __future__ import annotations

import sys

import typer

from backtestdb.cli import analytics, backtests, database, maintenance, service
from backtestdb.cli.output import show_error
from backtestdb.errors import BacktestdbError

app = typer.Typer(help=__doc__, no_args_is_help=True, pretty_exceptions_enable=False)
backtests.register(app)  # ingest, list, show, delete, jobs
analytics.register(app)  # stats, compare, export
service.register(app)  # serve, worker
app.add_typer(database.app, name="db")
app.add_typer(maintenance.app, name="maintenance")


def main() -> None:
    """Console entry point: errors raised before a command handles them (an unreachable or
    unmigrated database) still print as one readable line, not a traceback."""
    try:
        app()
    except BacktestdbError as error:
        show_error(error, "--json" in sys.argv)
        sys.exit(1)
