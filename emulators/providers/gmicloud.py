"""GMI Cloud request queue emulator (``/gmicloud/api/v1/ie/requestqueue/apikey``) for GPT Image.

Contract: ``contracts/openapi/gmicloud.yaml``. Routes (relative to the prefix):

- ``POST /requests`` ``{"model", "payload"}``: GPT Image models are synchronous at GMI, so the answer is
  200 with the finished request record (``status: "success"``, ``outcome.media_urls: [{id, url}]``),
  pre-charged in USD from ``pixelmock.contracts.pricing.quote``. A payload the upstream would reject answers
  400 ``{"error", "request_id"}`` and keeps a ``failed`` record (``outcome.error``); a bad envelope answers
  400 ``{"error"}``; an unknown model slug 404; a short balance 402 (emulator choice, see the contract).
- ``GET /requests/<request_id>``: the record (404 for another account's or an unknown id).
- ``GET /requests`` (``model_id``, ``limit``, ``offset``): ``{"requests", "total", "has_more"}``, newest
  first.
- ``DELETE /requests/<request_id>``: best-effort cancel (undocumented; third-party probe).

Auth is ``Authorization: Bearer <key>``; every key problem is a 401 ``{"error"}``.

Under the ``realistic`` latency profile the POST really takes the documented latency, and the record it
creates can be read meanwhile: ``queued`` for the queue time, then ``processing``, then ``success`` (or
``failed``). Injected faults (``emulators/core/faults.py``, contract ``x-faults``): 429 with
``Retry-After``, 500 ``Backend error``; on submission ``content_policy`` (400 with the failed record's
id, not charged), ``insufficient_credits`` (402 with the real cost) and ``stuck`` (200 with a charged
record that stays ``queued`` forever, a failure mode seen live).

Options (``EmulatorConfig.options``):

- ``gmicloud.rate_limit``: requests per account per 60 s of virtual time (default ``None``: unlimited);
  over it, 429 ``{"error"}`` with ``Retry-After`` (seconds). GMI publishes no limits.
- Contract options (``x-options``, read with ``runtime.choice``): ``gmicloud.gpt_image_2_sizes``
  (``presets``: the documented enum; ``flexible``: also sizes within ``x-size-rules``, not charged since
  GMI publishes no price for them), ``gmicloud.gpt_image_2_edit_data_uri`` (``gpt-image-2-edit`` takes a
  data URI as ``image``), ``gmicloud.absent_quality_billing`` (``documented_default``: an absent quality
  is billed as medium; ``top_tier``: like ``auto``; on 2.5, whose default is ``auto``, both bill max).

Model slugs: every slug of the contract's ``SubmitRequest`` discriminator (``x-canonical-model`` says what
each runs as): ``gpt-image-1.5``, ``gpt-image-2``, GMI's documented ``gpt-image-2-generate`` (text to
image) and ``gpt-image-2-edit`` (``image`` required: bare base64 or a public URL, which is not fetched),
and ``gpt-image-2.5-{flare,sunburst}-{generate,edit}`` (reported: quality up to ``max``, auto or none
billed as max; sizes within the size rules; the edit slugs take up to 16 images as URLs, data URIs or
base64); the record keeps the slug sent.

Error texts come from the contract's ``Error.x-messages``; status names from ``RequestStatus``. GMI's
rejection text is generic, so a 400 also carries an ``X-Pixelmock-Detail`` header (emulator-only) naming
the violated field.
"""

from __future__ import annotations

import base64
import binascii
import time
from decimal import Decimal
from functools import cache
from typing import Any

from flask import Response, request

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.gmicloud import (
    DIALECT,
    SUBMIT,
    GmiCloudDialect,
    always_flexible,
    image_forms,
    violations,
)
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import document, inlined, model_branch, request_schema
from pixelmock.contracts.pricing import Quote
from pixelmock.contracts.providers import provider
from pixelmock.emulators.core.accounts import Account, Charge
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.faults import Fault, contract_answers
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import spec_for
from pixelmock.emulators.core.ratelimit import admit
from pixelmock.emulators.providers.base import (
    ProviderError,
    derived_uuid,
    enum_member,
    json_response,
    provider_blueprint,
)
from pixelmock.emulators.web.context import choice, read_json, runtime, shut_down_upstream
from pixelmock.emulators.web.faults import active
from pixelmock.emulators.web.provider import ProviderEmulator

