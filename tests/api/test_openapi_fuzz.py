"""Schemathesis over /openapi.json: no 5xx, and every answer matches the documented schema.

The operations are driven by hand rather than with `schema.parametrize()`, so the app can
come from the suite's fixtures (both backends); schemathesis' lazy fixture loader does not
run on the pytest this suite uses. Raise EXAMPLES locally for a deeper search.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.failures import FailureGroup

from backtestdb.config import Settings
from backtestdb.server import create_app
from tests.api.conftest import over_filter_caps, seed_upload

EXAMPLES = 10
KEY = "fuzz-key"


def failure_of(operation: APIOperation, mode: GenerationMode) -> str | None:
    # Which bytes make a valid report cannot be said in OpenAPI: an upload that fits the
    # schema may still be rejected (422), so only there that check is off.
    excluded = [positive_data_acceptance] if operation.path == "/api/v1/ingest" else []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case: Case) -> None:
        capped = [positive_data_acceptance] if over_filter_caps(case.query) else []
        case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=excluded + capped)

    try:
        conforms()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to negate: no parameters
    except (AssertionError, FailureGroup) as failure:
        return f"{operation.label}: {failure}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms(settings: Settings, mode: GenerationMode) -> None:
    # With keys on for reads too, schemathesis also checks that a request without one is
    # refused on every operation that documents the key.
    app = create_app(settings.model_copy(update={"api_keys": KEY, "api_key_reads": True}))
    with TestClient(app) as client:  # runs the lifespan: the app's engine is disposed after
        client.headers["X-API-Key"] = KEY
        seed_upload(client)  # one stored backtest, so lists and filters have rows to read
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        failures = [failure_of(result.ok(), mode) for result in schema.get_all_operations()]
    found = [failure for failure in failures if failure is not None]
    assert not found, "\n\n".join(found)
