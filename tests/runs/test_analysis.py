"""Sensitivity and robustness against hand computations over the grid of conftest.py (a
plateau of 100.00 and a lone spike of 500.00), on both backends."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session, sessionmaker

from backtestdb import runs
from backtestdb.errors import InvalidRequest, NotFound
from tests.runs.conftest import A_VALUES, B_VALUES, PROFITS, add_pass, make_run

D = Decimal


def cells(found: runs.Sensitivity) -> list[tuple[object, ...]]:
    """(values..., count, mean as text, min, max): the text shows the mean's places."""
    return [
        (*cell.values.values(), cell.count, str(cell.mean), cell.min, cell.max)
        for cell in found.cells
    ]


def test_sensitivity_to_one_parameter(factory: sessionmaker[Session], grid_run: uuid.UUID) -> None:
    with factory() as session:
        by_a = runs.sensitivity(session, grid_run, ["A"])
        by_b = runs.sensitivity(session, grid_run, ["B"], "net_profit")
    assert (by_a.run_id, by_a.metric, by_a.parameters) == (grid_run, "net_profit", ["A"])
    # Each row of the grid: (sum) / 4. 53.125 rounds half-up to 53.13; 7.01 / 4 = 1.7525.
    assert cells(by_a) == [
        (5, 4, "13.75", D("-5.00"), D("30.00")),  # 20 + 30 + 10 - 5 = 55
        (10, 4, "53.13", D("0.00"), D("100.00")),  # 100 + 100 + 12.5 + 0 = 212.5
        (15, 4, "55.00", D("5.00"), D("100.00")),  # 100 + 100 + 15 + 5 = 220
        (20, 4, "170.00", D("-20.00"), D("500.00")),  # 100 + 100 - 20 + 500 = 680
        (25, 4, "1.75", D("-10.00"), D("10.00")),  # 10 + 0.01 + 7 - 10 = 7.01
    ]
    # Each column: (sum) / 5, in numeric order (text order would put 10.0 before 2.5).
    assert cells(by_b) == [
        (0.5, 5, "66.00", D("10.00"), D("100.00")),  # 20 + 3 * 100 + 10 = 330
        (1.5, 5, "66.00", D("0.01"), D("100.00")),  # 30 + 3 * 100 + 0.01 = 330.01
        (2.5, 5, "4.90", D("-20.00"), D("15.00")),  # 10 + 12.5 + 15 - 20 + 7 = 24.5
        (10.0, 5, "98.00", D("-10.00"), D("500.00")),  # -5 + 0 + 5 + 500 - 10 = 490
    ]


def test_sensitivity_to_two_parameters(factory: sessionmaker[Session], grid_run: uuid.UUID) -> None:
    with factory() as session:
        found = runs.sensitivity(session, grid_run, ["A", "B"])
    assert found.parameters == ["A", "B"]
    # One pass per pair: each cell is that pass's profit, sorted by A then B.
    expected = [
        (a, b, 1, PROFITS[row][column], D(PROFITS[row][column]), D(PROFITS[row][column]))
        for row, a in enumerate(A_VALUES)
        for column, b in enumerate(B_VALUES)
    ]
    assert cells(found) == expected
    assert cells(found)[15] == (20, 10.0, 1, "500.00", D("500.00"), D("500.00"))  # the spike


def test_sensitivity_of_other_metrics(factory: sessionmaker[Session], grid_run: uuid.UUID) -> None:
    with factory() as session:
        factor = runs.sensitivity(session, grid_run, ["A"], "profit_factor")
        trades = runs.sensitivity(session, grid_run, ["B"], "total_trades")
    # profit_factor is the pass number / 3 to 4 places, NULL for A=25: no such cell.
    assert cells(factor) == [
        (5, 4, "0.8333", D("0.3333"), D("1.3333")),  # 3.3333 / 4 = 0.833325
        (10, 4, "2.1667", D("1.6667"), D("2.6667")),  # 8.6667 / 4 = 2.166675
        (15, 4, "3.5000", D("3.0000"), D("4.0000")),  # 14.0000 / 4
        (20, 4, "4.8333", D("4.3333"), D("5.3333")),  # 19.3333 / 4 = 4.833325
    ]
    # total_trades is the pass number: a whole count, its mean to 2 places.
    assert cells(trades)[:2] == [
        (0.5, 5, "9.00", 1, 17),  # passes 1, 5, 9, 13, 17
        (1.5, 5, "10.00", 2, 18),  # passes 2, 6, 10, 14, 18
    ]


