"""The Alembic migration scripts (`versions/`) and their environment; `db` applies them."""
