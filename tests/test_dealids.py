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
