"""STORAGE_URL: a `file://` URL and S3 (moto's server on 127.0.0.1) hold uploads and raw
files the same way a local folder does."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backtestdb import models
from backtestdb.config import Settings
from backtestdb.db import make_engine, session_factory, upgrade
from backtestdb.ingest import IngestRequest
from backtestdb.jobs import queue as jobqueue
from backtestdb.jobs.worker import Worker
from backtestdb.storage import SourceFile, Storage, open_storage
from tests.conftest import BASIC
from tests.processes import free_port, stop
from tests.workers.conftest import BIN, wait_for

REPORT = SourceFile("report", "My Report.JSON", BASIC / "report.json")


def roundtrip(storage: Storage, tmp_path: Path) -> None:
    job_id, backtest_id = uuid.uuid4(), uuid.uuid4()
    key = storage.put_upload(job_id, REPORT)
    assert key == f"uploads/{job_id}/report.json"
    storage.fetch(key, tmp_path / "fetched")
    assert (tmp_path / "fetched").read_bytes() == REPORT.path.read_bytes()
    storage.remove_uploads(job_id)
    with pytest.raises(FileNotFoundError):
        storage.fetch(key, tmp_path / "again")
    storage.remove_uploads(job_id)  # gone already: fine

    location = storage.save(backtest_id, REPORT)
    assert location.endswith(f"{backtest_id}/report.json")
    storage.remove(backtest_id)
    storage.remove(backtest_id)


def test_a_file_url_works_like_a_folder(tmp_path: Path) -> None:
    storage = Storage(f"file://{tmp_path / 'store'}")
    assert storage.is_local
    roundtrip(storage, tmp_path)
    backtest_id = uuid.uuid4()
    assert storage.save(backtest_id, REPORT) == str(
        tmp_path / "store" / str(backtest_id) / "report.json"
    )
    assert storage.folder(backtest_id) == tmp_path / "store" / str(backtest_id)


def test_storage_url_defaults_to_storage_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, storage_dir=tmp_path / "files")
    assert settings.effective_storage_url == str(tmp_path / "files")
    assert Settings(data_dir=tmp_path).effective_storage_url == str(tmp_path / "files")
    given = Settings(data_dir=tmp_path, storage_url="s3://bucket/prefix")
    assert given.effective_storage_url == "s3://bucket/prefix"


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """moto's S3 server on a free local port; yields the fsspec options to reach it."""
    pytest.importorskip("s3fs")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def up() -> bool:
            if server.poll() is not None:
                pytest.fail(f"moto_server exited: {(tmp_path / 'moto.log').read_text()}")
            try:
                return httpx.get(endpoint, timeout=1).status_code < 500
            except httpx.TransportError:
                return False

        wait_for(up, 30, "moto's S3 server")
        options: dict[str, object] = {"endpoint_url": endpoint, "skip_instance_cache": True}
        Storage("s3://backtestdb-test", options).fs.mkdir("backtestdb-test")
        yield options
    finally:
        stop(server, timeout=10)
        log.close()


def test_s3_holds_uploads_and_raw_files(s3: dict[str, object], tmp_path: Path) -> None:
    storage = Storage("s3://backtestdb-test/prefix", s3)
    assert not storage.is_local
    roundtrip(storage, tmp_path)
    backtest_id = uuid.uuid4()
    location = storage.save(backtest_id, REPORT)
    assert location == f"s3://backtestdb-test/prefix/{backtest_id}/report.json"


def test_a_worker_ingests_from_s3(s3: dict[str, object], tmp_path: Path) -> None:
    # One backend is enough: storage does not depend on the database.
    on_s3 = Settings(
        database_url=f"sqlite:///{tmp_path / 's3.sqlite3'}",
        data_dir=tmp_path,
        storage_url="s3://backtestdb-test/raw",
        storage_options=s3,
    )
    engine = make_engine(on_s3.effective_database_url)
    upgrade(engine)
    factory = session_factory(engine)
    storage = open_storage(on_s3)
    job = jobqueue.enqueue(factory, storage, IngestRequest(report=REPORT))
    assert storage.fs.exists(f"backtestdb-test/raw/uploads/{job.id}/report.json")

    worker = Worker(on_s3, lambda: factory)
    assert worker.run_once(worker.ids[0])
    with factory() as session:
        done = session.get_one(models.IngestionJob, job.id)
        assert done.status == "completed", done.error_message
        backtest = session.get_one(models.Backtest, done.backtest_id)
        [stored] = backtest.source_files
    assert stored["location"] == f"s3://backtestdb-test/raw/{backtest.id}/report.json"
    assert storage.fs.cat_file(stored["location"]) == REPORT.path.read_bytes()
    assert not storage.fs.exists(f"backtestdb-test/raw/uploads/{job.id}")
    engine.dispose()
