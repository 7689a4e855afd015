"""POST /api/v1/ingest with `archive_file` (a zip) or `folder_file` parts (a browser's
folder): the same rows as the folder through `ingest_batch`, the batch table as the
answer, one job per backtest with `?mode=async`, and every unsafe upload refused with
nothing left in DATA_DIR/tmp. On both backends."""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import models
from backtestdb.batches import BatchOptions, discover, ingest_batch
from backtestdb.config import Settings
from backtestdb.models import Backtest, Parameter, Run
from tests.api.conftest import wait_for_job
from tests.conftest import BASIC, DATA, row_counts

MakeClient = Callable[..., TestClient]
INSTANCE = "cBots/MACross/EURUSD h1"


def cbotset(fast: int) -> str:
    return (
        (BASIC / "parameters.cbotset")
        .read_text()
        .replace('"FastPeriod": 9', f'"FastPeriod": {fast}')
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """cBots/MACross/EURUSD h1: Optimization/1 and /2 (the sample report, FastPeriod 9 and
    12) and a Backtesting folder holding a History CSV of two symbols."""
    instance = tmp_path / "given" / INSTANCE
    for number, fast in ((1, 9), (2, 12)):
        folder = instance / "Optimization" / str(number)
        folder.mkdir(parents=True)
        shutil.copy(BASIC / "report.json", folder / "report.json")
        (folder / "parameters.cbotset").write_text(cbotset(fast))
        (folder / "log.txt").write_text("20/08/2026 21:56:13.342 | Info | cBot started\n")
    (instance / "Backtesting").mkdir()
    shutil.copy(DATA / "multi_symbol_history.csv", instance / "Backtesting" / "history.csv")
    return tmp_path / "given" / "cBots"


def files_in(folder: Path) -> list[tuple[str, bytes]]:
    """(path from the folder's parent, bytes): as a zip of the folder, or a browser, names them."""
    return [
        (path.relative_to(folder.parent).as_posix(), path.read_bytes())
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def zipped(*members: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def send_zip(client: TestClient, data: bytes, query: str = "", **fields: str) -> Any:
    files = {"archive_file": ("cBots.zip", data)}
    return client.post(f"/api/v1/ingest{query}", files=files, data=fields)


def send_folder(client: TestClient, members: list[tuple[str, bytes]], **fields: str) -> Any:
    parts = [("folder_file", (name, data)) for name, data in members]
    return client.post("/api/v1/ingest", files=parts, data=fields)


def stored(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    """What the batch stored, without ids or times: each backtest, its run, its files."""
    with factory() as session:
        rows = sorted(
            session.execute(select(Backtest, Run).outerjoin(Run, Backtest.run_id == Run.id)),
            key=lambda row: (row[0].pass_number or 0, row[0].name),
        )
        return [
            {
                "name": backtest.name,
                "trades": backtest.total_trades,
                "net_profit": backtest.net_profit,
                "pass_number": backtest.pass_number,
                "run": (run.name, run.kind, run.cbot, run.pass_count) if run else None,
                "files": [
                    {k: f[k] for k in ("role", "name", "size", "sha256")}
                    for f in backtest.source_files
                ],
                "parameters": parameters_of(session, backtest),
            }
            for backtest, run in rows
        ]


def parameters_of(session: Session, backtest: Backtest) -> dict[str, str | None]:
    query = select(Parameter.name, Parameter.value).where(Parameter.backtest_id == backtest.id)
    return {str(row[0]): row[1] for row in session.execute(query)}


def clear(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in (models.Trade, models.DailySummary, models.Parameter, models.IngestionJob):
            connection.execute(delete(table))
        connection.execute(delete(models.Backtest))
        connection.execute(delete(models.Run))


def tmp_left(settings: Settings) -> list[Path]:
    return list((settings.data_dir / "tmp").iterdir())


RUN = ("MACross EURUSD h1 Optimization", "optimization", "MACross", 2)


@pytest.mark.parametrize("kind", ["archive", "folder"])
def test_an_upload_stores_what_the_folder_stores(
    client: TestClient,
    settings: Settings,
    factory: sessionmaker[Session],
    engine: Engine,
    tree: Path,
    kind: str,
) -> None:
    members = files_in(tree)
    if kind == "archive":
        response = send_zip(client, zipped(*members))
    else:
        response = send_folder(client, members)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "runs", "total", "done", "failed", "interrupted"}
    assert (body["total"], body["done"], body["failed"], body["interrupted"]) == (3, 3, 0, False)
    [run] = body["runs"]
    assert (run["name"], run["kind"], run["pass_count"]) == (RUN[0], RUN[1], RUN[3])
    items = body["items"]
    assert [(i["path"], i["status"], i["trades"], i["pass_number"]) for i in items] == [
        ("cBots/MACross/EURUSD h1/Backtesting", "ingested", 1000, None),
        ("cBots/MACross/EURUSD h1/Optimization/1", "ingested", 200, 1),
        ("cBots/MACross/EURUSD h1/Optimization/2", "ingested", 200, 2),
    ]
    assert [i["net_profit"] for i in items[1:]] == [452.42, 452.42]
    assert [i["run_id"] for i in items] == [None, run["id"], run["id"]]
    assert all(i["reason"] is None and i["backtest_id"] and i["job_id"] for i in items)
    through_api = stored(factory)
    assert tmp_left(settings) == []

    clear(engine)
    ingest_batch(factory, settings, discover([tree]), BatchOptions())
    assert stored(factory) == through_api
    assert [(r["name"], r["trades"], r["net_profit"], r["pass_number"], r["run"])
            for r in through_api] == [
        ("history", 1000, Decimal("9721.67"), None, None),
        ("MACross EURUSD h1 pass 1", 200, Decimal("452.42"), 1, RUN),
        ("MACross EURUSD h1 pass 2", 200, Decimal("452.42"), 2, RUN),
    ]  # fmt: skip
    assert [r["parameters"]["FastPeriod"] for r in through_api[1:]] == ["9", "12"]
    assert [f["name"] for f in through_api[1]["files"]] == ["report.json", "parameters.cbotset"]


def test_run_names_the_batch(client: TestClient, tree: Path) -> None:
    response = send_zip(client, zipped(*files_in(tree)), run="my sweep", description="grid")
    assert response.status_code == 200, response.text
    [run] = response.json()["runs"]
    assert (run["name"], run["kind"], run["pass_count"]) == ("my sweep", "batch", 3)
    ids = [i["backtest_id"] for i in response.json()["items"]]
    for backtest_id in ids:
        detail = client.get(f"/api/v1/backtests/{backtest_id}").json()
        assert (detail["run_id"], detail["description"]) == (run["id"], "grid")


def test_async_queues_one_job_per_backtest(
    make_client: MakeClient, settings: Settings, engine: Engine, tree: Path
) -> None:
    client = make_client(worker_poll_seconds=0.05)
    response = send_zip(client, zipped(*files_in(tree)), "?mode=async")
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["total"], body["done"], body["failed"]) == (3, 3, 0)
    items = body["items"]
    assert [(i["path"], i["status"], i["backtest_id"]) for i in items] == [
        ("cBots/MACross/EURUSD h1/Backtesting", "queued", None),
        ("cBots/MACross/EURUSD h1/Optimization/1", "queued", None),
        ("cBots/MACross/EURUSD h1/Optimization/2", "queued", None),
    ]
    jobs = [i["job_id"] for i in items]
    assert len(set(jobs)) == 3
    assert tmp_left(settings) == []
    done = [wait_for_job(client, job) for job in jobs]
    assert [(j["status"], j["trades_ingested"]) for j in done] == [
        ("completed", 1000), ("completed", 200), ("completed", 200),
    ]  # fmt: skip
    counts = row_counts(engine)
    assert (counts["backtests"], counts["ingestion_jobs"]) == (3, 3)
    passes = [client.get(f"/api/v1/backtests/{j['backtest_id']}").json() for j in done[1:]]
    assert [(p["pass_number"], p["run_id"]) for p in passes] == [
        (1, items[1]["run_id"]), (2, items[1]["run_id"]),
    ]  # fmt: skip


OUTSIDE = "zip the folder itself, with relative paths"
LINK = zipfile.ZipInfo("cBots/link")
LINK.create_system = 3
LINK.external_attr = (stat.S_IFLNK | 0o777) << 16
GOOD = ("cBots/a/report.json", (BASIC / "report.json").read_bytes())


@pytest.mark.parametrize(
    ("member", "detail"),
    [
        (("../x", b"1"), f"cBots.zip: entry '../x' points outside the archive; {OUTSIDE}"),
        (("cBots/../../x", b"1"), f"cBots.zip: entry 'cBots/../../x' points outside the archive; {OUTSIDE}"),
        (("/etc/cron.d/x", b"1"), f"cBots.zip: entry '/etc/cron.d/x' has an absolute path; {OUTSIDE}"),
        (("C:\\x", b"1"), f"cBots.zip: entry 'C:\\\\x' has an absolute path; {OUTSIDE}"),
        ((LINK, b"/etc/passwd"), "cBots.zip: entry 'cBots/link' is a symbolic link; zip the files themselves, not links to them"),
        (("cBots/a/more.zip", zipped(GOOD)), "cBots.zip: entry 'cBots/a/more.zip' is an archive inside the archive; unpack it first or leave it out"),
    ],
)  # fmt: skip
def test_an_unsafe_zip_is_refused_and_nothing_is_left(
    client: TestClient,
    settings: Settings,
    engine: Engine,
    member: tuple[str | zipfile.ZipInfo, bytes],
    detail: str,
) -> None:
    response = send_zip(client, zipped(GOOD, member))
    assert response.status_code == 422
    assert response.json()["detail"] == detail
    assert response.json()["errors"][0]["file"] == "cBots.zip"
    assert tmp_left(settings) == []
    assert set(row_counts(engine).values()) == {0}


def test_a_zip_over_the_unpacked_limit_answers_413(
    make_client: MakeClient, settings: Settings, engine: Engine
) -> None:
    client = make_client(max_archive_unpacked_mb=1)
    response = send_zip(client, zipped(GOOD, ("cBots/a/history.csv", bytes(1 << 20))))
    assert response.status_code == 413
    assert response.json() == {
        "detail": "cBots.zip: holds more than 1 MiB unpacked (MAX_ARCHIVE_UNPACKED_MB); split "
        "it into smaller archives, or raise MAX_ARCHIVE_UNPACKED_MB"
    }
    assert tmp_left(settings) == []
    assert set(row_counts(engine).values()) == {0}


def test_a_file_that_is_not_a_zip_answers_422(client: TestClient, settings: Settings) -> None:
    response = send_zip(client, (BASIC / "report.json").read_bytes())
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "cBots.zip: is not a zip archive (or is cut short); send a .zip of the backtest folder"
    )
    assert tmp_left(settings) == []


def test_a_zip_without_backtests_answers_422(client: TestClient, settings: Settings) -> None:
    response = send_zip(client, zipped(("cBots/log.txt", b"started")))
    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "No backtest found in cBots.zip: a backtest folder holds a report"
    )
    assert tmp_left(settings) == []


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("../x", "folder upload: file '../x' points outside the folder; send each file's path "
                 "inside the chosen folder"),
        ("/etc/x", "folder upload: file '/etc/x' has an absolute path; send each file's path "
                   "inside the chosen folder"),
        ("cBots/a.tgz", "folder upload: file 'cBots/a.tgz' is an archive inside the folder; "
                        "unpack it first or leave it out"),
    ],
)  # fmt: skip
def test_an_unsafe_folder_is_refused_and_nothing_is_left(
    client: TestClient, settings: Settings, engine: Engine, name: str, detail: str
) -> None:
    response = send_folder(client, [GOOD, (name, b"1")])
    assert response.status_code == 422
    assert response.json()["detail"] == detail
    assert tmp_left(settings) == []
    assert set(row_counts(engine).values()) == {0}


