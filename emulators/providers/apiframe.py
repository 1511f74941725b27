"""Apiframe v2 emulator (prefix ``/apiframe``; real base ``https://api.apiframe.ai``).

Routes (contracts/openapi/apiframe.yaml): ``POST /v2/images/generate`` (202 ``{"jobId","status"}``),
``GET /v2/jobs/{id}``, ``GET /v2/jobs``, ``GET /v2/me``. Auth is the ``X-API-Key`` header.

Flow: a job is accepted as ``QUEUED`` with its credit cost (``pixelmock.contracts.pricing.quote`` on the
resolved request) debited at once; 402 when the balance is short. Each ``GET /v2/jobs/{id}`` moves it on: by
default (``instant`` latency profile) it is ``COMPLETED`` on its first poll, with one image URL per
``number_of_images`` (real bytes of the resolved size and format, served by the emulator). Under the
``realistic`` and ``manual`` profiles a job needs the documented latency on the virtual clock
(``contracts/data/latency.yaml``): ``QUEUED`` for its queue time, then ``PROCESSING`` with ``progress``
rising with the time spent, then ``COMPLETED``. A job that fails is ``FAILED`` with ``error`` set,
``creditCost`` 0 and its credits refunded. Listing does not move jobs on.

Webhooks: a job with ``webhookUrl`` moves on by itself as well (timers on the virtual clock, no polls
needed) and each subscribed event (``webhookEvents``; default ``completed`` and ``failed``) is POSTed by
the runtime's delivery service with ``X-Webhook-Event`` and ``X-Webhook-Signature`` (HMAC-SHA256 of the
raw body keyed by SHA-256 of the API key), retried on the virtual clock until a 2xx;
``webhookStatus`` is ``pending`` until the job's deliveries are ``delivered`` (or one ``failed``). Facts:
``contracts/data/webhooks.yaml``.

Injected faults (``emulators/core/faults.py``, contract ``x-faults``): 429 with ``Retry-After``, 500,
503; ``content_policy`` makes the submitted job fail with the documented message (credits refunded);
``insufficient_credits`` answers the submission with the 402 and the job's real cost.

Options (``EmulatorConfig.options``):

- ``apiframe.polls_to_complete`` (int, default 1): the poll on which a job ends; earlier polls show
  ``PROCESSING`` with a rising ``progress``. Jobs with a webhook do not wait for polls.
- ``apiframe.seconds_to_complete`` (float, default: the latency profile's): a job also needs this much
  virtual time to end.
- ``apiframe.webhook_signature_format`` (``"sha256={hex}"`` or ``"{hex}"``; contract ``x-options``).
- ``apiframe.job_failure`` (str, default unset): every job fails with this ``error`` text.
- ``apiframe.retention_seconds`` (int or None, default the contract's ``x-retention-seconds``, 24 h):
  after this long a completed job is ``expired`` and its image URLs answer 404.
- ``apiframe.rate_limit_per_minute`` (int, ``True`` for the contract's figure, default off): 429 with
  ``Retry-After`` beyond this many requests per key per virtual minute.

Jobs given more input images than the upstream model takes (contract ``x-upstream-max-items``) fail
likewise.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, NoReturn, cast

from flask import Response, request

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.data import load
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.apiframe import (
    DIALECT,
    OPERATION,
    branch,
    generate_schema,
    params_schema,
    utf16_length,
)
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import Violation, inlined, operation, validate
from pixelmock.contracts.pricing import quote
from pixelmock.contracts.providers import provider
from pixelmock.emulators.core.accounts import Account, Charge
from pixelmock.emulators.core.bodies import parse_json
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.faults import Fault, contract_answers
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import spec_for
from pixelmock.emulators.core.ratelimit import admit
from pixelmock.emulators.core.scheduler import timer_handler
from pixelmock.emulators.core.store import Put
from pixelmock.emulators.providers.base import (
    ProviderError,
    derived_uuid,
    enum_member,
    js_type,
    json_response,
    provider_blueprint,
)
from pixelmock.emulators.web.context import choice, read_json, runtime, shut_down_upstream
from pixelmock.emulators.web.faults import active
from pixelmock.emulators.web.provider import ProviderEmulator

NAME = "apiframe"
#: Where the app mounts it (the provider registry, ``contracts/data/providers.yaml``).
PREFIX = provider(NAME).prefix
JOBS = "apiframe.jobs"
IDEMPOTENCY = "apiframe.idempotency"
RATE = "apiframe.rate"
#: The timer handler that moves a webhook job on (``runtime/scheduler.py``).
JOB_TIMER = "apiframe.job"
TEAM = "pixelmock"
PLAN = "pro"  # the plan of every emulated team (the spec's example value)

bp = provider_blueprint(NAME, __name__)


# --------------------------------------------------------------------------------------------------------
# Facts read from the contract


def _components() -> dict[str, Any]:
    return cast(dict[str, Any], inlined(NAME)["components"])


def _response_ext(response: str, key: str) -> Any:
    """An ``x-`` extension of a shared response (``components.responses``)."""
    return _components()["responses"][response][key]


def _job_statuses() -> tuple[str, ...]:
    return tuple(_components()["schemas"]["Job"]["properties"]["status"]["enum"])


QUEUED, PROCESSING, COMPLETED, FAILED, CANCELLED = (
    enum_member(s, _job_statuses()) for s in ("QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED")
)
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED})

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SPECIAL_SCHEMES = ("http:", "https:", "ws:", "wss:", "ftp:", "file:")


# --------------------------------------------------------------------------------------------------------
# Errors


def error(status: int, text: str, headers: dict[str, str] | None = None, **fields: Any) -> ProviderError:
    """An answer in Apiframe's error envelope: ``{"error": text, **fields}`` with HTTP ``status`` and extra
    ``headers``."""
    return ProviderError(status, {"error": text, **fields}, headers)


def error_response(status: int, kind: str, message: str) -> Response:
    """Framework-level failures (contract ``x-framework-errors``) in Apiframe's ``{"error"}`` envelope."""
    table: dict[str, Any] = inlined(NAME)["x-framework-errors"]
    entry = table.get(kind)
    if entry is None or (kind == "internal" and status < 500):
        return error(status if 400 <= status < 600 else 500, message).response()
    return error(int(entry["status"]), entry["error"]).response()


