"""The command line: one module per command group, over the domain packages.

Commands parse options, call a service inside one transaction and print with `output`
(rich tables, or `--json`). May import anything in backtestdb; nothing imports it.
"""

from backtestdb.cli.app import app, main

__all__ = ["app", "main"]
