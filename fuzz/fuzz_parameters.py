"""atheris target: the parameter file parser (JSON, .cbotset, key=value).

    pip install atheris
    python fuzz/fuzz_parameters.py -max_total_time=600 fuzz/corpus/parameters

Any exception but a BacktestdbError that names the file (parser_oracles.BrokenPromise for a
value that would not fit the database) is a finding; libFuzzer saves the input as crash-*.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
with atheris.instrument_imports():
    from tests.reliability.parser_oracles import run_parameters


def TestOneInput(data: bytes) -> None:  # the name atheris calls
    run_parameters(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