NAME = "gmicloud"
#: Where the app mounts it (the provider registry, ``contracts/data/providers.yaml``).
PREFIX = provider(NAME).prefix
REQUESTS = "gmicloud.requests"
RATE = "gmicloud.rate"
CURRENCY = "USD"
OPTION_SIZES = "gmicloud.gpt_image_2_sizes"
OPTION_DATA_URI = "gmicloud.gpt_image_2_edit_data_uri"
OPTION_ABSENT_QUALITY = "gmicloud.absent_quality_billing"
#: The dialect by whether sizes within ``x-size-rules`` are accepted (option ``gmicloud.gpt_image_2_sizes``).
_DIALECTS = {False: DIALECT, True: GmiCloudDialect(flexible_sizes=True)}

bp = provider_blueprint(NAME, __name__)


# -- facts read from the contract -----------------------------------------------------------------------


@cache
def _messages() -> dict[str, dict[str, Any]]:
    block = document(NAME)["components"]["schemas"]["Error"]["x-messages"]
    return {key: value for key, value in block.items() if not key.startswith("x-")}


def _text(key: str, **values: Any) -> str:
    return str(_messages()[key]["text"]).format(**values)


@cache
def _terminal() -> frozenset[str]:
    return frozenset(inlined(NAME)["components"]["schemas"]["RequestStatus"]["x-terminal"])


@cache
def _statuses() -> tuple[str, ...]:
    return tuple(inlined(NAME)["components"]["schemas"]["RequestStatus"]["enum"])


def _status(name: str) -> str:
    """A status name, checked against the contract's enum (so a typo here fails loudly in tests)."""
    return enum_member(name, _statuses())


# -- responses -------------------------------------------------------------------------------------------


#: Short texts for the framework-level failures whose Werkzeug descriptions are long (choice: GMI's
#: texts for these are unknown; the body shape ``{"error"}`` is GMI's).
_FRAMEWORK_TEXTS = {
    "not_found": "not found",
    "method_not_allowed": "method not allowed",
    "too_large": "request body too large",
}


def error(
    status: int, message: str, request_id: str | None = None, headers: dict[str, str] | None = None
) -> ProviderError:
    """An answer in GMI's error envelope: ``{"error": message}`` (with ``request_id`` when given) and HTTP
    ``status``, extra ``headers``."""
    body: dict[str, Any] = {"error": message}
    if request_id is not None:
        body["request_id"] = request_id
    return ProviderError(status, body, headers)


def error_response(status: int, kind: str, message: str) -> Response:
    """GMI's error body ``{"error": <message>}`` for framework-level failures (any ``kind``)."""
    return error(status, _FRAMEWORK_TEXTS.get(kind, message)).response()


# -- auth and rate limiting -----------------------------------------------------------------------------


