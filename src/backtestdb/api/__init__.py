"""The JSON API under /api/v1 and /health: one module per resource, thin routes over the
same services the CLI calls; `deps` gives each request its transaction.

Imports the domain packages and the foundations; `web` and `server` import it.
"""
