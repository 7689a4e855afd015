"""The runs pages with no browser, on both backends: the list, a run's pass table (exact
values, sorted, paged), the sensitivity chart's figures, the heatmap, the robustness
table, "compare the top N", an unknown run, and delete after the confirmation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backtestdb.web.templating import CSP
from tests.web.runs_data import TOP_3, KnownRun, add_known_run, add_small_runs, remove_runs

TO = "\N{EN DASH}"


@pytest.fixture
def known(client: TestClient, factory: sessionmaker[Session], engine: Engine) -> Iterator[KnownRun]:
    with factory.begin() as session:
        found = add_known_run(session)
    yield found
    remove_runs(engine)


def html_of(client: TestClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert not re.search(r'(src|href)="(https?:)?//', response.text), "external reference"
    return response.text


class Rows(HTMLParser):
    """The body rows of the table with this id: each row's cells' text, and attributes."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = self.in_body = False
        self.rows: list[list[str]] = []
        self.attributes: list[dict[str, str | None]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", self.table_id) in attrs:
            self.inside = True
        elif self.inside and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
            self.attributes.append(dict(attrs))
        elif self.in_body and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.cell is not None and tag in ("td", "th"):
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.inside = self.in_body = False

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> Rows:
    parser = Rows(table_id)
    parser.feed(html)
    assert parser.rows, f"no rows in #{table_id}"
    return parser


def pass_numbers(html: str) -> list[str]:
    return [row[0] for row in table(html, "pass-table").rows]


def test_runs_list(client: TestClient, known: KnownRun) -> None:
    html = html_of(client, "/ui/runs")
    assert '<a href="/ui/runs" aria-current="page">Runs</a>' in html
    assert f"Showing 1{TO}2 of 2" in html
    assert f'href="/ui/runs/{known.run_id}"' in html
    by_name = {row[0]: row for row in table(html, "run-list").rows}
    opt = by_name["Opt MACross"]
    assert opt[1:5] == ["optimization", "MACross", "EURUSD", "h1"]
    assert opt[5] == "2024-01-01 00:00:00 → 2024-01-31 00:00:00"
    assert opt[6] == "6"
    assert by_name["Other batch"][1] == "batch"
    assert by_name["Other batch"][6] == "2"

    assert "Other batch" not in html_of(client, "/ui/runs?name=opt")
    ordered = html_of(client, "/ui/runs?sort=name")
    assert ordered.index("Opt MACross") < ordered.index("Other batch")
    assert 'href="/ui/runs?sort=-name"' in ordered
    reverse = html_of(client, "/ui/runs?sort=-pass_count")
    assert reverse.index("Opt MACross") < reverse.index("Other batch")
    assert "sort by one of" in html_of(client, "/ui/runs?sort=bogus", 422)


def test_run_page_shows_the_passes_with_exact_values(client: TestClient, known: KnownRun) -> None:
    html = html_of(client, f"/ui/runs/{known.run_id}")
    assert "<h1>Opt MACross</h1>" in html
    assert "optimization · MACross · EURUSD · h1" in html
    assert "6 passes" in html
    assert "The same in every pass:\n      Label = Trend" in html
    found = table(html, "pass-table")
    # Best net profit first by default; the outsider (5,000.00, no run) is not a pass.
    assert [row[0] for row in found.rows] == ["4", "3", "5", "2", "1", "6"]
    assert found.rows[0] == [
        *("4", "MACross pass 4", "10", "40"),
        *("900.00", "16", "65.00 %", "3.10", "2.50 %", "2.40"),
    ]
    assert found.rows[-1] == [
        *("6", "MACross pass 6", "15", "40"),
        *("-50.00", "20", "40.00 %", "0.90", "8.00 %", "-0.30"),
    ]
    assert "Outsider" not in html
    assert f'href="/ui/backtests/{known.passes[4]}"' in html
    assert f"Showing 1{TO}6 of 6" in html
    head = html.split('id="pass-table"')[1].split("</thead>")[0]
    assert re.findall(r'<th scope="col"[^>]*>([A-Za-z %]+)', head) == ["FastPeriod", "SlowPeriod"]
    assert 'aria-sort="descending"' in head  # net profit, the default order
    assert f'href="/ui/runs/{known.run_id}?sort=net_profit#passes"' in head
    assert '<option value="-net_profit" selected>Net profit, highest first</option>' in html


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("pass_number", ["1", "2", "3", "4", "5", "6"]),
        ("-pass_number", ["6", "5", "4", "3", "2", "1"]),
        ("net_profit", ["6", "1", "2", "5", "3", "4"]),
        ("-win_rate", ["4", "3", "2", "1", "5", "6"]),
        ("max_balance_drawdown_percent", ["4", "3", "2", "1", "5", "6"]),
        ("-sharpe_ratio", ["4", "3", "5", "2", "1", "6"]),
        ("total_trades", ["1", "2", "3", "4", "5", "6"]),
        ("-name", ["6", "5", "4", "3", "2", "1"]),
    ],
)
def test_passes_sort_as_the_backtest_list(
    client: TestClient, known: KnownRun, sort: str, order: list[str]
) -> None:
    html = html_of(client, f"/ui/runs/{known.run_id}?sort={sort}")
    assert pass_numbers(html) == order
    assert f'<option value="{sort}" selected>' in html


