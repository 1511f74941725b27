"""schemathesis against every provider's served contract (``<prefix>/openapi.json``), in-process:

- positive data with a key: no 5xx, and every answer is one the contract declares (status code, content
  type, headers, body schema);
- without a key: every call is refused with a 4xx the contract declares for the operation, in the
  provider's own error shape;
- negative data only: every request schemathesis makes invalid must be rejected (a 4xx, never accepted,
  never a 5xx) with the provider's own error shape, i.e. a status and body the contract declares for
  the operation (checked with ``pixelmock.contracts.verify``, as cassettes are);
- a stateful run where the contract links operations: Apiframe's 202 answer links to ``getJob``; the run
  must follow that link to jobs it created and every answer must keep the contract.

Examples per test: ``PIXELMOCK_EXAMPLES`` (default small; raise it for a deeper local run).
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.stateful import OpenAPIStateMachine

from pixelmock.contracts.openapi import PROVIDERS, credential_headers, real_base_url
from pixelmock.contracts.verify import check_interaction
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.app import mounted_providers

EXAMPLES = int(os.environ.get("PIXELMOCK_EXAMPLES", "6"))
RICH = {"credits": Decimal(10**9), "USD": Decimal(10**9)}
APP = create_app(EmulatorConfig(max_body_bytes=256 * 1024, starting_balances=RICH))
PREFIX = {p.name: p.prefix for p in mounted_providers(APP)}
AUTH = {"apiframe": {"X-API-Key": "afk_schemathesis"}}


def _schema(provider: str, modes: list[GenerationMode]) -> Any:
    schema = schemathesis.openapi.from_wsgi(f"{PREFIX[provider]}/openapi.json", APP)
    # Unknown query parameters are ignored by HTTP APIs as a rule; the contracts do not forbid them.
    schema.config.generation.update(modes=modes, allow_extra_parameters=False)
    return schema


def _headers(provider: str) -> dict[str, str]:
    return AUTH.get(provider, {"Authorization": "Bearer schemathesis"})


def declared_error_shape(provider: str) -> Any:
    """A check: a rejection must be one the contract declares for the operation (status and body)."""

    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        if not 400 <= response.status_code < 500 or case.method.upper() != case.operation.method.upper():
            return None  # (a probe of an undeclared method is answered 405 by the app: not an operation's)
        path = case.formatted_path
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type", [""])
        interaction = {
            "request": {
                "method": case.method,
                "uri": real_base_url(provider) + ("" if path == "/" else path),
            },
            "response": {
                "status": {"code": response.status_code},
                "headers": {"Content-Type": content_type},
                "body": {"string": response.content.decode("utf-8", "replace")},
            },
        }
        problems = check_interaction(interaction)
        assert not problems, "; ".join(str(p) for p in problems)
        return True

    check.__name__ = f"{provider}_declared_error_shape"
    return check


def _runware_rejected_per_task(response: Any) -> bool:
    """Runware scopes errors to tasks: an array where some task produced data answers 200 with the
    failing tasks' ``errors`` (contract ``x-status-of-mixed-arrays``). That is a rejection too."""
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code == 200 and isinstance(body, dict) and bool(body.get("errors"))


RUN = settings(max_examples=EXAMPLES * 3, deadline=None, suppress_health_check=list(HealthCheck))
#: What every answer must keep, whatever was sent.
CONFORMANCE = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
POSITIVE_SCHEMAS = {provider: _schema(provider, [GenerationMode.POSITIVE]) for provider in PROVIDERS}
POSITIVE_CHECKS = [*CONFORMANCE, checks.response_headers_conformance]


def _positive(provider: str) -> Any:
    @POSITIVE_SCHEMAS[provider].parametrize()
    @RUN
    def test(case: Any) -> None:
        case.call_and_validate(headers=_headers(provider), checks=POSITIVE_CHECKS)

    return test


