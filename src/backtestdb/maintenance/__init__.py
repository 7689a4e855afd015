"""Upkeep of a running database: old jobs, VACUUM and sizes (`upkeep`), and archiving old
backtests into self-contained bundles and restoring them (`archive`, `bundle`, `restore`).

Imports `backtestdb.backtests`, `analytics` and the foundations; only the CLI imports it.
"""
