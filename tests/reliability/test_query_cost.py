"""The cost of one list request is bounded: at most MAX_PARAMETER_FILTERS `param.*` and
MAX_RANGE_FILTERS `min_`/`max_` filters (more answer 422 at once), every parameter filter
is one index lookup in a single subquery, and a read running past STATEMENT_TIMEOUT_SECONDS
is cancelled and answers 503 with the reason, on both backends and on a real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from backtestdb import backtests
from backtestdb.api import backtests as backtest_routes
from backtestdb.db import (
    ReadLimits,
    is_statement_timeout,
    make_engine,
    read_session_factory,
    session_factory,
)
from tests.api.conftest import ingest, seed_upload
from tests.conftest import BASIC
from tests.reliability.server import Server, migrated_scratch, serve

MakeClient = Callable[..., TestClient]
LIST = "/api/v1/backtests"
# Takes a few seconds on either backend unless a read limit stops it; answers 1.
SLOW = {
    "postgresql": "SELECT count(*) FROM pg_sleep(2)",
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 2000000) SELECT count(*) / 2000000 FROM c",
}


def slow_statement(database_url: str) -> str:
    return SLOW["sqlite" if database_url.startswith("sqlite") else "postgresql"]


def param_filters(count: int) -> dict[str, str]:
    return {f"param.P{n:03d}": str(n) for n in range(count)}


def detail(response: httpx.Response) -> Any:
    return response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (param_filters(21), "at most 20 param.* filters (got 21)"),
        (param_filters(400), "at most 20 param.* filters (got 400)"),
        ({f"min_{m}": "1" for m in backtests.METRIC_COLUMNS[:21]},
         "at most 20 min_/max_ filters (got 21)"),
        ({**{f"min_{m}": "1" for m in backtests.METRIC_COLUMNS[:11]},
          **{f"max_{m}": "9" for m in backtests.METRIC_COLUMNS[:10]}},
         "at most 20 min_/max_ filters (got 21)"),
    ],
)  # fmt: skip
def test_too_many_filters_answer_422_naming_the_limit(
    client: TestClient, params: dict[str, str], message: str
) -> None:
    for path in (LIST, "/api/v1/backtests.csv"):
        response = client.get(path, params=params)
        assert response.status_code == 422, response.text
        assert response.json() == {
            "detail": message,
            "errors": [
                {"file": "query", "message": message, "row": None, "column": None, "value": None}
            ],
            "error_count": 1,
        }
    page = client.get("/ui", params=params)
    assert page.status_code == 422
    assert message in page.text


def test_filters_up_to_the_limit_all_must_hold(client: TestClient, tmp_path: Path) -> None:
    parameters = tmp_path / "parameters.json"
    parameters.write_text('{"FastPeriod": 12, "SlowPeriod": 21}')
    beta = ingest(client, {"name": "Beta", "initial_balance": "20000"},
                  json_file=BASIC / "report.json", parameters_file=parameters)  # fmt: skip
    assert beta.status_code == 200, beta.text

    def found(**params: str) -> list[str]:
        response = client.get(LIST, params=params)
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert found(**{"param.FastPeriod": "12", "param.SlowPeriod": "21"}) == ["Beta"]
    assert found(**{"param.FastPeriod": "12", "param.SlowPeriod": "22"}) == []
    assert found(**{"param.FastPeriod": "12", "param.Nothing": "21"}) == []
    # 20 filters is allowed: two that hold plus 18 that no backtest has.
    twenty = {**param_filters(18), "param.FastPeriod": "12", "param.SlowPeriod": "21"}
    assert found(**twenty) == []
    ranges = {f"min_{m}": "-1000000" for m in ("initial_balance", "total_trades")}
    assert found(**ranges, **{"param.FastPeriod": "12"}) == ["Beta"]


def test_a_read_past_the_statement_timeout_answers_503(
    make_client: MakeClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = slow_statement(database_url)

    def search(session: Session, *_args: Any, **_kwargs: Any) -> tuple[list[Any], int]:
        session.execute(text(slow))
        return [], 0

    client = make_client(statement_timeout_seconds=0.2)
    assert seed_upload(client).status_code == 200
    monkeypatch.setattr(backtest_routes.backtests, "search_backtests", search)
    started = time.monotonic()
    response = client.get(LIST)
    assert response.status_code == 503, response.text
    assert response.json() == {
        "detail": "The query took longer than STATEMENT_TIMEOUT_SECONDS=0.2; narrow the filters"
    }
    assert time.monotonic() - started < 30  # a hang guard: the cancel came, not the end
    monkeypatch.undo()
    # Writes are not bounded by the read limits, and the pool is fine afterwards.
    assert seed_upload(client, force="true").status_code == 200
    assert client.get(LIST).json()["total"] == 2


def test_an_exhausted_pool_answers_503_not_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every pooled connection busy for the pool's whole wait was a 500: overload is worth
    a retry, so it is a 503 with Retry-After."""

    def search(*_args: Any, **_kwargs: Any) -> tuple[list[Any], int]:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached")

    monkeypatch.setattr(backtest_routes.backtests, "search_backtests", search)
    response = client.get(LIST)
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Every database connection is busy; retry in a few seconds"
    }
    assert response.headers["Retry-After"] == "5"


def test_the_deadline_stays_with_its_read(engine: Engine, database_url: str) -> None:
    """One pooled connection: a read cancelled by its limit hands it back without the
    limit, so the next (unlimited) session on it runs as long as it needs."""
    slow = slow_statement(database_url)
    single = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        reads = read_session_factory(single, ReadLimits(statement_seconds=0.2, idle_seconds=5))
        with reads() as session, pytest.raises(OperationalError) as caught:
            session.execute(text(slow))
        assert is_statement_timeout(caught.value)
        with session_factory(single)() as session:
            assert session.execute(text(slow)).scalar() == 1
    finally:
        single.dispose()


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server on its own PostgreSQL database, with the sample ingested."""
    folder = tmp_path_factory.mktemp("query-cost")
    with migrated_scratch("backtestdb_cost") as url, serve(folder, DATABASE_URL=url) as server:
        files = {"json_file": ("report.json", (BASIC / "report.json").read_bytes())}
        form = {"name": "sample", "initial_balance": "10000"}
        answer = httpx.post(f"{server.base}/api/v1/ingest", files=files, data=form, timeout=60)
        assert answer.status_code == 200, answer.text
        yield server


def test_400_param_filters_answer_422_within_5_s(pg_server: Server) -> None:
    # Before the cap, this request kept a PostgreSQL backend planning for minutes.
    response = httpx.get(f"{pg_server.base}{LIST}", params=param_filters(400), timeout=5)
    assert response.status_code == 422
    assert detail(response) == "at most 20 param.* filters (got 400)"


def test_filter_floods_leave_plain_lists_answering(pg_server: Server) -> None:
    """16 concurrent requests with 150 filters each used to fill the pool (plain lists
    answered 500 after 30 s); now they are refused at once and lists keep answering."""
    statuses: list[int] = []

    def flood() -> None:
        with httpx.Client(timeout=60) as client:
            statuses.append(
                client.get(f"{pg_server.base}{LIST}", params=param_filters(150)).status_code
            )

    threads = [threading.Thread(target=flood) for _ in range(16)]
    for thread in threads:
        thread.start()
    with httpx.Client(timeout=10) as client:  # a hang guard, not a latency target
        plain = [client.get(f"{pg_server.base}{LIST}").status_code for _ in range(5)]
    for thread in threads:
        thread.join(timeout=60)
    assert plain == [200] * 5
    assert statuses == [422] * 16