# --------------------------------------------------------------------------------------------------------
# Validation, with Zod-style messages (see the contract's ValidationFailed response)


def _quoted(values: Any) -> str:
    return " | ".join(f"'{v}'" for v in values)


def zod_message(violation: Violation) -> tuple[str, str]:
    """``(details key, message)`` for one contract violation, worded the way Zod words it."""
    key = ".".join(str(p) for p in violation.path)
    kw, limit, value = violation.keyword, violation.limit, violation.value
    if kw == "required":
        return violation.param, "Required"
    if kw == "additionalProperties":
        names = re.findall(r"'([^']*)'", violation.message) or [violation.param.rsplit(".", 1)[-1]]
        return violation.param, f"Unrecognized key(s) in object: {', '.join(repr(n) for n in names)}"
    if kw == "enum" and violation.param == "model" and key == "model":
        return key, f"Invalid discriminator value. Expected {_quoted(violation.allowed)}"
    if kw in ("enum", "const"):
        return key, f"Invalid enum value. Expected {_quoted(violation.allowed)}, received '{value}'"
    if kw == "type":
        expected = next(t for t in ([limit] if isinstance(limit, str) else limit) if t != "null")
        if expected == "integer" and isinstance(value, float):
            return key, "Expected integer, received float"
        expected = "number" if expected == "integer" else expected
        return key, f"Expected {expected}, received {js_type(value)}"
    messages = {
        "minLength": "String must contain at least {} character(s)",
        "maxLength": "String must contain at most {} character(s)",
        "minimum": "Number must be greater than or equal to {}",
        "maximum": "Number must be less than or equal to {}",
        "minItems": "Array must contain at least {} element(s)",
    }
    if kw in messages:
        return key, messages[kw].format(limit)
    if kw == "format":
        return key, {"uri": "Invalid url", "uuid": "Invalid uuid"}.get(str(limit), violation.message)
    return key, violation.message