#: pass number: (metric, neighbours, mean, min, max, difference), by hand from the grid.
GRID_ROBUSTNESS = {
    1: ("20.00", 2, "65.00", "30.00", "100.00", "-45.00"),  # corner: 100 + 30
    2: ("30.00", 3, "43.33", "10.00", "100.00", "-13.33"),  # edge: 100 + 20 + 10
    3: ("10.00", 3, "12.50", "-5.00", "30.00", "-2.50"),  # 12.5 + 30 - 5
    4: ("-5.00", 2, "5.00", "0.00", "10.00", "-10.00"),  # corner: 0 + 10
    5: ("100.00", 3, "73.33", "20.00", "100.00", "26.67"),  # 20 + 100 + 100
    6: ("100.00", 4, "60.63", "12.50", "100.00", "39.37"),  # middle: 242.5 / 4 = 60.625
    7: ("12.50", 4, "31.25", "0.00", "100.00", "-18.75"),  # 10 + 15 + 100 + 0
    8: ("0.00", 3, "4.17", "-5.00", "12.50", "-4.17"),  # -5 + 5 + 12.5
    9: ("100.00", 3, "100.00", "100.00", "100.00", "0.00"),  # on the plateau
    10: ("100.00", 4, "78.75", "15.00", "100.00", "21.25"),  # 3 * 100 + 15
    11: ("15.00", 4, "24.38", "-20.00", "100.00", "-9.38"),  # 97.5 / 4 = 24.375
    12: ("5.00", 3, "171.67", "0.00", "500.00", "-166.67"),  # beside the spike: 515 / 3
    13: ("100.00", 3, "70.00", "10.00", "100.00", "30.00"),  # 100 + 10 + 100
    14: ("100.00", 4, "45.00", "-20.00", "100.00", "55.00"),  # 180.01 / 4 = 45.0025
    15: ("-20.00", 4, "155.50", "7.00", "500.00", "-175.50"),  # 15 + 7 + 100 + 500
    16: ("500.00", 3, "-8.33", "-20.00", "5.00", "508.33"),  # the spike: (5 - 10 - 20) / 3
    17: ("10.00", 2, "50.01", "0.01", "100.00", "-40.01"),  # 100.01 / 2 = 50.005
    18: ("0.01", 3, "39.00", "7.00", "100.00", "-38.99"),  # 100 + 10 + 7
    19: ("7.00", 3, "-10.00", "-20.00", "0.01", "17.00"),  # -29.99 / 3 = -9.9967
    20: ("-10.00", 2, "253.50", "7.00", "500.00", "-263.50"),  # corner: 500 + 7
}
#: Best first; equal profits by pass number.
GRID_ORDER = [16, 5, 6, 9, 10, 13, 14, 2, 1, 11, 7, 3, 17, 19, 12, 18, 8, 4, 20, 15]


def figures(row: runs.Robustness) -> tuple[object, ...]:
    return tuple(
        None if v is None else (v if isinstance(v, int) else str(v))
        for v in (
            row.metric,
            row.neighbours,
            row.neighbour_mean,
            row.neighbour_min,
            row.neighbour_max,
            row.difference,
        )
    )