def test_passes_page_and_bad_sort(client: TestClient, known: KnownRun) -> None:
    base = f"/ui/runs/{known.run_id}"
    html = html_of(client, f"{base}?limit=2&offset=2")
    assert pass_numbers(html) == ["5", "2"]
    assert f"Showing 3{TO}4 of 6" in html
    assert f'href="{base}?limit=2#passes" rel="prev"' in html
    assert f'href="{base}?limit=2&amp;offset=4#passes" rel="next"' in html
    bad = html_of(client, f"{base}?sort=bogus", 422)
    assert "sort by one of" in bad
    assert "Opt MACross" in bad


def test_sensitivity_chart_data_and_heatmap(client: TestClient, known: KnownRun) -> None:
    html = html_of(client, f"/ui/runs/{known.run_id}")
    assert 'data-sensitivity="sensitivity-table"' in html
    assert 'data-numeric="true" data-parameter="FastPeriod" data-metric="Net profit"' in html
    assert "/ui/static/runs.js" in html
    points = table(html, "sensitivity-table")
    assert [
        (a["data-x"], a["data-mean"], a["data-min"], a["data-max"]) for a in points.attributes
    ] == [
        ("5", "110.00", "100.00", "120.00"),
        ("10", "525.00", "150.00", "900.00"),
        ("15", "40.00", "-50.00", "130.00"),
    ]
    assert points.rows[0] == ["5", "2", "110.00", "100.00", "120.00"]
    # The heatmap: FastPeriod down, SlowPeriod across, each cell the pair's mean.
    assert (
        '<h2 id="heatmap-title">Heatmap: FastPeriod \N{MULTIPLICATION SIGN} SlowPeriod</h2>' in html
    )
    heat = table(html, "run-heatmap")
    assert heat.rows == [
        ["5", "100.00", "120.00"],
        ["10", "150.00", "900.00"],
        ["15", "130.00", "-50.00"],
    ]
    assert 'class="num heat-pos-4" title="1 pass, 900.00 to 900.00">900.00</td>' in html
    assert 'class="num heat-neg-1"' in html

    slow = html_of(client, f"/ui/runs/{known.run_id}?x=SlowPeriod&y=FastPeriod")
    means = [a["data-mean"] for a in table(slow, "sensitivity-table").attributes]
    assert means == ["126.67", "323.33"]
    assert table(slow, "run-heatmap").rows == [
        ["20", "100.00", "150.00", "130.00"],
        ["40", "120.00", "900.00", "-50.00"],
    ]


def test_robustness_marks_the_lone_spike(client: TestClient, known: KnownRun) -> None:
    html = html_of(client, f"/ui/runs/{known.run_id}")
    found = table(html, "robustness")
    assert found.rows[0] == ["4", "MACross pass 4", "900.00", "3", "73.33", "826.67", "lone spike"]
    assert found.rows[1] == ["3", "MACross pass 3", "150.00", "3", "376.67", "-226.67", ""]
    spikes = [
        row[0] for row, a in zip(found.rows, found.attributes, strict=True) if "data-spike" in a
    ]
    assert spikes == ["4"]


def test_another_metric_and_a_bad_one(client: TestClient, known: KnownRun) -> None:
    base = f"/ui/runs/{known.run_id}"
    html = html_of(client, f"{base}?metric=sharpe_ratio")
    assert [a["data-mean"] for a in table(html, "sensitivity-table").attributes] == [
        "0.8500",
        "1.7500",
        "0.3500",
    ]
    assert table(html, "robustness").rows[0][:3] == ["4", "MACross pass 4", "2.40"]
    assert '<option value="sharpe_ratio" selected>Sharpe ratio</option>' in html
    assert 'name="metric" value="sharpe_ratio"' in html  # compare the top N by it
    bad = html_of(client, f"{base}?metric=bogus&x=Nope", 422)
    assert "unknown metric &#39;bogus&#39;" in bad
    assert "no parameter &#39;Nope&#39;" in bad
    assert 'data-parameter="FastPeriod" data-metric="Net profit"' in bad


def test_the_same_parameter_twice(client: TestClient, known: KnownRun) -> None:
    html = html_of(client, f"/ui/runs/{known.run_id}?x=SlowPeriod&y=SlowPeriod", 422)
    assert "pick a second parameter other than &#39;SlowPeriod&#39;" in html
    assert table(html, "run-heatmap").rows[0][0] == "20"  # SlowPeriod x FastPeriod


