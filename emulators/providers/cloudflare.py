"""Cloudflare Workers AI emulator: the ``openai/*`` GPT Image models of its contract on ``/ai/run``
(``openai/gpt-image-1.5``, ``openai/gpt-image-2``, ``openai/gpt-image-2.5-sunburst``: read from the contract
by the dialect, never listed here).

Mounted at ``/cloudflare/client/v4`` (real base ``https://api.cloudflare.com/client/v4``). Routes:

- ``POST /accounts/<account_id>/ai/run``: universal endpoint, body ``{"model", "input"}``;
- ``POST /accounts/<account_id>/ai/run/<model>``: classic route, ``<model>`` with literal slashes, the body
  is the model input. A percent-encoded slash (``openai%2Fgpt-image-1.5``, what cloudflare-python 5.x
  ``client.ai.run`` sends) answers 400 / 7000 "No route for that URI", as the real API does.

Flow of a run: authenticate (Bearer token, or the X-Auth-Email + X-Auth-Key pair) -> model -> JSON body ->
validate the model input against the contract's input schema in force (400 / 7003 "User Input Error", or
5006 "Bad input" by option; a universal body whose envelope is wrong is 5006) -> OpenAI's own rejections as
Cloudflare wraps them (``x-upstream-rejects``, e.g. transparent on gpt-image-2) -> quote the resolved
canonical request and debit it in USD (402 / 2021 when the balance is short) -> render the image, store
it, answer the doubly nested v4 envelope with its URL.
Every error body comes from the document's ``x-errors``.

Injected faults (``emulators/core/faults.py``) are answered with the ``x-errors`` entries the
contract's ``x-faults`` names; under the ``realistic`` latency profile a run waits the documented latency.

Options (``EmulatorConfig.options``):

- ``cloudflare.gpt_image_15_schema``: ``"published"`` (default) validates gpt-image-1.5 input with the
  catalog page's schema (DALL-E-like sizes, ``style``); ``"effective"`` with what OpenAI's gpt-image-1.5
  accepts (``background``, ``output_format``, the 1536 sizes).
- ``cloudflare.gpt_image_15_published_size``: ``"upstream"`` (default) renders a published size OpenAI
  cannot produce (``1792x1024``) at the size the quote bills (``1536x1024``); ``"literal"`` at the size sent.
- ``cloudflare.unknown_input_keys``: ``"by_model"`` (default) drops input keys outside gpt-image-2's schema
  (a singular ``image`` is answered as text-to-image) and refuses them on gpt-image-1.5; ``"ignore"`` /
  ``"refuse"`` do one or the other for every model.
- ``cloudflare.partner_input_error``: ``"user_input_error"`` (default) answers an invalid model input
  400 / 7003; ``"bad_input"`` 400 / 5006 with the violations worded as Workers AI words them.

Percent-encoded slashes are seen in ``RAW_URI`` / ``REQUEST_URI`` (set by Werkzeug's server, gunicorn and
Flask's test client). A WSGI transport that sets neither (httpx's ``WSGITransport``) decodes ``%2F`` before
the app sees it, so there the encoded and literal forms cannot be told apart and both succeed.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from dataclasses import replace
from functools import cache
from typing import Any

from flask import Response, has_request_context, request

from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.cloudflare import (
    PROVIDER as NAME,
)
from pixelmock.contracts.dialects.cloudflare import (
    UNIVERSAL_OPERATION,
    ModelContract,
    UpstreamRejection,
    classic_operations,
    dialect_for,
    model_by_native,
    upstream_rejection,
)
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.contracts.openapi import (
    Violation,
    document,
    inlined,
    model_branch,
    request_schema,
    validate,
)
from pixelmock.contracts.providers import provider
from pixelmock.contracts.upstream import upstream_error
from pixelmock.emulators.core.accounts import Account, Charge
from pixelmock.emulators.core.exchange import journal_note, note_shutdown
from pixelmock.emulators.core.faults import Fault, contract_answers
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import spec_for
from pixelmock.emulators.providers.base import ProviderError, js_type, json_response, provider_blueprint
from pixelmock.emulators.web.context import choice, read_json, runtime
from pixelmock.emulators.web.provider import ProviderEmulator

#: Where the app mounts it (the provider registry, ``contracts/data/providers.yaml``).
PREFIX = provider(NAME).prefix
CURRENCY = "USD"
#: Security schemes of the contract: the API token, and the Global API Key sent with the account's e-mail.
TOKEN_SCHEME, KEY_SCHEME, EMAIL_SCHEME = "apiToken", "apiKey", "apiEmail"
#: Option: the size rendered for a published size OpenAI cannot produce, "upstream" (default) or "literal".
OPTION_PUBLISHED_SIZE = f"{NAME}.gpt_image_15_published_size"
#: Option: the ``x-errors`` entry answering an invalid model input, "user_input_error" (default) or
#: "bad_input".
OPTION_INPUT_ERROR = f"{NAME}.partner_input_error"
#: Option: what a model input key outside the schema gets, "by_model" (default: each input schema's
#: ``x-unknown-input-keys``), "ignore" or "refuse".
OPTION_UNKNOWN_KEYS = f"{NAME}.unknown_input_keys"
#: Framework failure kinds (emulators.app) -> ``x-errors`` entry.
KIND_ERRORS = {
    "not_found": "no_route",
    "method_not_allowed": "method_not_allowed",
    "too_large": "too_large",
    "malformed_json": "malformed_json",
    "unsupported_media_type": "unsupported_media_type",
    "internal": "internal",
}

bp = provider_blueprint(NAME, __name__)


# --- error bodies --------------------------------------------------------------------------------------


def _fill(node: Any, params: dict[str, Any]) -> Any:
    if isinstance(node, str):
        return node.format_map(params)
    if isinstance(node, list):
        return [_fill(item, params) for item in node]
    if isinstance(node, dict):
        return {key: _fill(value, params) for key, value in node.items()}
    return node


def error_body(name: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` of the ``x-errors`` entry ``name``. Placeholders: ``request_id`` (filled with a
    fresh UUID when not given), ``model``, ``method``, ``detail``, ``status``, ``upstream_body``."""
    spec = document(NAME)["x-errors"][name]
    values = {"request_id": str(new_uuid()), **params}
    status = int(str(spec["status"]).format_map(values))
    return status, _fill(copy.deepcopy(spec["body"]), values)


