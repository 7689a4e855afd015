"""The two trade writers, fed the same text rows (`ingest.stored_rows`): `postgres` streams
them into COPY, `portable` inserts them in batches (SQLite)."""
