"""Schemathesis against the served Cloudflare contract (in-process WSGI): no server errors, and every
answer is one the contract declares (status code, content type, body schema).

The schema is loaded from a module-level app: ``schemathesis.pytest.from_fixture`` (lazy loading) fails
under pytest 9 (it reads ``request.node._nodeid``, which pytest 9 removed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from emulators import EmulatorConfig, create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# A small body limit keeps generated bodies cheap; a large balance keeps every run affordable.
CONFIG = EmulatorConfig(max_body_bytes=256 * 1024, starting_balances={"USD": Decimal(1_000_000)})
APP = create_app(CONFIG, providers=["cloudflare"])
schema = schemathesis.openapi.from_wsgi("/cloudflare/client/v4/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_served_contract_holds(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(headers={"Authorization": "Bearer schemathesis"}, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_served_contract_holds_without_credentials(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(checks=CHECKS)
