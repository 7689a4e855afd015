"""The atheris targets under fuzz/ stay runnable: each loads (atheris stubbed, it is not a
CI dependency) and accepts its seed corpus."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"


@pytest.mark.parametrize("target", ["history_csv", "report", "parameters"])
def test_fuzz_target_runs_its_corpus(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stub = types.ModuleType("atheris")
    stub.instrument_imports = lambda: __import__("contextlib").nullcontext()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "atheris", stub)
    spec = importlib.util.spec_from_file_location(f"fuzz_{target}", FUZZ / f"fuzz_{target}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seeds = sorted((FUZZ / "corpus" / target).iterdir())
    assert seeds
    for seed in seeds:
        module.TestOneInput(seed.read_bytes())
