"""Azure OpenAI emulator (prefix ``/azure``, standing for ``https://{resource}.openai.azure.com``).

Contract: ``contracts/openapi/azure.yaml``; dialect: ``pixelmock.contracts.dialects.azure``. Routes:
``POST /openai/deployments/<deployment>/images/generations`` and ``/images/edits`` (``api-version``
required), and the v1 surface ``POST /openai/v1/images/generations`` and ``/images/edits`` (``model`` names
the deployment; ``api-version`` optional).

Order of checks, each answered in Azure's envelope ``{"error": {"code", "message"}}``
(``x-azure-errors``): the credential (``api-key`` header, or ``Authorization: Bearer`` an Entra ID
token; none: 401), ``api-version`` (missing or unserved on the deployments path: 404 ``Resource not
found``), the deployment (404 ``DeploymentNotFound`` for a name that serves no model, or a model past its
Azure retirement on the virtual clock, option ``azure.after_upstream_shutdown``). The body is then OpenAI's
Images API (``pixelmock.emulators.providers.base.answer``: OpenAI's validation and error bodies, usage,
streaming with partial images), priced and debited at Azure's prices (``contracts/data/pricing.yaml``
``azure``).

Deployments: a deployment named like a model Azure sells (``gpt-image-1.5``, ``gpt-image-2`` or a snapshot
id) serves that model (option ``azure.deployments``); ``EmulatorConfig.options["azure.deployment_models"]``
(``{deployment name: model id}``, an emulator switch) declares others.

Injected faults (``x-faults``): 429 with ``Retry-After``, ``retry-after-ms`` and
``x-ratelimit-remaining-requests``, 500, an exhausted balance, and content-filter refusals with
``innererror.content_filter_results`` (fault parameter ``category``, several joined by ``|``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from pixelmock.contracts.dialects.azure import sells
from pixelmock.contracts.dialects.openai import EDIT, GENERATE, branch, canonical_model
from pixelmock.contracts.openapi import inlined
from pixelmock.contracts.providers import provider
from pixelmock.emulators.core.accounts import Account
from pixelmock.emulators.core.faults import Fault, contract_answers
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.providers.base import (
    Parsed,
    ProviderError,
    answer,
    entry_error,
    error,
    errors_catalogue,
    json_type_name,
    parse_edit,
    parse_generation,
)
from pixelmock.emulators.providers.base import provider_blueprint as blueprint
from pixelmock.emulators.web.context import choice, runtime
from pixelmock.emulators.web.provider import ProviderEmulator

NAME = "azure"
#: Where the app mounts it (the provider registry, ``contracts/data/providers.yaml``).
PREFIX = provider(NAME).prefix
#: The emulator switch declaring deployments beyond the default ones: ``{deployment name: model id}``.
DEPLOYMENT_MODELS = "azure.deployment_models"
#: Which deployments exist besides the declared ones (contract option).
OPTION_DEPLOYMENTS = "azure.deployments"

bp = blueprint(NAME, __name__)


def _spec() -> dict[str, Any]:
    return inlined(NAME)


def azure_error(name: str, **fields: Any) -> ProviderError:
    """Azure's error ``x-azure-errors.<name>``: ``{"error": {"code", "message"}}`` with its status and
    headers (templates filled with ``fields``) and an ``apim-request-id``. Raises ``KeyError`` for a
    template field not given."""
    entry = _spec()["x-azure-errors"][name]
    body = {"error": {"code": entry["code"], "message": str(entry["message"]).format(**fields)}}
    headers = {"apim-request-id": str(new_uuid())}
    headers.update({k: str(v).format(**fields) for k, v in entry.get("headers", {}).items()})
    return ProviderError(int(entry["status"]), body, headers, compact=False)


def _credential() -> str | None:
    key = request.headers.get("api-key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate() -> Account:
    """The account of the ``api-key`` header or the ``Authorization: Bearer`` token. Raises
    ``ProviderError`` (401) for none, an invalid or an inactive one."""
    key = _credential()
    if key is None:
        raise azure_error("auth_missing")
    result = runtime().accounts.authenticate(NAME, key)
    if result.status != "ok" or result.account is None:
        raise azure_error("auth_missing")
    return result.account


def check_api_version(required: bool) -> str:
    """The ``api-version`` query parameter. Raises ``ProviderError`` (404) when it is missing where
    ``required`` or is not one of the contract's versions for the surface."""
    versions = _spec()["x-api-versions"]["deployments" if required else "v1"]
    version = request.args.get("api-version")
    if version is None:
        if required:
            raise azure_error("api_version_missing")
        return ""
    if version not in versions:
        raise azure_error("api_version_unsupported")
    return version


