"""The columnar ingest path of History CSVs: blocks read by pyarrow.csv, normalised and
checked a column at a time, derived by cumulative sums, written as one COPY (or SQLite
batches) from the same blocks.

`store.store_trades` is its entry; the pipeline takes it for every History CSV it can
read (`store.reads`). Rows it cannot check go to `TradeValidator`, and the rest of a
file from a block it cannot read whole goes through the row path's reader: both paths
store the same rows and report the same errors (tests/test_columnar.py compares them).
`ROW_PATH_ONLY` turns it off (tests compare the two paths with it).
"""

ROW_PATH_ONLY = False
