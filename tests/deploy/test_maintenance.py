"""`backtestdb maintenance`: old finished jobs go, nothing else; VACUUM; stats."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backtestdb import models
from backtestdb.cli import app
from backtestdb.cli.maintenance import parse_age
from backtestdb.config import Settings

runner = CliRunner()
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "age"),
    [("30d", 30 * DAY), ("12h", timedelta(hours=12)), ("90m", timedelta(minutes=90)),
     ("2w", 14 * DAY), (" 7D ", 7 * DAY)],
)  # fmt: skip
def test_parse_age(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "30", "d", "-1d", "1.5d", "3y"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_age(text)


def add_jobs(factory: sessionmaker[Session]) -> dict[str, models.IngestionJob]:
    now = models.utcnow()
    jobs = {
        "old completed": models.IngestionJob(status="completed", created_at=now - 40 * DAY,
                                             finished_at=now - 40 * DAY),
        # No finished_at (older rows): its creation time counts.
        "old failed": models.IngestionJob(status="failed", created_at=now - 31 * DAY),
        "old running": models.IngestionJob(status="running", created_at=now - 60 * DAY),
        "old pending": models.IngestionJob(status="pending", created_at=now - 60 * DAY),
        "created long ago, finished lately": models.IngestionJob(
            status="completed", created_at=now - 40 * DAY, finished_at=now - 2 * DAY),
        "recent failed": models.IngestionJob(status="failed", created_at=now - DAY,
                                             finished_at=now - DAY),
    }  # fmt: skip
    with factory.begin() as session:
        session.add_all(jobs.values())
    return jobs


def remaining(factory: sessionmaker[Session], jobs: dict[str, models.IngestionJob]) -> set[str]:
    with factory() as session:
        ids = set(session.scalars(select(models.IngestionJob.id)))
    return {label for label, job in jobs.items() if job.id in ids}


def cli(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["maintenance", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_clean_jobs_dry_run_then_delete(settings: Settings, factory: sessionmaker[Session]) -> None:
    jobs = add_jobs(factory)
    assert cli("clean-jobs", "--older-than", "30d") == {
        "older_than": "30d", "would_delete": 2, "uploads_would_remove": 0,
        "dry_run": True}  # fmt: skip
    assert remaining(factory, jobs) == set(jobs)
    assert cli("clean-jobs", "--older-than", "30d", "--yes") == {
        "older_than": "30d", "deleted": 2, "uploads_removed": 0, "dry_run": False}  # fmt: skip
    assert remaining(factory, jobs) == set(jobs) - {"old completed", "old failed"}
    assert cli("clean-jobs", "--older-than", "1d", "--yes")["deleted"] == 2
    assert remaining(factory, jobs) == {"old running", "old pending"}


def test_clean_jobs_rejects_a_bad_age(settings: Settings) -> None:
    result = runner.invoke(app, ["maintenance", "clean-jobs", "--older-than", "soon"])
    assert result.exit_code == 2
    assert "use a number and a unit" in result.output


def test_vacuum(settings: Settings, engine: Engine) -> None:
    expected = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "VACUUM"
    assert cli("vacuum") == {"ran": expected}


def test_stats(settings: Settings, engine: Engine, factory: sessionmaker[Session]) -> None:
    add_jobs(factory)
    stats = cli("stats")
    tables = stats["tables"]
    assert isinstance(tables, list)
    assert [(t["name"], t["rows"]) for t in tables] == [
        ("backtests", 0), ("trades", 0), ("trade_events", 0), ("parameters", 0),
        ("daily_summary", 0), ("ingestion_jobs", 6)]  # fmt: skip
    assert stats["backend"] == engine.dialect.name
    if engine.dialect.name == "postgresql":
        assert isinstance(stats["database_bytes"], int)
        assert stats["database_bytes"] > 0
        assert all(isinstance(t["total_bytes"], int) and t["total_bytes"] > 0 for t in tables)
    else:
        assert all(t["total_bytes"] is None for t in tables)
    table = runner.invoke(app, ["maintenance", "stats"])
    assert table.exit_code == 0
    assert "ingestion_jobs" in table.output