def error(name: str, **params: Any) -> ProviderError:
    """The answer of the ``x-errors`` entry ``name`` (``error_body``), serialized as Workers AI's
    answers are (``json_response`` with ``compact`` off)."""
    status, body = error_body(name, **params)
    return ProviderError(status, body, compact=False)


def error_response(status: int, kind: str, message: str) -> Response:
    """Body for framework-level failures under the prefix (unknown route: 400 / 7000, wrong method:
    405 / 7001, body too large: 413 / 3006, malformed JSON: 400 / 6007). The status is the document's."""
    method = request.method if has_request_context() else "GET"
    return error(KIND_ERRORS.get(kind, "internal"), method=method).response()


# --- 5006 "Bad input" wording --------------------------------------------------------------------------

_UNEXPECTED = re.compile(r"\((.*) (?:was|were) unexpected\)\s*$", re.S)


def _pointer(path: tuple[str | int, ...]) -> str:
    return "/" + "/".join(str(p) for p in path)


def _extras(v: Violation) -> list[str]:
    """The unknown property names of an additionalProperties violation (all of them, from jsonschema's
    message "... ('a', 'b' were unexpected)")."""
    match = _UNEXPECTED.search(v.message)
    names = re.findall(r"'([^']*)'", match.group(1)) if match else []
    return names or [v.param.split(".")[-1]]


