"""Hostile input over HTTP: injection through sort and filters, path tricks in file names,
spreadsheet formulas in exports, oversize and trickling uploads, missing keys."""

from __future__ import annotations

import csv
import io
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from backtestdb.config import Settings
from tests.api.conftest import seed_upload
from tests.conftest import BASIC
from tests.reliability.server import serve

MakeClient = Callable[..., TestClient]
KEY = "k-" + uuid.uuid4().hex
PUBLIC = {"/health", "/health/ready", "/", "/docs", "/docs/oauth2-redirect", "/redoc",
          "/openapi.json"}  # fmt: skip


@pytest.mark.parametrize(
    "query",
    ["sort=name;drop table backtests", "sort=-name--", "sort=name desc", "sort=(select 1)",
     "min_x=1", "max_name=1", "min_win_rate=1;drop table trades", "min_win_rate=nan",
     "max_total_trades=1e400", "limit=0", "offset=-1", "created_from=yesterday"],
)  # fmt: skip
def test_sort_and_filters_only_from_allow_lists(client: TestClient, query: str) -> None:
    seed_upload(client)
    response = client.get(f"/api/v1/backtests?{query}")
    assert response.status_code == 422, response.text
    assert client.get("/api/v1/backtests").json()["total"] == 1  # the table survives


def test_text_filters_are_bound_values_not_sql(client: TestClient) -> None:
    seed_upload(client)
    for query in ("name=%27%3B drop table backtests--", "symbol=' or '1'='1",
                  "param.FastPeriod=9' or '1'='1", "name=%25", "name=_"):  # fmt: skip
        response = client.get(f"/api/v1/backtests?{query}")
        assert response.status_code == 200, (query, response.text)
        assert response.json()["total"] == 0, query
    assert client.get("/api/v1/backtests").json()["total"] == 1


@pytest.mark.parametrize(
    ("field", "filename", "stored"),
    [("json_file", "../../etc/passwd", "report"), ("json_file", "..\\..\\x.json", "report.json"),
     ("csv_file", "..\\x.csv", "history.csv"), ("csv_file", "/abs/../h.CSV", "history.csv"),
     ("json_file", "r\x00.json/../../../x", "report")],
)  # fmt: skip
def test_uploaded_file_names_are_never_paths(
    client: TestClient, settings: Settings, tmp_path: Path, field: str, filename: str, stored: str
) -> None:
    source = BASIC / ("report.json" if field == "json_file" else "history.csv")
    form = {"initial_balance": "10000"}
    response = client.post(
        "/api/v1/ingest", files={field: (filename, source.read_bytes())}, data=form
    )
    assert response.status_code == 200, response.text
    backtest_id = response.json()["backtest_id"]
    root = settings.effective_storage_dir
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        f"{backtest_id}/{stored}"
    ]
    assert not list(tmp_path.parent.rglob("passwd"))
    assert not list(tmp_path.parent.rglob("x.csv"))
    named = client.get(f"/api/v1/jobs/{response.json()['job_id']}").json()["source_files"][0]
    assert "/" not in named["name"]
    assert "\\" not in named["name"]


