"""OpenAI Images API emulator: ``POST /openai/v1/images/generations`` and ``POST /openai/v1/images/edits``.

This module holds OpenAI's own routes, authentication, framework errors, models endpoints and fault
answers; the Images API pipeline they call (parsing, validation, pricing, rendering, streaming) is shared
with Azure OpenAI and lives in ``pixelmock.emulators.providers.base`` (``handle``, ``answer``).

Behaviour, all read from ``contracts/openapi/openai.yaml`` (the contract) and the runtime:

- Bearer authentication (open accounts; configured invalid keys get 401 ``invalid_api_key``, inactive keys
  401 ``account_deactivated``), checked before the body is read, as OpenAI does.
- Every request is validated against the contract per model; every rejection is OpenAI's error envelope
  ``{"error": {"message", "type", "param", "code"}}`` with the status and text the contract records
  (``x-openai-errors``), never a 500.
- Models: unknown ids, and ids OpenAI shut down (``x-shut-down-models``, and gpt-image-1.5 from models.yaml
  ``lifecycle.openai_shutdown`` on the virtual clock), answer the recorded 400 ``invalid_value`` "The model
  'X' does not exist." (type ``image_generation_user_error``, param ``model``). Snapshot ids are accepted.
- A success renders ``n`` real images of the resolved size and format and answers ``ImagesResponse``
  (``created``, resolved ``background``/``quality``/``size``, ``data[].b64_json``, ``usage``). Usage and the
  USD debited from the account's ledger come from ``pixelmock.contracts.pricing.quote`` on the resolved
  request; an account that cannot cover it gets 429 ``insufficient_quota``.
- ``stream=true`` answers server-sent events: ``partial_images`` partial events, then one completed event,
  per image (``image_generation.*`` or ``image_edit.*``).

Injected faults (``emulators/core/faults.py``) are answered as the contract's ``x-faults`` says
(rate limit, 500, 503, insufficient quota, moderation block); under the ``realistic`` latency profile a
success waits the documented latency first.

Options (``EmulatorConfig.options``): ``openai.gpt_image_2_max_edge_inclusive`` (default from the contract:
true, the SDK's 3840 px limit; false: openai/codex's "< 3840 px") and
``openai.gpt_image_2_transparent_preview`` (default false: gpt-image-2 rejects transparent backgrounds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, request

from pixelmock.contracts.canonical import MODELS
from pixelmock.contracts.data import model_facts
from pixelmock.contracts.lifecycle import lifecycle as model_lifecycle
from pixelmock.contracts.openapi import inlined
from pixelmock.contracts.providers import provider
from pixelmock.emulators.core.accounts import Account
from pixelmock.emulators.core.faults import Fault, contract_answers
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.providers.base import (
    entry_error,
    error,
    errors_catalogue,
    handle,
    json_response,
    openai_headers,
    parse_edit,
    parse_generation,
    provider_blueprint,
)
from pixelmock.emulators.web.context import runtime
from pixelmock.emulators.web.provider import ProviderEmulator

NAME = "openai"
#: Where the app mounts it (the provider registry, ``contracts/data/providers.yaml``).
PREFIX = provider(NAME).prefix
#: The real API's path prefix, used in "Invalid URL (POST /v1/...)" messages.
REAL_PREFIX = "/v1"

bp = provider_blueprint("openai", __name__)


def error_response(status: int, kind: str, message: str) -> Response:
    """OpenAI's body for framework-level failures under ``/openai/v1`` (see ``ProviderEmulator``)."""
    path = REAL_PREFIX + request.path.removeprefix(PREFIX)
    if kind == "not_found":
        return error("not_found", method=request.method, path=path).response()
    if kind == "method_not_allowed":
        return error("method_not_allowed").response()
    if kind == "too_large":
        return error("too_large", limit=runtime().config.max_body_bytes).response()
    if kind == "unsupported_media_type" and request.path.endswith("/images/edits"):
        return error("not_multipart", content_type=request.mimetype or "none").response()
    if kind in ("malformed_json", "unsupported_media_type"):
        return error("malformed_json").response()
    return error("internal").response()


# ---------------------------------------------------------------------------------------------- auth
def mask_key(key: str) -> str:
    """How the 401 message shows a key. A key that is not in OpenAI's ``sk-`` form is shown as sent (a
    recorded answer shows "bad apiKey" verbatim); an ``sk-`` key is masked, its first 3 and last 4
    characters around asterisks (reported; the exact rule is unknown)."""
    if not key.startswith("sk-"):
        return key
    if len(key) <= 8:
        return key[:3] + "*" * max(len(key) - 3, 1)
    return key[:3] + "*" * (len(key) - 7) + key[-4:]


