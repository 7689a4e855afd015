"""The HTTP API: thin routes over the same functions the CLI calls (see `app.create_app`)."""