def _detail(v: Violation, drop: tuple[str, ...]) -> str:
    """One violation in Workers AI's wording (``x-errors.bad_input.details``). A leading ``drop`` is
    removed from the path: the model validator sees the universal body's ``input`` as its root."""
    templates: dict[str, str] = document(NAME)["x-errors"]["bad_input"]["details"]
    path = v.path[len(drop) :] if drop and v.path[: len(drop)] == drop else v.path
    at = _pointer(path)
    if v.keyword == "required":
        name = v.param.split(".")[-1]
        parent = path[:-1] if path and str(path[-1]) == name else path
        return templates["required"].format(path=_pointer(parent), names=name)
    if v.keyword == "additionalProperties":
        names = ", ".join(_pointer((*path, extra)) for extra in _extras(v))
        return templates["additionalProperties"].format(path=at, names=names)
    if v.keyword == "type":
        expected = ",".join(v.limit) if isinstance(v.limit, list) else str(v.limit)
        return templates["type"].format(path=at, actual=js_type(v.value), expected=expected)
    if v.keyword in ("enum", "const"):
        return templates[v.keyword].format(path=at, allowed=", ".join(str(a) for a in v.allowed))
    return templates.get(v.keyword, templates["other"]).format(path=at, limit=v.limit)


def _group_required(violations: list[Violation]) -> list[Violation]:
    """Missing properties of one object as one violation naming them all (``'model,state,questions'``)."""
    out: list[Violation] = []
    first: dict[tuple[str | int, ...], int] = {}
    for v in violations:
        if v.keyword != "required":
            out.append(v)
            continue
        name = v.param.split(".")[-1]
        parent = v.path[:-1] if v.path and str(v.path[-1]) == name else v.path
        if parent in first:
            kept = out[first[parent]]
            out[first[parent]] = replace(kept, param=f"{kept.param},{name}")
        else:
            first[parent] = len(out)
            out.append(replace(v, path=parent, param=name))
    return out


def bad_input(violations: list[Violation], drop: tuple[str, ...] = ()) -> ProviderError:
    """400 / 5006 for schema violations, each worded once, joined with ", " (most useful first)."""
    details: list[str] = []
    for violation in _group_required(violations):
        text = _detail(violation, drop)
        if text not in details:
            details.append(text)
    return error("bad_input", detail=", ".join(details))


# --- authentication and routing ------------------------------------------------------------------------


def _encoded_slash() -> bool:
    raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
    return "%2f" in raw.split("?", 1)[0].lower()


@bp.before_request
def _route_guard() -> Response | None:
    if _encoded_slash():
        return error("no_route").response()
    return None


@cache
def _global_key_headers() -> tuple[str, str]:
    """``(email header, key header)`` of the contract's Global API Key schemes (``X-Auth-Email``,
    ``X-Auth-Key``)."""
    schemes = document(NAME)["components"]["securitySchemes"]
    return str(schemes[EMAIL_SCHEME]["name"]), str(schemes[KEY_SCHEME]["name"])


def _credential() -> tuple[str, str]:
    """``(scheme name, key)`` the request presents: the Bearer token of ``Authorization``, else the
    ``X-Auth-Key`` of an ``X-Auth-Email`` + ``X-Auth-Key`` pair. Raises ``ProviderError``: no credential
    (or half a pair) 400 / 9106, an Authorization header that is not ``Bearer <token>`` 400 / 6003."""
    header = request.headers.get("Authorization")
    if header is None:
        email_header, key_header = _global_key_headers()
        email = request.headers.get(email_header, "").strip()
        key = request.headers.get(key_header, "").strip()
        if not (email and key):
            raise error("missing_credentials")
        return KEY_SCHEME, key
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        raise error("malformed_authorization")
    return TOKEN_SCHEME, token


