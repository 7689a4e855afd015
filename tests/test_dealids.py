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