def is_url(text: str) -> bool:
    """Roughly WHATWG ``new URL(text)`` (what Zod's ``.url()`` uses): a scheme, and a host for web schemes."""
    if not _SCHEME.match(text) or any(c.isspace() for c in text):
        return False
    scheme = text.split(":", 1)[0].lower() + ":"
    rest = text[len(scheme) :]
    return scheme not in _SPECIAL_SCHEMES or (rest.startswith("//") and len(rest) > 2)


def _extra_checks(schema: dict[str, Any], value: Any, path: tuple[Any, ...]) -> Iterator[tuple[str, str]]:
    """Checks JSON Schema leaves to the format checker (absent here) or counts differently from Zod:
    ``format: uri`` / ``uuid`` and ``x-length-unit: utf-16`` string lengths."""
    key = ".".join(str(p) for p in path)
    if isinstance(value, str):
        fmt = schema.get("format")
        if fmt == "uri" and not is_url(value):
            yield key, "Invalid url"
        if fmt == "uuid" and not UUID.match(value):
            yield key, "Invalid uuid"
        most = schema.get("maxLength") if schema.get("x-length-unit") == "utf-16" else None
        if most is not None and len(value) <= most < utf16_length(value):
            yield key, f"String must contain at most {most} character(s)"
    elif isinstance(value, dict):
        props = schema.get("properties", {})
        for name, item in value.items():
            if isinstance(props.get(name), dict):
                yield from _extra_checks(props[name], item, (*path, name))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _extra_checks(schema["items"], item, (*path, index))


