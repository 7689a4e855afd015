"""The web dashboard: server-rendered pages at /ui, static files at /ui/static.

Scripts and styles are vendored under `static/` (see static/vendor/README.md): the
dashboard needs no internet. Imports `api.deps` for its requests, the domain packages and
the foundations; `server` mounts it.
"""

from backtestdb.web import run_pages, trade_events
from backtestdb.web.routes import router
from backtestdb.web.templating import STATIC_DIR

router.include_router(trade_events.router)
router.include_router(run_pages.router)

__all__ = ["STATIC_DIR", "router"]
