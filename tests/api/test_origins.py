"""Browser pages of other sites cannot write, and foreign Host names reach nothing
(issue 13, defect 7): cross-site POST/DELETE answer 403 before anything is stored, a Host
outside ALLOWED_HOSTS answers 400 (DNS rebinding), API_KEYS of only separators is refused
at start-up. Clients without Origin or Sec-Fetch-Site (curl, the CLI) are unaffected."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from backtestdb.config import DEFAULT_ALLOWED_HOSTS, Settings
from backtestdb.server import create_app
from tests.api.conftest import files_for, seed_upload
from tests.conftest import BASIC, row_counts

EVIL = "http://evil.example"
FORM = {"name": "MACross EURUSD", "initial_balance": "10000"}
NOTHING = {"backtests": 0, "trades": 0, "parameters": 0, "daily_summary": 0, "ingestion_jobs": 0}


def refused(origin: str, own: str = "http://testserver") -> dict[str, str]:
    return {
        "detail": f"cross-site request refused: Origin {origin!r} is neither this server "
        f"({own}) nor in CORS_ORIGINS"
    }


def post_report(client: TestClient, **headers: str) -> httpx.Response:
    files = files_for(json_file=BASIC / "report.json")
    return client.post("/api/v1/ingest", files=files, data=FORM, headers=headers)


@pytest.fixture
def default_client(settings: Settings) -> Iterator[TestClient]:
    """The app with the production default ALLOWED_HOSTS, reached as localhost:8000."""
    app = create_app(settings.model_copy(update={"allowed_hosts": DEFAULT_ALLOWED_HOSTS}))
    with TestClient(app, base_url="http://localhost:8000") as client:
        yield client


def test_with_default_settings_a_cross_site_post_is_refused_and_stores_nothing(
    default_client: TestClient, engine: Engine
) -> None:
    answer = post_report(default_client, Origin=EVIL)
    assert answer.status_code == 403
    assert answer.json() == refused(EVIL, "http://localhost:8000")
    assert answer.headers["X-Request-ID"]
    assert row_counts(engine) == NOTHING


@pytest.mark.parametrize("keys", ["", "k1"])
def test_a_cross_site_write_is_refused_with_or_without_api_keys(
    make_client: Callable[..., TestClient], engine: Engine, keys: str
) -> None:
    client = make_client(api_keys=keys)
    if keys:
        client.headers["X-API-Key"] = keys
    backtest_id = seed_upload(client).json()["backtest_id"]
    before = row_counts(engine)
    answer = post_report(client, Origin=EVIL)
    assert (answer.status_code, answer.json()) == (403, refused(EVIL))
    deleted = client.delete(f"/api/v1/backtests/{backtest_id}", headers={"Origin": EVIL})
    assert (deleted.status_code, deleted.json()) == (403, refused(EVIL))
    assert row_counts(engine) == before
    assert client.get(f"/api/v1/backtests/{backtest_id}").status_code == 200


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"Origin": "null"}, refused("null")["detail"]),
        ({"Origin": "http://testserver:8080"}, refused("http://testserver:8080")["detail"]),
        ({"Origin": "https://testserver"}, refused("https://testserver")["detail"]),
        ({"Sec-Fetch-Site": "cross-site"}, "cross-site request refused: Sec-Fetch-Site is cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, "cross-site request refused: Sec-Fetch-Site is same-site"),
    ],
)  # fmt: skip
def test_pages_of_other_origins_cannot_ingest(
    client: TestClient, engine: Engine, headers: dict[str, str], detail: str
) -> None:
    answer = post_report(client, **headers)
    assert (answer.status_code, answer.json()) == (403, {"detail": detail})
    assert row_counts(engine) == NOTHING


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, the CLI, scripts/test-data-pipeline.sh
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},  # the dashboard
        {"Origin": "HTTP://TestServer:80"},  # the same origin, spelt otherwise
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
    ],
)
def test_this_servers_pages_and_non_browsers_can_ingest(
    client: TestClient, headers: dict[str, str]
) -> None:
    answer = post_report(client, **headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"


def test_cors_origins_may_write(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins="https://dash.example")
    answer = post_report(client, Origin="https://dash.example", **{"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "https://dash.example"
    other = post_report(client, Origin=EVIL)
    assert other.status_code == 403
    anyone = post_report(make_client(cors_origins="*"), Origin=EVIL)
    assert anyone.status_code == 200


def test_a_foreign_host_reaches_nothing(default_client: TestClient) -> None:
    backtest_id = seed_upload(default_client).json()["backtest_id"]
    rebound = {"Host": "rebind.evil.example"}
    for method, path in [
        ("GET", "/api/v1/backtests"),
        ("GET", f"/api/v1/backtests/{backtest_id}"),
        ("DELETE", f"/api/v1/backtests/{backtest_id}"),
        ("GET", "/health"),
    ]:
        answer = default_client.request(method, path, headers=rebound)
        assert (answer.status_code, answer.text) == (400, "Invalid host header"), (method, path)
        assert answer.headers["X-Request-ID"]
    assert default_client.get(f"/api/v1/backtests/{backtest_id}").status_code == 200
    # Refused before routing, so under the bounded label every unrouted request gets.
    counted = [
        line
        for line in default_client.get("/metrics").text.splitlines()
        if line.startswith("http_requests_total") and 'status="400"' in line
    ]
    assert counted == [
        'http_requests_total{method="GET",route="unmatched",status="400"} 3.0',
        'http_requests_total{method="DELETE",route="unmatched",status="400"} 1.0',
    ]


@pytest.mark.parametrize(
    ("pod_ip", "host", "status"),
    [
        ("", "localhost", 200),
        ("", "127.0.0.1:8000", 200),
        ("", "[::1]:8000", 200),
        ("", "data-pipeline:8000", 200),
        ("", "data-pipeline.trading-system:8000", 200),
        ("", "data-pipeline.trading-system.svc:8000", 200),
        ("", "Data-Pipeline.Trading-System.svc.cluster.local:8000", 200),
        ("", "10.244.0.7:8000", 400),  # a probe, before POD_IP is set
        ("10.244.0.7", "10.244.0.7:8000", 200),  # a probe with POD_IP from the downward API
        ("fd00::7", "[fd00::7]:8000", 200),
        ("", "data-pipeline.other-namespace:8000", 400),
        ("", "localhost.evil.example", 400),
    ],
)
def test_default_allowed_hosts(settings: Settings, pod_ip: str, host: str, status: int) -> None:
    app = create_app(
        settings.model_copy(update={"allowed_hosts": DEFAULT_ALLOWED_HOSTS, "pod_ip": pod_ip})
    )
    answer = TestClient(app).get("/health", headers={"Host": host})
    assert answer.status_code == status, answer.text


def test_node_ip_and_listed_hosts_are_allowed(settings: Settings) -> None:
    changes = {"allowed_hosts": "api.example.com,*.corp.example", "node_ip": "192.168.49.2"}
    client = TestClient(create_app(settings.model_copy(update=changes)))
    for host, status in [
        ("192.168.49.2:30800", 200),
        ("api.example.com", 200),
        ("dash.corp.example", 200),
        ("localhost", 400),
        ("example.com", 400),
    ]:
        assert client.get("/health", headers={"Host": host}).status_code == status, host


@pytest.mark.parametrize("value", [",", " , ,", " "])
@pytest.mark.parametrize("variable", ["API_KEYS", "ALLOWED_HOSTS"])
def test_a_list_of_only_separators_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert raised.value.errors()[0]["msg"] == (
        f"Value error, {variable} is only separators ({value!r}): list a value or unset it"
    )


def test_a_bad_host_pattern_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match=r"ALLOWED_HOSTS: 'api\.\*\.example' is not a host"):
        Settings(allowed_hosts="localhost,api.*.example")


def test_api_keys_of_only_separators_stop_the_cli_at_start_up(tmp_path: Path) -> None:
    env = {**os.environ, "API_KEYS": " , ,", "DATA_DIR": str(tmp_path), "NO_COLOR": "1"}
    command = [str(Path(sys.executable).parent / "backtestdb"), "list", "--json"]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert (
        '"detail": "Invalid settings: API_KEYS is only separators' in result.stdout + result.stderr
    )