def _details(pairs: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for key, message in pairs:
        if message not in details.setdefault(key, []):
            details[key].append(message)
    return details


def _invalid(details: dict[str, list[str]]) -> NoReturn:
    raise error(400, str(_response_ext("ValidationFailed", "x-error")), details=details)


def validate_generate(body: Any) -> None:
    """Raise the 400 ValidationError for a ``generateImage`` body that breaks the contract."""
    if not isinstance(body, dict):
        _invalid({"": [f"Expected object, received {js_type(body)}"]})
    pairs = [zod_message(v) for v in validate(NAME, generate_schema(), body)]
    model = body.get("model")
    if isinstance(model, str) and not any(k == "model" for k, _ in pairs):
        pairs.extend(_extra_checks(branch(model), body, ()))
    if pairs:
        _invalid(_details(pairs))


def _query(operation_id: str) -> dict[str, Any]:
    """The operation's query parameters, coerced like ``z.coerce`` and validated; 400 on failure."""
    _, _, op = operation(NAME, operation_id)
    values: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    for param in op.get("parameters", []):
        if param["in"] != "query":
            continue
        name, schema = param["name"], param["schema"]
        raw = request.args.get(name)
        if raw is None:
            if "default" in schema:
                values[name] = schema["default"]
            continue
        value: Any = raw
        if schema.get("type") == "integer":
            try:
                number = float(raw) if raw.strip() else math.nan
            except ValueError:
                number = math.nan
            if math.isnan(number):
                pairs.append((name, "Expected number, received nan"))
                continue
            value = int(number) if number.is_integer() else number
        found = [zod_message(v) for v in validate(NAME, schema, value)]
        found += list(_extra_checks(schema, value, ()))
        pairs += [(name, message) for _, message in found]
        values[name] = value
    if pairs:
        _invalid(_details(pairs))
    return values


# --------------------------------------------------------------------------------------------------------
# Authentication and rate limiting


def authenticate() -> tuple[Account, str]:
    """The caller's account and key (``X-API-Key``), its request counted against the rate limit
    (``_rate_limit``). Raises ``ProviderError``: 401 / 403 (texts from the contract), 429 over the limit."""
    key = request.headers.get("X-API-Key")
    result = runtime().accounts.authenticate(NAME, key)
    if result.status in ("missing", "invalid"):
        raise error(401, _response_ext("Unauthorized", "x-errors")[result.status])
    if result.status == "inactive" or result.account is None:
        raise error(403, _response_ext("Forbidden", "x-errors")["inactive"])
    _rate_limit(result.account)
    return result.account, cast(str, key)


def _rate_limit(account: Account) -> None:
    """Count the request against ``apiframe.rate_limit_per_minute`` (``True``: the contract's figure;
    unset or ``False``: no limit). Raises ``ProviderError`` 429 with ``Retry-After`` (seconds) over it."""
    option = runtime().config.option(f"{NAME}.rate_limit_per_minute", None)
    if option is None or option is False:
        return
    figure = _response_ext("RateLimited", "x-rate-limit-per-minute") if option is True else option
    rt = runtime()
    retry = admit(rt.store, rt.clock, RATE, account.id, int(cast(int, figure)))
    if retry is not None:
        text = str(_response_ext("RateLimited", "x-error"))
        raise error(429, text, {"Retry-After": str(retry)})


# --------------------------------------------------------------------------------------------------------
# Jobs


@dataclass(frozen=True)
class Job:
    """One stored job. Times are aware UTC datetimes on the virtual clock; ``credit_cost`` in credits."""

    id: str
    account_id: str
    model: str
    status: str
    progress: int | None
    credit_cost: int
    created_at: dt.datetime
    resolved: CanonicalRequest
    failure: str | None = None
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] = ()
    webhook_secret: bytes = b""
    seconds: float = 0.0
    queue_seconds: float = 0.0
    polls: int = 0
    due: bool = False
    completed_at: dt.datetime | None = None
    error: str | None = None
    images: tuple[str, ...] | None = None
    sent_progress: int | None = None
    sent_final: bool = False

    @property
    def webhook(self) -> bool:
        """Whether the job reports to a webhook."""
        return self.webhook_url is not None


def iso(moment: dt.datetime) -> str:
    """``2026-03-15T10:00:00.000Z`` (ISO 8601, milliseconds, ``Z``), as Apiframe writes times."""
    moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def _retention() -> int | None:
    default = _components()["schemas"]["Job"]["x-retention-seconds"]
    value = runtime().config.option(f"{NAME}.retention_seconds", default)
    return None if value is None else int(cast(int, value))


def job_json(job: Job) -> dict[str, Any]:
    """The job as ``GET /v2/jobs/{id}`` shows it (field order of Apiframe's examples)."""
    retention = _retention()
    expired = (
        job.status == COMPLETED
        and job.completed_at is not None
        and retention is not None
        and runtime().clock.now() >= job.completed_at + dt.timedelta(seconds=retention)
    )
    return {
        "id": job.id,
        "status": job.status,
        "model": job.model,
        "progress": job.progress,
        "result": {"images": list(job.images)} if job.images is not None else None,
        "error": job.error,
        "creditCost": job.credit_cost,
        "webhookStatus": _webhook_status(job),
        "createdAt": iso(job.created_at),
        "completedAt": iso(job.completed_at) if job.completed_at else None,
        "expired": expired,
    }


def _resolve(body: dict[str, Any]) -> tuple[CanonicalRequest, str | None]:
    """The resolved canonical request of a valid body, and why the job will fail (or ``None``)."""
    canonical = DIALECT.from_native(NativeRequest(NAME, OPERATION, body))
    limit = int(params_schema(canonical.model)["properties"]["input_images"]["x-upstream-max-items"])
    failure = cast("str | None", runtime().config.option(f"{NAME}.job_failure", None))
    if shut_down_upstream(NAME, canonical.model) is not None:
        failure = f"Provider returned an error: The model '{canonical.model}' does not exist."
    if len(canonical.input_images) > limit:
        failure = f"Provider returned an error: at most {limit} input images are supported"
        canonical = canonical.with_(input_images=canonical.input_images[:limit])
    try:
        return DIALECT.resolve(canonical), failure
    except UnsupportedValue as exc:  # the contract let it through; answer like a validation error
        _invalid({exc.field: [exc.reason]})


