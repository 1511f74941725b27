"""Schemathesis against the Apiframe emulator's served contract (``/apiframe/openapi.json``), in-process.

Generated requests (valid and invalid) must never get a 5xx, and every answer must be one the contract
declares, with the declared content type and body schema.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from emulators import EmulatorConfig, create_app

APP = create_app(EmulatorConfig(starting_balances={"credits": Decimal(10**9)}), providers=["apiframe"])
schema = schemathesis.openapi.from_wsgi("/apiframe/openapi.json", APP)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_served_contract_holds(case: Any) -> None:
    case.call_and_validate(headers={"X-API-Key": "afk_schemathesis"}, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_unauthenticated_calls_are_declared_answers(case: Any) -> None:
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
    response = case.call_and_validate(checks=CHECKS)
    if case.method.upper() == case.operation.method.upper():  # it also probes other methods (OPTIONS...)
        assert response.status_code == 401
