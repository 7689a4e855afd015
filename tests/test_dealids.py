import random

import pytest

from backtestdb.ingest import deal_ids
from backtestdb.ingest.deal_ids import DealIds


def test_increasing_ids_and_duplicates_name_first_row() -> None:
    ids = DealIds()
    assert [ids.first_row_of(i, row) for row, i in enumerate([2, 5, 9], start=1)] == [1, 2, 3]
    assert ids.first_row_of(5, 4) == 2
    assert ids.first_row_of(9, 5) == 3


def test_out_of_order_and_text_ids() -> None:
    ids = DealIds()
    assert ids.first_row_of(10, 1) == 1
    assert ids.first_row_of(3, 2) == 2  # smaller than the last: kept aside
    assert ids.first_row_of(3, 3) == 2
    assert ids.first_row_of(10, 4) == 1
    assert ids.first_row_of("007", 5) == 5
    assert ids.first_row_of("007", 6) == 5
    assert ids.first_row_of(2**70, 7) == 7
    assert ids.first_row_of(2**70, 8) == 7


def test_new_ids_in_any_order_are_recorded_with_their_rows() -> None:
    seen = DealIds()
    assert seen.extend_new([10, 20, 30], [1, 2, 3])
    assert seen.extend_new([25, 5, 40], [4, 5, 6])
    assert seen.extend_new([50, 60], [7, 8])  # increasing again, while the dict holds ids
    assert [seen.first_row_of(i, 99) for i in (10, 25, 5, 40, 60, 41)] == [1, 4, 5, 6, 8, 99]


def test_a_repeated_id_records_nothing() -> None:
    seen = DealIds()
    assert seen.extend_new([10, 20, 30], [1, 2, 3])
    assert seen.extend_new([7, 8], [4, 5])
    for block in ([31, 20], [32, 8], [33, 33]):  # seen in the array, in the dict, twice
        assert not seen.extend_new(block, [6, 7])
    assert [seen.first_row_of(i, 99) for i in (31, 32, 33)] == [99, 99, 99]


def test_many_out_of_order_ids_move_to_sorted_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deal_ids, "SPILL", 8)
    seen = DealIds()
    assert seen.extend_new([1000], [1])
    rng = random.Random(3)
    shuffled = rng.sample(range(1, 1000), 999)
    rows = {deal_id: row for row, deal_id in enumerate(shuffled, start=2)}
    for start in range(0, 900, 30):  # blocks, as the columnar path records them
        block = shuffled[start : start + 30]
        assert seen.extend_new(block, [rows[i] for i in block])
    for deal_id in shuffled[900:]:  # one at a time, as the validator does
        assert seen.first_row_of(deal_id, rows[deal_id]) == rows[deal_id]
    # Most moved from the dict to the sorted arrays; the dict keeps at most a quarter.
    assert len(seen._sorted_ids) > 700
    assert len(seen._others) <= len(seen._sorted_ids) // 4 + 30
    assert all(seen.first_row_of(i, 5000) == rows[i] for i in rng.sample(shuffled, 200))
    assert seen.first_row_of(1000, 5000) == 1
    assert not seen.extend_new([1001, shuffled[10]], [5001, 5002])  # one seen, in the arrays
    assert seen.first_row_of(1001, 5003) == 5003  # nothing of the refused block recorded
    assert seen.first_row_of("A7", 5004) == 5004
    assert seen.first_row_of("A7", 5005) == 5004


def test_rows_that_follow_on_are_kept_as_a_run_until_one_does_not() -> None:
    seen = DealIds()
    assert seen.extend_new([10, 20, 30], [4, 5, 6])
    assert seen.first_row_of(40, 7) == 7
    assert seen._rows.stored is None  # rows 4..7: held as first + index
    assert seen.extend_new([50, 60], [9, 10])  # row 8 missing (a blank line, say)
    assert seen.first_row_of(70, 12) == 12
    assert seen._rows.stored is not None
    assert [seen.first_row_of(i, 99) for i in (10, 30, 40, 50, 60, 70)] == [4, 6, 7, 9, 10, 12]
    assert seen.first_row_of(30, 13) == 6


def test_a_first_row_out_of_step_is_stored_at_once() -> None:
    seen = DealIds()
    for deal_id, row in [(1, 2), (2, 3), (3, 3), (4, 8)]:  # row 3 twice: a repeat elsewhere
        seen.first_row_of(deal_id, row)
    assert [seen.first_row_of(i, 99) for i in (1, 2, 3, 4)] == [2, 3, 3, 8]