def _idempotent_replay(account: Account, key: str, digest: str, job_id: str) -> str | None:
    """Claim ``key`` for ``job_id``; the id of the original job on a replay (409 when the body differs)."""
    now = runtime().clock.now()
    header = _components()["parameters"]["IdempotencyKey"]
    window = dt.timedelta(seconds=int(header["x-replay-window-seconds"]))

    def claim(old: dict[str, Any] | None) -> dict[str, Any]:
        if old is not None and now - old["at"] < window:
            return old
        return {"digest": digest, "job_id": job_id, "at": now}

    record = runtime().store.update(IDEMPOTENCY, f"{account.id}:{key}", claim)
    if record["job_id"] == job_id:
        return None
    if record["digest"] != digest:
        raise error(409, str(_response_ext("IdempotencyConflict", "x-error")))
    return cast(str, record["job_id"])


def credit_cost(resolved: CanonicalRequest) -> int:
    """Credits of a job: the cost engine's quote of the resolved request on the virtual clock's date.

    Apiframe's credits depend on quality and number of images only (its GPT Image pages), so when the engine's
    token breakdown fails on the input images (contracts/tokens.py cannot yet price gpt-image-1.5
    high-fidelity inputs), the quote is taken without them: same credits, never a 500.
    """
    today = runtime().clock.today()
    try:
        return int(quote(NAME, resolved, today).credits or 0)
    except (KeyError, ValueError):
        if not resolved.input_images:
            raise
        return int(quote(NAME, resolved.with_(input_images=()), today).credits or 0)


def _webhook_facts() -> dict[str, Any]:
    block: dict[str, Any] = load("webhooks")["providers"][NAME]["webhook"]
    return block


def _timing(resolved: CanonicalRequest) -> tuple[float, float]:
    """``(seconds, queue seconds)`` a new job needs on the virtual clock: the option
    ``apiframe.seconds_to_complete`` when set, else the latency profile's."""
    latency = runtime().latency
    option = runtime().config.option(f"{NAME}.seconds_to_complete", None)
    seconds = latency.job_seconds(NAME, resolved.quality) if option is None else float(cast(float, option))
    return seconds, min(seconds, latency.queue_seconds(NAME))


def _insufficient(credits: int, available: int) -> NoReturn:
    text = _components()["schemas"]["InsufficientCredits"]["properties"]["error"]["enum"][0]
    raise error(402, str(text), creditsRequired=credits, creditsAvailable=available)


