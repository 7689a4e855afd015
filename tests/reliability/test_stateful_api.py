"""Schemathesis stateful run with API keys on: sequences of calls that follow the links it
infers from the schema (list -> detail -> trades -> delete -> detail ...), every answer
checked against the documented schema, never a 5xx. The stateless run is in
tests/api/test_openapi_fuzz.py."""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance

from backtestdb.config import Settings
from backtestdb.server import create_app
from tests.api.conftest import over_filter_caps, seed_upload
from tests.reliability.profiles import PROFILE

KEY = "stateful-key"


def test_stateful_sequences_conform(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_keys": KEY, "api_key_reads": True}))
    with TestClient(app) as client:
        client.headers["X-API-Key"] = KEY
        for _ in range(2):  # rows for the links to follow
            seed_upload(client, force="true")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)

        class Workflow(schema.as_state_machine()):  # type: ignore[misc]
            def get_call_kwargs(self, case: Case) -> dict[str, Any]:
                return {"headers": {"X-API-Key": KEY}}

            def validate_response(self, response: Any, case: Case, **kwargs: Any) -> None:
                # Which bytes make a valid report cannot be said in OpenAPI (see the
                # stateless run): an upload that fits the schema may still answer 422. And
                # a link from a job whose backtest was deleted (backtest_id null) fills
                # the path with "None", which is rightly a 422. Nor can the filter caps.
                unlinked = any(v is None for v in (case.path_parameters or {}).values())
                skip = case.path == "/api/v1/ingest" or unlinked or over_filter_caps(case.query)
                excluded = [positive_data_acceptance] if skip else []
                case.validate_response(response, excluded_checks=excluded)

        run_state_machine_as_test(
            Workflow,
            settings=hypothesis_settings(
                PROFILE,
                max_examples=min(PROFILE.max_examples, 25),
                stateful_step_count=6,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
