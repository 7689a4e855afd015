"""Every dashboard page renders from the services, with no browser: the list (filters,
sort, pages, fragments), a backtest, its fragments, compare, upload, jobs and errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backtestdb.web import STATIC_DIR
from backtestdb.web.templating import CSP
from tests.api.conftest import ingest, seed_upload
from tests.conftest import BASIC, DATA

HX = {"HX-Request": "true"}
TO = "\N{EN DASH}"


@pytest.fixture
def two(client: TestClient, tmp_path: Path) -> tuple[str, str]:
    """Alpha: the sample report (200 trades). Beta: the multi-symbol CSV, FastPeriod 12."""
    alpha = seed_upload(client, name="Alpha EURUSD").json()["backtest_id"]
    params = tmp_path / "parameters.json"
    params.write_text('{"FastPeriod": 12}')
    beta = ingest(
        client,
        {"name": "Beta multi", "initial_balance": "25000"},
        csv_file=DATA / "multi_symbol_history.csv",
        parameters_file=params,
    ).json()["backtest_id"]
    return alpha, beta


def page(client: TestClient, url: str, status: int = 200, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    # Nothing is ever loaded from another host: every src and href is local.
    assert not re.search(r'(src|href)="(https?:)?//', response.text), "external reference"
    return response.text


def test_list_shows_filters_sorts_and_pages(client: TestClient, two: tuple[str, str]) -> None:
    html = page(client, "/ui")
    assert "<!doctype html>" in html
    assert "Alpha EURUSD" in html
    assert "Beta multi" in html
    assert f"Showing 1{TO}2 of 2" in html
    assert 'name="ids"' in html
    assert "Compare selected" in html
    assert f'data-delete="{two[0]}"' in html
    assert "/ui/static/vendor/htmx/htmx.min.js" in html

    assert "Beta multi" not in page(client, "/ui?name=alpha")
    assert "Alpha EURUSD" not in page(client, "/ui?symbol=GBPUSD")
    assert "Beta multi" not in page(client, "/ui?param_name=FastPeriod&param_value=9")
    assert "Alpha EURUSD" not in page(client, "/ui?param.FastPeriod=12")
    assert "Beta multi" not in page(client, "/ui?min_win_rate=&max_total_trades=500")

    by_net = page(client, "/ui?sort=-net_profit")
    assert by_net.index("Beta multi") < by_net.index("Alpha EURUSD")
    assert 'aria-sort="descending"' in by_net
    assert 'href="/ui?sort=net_profit"' in by_net  # a second click reverses

    first = page(client, "/ui?limit=1&sort=name")
    assert "Alpha EURUSD" in first
    assert "Beta multi" not in first
    assert 'href="/ui?limit=1&amp;sort=name&amp;offset=1"' in first
    second = page(client, "/ui?limit=1&sort=name&offset=1")
    assert "Beta multi" in second
    assert f"Showing 2{TO}2 of 2" in second


def test_list_fragment_and_bad_filters(client: TestClient, two: tuple[str, str]) -> None:
    response = client.get("/ui?name=beta&symbol=&min_net_profit=", headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="results"')
    assert "Beta multi" in response.text
    assert "Alpha" not in response.text
    assert response.headers["HX-Push-Url"] == "/ui?name=beta"

    html = page(client, "/ui?min_win_rate=lots", 422)
    assert "min_win_rate: not a number" in html
    assert "Unknown" not in page(client, "/ui?sort=nonsense", 422)
    assert "sort by one of" in page(client, "/ui?sort=nonsense", 422)


def test_backtest_page(client: TestClient, two: tuple[str, str]) -> None:
    alpha, _ = two
    html = page(client, f"/ui/backtests/{alpha}")
    for text in ("Alpha EURUSD", "452.42", "54.50 %", "1.76 %", "Sharpe", "200"):
        assert text in html
    assert f'data-equity="/api/v1/backtests/{alpha}/equity"' in html
    assert f"/ui/backtests/{alpha}/stats?group_by=month" in html
    assert "reconciled" in html
    assert "report.json" in html
    assert "FastPeriod" in html  # parameters
    assert "Backtest &#34;Alpha EURUSD&#34; traded EURUSD" in html  # the text summary, escaped
    assert html.count('<tr><td class="num">') == 50  # the first trade page
    assert f"/ui/backtests/{alpha}/trades?symbol=&amp;side=&amp;after=50&amp;trail=0" in html
    assert "vendor/uplot/uPlot.iife.min.js" in html


def test_trade_pages_keyset(client: TestClient, two: tuple[str, str]) -> None:
    alpha, _ = two
    base = f"/ui/backtests/{alpha}/trades"
    html = page(client, f"{base}?after=50&trail=0", **HX)
    assert f"Trades 51{TO}100" in html
    assert "after=0&amp;trail=" in html  # previous goes back to the first page
    assert "after=100&amp;trail=0%2C50" in html
    last = page(client, f"{base}?start=190&after=0")
    assert f"Trades 190{TO}200" in last
    assert 'rel="next"' not in last
    sells = page(client, f"{base}?side=sell")
    assert "<td>buy</td>" not in sells
    assert "<td>sell</td>" in sells
    assert "No trades match" in page(client, f"{base}?symbol=XAUUSD")


def test_breakdown_fragments(client: TestClient, two: tuple[str, str]) -> None:
    alpha, beta = two
    heat = page(client, f"/ui/backtests/{alpha}/stats?group_by=month")
    assert "heatmap" in heat
    assert '<th scope="row">2024</th>' in heat
    assert re.search(r"heat-(pos|neg)-[1-4]", heat)
    assert "Monday" in page(client, f"/ui/backtests/{alpha}/stats?group_by=weekday")
    symbols = page(client, f"/ui/backtests/{beta}/stats?group_by=symbol")
    assert "EURUSD" in symbols
    assert "GBPUSD" in symbols
    assert re.search(
        r">\d{1,2}:00</th>", page(client, f"/ui/backtests/{alpha}/stats?group_by=hour")
    )


def test_compare_page(client: TestClient, two: tuple[str, str]) -> None:
    alpha, beta = two
    html = page(client, f"/ui/compare?ids={alpha}&ids={beta}")
    assert "Alpha EURUSD" in html
    assert "Beta multi" in html
    assert 'class="num best"' in html
    assert "★" in html
    assert "Parameters that differ" in html
    assert "FastPeriod" in html
    assert html.count("data-series") == 2
    assert "Beta multi" in page(client, f"/ui/compare?ids={alpha},{beta}")
    assert "Select 2 to 10" in page(client, "/ui/compare")
    assert "give 2 to 20" in page(client, f"/ui/compare?ids={alpha}", 422)
    missing = "00000000-0000-0000-0000-000000000000"
    assert "not found" in page(client, f"/ui/compare?ids={alpha}&ids={missing}", 404)


def test_upload_and_jobs_pages(client: TestClient, tmp_path: Path) -> None:
    html = page(client, "/ui/upload")
    for field in ("json_file", "csv_file", "parameters_file", "name", "initial_balance"):
        assert f'name="{field}"' in html
    assert 'action="/api/v1/ingest"' in html
    assert "upload.js" in html
    assert 'id="u-key"' not in html  # no key needed on this server

    seed_upload(client)
    bad = tmp_path / "bad.csv"
    lines = (BASIC / "history.csv").read_text().splitlines()
    lines[3] = lines[3].replace("/01/2024", "/99/2024", 1)
    bad.write_text("\n".join(lines))
    refused = ingest(client, {}, csv_file=bad)
    assert refused.status_code == 422
    jobs = page(client, "/ui/jobs")
    assert "completed" in jobs
    assert "failed" in jobs
    assert "failed" not in page(client, "/ui/jobs?status=completed").split("<tbody>")[1]
    job = page(client, f"/ui/jobs/{refused.json()['job_id']}")
    assert "row-errors" in job
    assert "bad.csv" in job
    assert "Not found" in page(client, "/ui/jobs/nope", 404)


def test_unknown_backtest_is_an_html_404(client: TestClient) -> None:
    assert "not found" in page(client, "/ui/backtests/6f1f8e0a-3c9e-4d7b-8a51-0c2d4e6f8a10", 404)
    assert "not an id" in page(client, "/ui/backtests/x", 404)


def test_api_keys(make_client: object) -> None:
    writes_only = make_client(api_keys="k1")  # type: ignore[operator]
    assert 'id="u-key"' in page(writes_only, "/ui/upload")
    reads_too = make_client(api_keys="k1", api_key_reads=True)  # type: ignore[operator]
    assert reads_too.get("/ui").status_code == 401
    assert reads_too.get("/ui", headers={"X-API-Key": "k1"}).status_code == 200


def test_static_files_are_vendored(client: TestClient) -> None:
    for path in (
        "vendor/htmx/htmx.min.js",
        "vendor/uplot/uPlot.iife.min.js",
        "vendor/uplot/uPlot.min.css",
        "app.js",
        "charts.js",
        "upload.js",
        "app.css",
    ):
        response = client.get(f"/ui/static/{path}")
        assert response.status_code == 200, path
    notice = (STATIC_DIR / "vendor" / "README.md").read_text()
    assert "htmx" in notice
    assert "2.0.11" in notice
    assert "uPlot" in notice
    assert "1.6.32" in notice
    assert 'version:"2.0.11"' in (STATIC_DIR / "vendor/htmx/htmx.min.js").read_text()
    for folder in ("htmx", "uplot"):
        assert (STATIC_DIR / "vendor" / folder / "LICENSE").is_file()
    scripts = "".join(p.read_text() for p in STATIC_DIR.glob("*.js"))
    assert "http://" not in scripts
    assert "https://" not in scripts


def trade_cells(html: str, number: int) -> list[str]:
    """The text of each cell of trade `number`'s row in a trades table."""
    row = re.search(rf'<tr><td class="num">{number}</td>(.*?)</tr>', html, re.S)
    assert row is not None, f"no row for trade {number}"
    return [str(number), *re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


def test_pages_of_a_backtest_without_open_times_prices_or_fees(
    client: TestClient, sparse_backtest: str
) -> None:
    """Missing values show as "—", never "None"; breakdowns and the heatmap (close times)
    are the full sample's."""
    full = seed_upload(client, name="Full EURUSD").json()["backtest_id"]
    html = page(client, f"/ui/backtests/{sparse_backtest}")
    assert "None" not in html
    assert "Commissions came to" not in html  # the text summary: no fees, no 0.00
    assert trade_cells(html, 1) == [
        "1", "—", "EURUSD", "buy", "—", "2024-01-02 16:09:14", "—", "—", "10,000", "—", "—",
        "-3.35", "9,996.65", "0.03 %"]  # fmt: skip
    later = page(client, f"/ui/backtests/{sparse_backtest}/trades?after=50&trail=0", **HX)
    assert "None" not in later
    assert trade_cells(later, 51)[4:6] == ["—", "2024-02-02 12:56:41"]
    for group_by in ("month", "symbol", "weekday", "hour", "direction", "year"):
        sparse = page(client, f"/ui/backtests/{sparse_backtest}/stats?group_by={group_by}")
        assert "None" not in sparse
        assert sparse == page(client, f"/ui/backtests/{full}/stats?group_by={group_by}")
    compared = page(client, f"/ui/compare?ids={sparse_backtest}&ids={full}")
    assert "None" not in compared
    commissions = re.search(r'<th scope="row">Commissions.*?</tr>', compared, re.S)
    assert commissions is not None
    assert re.findall(r'<td class="num[^"]*">([^<]*)', commissions.group(0)) == ["—", "-133.18 "]