def _credential() -> str | None:
    """The key of ``Authorization: Bearer <key>``, or ``None`` (no header, another scheme, no key)."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def authenticate() -> Account:
    """The account of ``Authorization: Bearer <key>``. Raises ``ProviderError`` (401) for a missing,
    invalid or deactivated key."""
    key = _credential()
    if key is None:
        raise error("auth_missing")
    result = runtime().accounts.authenticate(NAME, key)
    if result.status == "invalid":
        raise error("auth_invalid", masked_key=mask_key(key))
    if result.status == "inactive":
        raise error("auth_inactive")
    if result.status != "ok" or result.account is None:
        raise error("auth_missing")
    return result.account


# ---------------------------------------------------------------------------------------------- routes
@bp.post("/images/generations")
def create_image() -> Response:
    """``createImage``."""
    account = authenticate()
    return handle(parse_generation(), account)


@bp.post("/images/edits")
def create_image_edit() -> Response:
    """``createImageEdit``."""
    account = authenticate()
    return handle(parse_edit(), account)


def _model_objects() -> dict[str, dict[str, Any]]:
    """Every GPT Image model id pixelmock emulates (canonical ids and snapshots) that is not shut down at
    OpenAI on the virtual clock's date, as OpenAI's ``Model`` object."""
    owned_by = inlined(NAME)["components"]["schemas"]["Model"]["x-owned-by"]["value"]
    today = runtime().clock.today()
    found: dict[str, dict[str, Any]] = {}
    for canonical in MODELS:
        lifecycle = model_lifecycle(NAME, canonical)
        assert lifecycle is not None  # OpenAI sells every canonical model
        if lifecycle.shut_down_on(today):
            continue
        created = int(dt.datetime.combine(lifecycle.released, dt.time(), dt.UTC).timestamp())
        shutdown = None if lifecycle.shutdown is None else lifecycle.shutdown.isoformat()
        for model_id in (canonical, *model_facts(canonical).get("snapshots", [])):
            found[model_id] = {
                "id": model_id,
                "object": "model",
                "created": created,
                "owned_by": owned_by,
                "shutdown_date": shutdown,
            }
    return found


@bp.get("/models")
def list_models() -> Response:
    """``listModels``: the emulated GPT Image models still served on the virtual date."""
    authenticate()
    body = {"object": "list", "data": list(_model_objects().values())}
    return json_response(body, 200, openai_headers(), compact=False)


@bp.get("/models/<path:model>")
def retrieve_model(model: str) -> Response:
    """``retrieveModel``; 404 ``model_not_found`` for an unknown or shut-down model."""
    authenticate()
    found = _model_objects().get(model)
    if found is None:
        raise error("model_not_found_models", model=model)
    return json_response(found, 200, openai_headers(), compact=False)


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """OpenAI's answer to an injected fault: the ``x-openai-errors`` entry ``entry["error"]`` (or the
    inline entry), its message filled with the model, ``retry_after`` and a request id."""
    spec = errors_catalogue()[entry["error"]] if "error" in entry else entry
    fields = {
        "model": fault.model or "gpt-image",
        "retry_after": fault.param("retry_after", 0),
        "request_id": "req_" + new_uuid().hex,
    }
    answer = entry_error(spec, **fields)
    details = spec.get("moderation_details")
    if details is not None:
        answer.body["error"]["moderation_details"] = moderation_details(details, fault)
    return answer.response()


def moderation_details(spec: dict[str, Any], fault: Fault) -> dict[str, Any]:
    """``error.moderation_details`` of a moderation block: ``moderation_stage`` from the fault's ``stage``
    parameter (``input``, ``output`` or ``unknown``; another value falls back to the contract's default)
    and ``categories`` from its ``category`` parameter, several joined by ``|`` (OpenAI's guide,
    documented)."""
    stage = str(fault.param("stage", spec["default_stage"]))
    listed = [c for c in str(fault.param("category", "")).split("|") if c]
    return {
        "moderation_stage": stage if stage in spec["stages"] else spec["default_stage"],
        "categories": listed or list(spec["default_categories"]),
    }


PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
    # Stored Responses (with their base64 images) count against EmulatorConfig.results_max_bytes.
    budgets={str(inlined(NAME)["x-responses"]["namespace"]): "results"},
)
