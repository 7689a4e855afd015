"""Dashboard fixtures: a TestClient for the page tests, and for the browser tests a real
`backtestdb serve` process with Chromium (the system one at /usr/bin/chromium) driven by
Playwright. Without Chromium the browser tests skip, except under CI=true, where they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import client, make_client  # noqa: F401  (the API's fixtures)
from tests.conftest import IN_CI
from tests.processes import free_port, stop, wait_until_up

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`backtestdb serve` on a free port, with its own SQLite database and data dir."""
    with serving(tmp_path_factory.mktemp("ui-server")) as base:
        yield base


def database_file(folder: Path) -> Path:
    """The SQLite database of the server `serving(folder)` starts."""
    return folder / "ui.sqlite3"


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """`backtestdb serve` on a free port with its database and data dir in `folder` (a
    test may fill the database first); yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database_file(folder)}",
        "DATA_DIR": str(folder / "data"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("API_KEYS", None)
    command = [str(Path(sys.executable).parent / "backtestdb"), "serve", "--host", "127.0.0.1"]
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(process, base, log_path)
            yield base
        finally:
            stop(process)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class Guard:
    """Every request the page makes, checked: only this host may be contacted. Console
    errors (a CSP violation, a script error) are collected too."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.console_errors: list[str] = []

    def route(self, route: Any) -> None:
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    guard = Guard()
    context.route("**/*", guard.route)
    opened = context.new_page()
    opened.on("console", guard.console)
    opened.on("pageerror", lambda error: guard.console_errors.append(str(error)))
    opened.guard = guard
    yield opened
    context.close()
    assert guard.outside == [], f"requests left the host: {guard.outside}"
    assert guard.console_errors == [], f"browser console errors: {guard.console_errors}"


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret injects a <style>, which the pages' CSP refuses.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")
