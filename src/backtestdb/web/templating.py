"""The dashboard's Jinja2 environment: templates shipped in the package, display filters,
and the one way a page leaves (`render`), with a strict Content-Security-Policy."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

HERE = Path(__file__).parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

#: Everything comes from this server: scripts, styles, fetches. No inline script or style
#: attribute is used, so neither is allowed.
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
DASH = "—"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def money(value: Any) -> str:
    number = _number(value)
    return DASH if number is None else f"{number:,.2f}"


def number(value: Any, places: int = 2) -> str:
    found = _number(value)
    return DASH if found is None else f"{found:,.{places}f}"


def percent(value: Any) -> str:
    found = _number(value)
    return DASH if found is None else f"{found:,.2f} %"


def count(value: Any) -> str:
    found = _number(value)
    return DASH if found is None else f"{int(found):,}"


def sign(value: Any) -> str:
    """A CSS class for a signed figure: pos, neg or nothing."""
    found = _number(value)
    if not found:
        return ""
    return "pos" if found > 0 else "neg"


def moment(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return DASH if value is None else str(value)[:19].replace("T", " ")


def duration(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return DASH
    seconds = (end - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def filesize(value: Any) -> str:
    size = _number(value)
    if size is None:
        return DASH
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} GiB"


def parameter(value: Any) -> str:
    """A parameter's typed value as cTrader writes it (booleans in lower case)."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def figure(value: Any, metric: str) -> str:
    """A metric's value (or a mean of it): percents with their sign, counts whole."""
    if metric.endswith("_percent") or metric == "win_rate":
        return percent(value)
    return count(value) if isinstance(value, int) and not isinstance(value, bool) else number(value)


def label(name: str) -> str:
    """`max_balance_drawdown_percent` -> `Max balance drawdown %`."""
    text = name.replace("_percent", " %").replace("_", " ")
    return text[:1].upper() + text[1:]


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters.update(
    money=money,
    number=number,
    percent=percent,
    count=count,
    sign=sign,
    moment=moment,
    filesize=filesize,
    label=label,
    parameter=parameter,
    figure=figure,
)
APP_VERSION = version("backtestdb")


def static(path: str) -> str:
    """A vendored or own static file; the version in the query busts browser caches."""
    return f"/ui/static/{path}?v={APP_VERSION}"


templates.env.globals.update(duration=duration, static=static, app_version=APP_VERSION)


def is_fragment(request: Request) -> bool:
    """An htmx request wants the fragment only (history restores want the whole page)."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") is None


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    headers = {"Content-Security-Policy": CSP, "Vary": "HX-Request"}
    return templates.TemplateResponse(request, name, context, status_code, headers=headers)