def deployment_model(deployment: str) -> str:
    """The native model id ``deployment`` serves: the switch ``azure.deployment_models``, else (option
    ``azure.deployments`` ``model_names``) the name itself when it is a model id Azure sells. Raises
    ``ProviderError`` (404 ``DeploymentNotFound``) for another name or a model retired at Azure on the
    virtual clock's date."""
    declared = runtime().config.options.get(DEPLOYMENT_MODELS) or {}
    declared = declared if isinstance(declared, dict) else {}
    if deployment not in declared and choice(OPTION_DEPLOYMENTS) == "declared_only":
        raise azure_error("deployment_not_found")
    native = str(declared.get(deployment, deployment))
    canonical = canonical_model(native)
    if canonical is None or not sells(canonical):
        raise azure_error("deployment_not_found")
    if runtime().shut_down_upstream(NAME, canonical) is not None:
        raise azure_error("deployment_not_found")
    return native


def serve(parsed: Parsed, account: Account, deployment: Any) -> Response:
    """OpenAI's Images API answer on the deployment's model, billed by Azure. Raises ``ProviderError``."""
    body = parsed.instance
    if not isinstance(body, dict):
        raise error("body_not_object", got=json_type_name(body))
    if not isinstance(deployment, str) or not deployment:
        raise entry_error(errors_catalogue()["validation"]["required"], "model")
    model = deployment_model(deployment)
    body["model"] = model
    found = branch(parsed.operation_id, model)
    assert found is not None  # Azure sells only models of OpenAI's contract
    return answer(parsed, account, model, found, NAME)


def _parsed(operation_id: str) -> Parsed:
    return parse_edit() if operation_id == EDIT else parse_generation()


@bp.post("/openai/deployments/<deployment>/images/generations")
@bp.post("/openai/deployments/<deployment>/images/edits")
def deployment_images(deployment: str) -> Response:
    """``createImage`` / ``createImageEdit`` on a deployment."""
    account = authenticate()
    check_api_version(required=True)
    operation_id = EDIT if request.path.endswith("/edits") else GENERATE
    deployment_model(deployment)  # before the body is read
    return serve(_parsed(operation_id), account, deployment)


@bp.post("/openai/v1/images/generations")
@bp.post("/openai/v1/images/edits")
def v1_images() -> Response:
    """``createImageV1`` / ``createImageEditV1``: ``model`` names the deployment."""
    account = authenticate()
    check_api_version(required=False)
    operation_id = EDIT if request.path.endswith("/edits") else GENERATE
    parsed = _parsed(operation_id)
    instance = parsed.instance
    return serve(parsed, account, instance.get("model") if isinstance(instance, dict) else None)


def error_response(status: int, kind: str, message: str) -> Response:
    """Azure's body for framework-level failures under ``/azure``: an unknown path or method is 404
    ``Resource not found``; a body OpenAI's parser refuses gets OpenAI's answer (the body is OpenAI's
    Images API); anything else Azure's 500."""
    if kind in ("not_found", "method_not_allowed"):
        return azure_error("not_found").response()
    if kind == "too_large":
        return error("too_large", limit=runtime().config.max_body_bytes).response()
    if kind in ("malformed_json", "unsupported_media_type"):
        return error("malformed_json").response()
    return azure_error("internal").response()


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """Azure's answer to an injected fault: the ``x-azure-errors`` entry ``entry["error"]``; a
    content-filter refusal carries ``innererror`` with ``content_filter_results`` (the fault's ``category``
    parameter, several joined by ``|``, filtered at ``high``; default ``violence``)."""
    retry_after = int(fault.param("retry_after", 0))
    fields = {
        "retry_after": retry_after,
        "retry_after_ms": retry_after * 1000,
        "api_version": request.args.get("api-version", "v1"),
    }
    spec = _spec()["x-azure-errors"][entry["error"]]
    answered = azure_error(entry["error"], **fields)
    inner = spec.get("innererror")
    if inner is not None:
        flagged = {c for c in str(fault.param("category", "violence")).split("|") if c}
        answered.body["error"]["innererror"] = {
            "code": inner["code"],
            "content_filter_results": {
                c: {"filtered": c in flagged, "severity": "high" if c in flagged else "safe"}
                for c in inner["categories"]
            },
        }
    return answered.response()


PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
)
