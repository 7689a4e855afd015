"""Strategy parameter files: flat JSON, `.cbotset`, a JSON list, or `key=value` text; and
the `.cbotset`'s `Chart` block (the symbol and period it was saved for)."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from backtestdb.errors import InputError
from backtestdb.parsing.fields import decode_text, load_json, normalize_name
from backtestdb.parsing.records import Parameter, ValueType

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+")
_SECTION = re.compile(r"\[\s*[A-Za-z_][\w .-]*\]")
_COMMENT_PREFIXES = ("#", ";", "//")
MAX_TEXT = 255


def typed_value(value: Any) -> tuple[str | None, ValueType]:
    """A JSON value as (text, type), so it can be stored in one text column and read back."""
    if value is None:
        return None, "null"
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, float):
        return (repr(value) if math.isfinite(value) else str(value)), "float"
    if isinstance(value, str):
        return value, "string"
    return json.dumps(value, ensure_ascii=False, sort_keys=True), "json"


def infer_text_value(text: str) -> tuple[str, ValueType]:
    """Type of an unquoted `key=value` value; quoting a value forces "string"."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1], "string"
    lowered = text.casefold()
    if lowered in ("true", "false"):
        return lowered, "bool"
    if _INT.fullmatch(text):
        return str(int(text)), "int"
    if _FLOAT.fullmatch(text):
        return text, "float"
    return text, "string"


def parse_parameters(data: bytes, file: str) -> list[Parameter]:
    if not data.strip():
        raise InputError(file, "file is empty")
    text = decode_text(data, file, what="parameters file")
    stripped = text.strip()
    if not stripped:
        raise InputError(file, "file is empty")
    first_line = stripped.splitlines()[0].strip()
    # "[Section]" opens an INI-style text file, "[{" or "[]" a JSON list.
    if stripped[0] == "{" or (stripped[0] == "[" and not _SECTION.fullmatch(first_line)):
        return parameters_from_json(load_json(stripped, file), file)
    return _parse_text(text, file)


@dataclass(frozen=True, slots=True)
class Chart:
    """The `Chart` block of a `.cbotset`: what the backtest ran on, when the file says."""

    symbol: str | None = None
    period: str | None = None


def chart_of(data: bytes, file: str) -> Chart:
    """The `Chart` block (`{"Chart": {"Symbol": "NAS100.cash", "Period": "m1"}, …}`) of a
    parameters file; an empty Chart when it has none (any other form, or no such block).
    Key case does not matter; `TimeFrame` is accepted for the period."""
    text = decode_text(data, file, what="parameters file").strip()
    obj = load_json(text, file) if text.startswith("{") else None
    keys = {normalize_name(key): key for key in obj} if isinstance(obj, dict) else {}
    block = obj[keys["chart"]] if isinstance(obj, dict) and "chart" in keys else None
    if not isinstance(block, dict):
        return Chart()
    # The limits are the backtests columns': symbol VARCHAR(64), period VARCHAR(32).
    return Chart(
        symbol=_chart_text(block, ("symbol", "symbolname"), 64, file, example="EURUSD"),
        period=_chart_text(block, ("period", "timeframe"), 32, file, example="h1"),
    )


def _chart_text(
    block: dict[str, Any], names: tuple[str, ...], limit: int, file: str, *, example: str
) -> str | None:
    """One text of the Chart block, stripped; a missing, null or blank one is None."""
    keys = {normalize_name(key): key for key in block}
    key = next((keys[name] for name in names if name in keys), None)
    value = None if key is None else block[key]
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    column = f"Chart.{key}"
    if not isinstance(value, str):
        raise InputError(
            file,
            f'expected text, such as "{example}"',
            column=column,
            value=json.dumps(value)[:80],
        )
    if len(value.strip()) > limit:
        raise InputError(file, f"longer than {limit} characters", column=column, value=value[:80])
    return value.strip()


def parameters_from_json(obj: Any, file: str, *, where: str = "") -> list[Parameter]:
    """Parameters from a flat object, a `.cbotset` object or a list of parameter objects."""
    if isinstance(obj, dict):
        keys = {normalize_name(key): key for key in obj}
        if "parameters" in keys and isinstance(obj[keys["parameters"]], dict | list):
            key = keys["parameters"]
            return parameters_from_json(obj[key], file, where=f"{where}{key}")
        result = []
        for name, value in obj.items():
            _check_length(name, "name", file, column=f"{where}.{name[:40]}" if where else None)
            text, value_type = typed_value(value)
            result.append(Parameter(name=name, value=text, value_type=value_type))
        return result
    if isinstance(obj, list):
        return _from_list(obj, file, where)
    raise InputError(file, "expected a JSON object or a list of parameters", column=where or None)


def _from_list(items: list[Any], file: str, where: str) -> list[Parameter]:
    result: list[Parameter] = []
    first_row: dict[str, int] = {}
    for row, item in enumerate(items, start=1):
        column = f"{where}[{row - 1}]"
        if not isinstance(item, dict):
            raise InputError(file, "parameter is not a JSON object", row=row, column=column)
        keys = {normalize_name(key): key for key in item}
        name = _first(item, keys, "propertyname", "name", "displayname")
        if not isinstance(name, str) or not name.strip():
            raise InputError(
                file,
                "parameter has no name (looked for: propertyName, name, displayName)",
                row=row,
                column=column,
            )
        name = name.strip()
        if name in first_row:
            raise InputError(
                file, f"duplicate parameter {name!r}, first in row {first_row[name]}", row=row
            )
        first_row[name] = row
        text, value_type = typed_value(_first(item, keys, "value"))
        group = _first(item, keys, "group")
        display = _first(item, keys, "displayname")
        for label, given in (
            ("name", name),
            ("group", group),
            ("displayName", display),
        ):
            if isinstance(given, str):
                _check_length(given, label, file, row=row, column=column)
        result.append(
            Parameter(
                name=name,
                value=text,
                value_type=value_type,
                group=group if isinstance(group, str) else None,
                display_name=display if isinstance(display, str) else None,
            )
        )
    return result


def _check_length(
    text: str,
    what: str,
    file: str,
    *,
    row: int | None = None,
    column: str | None = None,
) -> None:
    # The parameters table holds names, groups and display names in VARCHAR(255).
    if len(text) > MAX_TEXT:
        raise InputError(
            file, f"parameter {what} longer than {MAX_TEXT} characters", row=row,
            column=column, value=text[:80],
        )  # fmt: skip


def _first(item: dict[str, Any], keys: dict[str, str], *names: str) -> Any:
    for name in names:
        if name in keys and item[keys[name]] is not None:
            return item[keys[name]]
    return None


def _parse_text(text: str, file: str) -> list[Parameter]:
    result: list[Parameter] = []
    first_row: dict[str, int] = {}
    for row, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(_COMMENT_PREFIXES) or _SECTION.fullmatch(stripped):
            continue
        name, sep, raw_value = stripped.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(file, "expected a name=value line", row=row, value=stripped)
        if name in first_row:
            raise InputError(
                file, f"duplicate parameter {name!r}, first in row {first_row[name]}", row=row
            )
        _check_length(name, "name", file, row=row)
        first_row[name] = row
        value, value_type = infer_text_value(raw_value.strip())
        result.append(Parameter(name=name, value=value, value_type=value_type))
    return result