def submit(
    account: Account, body: dict[str, Any], idempotency_key: str | None, api_key: str | None = None
) -> tuple[str, str]:
    """Create (or replay) a job; ``(job id, status)``. Raises 402 / 409 as ``ProviderError``. ``api_key``
    keys the webhook signature (only its SHA-256 is kept)."""
    rt = runtime()
    resolved, failure = _resolve(body)
    credits = credit_cost(resolved)
    journal_note(canonical=resolved, cost={"credits": credits})
    if active("insufficient_credits") is not None:
        _insufficient(credits, int(rt.accounts.balance(account, "credits")))
    refusal = active("content_policy")
    if refusal is not None:
        failure = str(cast(dict[str, Any], inlined(NAME)["x-faults"])["content_policy"]["error"])
    job_id = str(new_uuid())
    if idempotency_key is not None:
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        original = _idempotent_replay(account, idempotency_key, digest, job_id)
        if original is not None:
            stored: Job | None = rt.store.get(JOBS, original)
            return original, stored.status if stored else QUEUED
    seconds, queue = _timing(resolved)
    url = body.get("webhookUrl")
    events = tuple(body.get("webhookEvents") or _webhook_facts()["default_events"])
    job = Job(
        id=job_id,
        account_id=account.id,
        model=resolved.model,
        status=QUEUED,
        progress=0,
        credit_cost=credits,
        created_at=rt.clock.now(),
        resolved=resolved,
        failure=failure,
        webhook_url=str(url) if url is not None else None,
        webhook_events=events if url is not None else (),
        webhook_secret=hashlib.sha256((api_key or "").encode()).digest() if url is not None else b"",
        seconds=seconds,
        queue_seconds=queue,
    )
    # The job is stored with the debit that pays for it: one atomic step (its id is new: never taken).
    charge = Charge.of(NAME, resolved, job_id)
    memo = f"apiframe job {job_id}"
    if not rt.accounts.debit(account, "credits", credits, memo, charge, Put(JOBS, job_id, job)):
        rt.store.delete(JOBS, job_id)  # stored with the step that found the balance short
        if idempotency_key is not None:
            rt.store.delete(IDEMPOTENCY, f"{account.id}:{idempotency_key}")
        _insufficient(credits, int(rt.accounts.balance(account, "credits")))
    if job.webhook:
        _schedule(job)
    return job_id, QUEUED


def _schedule(job: Job) -> None:
    """Timers that move a webhook job on without polls: end of its queue time, its progress points
    (``webhooks.yaml``) and its end."""
    shares = [Decimal(str(p)) for p in _webhook_facts()["progress_points"]]
    offsets = {job.queue_seconds, job.seconds, *(float(share) * job.seconds for share in shares)}
    for offset in sorted(offsets):
        moment = job.created_at + dt.timedelta(seconds=offset)
        runtime().scheduler.at(moment, f"apiframe job {job.id}", JOB_TIMER, job.id)


@timer_handler(JOB_TIMER)
def _timer(job_id: str) -> None:
    """A webhook job's timer: move it on without a poll (in whichever worker claimed the timer)."""
    step(job_id, poll=False)


def _advance(job: Job, now: dt.datetime, poll: bool) -> Job:
    """Count a poll (``poll``) and move the job to the state its time (and polls) say: ``QUEUED`` during
    its queue time, ``PROCESSING`` with progress, or ``due`` (it ends at the next step)."""
    if job.status in TERMINAL or job.due:
        return job
    polls = job.polls + (1 if poll else 0)
    polls_needed = max(1, int(cast(int, runtime().config.option(f"{NAME}.polls_to_complete", 1))))
    elapsed = (now - job.created_at).total_seconds()
    time_share = elapsed / job.seconds if job.seconds > 0 else 1.0
    share = time_share if job.webhook else min(polls / polls_needed, time_share)
    if share >= 1:
        return replace(job, polls=polls, due=True)
    if elapsed < job.queue_seconds:
        return replace(job, polls=polls)
    return replace(job, polls=polls, status=PROCESSING, progress=min(99, int(100 * share)))


def _finish(job: Job) -> Job:
    """The terminal state of a due job: COMPLETED with rendered images, or FAILED (credits refunded later)."""
    now = runtime().clock.now()
    if job.failure is not None:
        return replace(job, status=FAILED, progress=0, error=job.failure, credit_cost=0, completed_at=now)
    rt, request_ = runtime(), job.resolved
    urls = []
    for index in range(request_.n or 1):
        spec = spec_for(NAME, request_, index)
        urls.append(rt.files.put_image(spec, _retention()).url)
    return replace(job, status=COMPLETED, progress=100, images=tuple(urls), completed_at=now)


class _Gone(Exception):
    """The job is no longer stored (evicted, or the emulator reset): nothing to move on."""


