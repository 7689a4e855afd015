"""OpenAPI pieces the routes cannot derive themselves: error responses with examples, the
streamed multipart body, and the dynamic list filters."""

from __future__ import annotations

from typing import Any

from backtestdb.backtests import (
    INTEGER_METRICS,
    MAX_AMOUNT,
    MAX_INT,
    METRIC_COLUMNS,
    SORT_COLUMNS,
)
from backtestdb.schemas import BatchOut, ErrorOut, IngestQueued

_BACKTEST_MISSING = "Backtest 6f1f8e0a-3c9e-4d7b-8a51-0c2d4e6f8a10 not found"
_ROW_ERROR = {
    "file": "history.csv",
    "row": 3,
    "column": "Entry Price",
    "value": "abc",
    "message": "not a number",
}
_ERROR_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    400: ("Malformed request", {"detail": "Malformed multipart body: a part has no field name"}),
    401: ("API_KEYS is set and no valid key was sent", {"detail": "Missing or invalid API key"}),
    403: (
        "Sent by a browser page of another origin (not this server nor CORS_ORIGINS)",
        {"detail": "cross-site request refused: Origin 'http://evil.example' is neither…"},
    ),
    404: ("No such backtest or job", {"detail": _BACKTEST_MISSING}),
    409: (
        "A concurrent request stored the same data",
        {"detail": "Conflicting concurrent change; retry the request"},
    ),
    413: ("A file is over MAX_FILE_SIZE_MB", {"detail": "File too large"}),
    415: ("The body is not multipart/form-data", {"detail": "Send multipart/form-data"}),
    422: (
        "Invalid input: rows, files or request options",
        {
            "detail": "Validation failed with 1 row error; nothing was stored",
            "errors": [_ROW_ERROR],
            "error_count": 1,
            "job_id": "0b7f3c1e-5d0a-4f55-9a51-2f1c1d2b9e11",
        },
    ),
    503: ("The database is unreachable or not migrated", {"detail": "Database unavailable"}),
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {
        code: {
            "model": ErrorOut,
            "description": _ERROR_EXAMPLES[code][0],
            "content": {"application/json": {"example": _ERROR_EXAMPLES[code][1]}},
        }
        for code in codes
    }


INGESTED: dict[str, Any] = {
    "content": {
        "application/json": {
            "example": {
                "job_id": "0b7f3c1e-5d0a-4f55-9a51-2f1c1d2b9e11",
                "backtest_id": "6f1f8e0a-3c9e-4d7b-8a51-0c2d4e6f8a10",
                "status": "completed",
                "message": "Successfully ingested 200 trades",
            }
        }
    }
}

QUEUED: dict[str, Any] = {
    "model": IngestQueued | BatchOut,
    "description": "mode=async: the files are stored and the job waits for a worker (a zip "
    "or folder: the batch table, one queued job per backtest)",
    "content": {
        "application/json": {
            "example": {"job_id": "0b7f3c1e-5d0a-4f55-9a51-2f1c1d2b9e11", "status": "pending"}
        }
    },
}

_FILE = {"type": "string", "format": "binary"}
INGEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "json_file": {**_FILE, "description": "cTrader report, JSON or HTML"},
                        "csv_file": {**_FILE, "description": "History CSV (the trade source)"},
                        "parameters_file": {
                            **_FILE,
                            "description": "parameters.json, .cbotset or key=value lines",
                        },
                        "params_file": {**_FILE, "description": "Same as parameters_file"},
                        "events_file": {
                            **_FILE,
                            "description": "events.json: position events (the trade source)",
                        },
                        "name": {"type": "string", "maxLength": 255},
                        "description": {"type": "string", "maxLength": 10000},
                        "initial_balance": {
                            "type": "string",
                            "pattern": r"^([0-9]{1,15}(\.[0-9]{1,2})?)?$",
                            "description": "Default: the report's startingCapital",
                            "example": "10000.00",
                        },
                        "symbol": {
                            "type": "string",
                            "maxLength": 64,
                            "description": "An events.json's symbol: default the report's, "
                            "else the .cbotset's Chart.Symbol",
                        },
                        "on_error": {"type": "string", "enum": ["strict", "skip"]},
                        "force": {"type": "boolean", "description": "Store identical files again"},
                        "archive_file": {
                            **_FILE,
                            "description": "A .zip of backtest folders (a batch; not with the "
                            "files above): each report/History CSV/events.json folder, or "
                            "Optimization/<n>/ pass folders. At most MAX_ARCHIVE_UNPACKED_MB "
                            "unpacked; no paths outside it, links or archives inside",
                        },
                        "folder_file": {
                            "type": "array",
                            "items": _FILE,
                            "description": "A folder's files, one part each, the filename its "
                            "path inside the folder (`EURUSD h1/Optimization/3/report.html`): "
                            "a batch, as archive_file",
                        },
                        "run": {
                            "type": "string",
                            "maxLength": 255,
                            "description": "With archive_file or folder_file: all its "
                            "backtests make one run of this name",
                        },
                    },
                    "anyOf": [
                        {"required": ["json_file"]},
                        {"required": ["csv_file"]},
                        {"required": ["events_file"]},
                        {"required": ["archive_file"]},
                        {"required": ["folder_file"]},
                    ],
                }
            }
        },
    }
}


def _bound(prefix: str, metric: str) -> dict[str, Any]:
    word = "at least" if prefix == "min" else "at most"
    if metric in INTEGER_METRICS:
        schema: dict[str, Any] = {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}
    else:
        limit = float(MAX_AMOUNT)
        schema = {"type": "number", "exclusiveMinimum": -limit, "exclusiveMaximum": limit}
    return {
        "name": f"{prefix}_{metric}",
        "in": "query",
        "required": False,
        "description": f"Only backtests whose {metric} is {word} this",
        "schema": schema,
    }


LIST_FILTERS: dict[str, Any] = {
    "parameters": [_bound(prefix, metric) for metric in METRIC_COLUMNS for prefix in ("min", "max")]
}
SORT_SCHEMA: dict[str, Any] = {"enum": [*SORT_COLUMNS, *(f"-{c}" for c in SORT_COLUMNS)]}