def authenticate() -> Account:
    """The account of the request's credential, ``Authorization: Bearer <token>`` or the ``X-Auth-Email`` +
    ``X-Auth-Key`` pair (the key is the account handle). Raises ``ProviderError``: no credential 400 /
    9106, not ``Bearer <token>`` 400 / 6003, invalid token 401 / 10000, invalid Global API Key 403 / 9103,
    inactive credential 403 / 10000."""
    scheme, key = _credential()
    result = runtime().accounts.authenticate(NAME, key)
    if result.status == "invalid":
        raise error("authentication" if scheme == TOKEN_SCHEME else "unknown_global_key")
    if result.status == "inactive":
        raise error("forbidden")
    if result.account is None:
        raise error("malformed_authorization")
    return result.account


def input_error(violations: list[Violation]) -> ProviderError:
    """The answer to a model input that breaks its schema: the ``x-errors`` entry the option
    ``cloudflare.partner_input_error`` names (7003 by default; ``bad_input`` words each violation)."""
    answer = str(choice(OPTION_INPUT_ERROR))
    return bad_input(violations) if answer == "bad_input" else error(answer)


# --- the run -------------------------------------------------------------------------------------------


def wrapped_upstream(rule: dict[str, Any], **params: Any) -> ProviderError:
    """400-or-whatever / 5012: the upstream's answer that ``rule`` names (its ``upstream-error``, an entry of
    OpenAI's contract read by ``pixelmock.contracts.upstream``) in Workers AI's ``x-errors.upstream``
    wrapper, the upstream JSON compact after "AiError: AiError: ". ``params`` fill the entry's templates."""
    status, body = upstream_error(rule, **params)
    return error("upstream", status=status, upstream_body=json.dumps(body, separators=(",", ":")))


def _rejected(rejection: UpstreamRejection) -> ProviderError:
    return wrapped_upstream(rejection.rule, **rejection.params)


def _check_lifecycle(contract: ModelContract, today: dt.date) -> None:
    rule = contract.input_schema.get("x-upstream-shutdown")
    found = lifecycle(NAME, contract.canonical)  # the date the rule follows
    if rule and found is not None and found.shutdown is not None and found.shut_down_on(today):
        note_shutdown(NAME, contract.canonical, found.shutdown)
        raise wrapped_upstream(rule, model=contract.canonical)


def ignores_unknown_keys(model: ModelContract) -> bool:
    """Whether keys outside ``model``'s input schema are dropped (option ``cloudflare.unknown_input_keys``;
    ``by_model`` reads the schema's ``x-unknown-input-keys``) rather than answered with the input error."""
    mode = str(choice(OPTION_UNKNOWN_KEYS))
    if mode == "by_model":
        mode = str(model.input_schema["x-unknown-input-keys"]["value"])
    return mode == "ignore"


def without_unknown_keys(
    model: ModelContract, native: NativeRequest, native_input: Any
) -> tuple[NativeRequest, Any]:
    """The request as if the input keys outside ``model``'s schema were absent, when they are ignored
    (``ignores_unknown_keys``; the journal names them); else unchanged."""
    if not isinstance(native_input, dict):
        return native, native_input
    unknown = sorted(set(native_input) - set(model.properties))
    if not unknown or not ignores_unknown_keys(model):
        return native, native_input
    kept = {key: value for key, value in native_input.items() if key not in unknown}
    body = {**native.body, "input": kept} if native.operation_id == UNIVERSAL_OPERATION else kept
    journal_note(ignored_input_keys=unknown)
    return replace(native, body=body), kept