def step(job_id: str, poll: bool) -> Job | None:
    """Move a stored job on (a poll, or a timer with ``poll`` false): advance, finish it when due (a
    failed job's credits are refunded once), and send the webhook events it now owes."""
    rt = runtime()
    now = rt.clock.now()

    def advance(old: Job | None) -> Job:
        if old is None:
            raise _Gone()
        return _advance(old, now, poll)

    try:
        job = cast(Job, rt.store.update(JOBS, job_id, advance))
    except _Gone:
        return None
    if job.due and job.status not in TERMINAL:
        charged = job.credit_cost
        done = _finish(job)  # rendering happens outside the store's lock
        ended: list[bool] = []

        def settle(old: Any) -> Job:
            ended.append(old.status not in TERMINAL)
            return done if ended[-1] else old

        job = cast(Job, rt.store.update(JOBS, job_id, settle))
        if ended[-1] and job.status == FAILED:
            account = rt.accounts.get(job.account_id)
            if account is not None:
                refund = Charge.of(NAME, job.resolved, job_id).refund()
                rt.accounts.credit(account, "credits", charged, f"apiframe refund {job_id}", refund)
    if job.webhook:
        job = _notify(job_id)
    return job


def poll(account: Account, job_id: str) -> Job:
    """``GET /v2/jobs/{id}``: move the job on by one poll and return it. 404 for another account's job."""
    job_id = job_id.lower()
    job: Job | None = runtime().store.get(JOBS, job_id)
    if job is None or job.account_id != account.id:
        raise error(404, str(_response_ext("JobNotFound", "x-error")))
    return cast(Job, step(job_id, poll=True))


# --------------------------------------------------------------------------------------------------------
# Webhooks


def _notify(job_id: str) -> Job:
    """Send the events the job owes its webhook (each once): ``progress`` when its progress changed
    while ``PROCESSING``, ``completed`` or ``failed`` when it ended; only those subscribed."""
    rt = runtime()
    owed: list[str] = []

    def claim(old: Any) -> Job:
        job = cast(Job, old)
        owed.clear()
        if job.status in (COMPLETED, FAILED) and not job.sent_final:
            owed.append("completed" if job.status == COMPLETED else "failed")
            return replace(job, sent_final=True, sent_progress=job.progress)
        if job.status == PROCESSING and job.progress != job.sent_progress:
            owed.append("progress")
            return replace(job, sent_progress=job.progress)
        return job

    job = cast(Job, rt.store.update(JOBS, job_id, claim))
    for event in owed:
        if event in job.webhook_events and job.webhook_url is not None:
            body = json.dumps(webhook_payload(job, event), separators=(",", ":")).encode()
            headers = webhook_headers(job, event, body)
            rt.webhooks.send(NAME, job.webhook_url, body, headers=headers, group=job.id, event=event)
    return job


def webhook_payload(job: Job, event: str) -> dict[str, Any]:
    """The JSON body of ``event`` for ``job``: the documented fields in order (``webhooks.yaml``)."""
    view = {"event": event, "jobId": job.id, **job_json(job)}
    return {name: view[name] for name in _webhook_facts()["payloads"][event]}


def webhook_headers(job: Job, event: str, body: bytes) -> dict[str, str]:
    """``Content-Type``, the event header and the signature header: HMAC-SHA256 of ``body`` keyed by
    SHA-256(api key), hex, in the format of ``webhooks.yaml`` (option
    ``apiframe.webhook_signature_format``)."""
    facts = _webhook_facts()
    names = facts["headers"]
    digest = hmac.new(job.webhook_secret, body, hashlib.sha256).hexdigest()
    form = str(choice(f"{NAME}.webhook_signature_format"))
    return {
        "Content-Type": "application/json",
        str(names["event"]): event,
        str(names["signature"]): form.replace("{hex}", digest),
    }


def _webhook_status(job: Job) -> str | None:
    """``webhookStatus``: ``failed`` once a delivery has failed, ``delivered`` once the job has ended and
    every delivery went through, else ``pending``."""
    if not job.webhook:
        return None
    status = runtime().webhooks.group_status(job.id)
    if status == "failed":
        return "failed"
    if job.status in TERMINAL and job.sent_final and status in (None, "delivered"):
        return "delivered"
    return "pending"


