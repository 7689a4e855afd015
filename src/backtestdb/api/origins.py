"""Which browser pages may write here: `refuse_cross_site`, a dependency of every route.

A page on any site can make a browser send a form POST or a `fetch` DELETE to this
server; CORS only stops it reading the answer, not the write. So a POST, PUT, PATCH or
DELETE that a browser marks as coming from a page (its `Origin`, or `Sec-Fetch-Site`) must
come from this server itself (the same scheme://host:port as the request's Host) or from
one of CORS_ORIGINS, else 403 before anything is read or stored, API keys or not. Clients
that send neither header (curl, the CLI, scripts) are not pages and pass.

The Host itself is checked before this, against ALLOWED_HOSTS (Starlette's
TrustedHostMiddleware, installed by `server.py`): a DNS-rebound name answers 400, so a page
cannot pass for this server by pointing its own name at it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from backtestdb.api.deps import SettingsDep
from backtestdb.errors import CrossSiteRefused

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
#: What `Sec-Fetch-Site` says of a request made by a page of another origin.
_FOREIGN = frozenset({"cross-site", "same-site"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int | None]


def refuse_cross_site(request: Request, settings: SettingsDep) -> None:
    """Writes from a browser page: only this server's own pages and CORS_ORIGINS."""
    if request.method in _SAFE:
        return
    origin = request.headers.get("origin")
    if origin is None:
        site = request.headers.get("sec-fetch-site", "").lower()
        if site in _FOREIGN:
            raise CrossSiteRefused(f"cross-site request refused: Sec-Fetch-Site is {site}")
        return
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if not is_allowed_origin(origin, own, settings.cors_origin_list):
        raise CrossSiteRefused(
            f"cross-site request refused: Origin {origin[:200]!r} is neither this server "
            f"({own}) nor in CORS_ORIGINS"
        )


def is_allowed_origin(origin: str, own: str, cors_origins: list[str]) -> bool:
    given = origin_key(origin)
    if given is None:  # "null" (a sandboxed frame, a file:// page) or garbage
        return False
    if "*" in cors_origins:
        return True
    return given in {origin_key(allowed) for allowed in (own, *cors_origins)}


def origin_key(origin: str) -> Origin | None:
    """scheme, host, port, with the default port spelt out; None for what is no origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:  # a port that is not a number, a broken IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if not parts.hostname or scheme not in _DEFAULT_PORTS:
        return None
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme]