def test_folder_limits(make_client: MakeClient, settings: Settings) -> None:
    client = make_client(max_archive_unpacked_mb=1, max_file_size_mb=1)
    half = bytes(600_000)
    response = send_folder(client, [("cBots/a/1.csv", half), ("cBots/a/2.csv", half)])
    assert response.status_code == 413
    assert response.json() == {
        "detail": "folder upload: holds more than 1 MiB unpacked (MAX_ARCHIVE_UNPACKED_MB); "
        "upload fewer files at once, or raise MAX_ARCHIVE_UNPACKED_MB"
    }
    response = send_folder(client, [("cBots/a/1.csv", bytes((1 << 20) + 1))])
    assert response.status_code == 413
    assert response.json() == {"detail": "File too large"}
    assert tmp_left(settings) == []


@pytest.mark.parametrize(
    ("files", "data", "detail"),
    [
        ([("archive_file", ("a.zip", zipped(GOOD))), ("json_file", ("report.json", b"{}"))], {},
         "archive_file cannot be combined with json_file: put those files in the zip, or send "
         "them on their own"),
        ([("folder_file", GOOD), ("csv_file", ("h.csv", b"x")), ("params_file", ("p.txt", b"x"))],
         {}, "folder_file cannot be combined with csv_file, params_file: put those files in "
         "the folder, or send them on their own"),
        ([("archive_file", ("a.zip", zipped(GOOD))), ("folder_file", GOOD)], {},
         "Send archive_file or folder_file, not both"),
        ([("archive_file", ("a.zip", zipped(GOOD)))], {"name": "one"},
         "name names one backtest; with archive_file each backtest is named from its folder "
         "(send run to name the batch's run)"),
        ([("folder_file", ("", b"data"))], {},
         "Each folder_file part needs its path inside the folder as its filename "
         "(e.g. Optimization/3/report.html)"),
    ],
)  # fmt: skip
def test_what_a_batch_cannot_take_answers_400(
    client: TestClient,
    settings: Settings,
    engine: Engine,
    files: list[tuple[str, tuple[str, bytes]]],
    data: dict[str, str],
    detail: str,
) -> None:
    response = client.post("/api/v1/ingest", files=files, data=data)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}
    assert tmp_left(settings) == []
    assert set(row_counts(engine).values()) == {0}


def test_a_single_upload_still_answers_the_seed_contract(client: TestClient) -> None:
    files = {"json_file": ("report.json", (BASIC / "report.json").read_bytes())}
    response = client.post("/api/v1/ingest", files=files, data={"run": "ignored"})
    assert response.status_code == 200
    assert set(response.json()) == {"job_id", "backtest_id", "status", "message"}
    assert response.json()["message"] == "Successfully ingested 200 trades"


def test_run_on_a_single_upload_joins_that_run(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    report = (BASIC / "report.json").read_bytes()
    for force in ("false", "true"):
        response = client.post(
            "/api/v1/ingest",
            data={"run": "single", "force": force},
            files={"json_file": ("report.json", report)},
        )
        assert response.status_code == 200, response.text
    with factory() as session:
        [run] = session.scalars(select(Run)).all()
        assert (run.name, run.kind, run.pass_count) == ("single", "batch", 2)
        held = session.scalars(select(Backtest.run_id)).all()
        assert held == [run.id, run.id]
