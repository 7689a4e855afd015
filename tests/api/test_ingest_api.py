"""POST /api/v1/ingest: the seed's contract, CSV uploads, re-uploads, row errors, limits."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backtestdb.config import Settings
from tests.api.conftest import ingest, seed_upload
from tests.conftest import BASIC, row_counts

CONTRACT_KEYS = {"job_id", "backtest_id", "status", "message"}


def bad_price_csv(tmp_path: Path) -> Path:
    """history.csv with a non-numeric Entry Price in data row 3 (file line 4)."""
    lines = (BASIC / "history.csv").read_text().splitlines(keepends=True)
    assert "1.08766" in lines[3]
    lines[3] = lines[3].replace("1.08766", "1.08x66", 1)
    path = tmp_path / "history.csv"
    path.write_text("".join(lines))
    return path


def test_seed_upload_answers_exactly_the_contract(client: TestClient) -> None:
    response = seed_upload(client)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CONTRACT_KEYS
    assert body["status"] == "completed"
    assert body["message"] == "Successfully ingested 200 trades"
    detail = client.get(f"/api/v1/backtests/{body['backtest_id']}").json()
    assert detail["name"] == "MACross EURUSD"
    assert detail["description"] == "seed"
    assert detail["net_profit"] == 452.42
    assert detail["total_trades"] == 200
    assert detail["initial_balance"] == 10000.0
    job = client.get(f"/api/v1/jobs/{body['job_id']}").json()
    assert job["status"] == "completed"
    assert job["backtest_id"] == body["backtest_id"]
    assert job["trades_ingested"] == 200


def test_report_and_csv_with_a_decimal_initial_balance(client: TestClient) -> None:
    response = ingest(
        client,
        {"initial_balance": "10000.00"},
        json_file=BASIC / "report.json",
        csv_file=BASIC / "history.csv",
    )
    assert response.status_code == 200
    assert response.json()["message"] == "Successfully ingested 200 trades"
    detail = client.get(f"/api/v1/backtests/{response.json()['backtest_id']}").json()
    assert detail["ending_balance"] == 10452.42
    assert [f["role"] for f in detail["source_files"]] == ["report", "history"]


def test_csv_alone_infers_the_initial_balance(client: TestClient) -> None:
    response = ingest(client, csv_file=BASIC / "history.csv")
    assert response.status_code == 200
    assert response.json()["message"] == "Successfully ingested 200 trades"
    detail = client.get(f"/api/v1/backtests/{response.json()['backtest_id']}").json()
    assert detail["initial_balance"] == 10000.0
    assert detail["net_profit"] == 452.42
    assert detail["name"] == "history"


def test_identical_upload_answers_the_existing_backtest(client: TestClient, engine: Engine) -> None:
    first = seed_upload(client).json()
    again = seed_upload(client)
    assert again.status_code == 200
    body = again.json()
    assert set(body) == CONTRACT_KEYS
    assert body["backtest_id"] == first["backtest_id"]
    assert body["job_id"] != first["job_id"]
    assert body["status"] == "completed"
    assert body["message"] == (
        f"Already ingested: identical files are backtest {first['backtest_id']}"
    )
    forced = seed_upload(client, force="true").json()
    assert forced["backtest_id"] != first["backtest_id"]
    assert row_counts(engine)["backtests"] == 2
    assert row_counts(engine)["trades"] == 400


def test_a_bad_row_answers_422_with_the_row_and_a_failed_job(
    client: TestClient, engine: Engine, tmp_path: Path
) -> None:
    response = ingest(client, csv_file=bad_price_csv(tmp_path))
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Validation failed with 1 row error; nothing was stored"
    assert body["error_count"] == 1
    error = body["errors"][0]
    assert (error["file"], error["row"], error["column"], error["value"]) == (
        "history.csv",
        3,
        "Entry Price",
        "1.08x66",
    )
    job = client.get(f"/api/v1/jobs/{body['job_id']}").json()
    assert job["status"] == "failed"
    assert job["error_count"] == 1
    assert job["errors"][0]["row"] == 3
    assert job["backtest_id"] is None
    counts = row_counts(engine)
    assert (counts["backtests"], counts["trades"], counts["ingestion_jobs"]) == (0, 0, 1)


def test_skip_mode_stores_the_valid_rows(client: TestClient, tmp_path: Path) -> None:
    response = ingest(client, {"on_error": "skip"}, csv_file=bad_price_csv(tmp_path))
    assert response.status_code == 200
    assert response.json()["message"] == "Successfully ingested 199 trades"
    job = client.get(f"/api/v1/jobs/{response.json()['job_id']}").json()
    assert job["warnings"][0]["row"] == 3


def test_params_file_is_accepted_as_parameters_file(client: TestClient, tmp_path: Path) -> None:
    params = tmp_path / "fast12.json"
    params.write_text('{"FastPeriod": 12, "Extra": "x"}')
    response = ingest(client, json_file=BASIC / "report.json", params_file=params)
    assert response.status_code == 200
    detail = client.get(f"/api/v1/backtests/{response.json()['backtest_id']}").json()
    values = {p["name"]: p["value"] for p in detail["parameters"]}
    assert values["FastPeriod"] == "12"
    assert values["Extra"] == "x"
    both = ingest(
        client,
        json_file=BASIC / "report.json",
        params_file=params,
        parameters_file=BASIC / "parameters.json",
    )
    assert both.status_code == 422
    assert both.json() == {"detail": "Send parameters_file or params_file, not both"}


def test_over_the_file_limit_answers_413_and_keeps_nothing(
    make_client: object, settings: Settings, engine: Engine
) -> None:
    client = make_client(max_file_size_mb=1)  # type: ignore[operator]
    big = ("history.csv", b"x" * (2 * 1024 * 1024))
    response = client.post("/api/v1/ingest", files={"csv_file": big})
    assert response.status_code == 413
    assert response.json() == {"detail": "File too large"}
    # Declared too large for three files: refused before the body is read.
    huge = ("history.csv", b"x" * (5 * 1024 * 1024))
    response = client.post("/api/v1/ingest", files={"csv_file": huge})
    assert response.status_code == 413
    assert response.json() == {"detail": "File too large"}
    assert row_counts(engine)["ingestion_jobs"] == 0
    assert list((settings.data_dir / "tmp").iterdir()) == []


def test_a_blank_initial_balance_means_the_reports(client: TestClient) -> None:
    response = seed_upload(client, initial_balance="")
    assert response.json()["message"] == "Successfully ingested 200 trades"
    detail = client.get(f"/api/v1/backtests/{response.json()['backtest_id']}").json()
    assert detail["initial_balance"] == 10000.0


def test_temporary_files_are_removed_after_an_ingest(
    client: TestClient, settings: Settings
) -> None:
    assert seed_upload(client).status_code == 200
    assert list((settings.data_dir / "tmp").iterdir()) == []


def test_bad_requests_answer_4xx_with_a_clear_detail(client: TestClient) -> None:
    # A browser form with its file inputs left empty sends them with no name and no bytes.
    empty = {"json_file": ("", b""), "csv_file": ("", b"")}
    response = client.post("/api/v1/ingest", data={"name": "no files"}, files=empty)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Nothing to ingest: send json_file")
    response = client.post("/api/v1/ingest", json={"json_file": "x"})
    assert response.status_code == 415
    assert response.json() == {"detail": "Send the files as multipart/form-data"}
    response = client.post("/api/v1/ingest", data={"name": "url-encoded"})
    assert response.status_code == 415
    assert response.json() == {"detail": "Send the files as multipart/form-data"}
    response = seed_upload(client, initial_balance="ten")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "initial_balance"]
    for amount in ("10000.001", "1e4", "-5", " 10000"):
        response = seed_upload(client, initial_balance=amount)
        assert response.status_code == 422, amount
        assert response.json()["errors"][0]["loc"] == ["body", "initial_balance"]
    response = seed_upload(client, on_error="maybe")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "on_error"]
    response = ingest(client, json_file=("report.json", b""))
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]
    truncated = (
        b'--b\r\nContent-Disposition: form-data; name="json_file"; filename="r.json"\r\n\r\n{"a"'
    )
    response = client.post(
        "/api/v1/ingest",
        content=truncated,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed multipart body")