def _credential() -> str | None:
    """The key of ``Authorization: Bearer <key>``, or ``None`` (no header, another scheme, no key)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate() -> Account:
    """The caller's account, its request counted against the rate limit (``_rate_limit``). Raises
    ``ProviderError``: 401 for a missing, invalid or inactive key, 429 over the limit."""
    result = runtime().accounts.authenticate(NAME, _credential())
    if result.status == "ok" and result.account is not None:
        _rate_limit(result.account)
        return result.account
    key = {"missing": "missing_key", "invalid": "invalid_key"}.get(result.status, "inactive_key")
    status = int(_messages()[key].get("status", 401))
    raise error(status, _text(key))


def _rate_limit(account: Account) -> None:
    """Count the request; raises ``ProviderError`` (429 with ``Retry-After``) over ``gmicloud.rate_limit``."""
    rt = runtime()
    limit = rt.config.option(f"{NAME}.rate_limit", None)
    if not isinstance(limit, int) or isinstance(limit, bool):
        return
    retry = admit(rt.store, rt.clock, RATE, account.id, limit)
    if retry is not None:
        raise error(429, _text("rate_limited"), headers={"Retry-After": str(retry)})


# -- records ---------------------------------------------------------------------------------------------


def _ids(account: Account) -> tuple[str, str]:
    """Stable ``(org_id, user_id)`` of an emulated account (UUIDs derived from the account id)."""
    return derived_uuid(NAME, "org", account.id), derived_uuid(NAME, "user", account.id)


def _record(
    account: Account, model: str, payload: Any, status: str, outcome: dict[str, Any] | None
) -> dict[str, Any]:
    """A request record in the contract's key order, timestamps in Unix seconds on the virtual clock."""
    now = runtime().clock.timestamp()
    org_id, user_id = _ids(account)
    return {
        "request_id": str(new_uuid()),
        "org_id": org_id,
        "user_id": user_id,
        "model": model,
        "status": _status(status),
        "is_public": False,
        "payload": payload,
        "outcome": outcome,
        "created_at": now,
        "updated_at": now,
        "queued_at": now,
    }


def _save(account: Account, record: dict[str, Any]) -> None:
    runtime().store.put(REQUESTS, record["request_id"], {"account": account.id, "record": dict(record)})


def _find(account: Account, request_id: str) -> dict[str, Any]:
    """The caller's record. Raises ``ProviderError`` (404) for an unknown id or another account's request."""
    entry = runtime().store.get(REQUESTS, request_id)
    if entry is None or entry["account"] != account.id:
        raise error(404, _text("request_not_found", request_id=request_id))
    record: dict[str, Any] = entry["record"]
    return record


# -- submission ------------------------------------------------------------------------------------------


