"""Deletes racing reads of the same backtest: every answer is a success or a 404, never a
500, whichever of the two wins (both backends, threads on one app)."""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient

from tests.api.conftest import seed_upload

READS = ("", "/trades?limit=50", "/daily", "/metrics", "/equity?points=50", "/stats",
         "/trades.csv", "/trades.parquet", "/summary.txt")  # fmt: skip
ROUNDS = 4
READERS = 6


def test_deletes_racing_reads_never_answer_500(client: TestClient) -> None:
    seen: Counter[tuple[str, int]] = Counter()
    lock = threading.Lock()
    for _ in range(ROUNDS):
        backtest_id = seed_upload(client, force="true").json()["backtest_id"]
        base = f"/api/v1/backtests/{backtest_id}"
        start = threading.Barrier(READERS + 1)

        def read(offset: int, base: str = base, start: threading.Barrier = start) -> None:
            start.wait()
            for step in range(len(READS) * 2):
                suffix = READS[(offset + step) % len(READS)]
                status = client.get(base + suffix).status_code
                with lock:
                    seen[(suffix or "detail", status)] += 1

        readers = [threading.Thread(target=read, args=(n,)) for n in range(READERS)]
        for thread in readers:
            thread.start()
        start.wait()
        deleted = client.delete(base).status_code
        for thread in readers:
            thread.join(timeout=60)
        assert deleted == 204
        assert client.get(base).status_code == 404
        assert client.delete(base).status_code == 404
    statuses = {status for _, status in seen}
    assert statuses <= {200, 404}, seen
    assert sum(seen.values()) == ROUNDS * READERS * len(READS) * 2
