"""schemathesis against the Runware emulator's served contract (in-process): whatever the contract lets it
generate, valid or not, the emulator never answers 5xx, uses only documented status codes and content
types, and its bodies match the declared response schemas."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from emulators import create_app

EMULATED_PROVIDERS = ["runware"]


# One app for the module: state (accounts, taskUUIDs) carries across examples, as against a real server.
schema = schemathesis.openapi.from_wsgi("/runware/v1/openapi.json", create_app(providers=["runware"]))


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_emulator_keeps_its_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": "Bearer schemathesis"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
