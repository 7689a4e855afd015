"""The backtests in the paths a user gives: folders walked recursively, loose files.

A backtest is a folder holding a report and/or a History CSV and/or an events.json, with
an optional parameter set: cTrader desktop's `Backtesting/` and each numbered pass folder
of an `Optimization/` folder, or wherever the cTrader CLI wrote `report.json`. Files are
recognised by content as well as name (`parsing.file_kinds`). Loose files given together
form one backtest per folder they sit in. Symlinked folders are not followed.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from backtestdb.errors import InvalidRequest
from backtestdb.parsing.file_kinds import HEAD_BYTES, FileKind, kind_of

#: An optimisation's folder, and its passes' folder names ("17", "Pass 17").
_OPTIMIZATION = re.compile(r"optimi[sz]ation", re.IGNORECASE)
_PASS = re.compile(r"(?:pass\s*)?#?\s*(\d{1,9})", re.IGNORECASE)
_NUMBERS = re.compile(r"(\d+)")
TRADE_SOURCES: tuple[FileKind, ...] = ("report", "history", "events")


@dataclass(frozen=True, slots=True)
class FoundBacktest:
    folder: Path
    #: Its path relative to what was given ("Optimization/17"), for tables.
    label: str
    report: Path | None = None
    history: Path | None = None
    events: Path | None = None
    parameters: Path | None = None
    #: The number of a pass folder directly under an Optimization folder.
    pass_number: int | None = None
    optimization: Path | None = None
    #: Why it cannot be ingested as it is (shown as its failure).
    problem: str | None = None

    @property
    def files(self) -> list[Path]:
        found = (self.report, self.history, self.events, self.parameters)
        return [path for path in found if path is not None]


def discover(paths: Sequence[Path], *, labels_from: Path | None = None) -> list[FoundBacktest]:
    """Every backtest under `paths`, in natural path order ("2" before "10")."""
    groups: dict[Path, list[Path]] = defaultdict(list)
    for path in paths:
        if path.is_dir():
            for folder, files in _walk(path):
                groups[folder] += files
        elif path.is_file():
            groups[path.parent].append(path)
        else:
            raise InvalidRequest(f"{path}: no such file or folder")
    found = [
        backtest
        for folder, files in sorted(groups.items(), key=lambda item: natural_key(item[0]))
        if (backtest := backtest_in(folder, files, _label(folder, paths, labels_from)))
    ]
    if not found:
        raise InvalidRequest(
            f"No backtest found in {', '.join(str(p) for p in paths)}: a backtest folder holds "
            "a report (report.json or report.html), a History CSV and/or an events.json, "
            "with an optional parameters file (.cbotset)"
        )
    return found


def _walk(root: Path) -> Iterable[tuple[Path, list[Path]]]:
    for folder, dirs, files in os.walk(root):  # os.walk does not follow symlinked folders
        dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__MACOSX"]
        here = Path(folder)
        yield here, [here / name for name in files if not name.startswith(".")]


def backtest_in(folder: Path, files: list[Path], label: str) -> FoundBacktest | None:
    """The backtest these files of one folder make, or None when they hold no trade source."""
    kinds: dict[FileKind, list[Path]] = defaultdict(list)
    for path in sorted(files, key=natural_key):
        if path.is_file() and (kind := kind_of(_head(path), path.name)) is not None:
            kinds[kind].append(path)
    if not any(kinds.get(kind) for kind in TRADE_SOURCES):
        return None
    chosen, problem = _one_each(kinds)
    number, optimization = pass_of(folder)
    return FoundBacktest(
        folder=folder,
        label=label,
        report=chosen.get("report"),
        history=chosen.get("history"),
        events=chosen.get("events"),
        parameters=chosen.get("parameters"),
        pass_number=number,
        optimization=optimization,
        problem=problem,
    )


def _one_each(kinds: dict[FileKind, list[Path]]) -> tuple[dict[FileKind, Path], str | None]:
    """One file per kind. The cTrader CLI writes report.json and report.html with the same
    report: the JSON is read. A .cbotset beats a parameters.json (it also names the chart).
    A History CSV exported into a folder that has an events.json is the trade source (it
    has the fees). Two of anything else is the user's to resolve."""
    for kind, suffix, other in _PREFERRED:
        paths = kinds.get(kind, [])
        preferred = [p for p in paths if p.suffix.casefold() == suffix]
        if len(preferred) == 1 and all(p.suffix.casefold() in (suffix, other) or not other
                                       for p in paths):  # fmt: skip
            kinds[kind] = preferred
    if kinds.get("history") and kinds.get("events"):
        del kinds["events"]
    chosen: dict[FileKind, Path] = {}
    problems = []
    for kind, paths in kinds.items():
        if not paths:
            continue
        chosen[kind] = paths[0]
        if len(paths) > 1:
            names = ", ".join(p.name for p in paths)
            problems.append(
                f"holds {len(paths)} {_KIND_NAMES[kind]} files ({names}): keep one per "
                "backtest folder, or put each backtest in a folder of its own"
            )
    return chosen, "; ".join(problems) or None


#: (kind, the suffix read when there are two, the other one: "" for any).
_PREFERRED: tuple[tuple[FileKind, str, str], ...] = (
    ("report", ".json", ".html"),
    ("parameters", ".cbotset", ""),
)
_KIND_NAMES: dict[FileKind, str] = {
    "report": "report",
    "history": "History CSV",
    "events": "events.json",
    "parameters": "parameters",
}


def pass_of(folder: Path) -> tuple[int | None, Path | None]:
    """(pass number, Optimization folder) for a numbered folder right under one."""
    match = _PASS.fullmatch(folder.name.strip())
    if match is None or not _OPTIMIZATION.fullmatch(folder.parent.name.strip()):
        return None, None
    return int(match[1]), folder.parent


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def _label(folder: Path, given: Sequence[Path], labels_from: Path | None) -> str:
    for base in [labels_from] if labels_from is not None else [p.parent for p in given]:
        if folder.is_relative_to(base):
            return folder.relative_to(base).as_posix() or folder.name or "."
    return folder.as_posix()


def natural_key(path: Path) -> list[tuple[int, str | int]]:
    """Numbers compare as numbers: Optimization/2 sorts before Optimization/10."""
    return [
        (1, int(part)) if part.isdigit() else (0, part.casefold())
        for part in _NUMBERS.split(path.as_posix())
        if part
    ]
