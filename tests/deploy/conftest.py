"""Helpers for the deployment tests: throwaway PostgreSQL databases and real processes.

Like tests/conftest.py, an unreachable PostgreSQL skips these tests locally and fails
them under CI=true.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN_URL, admin_connection

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
MANIFESTS = REPO / "deploy" / "kubernetes"
#: The console scripts of the interpreter running the tests (the project venv).
BIN = Path(sys.executable).parent
#: Upper bound for any one subprocess; a hang fails the test instead of stalling CI.
TIMEOUT = 180


def libpq_url(name: str) -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


@pytest.fixture
def make_database() -> Iterator[Callable[[], str]]:
    """Creates empty databases on demand (returns their name); drops them all afterwards."""
    names: list[str] = []
    with admin_connection() as admin:

        def create() -> str:
            name = f"backtestdb_deploy_{uuid.uuid4().hex[:12]}"
            admin.execute(f'CREATE DATABASE "{name}"')
            names.append(name)
            return name

        yield create
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recreate_database(name: str) -> None:
    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def app_env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment a deployed process gets: its database, its own data dirs."""
    env = {k: v for k, v in os.environ.items() if k not in ("STORAGE_DIR", "BACKUP_DIR")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        DATABASE_URL=database_url,
        DATA_DIR=str(tmp_path / "data"),
        STORAGE_DIR=str(tmp_path / "data" / "files"),
        NO_COLOR="1",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Runs a command to completion within TIMEOUT; output captured as text."""
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def run_ok(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = run(args, env, cwd)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result