def _authenticates_in_body(response: Any) -> bool:
    """Runware also takes the key as an authentication task first in the array: such a request, as sent,
    does carry credentials."""
    try:
        sent = json.loads(response.request.body or b"null")
    except ValueError:
        return False
    first = sent[0] if isinstance(sent, list) and sent else None
    return isinstance(first, dict) and first.get("taskType") == "authentication"


def _without_a_key(provider: str) -> Any:
    # Every header a security scheme of the contract reads (Cloudflare's X-Auth-Email / X-Auth-Key too).
    credentials = {name.lower() for name in (*_headers(provider), *credential_headers(provider))}

    @POSITIVE_SCHEMAS[provider].parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def test(case: Any) -> None:
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in credentials}
        response = case.call()
        declared_method = case.method.upper() == case.operation.method.upper()  # (it also probes others)
        if declared_method and not _authenticates_in_body(response):
            assert 400 <= response.status_code < 500, response.text
        case.validate_response(response, checks=[*POSITIVE_CHECKS, declared_error_shape(provider)])

    return test


# One test function per provider of the registry (test_openai_keeps_its_contract, ...): schemathesis
# parametrizes a function per schema, so each provider gets its own, named after it.
for _provider in PROVIDERS:
    globals()[f"test_{_provider}_keeps_its_contract"] = _positive(_provider)
    globals()[f"test_{_provider}_refuses_calls_without_a_key"] = _without_a_key(_provider)


SCHEMAS = {provider: _schema(provider, [GenerationMode.NEGATIVE]) for provider in PROVIDERS}
CHECKS = [*CONFORMANCE, checks.negative_data_rejection]


def _negative(provider: str) -> Any:
    @SCHEMAS[provider].parametrize()
    @RUN
    def test(case: Any) -> None:
        response = case.call(headers=_headers(provider))
        if provider == "runware" and _runware_rejected_per_task(response):
            return
        # An oversized negative body is rejected as too large (413): a rejection schemathesis's
        # negative_data_rejection does not list; the answer's status and shape are still checked.
        checks_here = CONFORMANCE if response.status_code == 413 else CHECKS
        case.validate_response(response, checks=[*checks_here, declared_error_shape(provider)])

    return test


for _provider in PROVIDERS:
    globals()[f"test_{_provider}_rejects_invalid_input"] = _negative(_provider)


# -- stateful: Apiframe's submit -> getJob link --------------------------------------------------------

FOLLOWED: list[str] = []


class ApiframeJobs(_schema("apiframe", [GenerationMode.POSITIVE]).as_state_machine()):  # type: ignore[misc]
    """Submit jobs and poll them through the contract's link, checking every answer."""

    created: set[str]

    def setup(self) -> None:
        self.created = set()

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": _headers("apiframe")}

    def after_call(self, response: Any, case: Any) -> None:
        if response.status_code == 202:
            self.created.add(response.json()["jobId"])
        job_id = (case.path_parameters or {}).get("id")
        if (
            case.operation.label == "GET /v2/jobs/{id}"
            and job_id in self.created
            and response.status_code == 200
        ):
            FOLLOWED.append(job_id)

    def validate_response(
        self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        case.validate_response(response, checks=CONFORMANCE)


def test_apiframe_stateful_run_follows_the_submit_to_job_link() -> None:
    assert issubclass(ApiframeJobs, OpenAPIStateMachine)
    ApiframeJobs.run(
        settings=settings(
            max_examples=EXAMPLES * 2,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            stateful_step_count=4,
        )
    )
    assert FOLLOWED, "no generated scenario polled a job it had submitted"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_contract_is_served_with_its_error_responses(provider: str) -> None:
    """The negative runs above mean something only if each contract declares its error answers."""
    operations = list(SCHEMAS[provider].get_all_operations())
    assert operations
    for result in operations:
        responses = result.ok().definition.raw["responses"]
        assert any(code.startswith("4") for code in responses), result.ok().label
