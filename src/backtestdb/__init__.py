"""backtestdb: cTrader backtest exports (reports, History CSVs, events.json, parameter
sets) in a queryable database, served by a CLI, a REST API and a dashboard.

The edges (`cli`, `server`, `web`, `api`) import the domain packages (`jobs`,
`maintenance`, `ingest`, `analytics`, `backtests`), which import the foundations
(`parsing`, `models`, `db`, `storage`, `schemas`, `config`, `errors`, `money`); never
the other way (`lint-imports` checks it).
"""
