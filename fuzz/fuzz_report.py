"""atheris target: the report parser (JSON or HTML), its summary, parameters and trades.

    pip install atheris
    python fuzz/fuzz_report.py -max_total_time=600 fuzz/corpus/report

Any exception but a BacktestdbError that names the file (parser_oracles.BrokenPromise for a
value that would not fit the database) is a finding; libFuzzer saves the input as crash-*.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
with atheris.instrument_imports():
    from tests.reliability.parser_oracles import run_report


def TestOneInput(data: bytes) -> None:  # the name atheris calls
    run_report(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