def test_one_varying_parameter_and_no_pass(
    client: TestClient, factory: sessionmaker[Session], engine: Engine
) -> None:
    with factory.begin() as session:
        single, empty = add_small_runs(session)
    try:
        html = html_of(client, f"/ui/runs/{single}")
        assert [a["data-mean"] for a in table(html, "sensitivity-table").attributes] == [
            "30.00",
            "70.00",
        ]
        assert "A heatmap needs a second parameter: fewer than two vary in this run." in html
        assert '<option value="" selected>' in html
        assert pass_numbers(html) == ["2", "1"]
        # A constant parameter may still be chosen as the second one.
        chosen = html_of(client, f"/ui/runs/{single}?y=SlowPeriod")
        assert table(chosen, "run-heatmap").rows == [["5", "30.00"], ["10", "70.00"]]

        nothing = html_of(client, f"/ui/runs/{empty}")
        assert "0 passes" in nothing
        assert "The passes have no parameters." in nothing
        assert "No pass matches." in nothing
        assert "Delete the run and 0 backtests" in nothing
        assert "at least 2 passes" in html_of(client, f"/ui/runs/{empty}/compare", 422)
    finally:
        remove_runs(engine)


def test_reads_need_the_key_when_asked(
    make_client: Callable[..., TestClient], known: KnownRun
) -> None:
    keyed = make_client(api_keys="k1", api_key_reads=True)
    for url in ("/ui/runs", f"/ui/runs/{known.run_id}", f"/ui/runs/{known.run_id}/compare"):
        assert keyed.get(url, follow_redirects=False).status_code == 401
    assert keyed.get("/ui/runs", headers={"X-API-Key": "k1"}).status_code == 200


def test_compare_the_top_three(client: TestClient, known: KnownRun) -> None:
    response = client.get(f"/ui/runs/{known.run_id}/compare?top=3", follow_redirects=False)
    assert response.status_code == 303
    ids = [str(known.passes[n]) for n in TOP_3]
    assert response.headers["location"] == "/ui/compare?" + "&".join(f"ids={i}" for i in ids)
    html = html_of(client, response.headers["location"])
    heads = html.split("compare-table")[1].split("</thead>")[0]
    assert re.findall(r">(MACross pass \d)</a>", heads) == [f"MACross pass {n}" for n in TOP_3]

    by_sharpe = client.get(
        f"/ui/runs/{known.run_id}/compare?metric=sharpe_ratio&top=1", follow_redirects=False
    )
    # At least 2: the compare page compares two or more.
    expected = [str(known.passes[n]) for n in (4, 3)]
    assert by_sharpe.headers["location"] == "/ui/compare?" + "&".join(f"ids={i}" for i in expected)
    assert "unknown metric" in html_of(client, f"/ui/runs/{known.run_id}/compare?metric=x", 422)


def test_unknown_run_is_404(client: TestClient, known: KnownRun) -> None:
    missing = uuid.uuid4()
    assert f"Run {missing} not found" in html_of(client, f"/ui/runs/{missing}", 404)
    assert "not an id" in html_of(client, "/ui/runs/not-a-run", 404)
    assert "not found" in html_of(client, f"/ui/runs/{missing}/compare", 404)


def test_delete_asks_then_deletes_the_backtests(client: TestClient, known: KnownRun) -> None:
    html = html_of(client, f"/ui/runs/{known.run_id}")
    button = re.search(r"<button[^>]*data-delete=[^>]*>Delete run</button>", html, flags=re.S)
    assert button is not None
    assert f'data-delete-url="/api/v1/runs/{known.run_id}"' in button.group(0)
    assert 'data-dialog="confirm-delete-run"' in button.group(0)
    assert 'data-after="/ui/runs"' in button.group(0)
    dialog = html.split('<dialog id="confirm-delete-run"')[1].split("</dialog>")[0]
    assert "<strong data-backtest-count>6 backtests</strong>" in dialog
    assert "Delete the run and 6 backtests" in dialog

    # The dialog's fetch is refused from another site's page, and works from this one.
    foreign = {"Origin": "https://elsewhere.example"}
    assert client.delete(f"/api/v1/runs/{known.run_id}", headers=foreign).status_code == 403
    response = client.delete(
        f"/api/v1/runs/{known.run_id}", headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"deleted": str(known.run_id), "backtests": 6}
    html_of(client, f"/ui/runs/{known.run_id}", 404)
    html_of(client, f"/ui/backtests/{known.passes[4]}", 404)
    html_of(client, f"/ui/backtests/{known.outsider}")
    runs = html_of(client, "/ui/runs")
    assert "Opt MACross" not in runs
    assert "Other batch" in runs