def test_exported_csv_cells_never_run_as_formulas(client: TestClient, tmp_path: Path) -> None:
    lines = (BASIC / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    label, comment = header.index("Label"), header.index("Comment")
    hostile = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "-x", "=1"]
    rows = []
    for number, text in enumerate(hostile):
        cells = lines[1 + number].split(",")
        cells[label], cells[comment] = text, text
        rows.append(cells)
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    response = client.post(
        "/api/v1/ingest", files={"csv_file": ("h.csv", out.getvalue().encode())},
        data={"initial_balance": "10000"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    exported = client.get(f"/api/v1/backtests/{response.json()['backtest_id']}/trades.csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    for row in table:
        for name in ("label", "comment"):
            assert not row[name].startswith(("=", "+", "-", "@", "\t", "\r")), row[name]
    assert [row["comment"] for row in table] == ["'" + t for t in hostile]
    # Numbers stay numbers: a negative profit is not quoted.
    assert any(row["profit"].startswith("-") for row in table)


def test_oversize_upload_answers_413(make_client: MakeClient) -> None:
    client = make_client(max_file_size_mb=1)
    response = client.post(
        "/api/v1/ingest", files={"csv_file": ("big.csv", b"x" * (2 * 1024 * 1024))}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "File too large"}


def operations(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every operation: the documented ones and the hidden alias."""
    found = [("GET", "/api/v1/ingest/backtests/{backtest_id}")]
    for path, item in client.get("/openapi.json").json()["paths"].items():
        found += [(method.upper(), path) for method in item]
    return found


def test_every_write_and_read_needs_a_key(make_client: MakeClient) -> None:
    client = make_client(api_keys=f"other,{KEY}", api_key_reads=True)
    checked = 0
    for method, template in operations(client):
        path = template.replace("{backtest_id}", str(uuid.uuid4()))
        path = path.replace("{job_id}", str(uuid.uuid4()))
        for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"},
                        {"X-API-Key": KEY[:-1]}, {"Authorization": f"Basic {KEY}"}):  # fmt: skip
            response = client.request(method, path, headers=headers)
            if template in PUBLIC:
                assert response.status_code != 401, (method, path)
            else:
                assert response.status_code == 401, (method, path, headers)
                assert KEY not in response.text
            checked += 1
        if template not in PUBLIC:
            allowed = client.request(method, path, headers={"X-API-Key": KEY})
            assert allowed.status_code != 401, (method, path)
    assert checked > 50


def test_without_key_reads_only_writes_need_one(make_client: MakeClient) -> None:
    client = make_client(api_keys=KEY)
    assert client.get("/api/v1/backtests").status_code == 200
    assert client.delete(f"/api/v1/backtests/{uuid.uuid4()}").status_code == 401
    with (BASIC / "report.json").open("rb") as report:
        assert client.post("/api/v1/ingest", files={"json_file": report}).status_code == 401


def send_slowly(port: int, body: bytes, headers: bytes, pause: float, limit: float) -> bytes:
    """Sends the head at once, then the body one byte per `pause` seconds; returns what the
    server answered (once it answers or closes) within `limit` seconds."""
    deadline = time.monotonic() + limit
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as sock:
        sock.sendall(headers)
        sock.settimeout(pause)
        answer = b""
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break  # the server closed the connection
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
                if b"\r\n\r\n" in answer:
                    return answer + rest_of_answer(sock, answer, deadline)
            except TimeoutError:
                pass
            if time.monotonic() > deadline:
                break
        return answer


def rest_of_answer(sock: socket.socket, answer: bytes, deadline: float) -> bytes:
    """The body bytes still to come once the head is in: the server may send its head and
    its body in separate segments, and a reader that stops at the head misses the body."""
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    rest = b""
    sock.settimeout(max(deadline - time.monotonic(), 0.1))
    while len(body) + len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return rest


def test_a_trickling_upload_is_cut_off(tmp_path: Path) -> None:
    boundary = "slowboundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="json_file"; '
            f'filename="r.json"\r\n\r\n').encode() + (BASIC / "report.json").read_bytes()[:200]  # fmt: skip
    head = (
        f"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {KEY}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body) + 100}\r\n\r\n"
    ).encode()
    database = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
    with serve(tmp_path, DATABASE_URL=database, UPLOAD_TIMEOUT_SECONDS="2", API_KEYS=KEY) as server:
        started = time.monotonic()
        answer = send_slowly(server.port, body, head, pause=1.0, limit=10)
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"did not arrive within 2 s" in answer
        assert elapsed < 6
        # The server is fine afterwards, and the temporary upload is gone.
        assert httpx.get(f"{server.base}/health").status_code == 200
        assert list((tmp_path / "data" / "tmp").iterdir()) == []
    assert KEY not in server.log_text()