def test_robustness_over_the_grid(factory: sessionmaker[Session], grid_run: uuid.UUID) -> None:
    with factory() as session:
        rows = runs.robustness(session, grid_run)
    assert [r.pass_number for r in rows] == GRID_ORDER
    assert {r.pass_number: figures(r) for r in rows} == GRID_ROBUSTNESS
    spike = rows[0]
    assert (spike.name, spike.parameters) == ("Grid EURUSD pass 16", {"A": 20, "B": 10.0, "C": "x"})


def test_robustness_leaves_out_null_metrics(
    factory: sessionmaker[Session], grid_run: uuid.UUID
) -> None:
    with factory() as session:
        rows = runs.robustness(session, grid_run, "profit_factor")
    by_pass = {r.pass_number: figures(r) for r in rows}
    assert len(rows) == 16  # the 4 passes of A=25 have no profit factor
    assert rows[0].pass_number == 16  # 16 / 3 = 5.3333, the highest
    # Pass 13 (A=20, B=0.5): pass 9 (3.0000) and 14 (4.6667); pass 17 (A=25) has none.
    assert by_pass[13] == ("4.3333", 2, "3.8334", "3.0000", "4.6667", "0.4999")  # 3.83335
    # Pass 16 (A=20, B=10.0): pass 12 (4.0000) and 15 (5.0000).
    assert by_pass[16] == ("5.3333", 2, "4.5000", "4.0000", "5.0000", "0.8333")


def test_cube_with_a_repeated_pass(factory: sessionmaker[Session]) -> None:
    """Three parameters of two values each; net profit 100a + 10b + c; pass 9 repeats the
    parameters of pass 1 (a forced copy), so it is no neighbour of pass 1 but both are
    neighbours of pass 1's neighbours."""
    with factory.begin() as session:
        run = make_run(session, "Cube")
        combos = [(a, b, c) for a in (1, 2) for b in (1, 2) for c in (1, 2)] + [(1, 1, 1)]
        for number, (a, b, c) in enumerate(combos, 1):
            values = {"A": (str(a), "int"), "B": (str(b), "int"), "C": (str(c), "int")}
            add_pass(session, run, number, values, net_profit=D(100 * a + 10 * b + c))
        run_id = run.id
    with factory() as session:
        found = runs.sensitivity(session, run_id, ["A", "B"])
        rows = {r.pass_number: figures(r) for r in runs.robustness(session, run_id)}
    assert cells(found) == [
        (1, 1, 3, "111.33", D(111), D(112)),  # 111 + 112 + 111 (the copy) = 334
        (1, 2, 2, "121.50", D(121), D(122)),
        (2, 1, 2, "211.50", D(211), D(212)),
        (2, 2, 2, "221.50", D(221), D(222)),
    ]
    # Pass 1 (1,1,1): 211 + 121 + 112; its copy sees the same three.
    assert rows[1][1:3] == rows[9][1:3] == (3, "148.00")
    # Pass 5 (2,1,1): both copies of (1,1,1), then (2,2,1) and (2,1,2): 655 / 4.
    assert rows[5][1:3] == (4, "163.75")


def test_analysis_errors(factory: sessionmaker[Session], grid_run: uuid.UUID) -> None:
    with factory() as session:
        with pytest.raises(InvalidRequest, match=r"unknown metric 'profit'; use one of: .*net_"):
            runs.sensitivity(session, grid_run, ["A"], "profit")
        with pytest.raises(InvalidRequest, match="unknown metric 'pass_number'"):
            runs.robustness(session, grid_run, "pass_number")
        with pytest.raises(InvalidRequest, match=r"unknown parameter 'D'; the run's .*: A, B, C"):
            runs.sensitivity(session, grid_run, ["A", "D"])
        with pytest.raises(InvalidRequest, match=r"one or two parameters \(got 3\)"):
            runs.sensitivity(session, grid_run, ["A", "B", "C"])
        with pytest.raises(InvalidRequest, match="two different parameters"):
            runs.sensitivity(session, grid_run, ["A", "A"])
        missing = uuid.uuid4()
        with pytest.raises(NotFound, match=f"Run {missing} not found"):
            runs.robustness(session, missing)