def run_model(
    account: Account, contract: ModelContract, native: NativeRequest, native_input: Any
) -> Response:
    """Validate (with the input schema the options put in force), price, debit and render one run; the
    doubly nested v4 success envelope. ``contract`` is the model as the paths describe it."""
    rt = runtime()
    dialect = dialect_for(None if contract.schema_option is None else str(choice(contract.schema_option)))
    model = dialect.model(contract.canonical)
    native, native_input = without_unknown_keys(model, native, native_input)
    violations = validate(NAME, model.input_schema, native_input)
    if violations:
        raise input_error(violations)
    rejection = upstream_rejection(model.input_schema, native_input)
    if rejection is not None:
        raise _rejected(rejection)
    _check_lifecycle(contract, rt.clock.today())
    try:
        resolved = dialect.resolve(dialect.from_native(native))
    except ValueError as exc:  # UnsupportedValue included; the checks above should have caught it
        raise error("bad_input", detail=str(exc)) from exc
    priced = dialect.quote(resolved, rt.clock.today())
    journal_note(canonical=resolved, cost=priced)
    usd = priced.usd if priced.usd is not None else 0
    memo = f"{contract.native} {priced.billed_quality} {priced.billed_size}"
    if not rt.accounts.debit(account, CURRENCY, usd, memo, Charge.of(NAME, resolved)):
        raise error("insufficient_balance")
    rt.latency.wait(NAME, priced.billed_quality)
    size = priced.billed_size
    if model.upstream_size(str(resolved.size)) is not None and choice(OPTION_PUBLISHED_SIZE) == "literal":
        size = str(resolved.size)
    spec = spec_for(NAME, resolved, size=size, quality=priced.billed_quality)
    stored = rt.files.put_image(spec, ttl_seconds=rt.config.file_ttl_seconds)
    return json_response(success_body(stored.url), 200, compact=False)


def success_body(image_url: str) -> dict[str, Any]:
    """``{"result": {"state", "result": {"image"}, "gatewayMetadata"}, "success", "errors", "messages"}``;
    ``state`` and ``keySource`` are the first values of the document's enums (Completed, Unified)."""
    run = inlined(NAME)["components"]["schemas"]["RunResult"]["properties"]
    return {
        "result": {
            "state": run["state"]["enum"][0],
            "result": {"image": image_url},
            "gatewayMetadata": {"keySource": run["gatewayMetadata"]["properties"]["keySource"]["enum"][0]},
        },
        "success": True,
        "errors": [],
        "messages": [],
    }


@cache
def _envelope_only(native_model: str) -> dict[str, Any]:
    """The universal branch of a model with ``input`` unconstrained: the envelope is checked first, then
    the input alone (as Workers AI's model validator sees it)."""
    branch = model_branch(NAME, request_schema(NAME, UNIVERSAL_OPERATION), native_model)
    assert branch is not None
    return {**branch, "properties": {**branch["properties"], "input": {}}}


@bp.post("/accounts/<account_id>/ai/run")
def run_universal(account_id: str) -> Response:
    """Universal endpoint: ``{"model": "openai/gpt-image-2", "input": {...}}``."""
    account = authenticate()
    body = read_json()
    model = body.get("model") if isinstance(body, dict) else None
    contract = model_by_native(model) if isinstance(model, str) else None
    if isinstance(model, str) and contract is None:
        raise error("model_not_found", model=model)
    if contract is None:  # not an object, or no string model
        raise bad_input(validate(NAME, request_schema(NAME, UNIVERSAL_OPERATION), body))
    violations = validate(NAME, _envelope_only(contract.native), body)
    if violations:
        raise bad_input(violations)
    native = NativeRequest(NAME, UNIVERSAL_OPERATION, body, path_params={"account_id": account_id})
    return run_model(account, contract, native, body["input"])


@bp.post("/accounts/<account_id>/ai/run/<path:model>")
def run_classic(account_id: str, model: str) -> Response:
    """Classic route: the body is the model input; ``model`` keeps its literal slashes."""
    account = authenticate()
    operation_id = classic_operations().get(model)
    contract = model_by_native(model)
    if operation_id is None or contract is None:
        raise error("no_such_model", model=model)
    body = read_json()
    native = NativeRequest(NAME, operation_id, body, path_params={"account_id": account_id})
    return run_model(account, contract, native, body)


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """Workers AI's answer to an injected fault: the ``x-errors`` entry ``entry["error"]``."""
    return error(str(entry["error"]), model=fault.model or "", method=request.method).response()


#: What ``pixelmock.emulators.app`` mounts.
PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
)