def _cursor_encode(job_id: str) -> str:
    raw = json.dumps({"id": job_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_decode(cursor: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = parse_json(raw, runtime().config.max_json_depth)
    except (binascii.Error, ValueError):  # BodyRefused is a ValueError
        return None
    job_id = data.get("id") if isinstance(data, dict) else None
    return job_id if isinstance(job_id, str) else None


def list_jobs(account: Account, query: dict[str, Any]) -> dict[str, Any]:
    """``GET /v2/jobs``: the account's jobs, ``(createdAt desc, id desc)``, cursor-paged."""
    mine: list[Job] = [j for j in runtime().store.values(JOBS) if j.account_id == account.id]
    jobs = sorted(mine, key=lambda j: (j.created_at, j.id), reverse=True)
    if "status" in query:
        jobs = [j for j in jobs if j.status == query["status"]]
    if "model" in query:
        jobs = [j for j in jobs if j.model == query["model"]]
    if "search" in query:
        jobs = [j for j in jobs if j.id == str(query["search"]).lower()]
    if "cursor" in query:
        after_id = _cursor_decode(str(query["cursor"]))
        after = next((j for j in mine if j.id == after_id), None)
        if after is None:
            _invalid({"cursor": ["Invalid cursor"]})
        jobs = [j for j in jobs if (j.created_at, j.id) < (after.created_at, after.id)]
    limit = int(query["limit"])
    page = jobs[:limit]
    more = len(jobs) > limit
    body: dict[str, Any] = {
        "jobs": [job_json(j) for j in page],
        "nextCursor": _cursor_encode(page[-1].id) if more else None,
        "hasMore": more,
    }
    if query.get("include_models") == "true":
        body["models"] = sorted({j.model for j in mine})
    return body


def me(account: Account, key: str) -> dict[str, Any]:
    """``GET /v2/me``: user, team (with the credit balance) and key; ids derived from the account."""

    def ident(kind: str) -> str:
        return derived_uuid(NAME, account.id, kind)

    credits = max(0, int(runtime().accounts.balance(account, "credits")))
    return {
        "user": {"id": ident("user"), "email": f"{account.id}@example.com", "role": "OWNER"},
        "team": {"id": ident("team"), "name": TEAM, "credits": credits, "plan": PLAN, "customerId": None},
        "apiKey": {"id": ident("key"), "name": "Default", "prefix": key[:8]},
    }


# --------------------------------------------------------------------------------------------------------
# Routes


@bp.post("/v2/images/generate")
def generate_route() -> Response:
    account, api_key = authenticate()
    key = request.headers.get("Idempotency-Key")
    header = _components()["parameters"]["IdempotencyKey"]
    most = int(header["schema"]["maxLength"])
    if key is not None and len(key) > most:
        _invalid({header["name"]: [f"String must contain at most {most} character(s)"]})
    body = read_json(require_content_type=True)
    validate_generate(body)
    job_id, status = submit(account, body, key, api_key)
    return json_response({"jobId": job_id, "status": status}, 202)


@bp.get("/v2/jobs/<job_id>")
def job_route(job_id: str) -> Response:
    account, _ = authenticate()
    if not UUID.match(job_id):
        raise error(400, str(_response_ext("InvalidJobId", "x-error")))
    return json_response(job_json(poll(account, job_id)))


@bp.get("/v2/jobs")
def jobs_route() -> Response:
    account, _ = authenticate()
    return json_response(list_jobs(account, _query("listJobs")))


@bp.get("/v2/me")
def me_route() -> Response:
    account, key = authenticate()
    return json_response(me(account, key))


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """Apiframe's answer to an injected fault: ``{"error"}`` with the entry's status (the text of its
    shared ``response`` when the entry has none)."""
    text = entry.get("error") or _response_ext(str(entry["response"]), "x-error")
    return error(int(entry["status"]), str(text)).response()


PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
)