def _envelope(body: Any) -> tuple[str, dict[str, Any]]:
    """``(model, schema branch)`` of a submit body. Raises ``ProviderError``: 400 for a malformed envelope,
    404 for a model slug GMI does not serve here."""
    schema = request_schema(NAME, SUBMIT)
    if not isinstance(body, dict):
        raise error(400, "request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise error(400, "model is required and must be a string")
    branch = model_branch(NAME, schema, model)
    if branch is None or shut_down_upstream(NAME, str(branch.get("x-canonical-model", model))) is not None:
        status = int(schema.get("x-unknown-model", {}).get("status", 404))
        raise error(status, _text("model_not_found", model=model))
    return model, branch


def _violation(body: dict[str, Any], flexible_sizes: bool) -> str | None:
    """Why the payload breaks the contract (``None`` when it does not). Raises ``ProviderError`` (400, no
    record) when the envelope itself is wrong: extra keys, or a missing / non-object payload."""
    for violation in violations(body, flexible_sizes):
        envelope = violation.path == () or (violation.path == ("payload",) and violation.keyword == "type")
        if envelope:
            raise error(400, f"invalid request: {violation.message}")
        return f"{violation.param}: {violation.message}"
    return None


def _decode_image(text: str) -> ImageInput | None:
    """Bare base64 of an image Pillow can read (the documented form), else ``None``."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    image = ImageInput.from_bytes(data)
    return image if image.width is not None else None


def _read_image(text: str, branch: dict[str, Any]) -> tuple[bool, ImageInput | None]:
    """``(accepted, decoded image)`` of one ``image`` string in one of the forms the slug takes: bare
    base64 (decoded); a public http(s) URL where ``x-image-forms`` lists ``url`` (not fetched: no image);
    a data URI where it lists ``data_uri`` (the 2.5 edit slugs), and on ``gpt-image-2-edit`` as the option
    ``gmicloud.gpt_image_2_edit_data_uri`` says."""
    forms = image_forms(branch["properties"]["payload"]["properties"].get("image"))
    if "url" in forms and text.startswith(("http://", "https://")):
        return True, None
    # The live tests that saw data URIs accepted were on the URL-taking slug (gpt-image-2-edit).
    if text.startswith("data:") and ("data_uri" in forms or ("url" in forms and choice(OPTION_DATA_URI))):
        try:
            parsed = ImageInput.from_string(text)
        except ValueError:
            return False, None
        return parsed.width is not None, parsed
    decoded = _decode_image(text)
    return decoded is not None, decoded


def _image_problem(payload: dict[str, Any], branch: dict[str, Any]) -> str | None:
    """What the schema cannot check: each image (one, or an array where the slug takes one) and the mask
    decode; the mask has the (first) image's size."""
    raw = payload.get("image", [])
    read = [_read_image(text, branch) for text in (raw if isinstance(raw, list) else [raw])]
    if not all(accepted for accepted, _ in read):
        return "payload.image: not an image in a form this model takes"
    image = read[0][1] if read else None
    if "mask" in payload:
        mask = _decode_image(payload["mask"])
        if mask is None:
            return "payload.mask: not a base64-encoded image"
        if image is not None and (mask.width, mask.height) != (image.width, image.height):
            sizes = f"{mask.width}x{mask.height} vs {image.width}x{image.height}"
            return f"payload.mask: the mask must have the size of the image ({sizes})"
    return None


def _reject(account: Account, model: str, payload: Any, detail: str) -> Response:
    """The synchronous failure: a ``failed`` record is kept, the POST answers 400 with its id."""
    return _fail(account, _record(account, model, payload, "queued", None), "rejected", detail)


def _fail(account: Account, record: dict[str, Any], key: str, detail: str | None = None) -> Response:
    """Mark ``record`` ``failed`` with the ``x-messages`` entry ``key`` (``outcome.error``), keep it, and
    answer 400 ``{"error", "request_id"}``."""
    message = _messages()[key]
    failure = {"code": 400, "message": str(message["text"]), "status": str(message["outcome_status"])}
    now = runtime().clock.timestamp()
    record.update(status=_status("failed"), outcome={"error": failure}, updated_at=now)
    _save(account, record)
    response = error(400, str(message["text"]), record["request_id"]).response()
    if detail is not None:
        response.headers["X-Pixelmock-Detail"] = detail.encode("ascii", "replace").decode("ascii")[:500]
    return response


def _walk(account: Account, record: dict[str, Any], quality: str | None) -> None:
    """Under the ``realistic`` latency profile, take the documented latency (real time) with the record
    readable meanwhile: ``queued`` for the queue time, then ``processing``. No-op otherwise."""
    rt = runtime()
    total = rt.latency.sync_seconds(NAME, quality)
    if total <= 0:
        return
    queue = min(total, rt.latency.queue_seconds(NAME))
    _save(account, record)
    time.sleep(queue)
    record.update(status=_status("processing"), updated_at=rt.clock.timestamp())
    _save(account, record)
    time.sleep(total - queue)


def _quote(dialect: GmiCloudDialect, resolved: CanonicalRequest, payload: dict[str, Any]) -> Quote | None:
    """The labelled quote of the dialect (``GmiCloudDialect.quote``) on the virtual clock's date, or
    ``None`` where no price is in force (no charge is then taken, and the journal says so). An absent
    quality is billed as the option ``gmicloud.absent_quality_billing`` says."""
    billed = resolved
    # Where the payload's default is auto already (2.5), both alternatives bill it alike: no choice made.
    if (
        "quality" not in payload
        and resolved.quality != "auto"
        and choice(OPTION_ABSENT_QUALITY) == "top_tier"
    ):
        billed = resolved.with_(quality="auto")
    try:
        return dialect.quote(billed, runtime().clock.today())
    except (LookupError, ValueError):
        journal_note(unpriced=f"GMI publishes no price for {resolved.model} {resolved.size}: not charged")
        return None


def _render(resolved: CanonicalRequest, billed_quality: str) -> list[dict[str, str]]:
    """Render and store ``n`` images; ``[{"id": "0", "url": ...}, ...]``."""
    rt = runtime()
    media = []
    for index in range(resolved.n or 1):
        spec = spec_for(NAME, resolved, index, quality=billed_quality)
        stored = rt.files.put_image(spec, ttl_seconds=rt.config.file_ttl_seconds)
        media.append({"id": str(index), "url": stored.url})
    return media


def submit(account: Account, body: Any) -> Response:
    """Run one ``POST /requests`` for an authenticated caller (see the module docstring)."""
    rt = runtime()
    model, branch = _envelope(body)
    payload = body.get("payload")
    # The option is about slugs whose size rules are an alternative to a documented enum (gpt-image-2's);
    # where the rules always apply (2.5), the dialect applies them itself.
    sized = "x-size-rules" in branch["properties"]["payload"]["properties"]["size"] and not always_flexible(
        model
    )
    dialect = _DIALECTS[sized and choice(OPTION_SIZES) == "flexible"]
    problem = _violation(body, dialect.flexible_sizes) or _image_problem(payload, branch)
    if problem is not None:
        return _reject(account, model, payload, problem)
    try:
        resolved = dialect.resolve(dialect.from_native(NativeRequest(NAME, SUBMIT, body)))
    except (UnsupportedValue, ValueError) as exc:
        return _reject(account, model, payload, str(exc))
    priced = _quote(dialect, resolved, payload)
    journal_note(canonical=resolved, cost=priced)
    quality = priced.billed_quality if priced is not None else resolved.quality or "auto"
    record = _record(account, model, payload, "queued", None)
    if active("content_policy") is not None:  # refused upstream: not charged, like other rejections
        _walk(account, record, quality)
        return _fail(account, record, "content_policy")
    cost = priced.usd if priced is not None and priced.usd is not None else Decimal(0)
    memo = f"gmicloud request {record['request_id']} ({model})"
    short = active("insufficient_credits") is not None
    charge = Charge.of(NAME, resolved, str(record["request_id"]))
    if short or (cost > 0 and not rt.accounts.debit(account, CURRENCY, cost, memo, charge)):
        balance = rt.accounts.balance(account, CURRENCY)
        text = _text("insufficient_balance", cost=cost, balance=balance)
        raise error(int(_messages()["insufficient_balance"]["status"]), text)
    if active("stuck") is not None:
        _save(account, record)
        return json_response(record)
    _walk(account, record, quality)
    media = _render(resolved, quality)
    record.update(
        status=_status("success"),
        outcome={"media_urls": media, "thumbnail_image_url": media[0]["url"]},
        updated_at=rt.clock.timestamp(),
    )
    _save(account, record)
    return json_response(record)


# -- routes ----------------------------------------------------------------------------------------------


@bp.post("/requests")
def submit_request() -> Response:
    account = authenticate()
    return submit(account, read_json(require_content_type=True))


@bp.get("/requests")
def list_requests() -> Response:
    account = authenticate()
    model_id = request.args.get("model_id")
    limit = _int_arg("limit", minimum=1)
    offset = _int_arg("offset", minimum=0) or 0
    mine = [e["record"] for e in runtime().store.values(REQUESTS) if e["account"] == account.id]
    matching = [r for r in reversed(mine) if model_id is None or r["model"] == model_id]
    page = matching[offset:] if limit is None else matching[offset : offset + limit]
    more = offset + len(page) < len(matching)
    return json_response({"requests": page, "total": len(matching), "has_more": more})


@bp.get("/requests/<request_id>")
def get_request(request_id: str) -> Response:
    return json_response(_find(authenticate(), request_id))


@bp.delete("/requests/<request_id>")
def cancel_request(request_id: str) -> Response:
    account = authenticate()
    _find(account, request_id)
    now = runtime().clock.timestamp()

    def cancel(entry: Any) -> Any:
        record = entry["record"]
        if record["status"] in _terminal():
            return entry
        return {**entry, "record": {**record, "status": _status("cancelled"), "updated_at": now}}

    return json_response(runtime().store.update(REQUESTS, request_id, cancel)["record"])


def _int_arg(name: str, minimum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise error(400, f"invalid query parameter {name}: {raw!r} (an integer >= {minimum})")
    return value


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """GMI's answer to an injected fault: ``{"error": <x-messages text>}`` with the entry's status."""
    return error(int(entry["status"]), _text(str(entry["message"]))).response()


PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
    budgets={REQUESTS: "payloads"},  # EmulatorConfig.payloads_max_bytes
)
