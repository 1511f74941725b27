"""Shared pieces of the reference client: targets, policies, results, and the provider-flow engine.

The engine is sans-I/O: ``submit_exchange`` / ``wait_exchange`` are generators that yield ``Send`` (an
HTTP call to make) and ``Sleep`` (seconds to wait) and receive ``Answer`` objects. ``ImageClient`` drives
them with ``httpx.Client`` and ``time.sleep``, ``AsyncImageClient`` with ``httpx.AsyncClient`` and
``anyio.sleep``, so both follow exactly the same flow, retries and polling.

A provider module (``client/openai.py``...) supplies a ``Flow``: how to read a 2xx answer (``Finished``
images, or ``Pending`` with the next poll), how to poll a job by id, and how to turn an error answer into
one of ``pixelmock.client.errors``. Wire facts (auth header, operation paths, links, status names, error
codes) are read from the provider's OpenAPI document in ``contracts/openapi``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from pixelmock.client.errors import (
    ImageClientError,
    ProviderError,
    RateLimitedError,
    RequestTimeoutError,
    ValidationError,
    kind_for_status,
    make_error,
)
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, parse_size
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.errors import UnknownProvider, UnsupportedValue
from pixelmock.contracts.openapi import PROVIDERS, auth_headers, operation, real_base_url
from pixelmock.contracts.pricing import Quote, TokenBreakdown
from pixelmock.contracts.providers import provider as registered

#: Canonical output format of an image MIME type.
FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/webp": "webp"}
#: Canonical output format of a file extension.
EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "webp": "webp"}


# -- targets and policies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    """Where and as whom to send.

    ``name`` is one of ``pixelmock.contracts.openapi.PROVIDERS``; ``api_key`` is sent the way the provider's
    contract says (``Authorization: Bearer`` or Apiframe's ``X-API-Key``); ``base_url`` defaults to the
    real service (``pixelmock.contracts.openapi.real_base_url``), e.g. ``http://127.0.0.1:8080/runware/v1``
    for the emulator. ``account_id`` is Cloudflare's account (path parameter). ``headers`` are sent on every
    call (Cloudflare's ``cf-aig-gateway-id``, GMI's ``X-Organization-ID``...). Raises ``UnknownProvider``.
    """

    name: str
    api_key: str
    base_url: str | None = None
    account_id: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in PROVIDERS:
            raise UnknownProvider(self.name)

    @property
    def url(self) -> str:
        """The base URL calls are made against (no trailing slash)."""
        return (self.base_url or real_base_url(self.name)).rstrip("/")

    def __repr__(self) -> str:  # never show the key
        return f"Provider(name={self.name!r}, base_url={self.url!r})"


@dataclass(frozen=True)
class RetryPolicy:
    """When one HTTP call is sent again.

    A 429 that is a rate limit (not OpenAI's ``insufficient_quota``) is retried after its ``Retry-After``
    (seconds or an HTTP date), else after the backoff, as long as the wait is at most ``max_wait``
    seconds; a 408, a 5xx or a lost answer (timeout, connection error) only for calls that are safe to
    repeat (GETs, Runware's getResponse, Apiframe submissions carrying an Idempotency-Key). Backoff is
    full jitter: uniform in ``[0, min(backoff_max, backoff_base * 2**n)]`` seconds. Defaults follow the
    providers' SDKs: 2 retries (openai-python, cloudflare-python, Apiframe's Node SDK), 0.25 s base and
    8 s cap (Apiframe Node SDK, apiframe-ai/apiframe-nodejs-sdk@9f9b464:src/http.ts).
    """

    max_retries: int = 2
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt`` (1-based)."""
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))


@dataclass(frozen=True)
class PollPolicy:
    """How a pending job is polled: first wait ``initial`` seconds, multiply by ``factor`` after each poll
    up to ``maximum``; give up (``RequestTimeoutError`` with the job id) once the waits would exceed
    ``timeout`` seconds. A poll answer's ``Retry-After`` lengthens the next wait. Defaults: Apiframe's Node
    SDK ``jobs.waitFor`` (2 s, x1.5, 5 s cap, 600 s budget; apiframe-ai/apiframe-nodejs-sdk@9f9b464:
    src/resources/jobs.ts).
    ``max_polls`` also bounds the number of polls (``None``: only the time budget does).
    """

    initial: float = 2.0
    factor: float = 1.5
    maximum: float = 5.0
    timeout: float = 600.0
    max_polls: int | None = None


#: Default HTTP timeouts in seconds: GPT Image answers synchronously at OpenAI, Cloudflare and GMI and can
#: take minutes (GMI's own clients wait 120 s: genblaze-gmicloud==0.3.5:genblaze_gmicloud/_base.py).
DEFAULT_TIMEOUT = httpx.Timeout(180.0, connect=10.0)


# -- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedImage:
    """One image of a result: a ``url`` to fetch, or ``b64`` (base64 text as the provider sent it).

    ``format`` is the canonical output format (png, jpeg, webp); ``width``/``height`` are pixels as the
    provider reported them, else as requested, ``None`` when the size was ``auto`` and not reported.
    """

    format: str
    width: int | None
    height: int | None
    url: str | None = None
    b64: str | None = None

    @property
    def data(self) -> bytes | None:
        """The decoded bytes of a base64 image (``None`` for a URL). Raises ``ValueError`` if corrupt."""
        if self.b64 is None:
            return None
        try:
            return base64.b64decode(self.b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("the image's base64 does not decode") from exc


@dataclass(frozen=True)
class ReportedCost:
    """What the provider itself said the job cost: ``usd`` (Decimal, US dollars), ``credits`` (integer)
    and, for OpenAI, the ``tokens`` of its ``usage`` block (priced into ``usd``)."""

    usd: Decimal | None = None
    credits: int | None = None
    tokens: TokenBreakdown | None = None


@dataclass(frozen=True)
class ImageResult:
    """A finished job, provider-neutral.

    ``request`` is the canonical request resolved with the provider's defaults; ``job_id`` the provider's
    id (OpenAI's x-request-id, Apiframe's jobId, Runware's taskUUID, GMI's request_id; ``None`` where there
    is none); ``reported_cost`` what the provider reported (``None`` for Cloudflare and GMI, which report
    none); ``quote`` the cost engine's price of ``request`` (``None`` when the engine cannot price it);
    ``raw`` the last answer's JSON body.
    """

    provider: str
    model: str
    request: CanonicalRequest
    images: tuple[GeneratedImage, ...]
    job_id: str | None
    reported_cost: ReportedCost | None
    quote: Quote | None
    raw: Any


# -- HTTP calls and answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request of a flow, relative to the provider's base URL.

    ``json`` is the JSON body (``None``: no body); ``form`` and ``files`` the multipart text fields and
    file parts ``(field, (filename, bytes, MIME type))``; ``idempotent`` says it may be resent when its
    answer is lost or is a 5xx (see ``RetryPolicy``).
    """

    operation_id: str
    method: str
    path: str
    json: Any = None
    form: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, tuple[str, bytes, str]], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    idempotent: bool = False

    def url(self, target: Provider) -> str:
        """Absolute URL. A contract path of ``/`` is the base URL itself (Runware's documented endpoint is
        ``POST https://api.runware.ai/v1``)."""
        return target.url if self.path == "/" else target.url + self.path


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: ``status``, ``headers`` (lower-case names), ``body`` (decoded JSON, ``None`` when
    the answer is not JSON) and ``text``."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str

    @classmethod
    def from_httpx(cls, response: httpx.Response) -> Answer:
        """Read an ``httpx.Response`` (already read)."""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            body = None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return cls(response.status_code, headers, body, response.text)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` when absent or unreadable."""
        value = self.headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _form_value(value: Any) -> str:
    """A multipart text field: strings as they are, everything else as JSON (``true``, ``2``)."""
    return value if isinstance(value, str) else json.dumps(value)


def _filename(name: str, image: ImageInput) -> str:
    ext = {"png": "png", "jpeg": "jpg", "webp": "webp"}.get(FORMATS.get(image.mime or "", ""), "bin")
    return f"{name.strip('[]')}.{ext}"


def native_call(
    native: NativeRequest, *, idempotent: bool = False, headers: Mapping[str, str] = {}
) -> HttpCall:
    """The ``HttpCall`` of a native request: a JSON body, or multipart text fields and files when the
    operation's request body is ``multipart/form-data`` (file MIME types as read from the bytes)."""
    method, _, op = operation(native.provider, native.operation_id)
    content_types = list(op.get("requestBody", {}).get("content", {}))
    extra = tuple(headers.items())
    if content_types and content_types[0].startswith("multipart/"):
        body = native.body if isinstance(native.body, dict) else {}
        form = tuple((k, _form_value(v)) for k, v in body.items() if v is not None)
        files = tuple(
            (name, (_filename(name, image), image.data or b"", image.mime or "application/octet-stream"))
            for name, image in native.files
        )
        return HttpCall(native.operation_id, method, native.path, None, form, files, extra, idempotent)
    return HttpCall(
        native.operation_id, method, native.path, native.body, headers=extra, idempotent=idempotent
    )


def operation_call(
    provider: str,
    operation_id: str,
    *,
    path_params: Mapping[str, str] | None = None,
    json_body: Any = None,
    idempotent: bool | None = None,
) -> HttpCall:
    """An ``HttpCall`` for any operation of the provider's contract (path parameters filled in). GETs are
    idempotent unless said otherwise. Raises ``KeyError`` for an unknown operation or a missing parameter."""
    method, path, _ = operation(provider, operation_id)
    filled = path.format(**(path_params or {}))
    safe = method == "GET" if idempotent is None else idempotent
    return HttpCall(operation_id, method, filled, json_body, idempotent=safe)


def image_from_reference(ref: str, output_format: str, size: tuple[int, int] | None) -> GeneratedImage:
    """A ``GeneratedImage`` from what an answer holds: an http(s) URL, a ``data:`` URI or bare base64.
    The format of a data URI or of a URL's file extension wins over ``output_format``."""
    width, height = size if size is not None else (None, None)
    if ref.startswith("data:"):
        head, _, data = ref.partition(",")
        mime = head.removeprefix("data:").split(";")[0].lower()
        return GeneratedImage(FORMATS.get(mime, output_format), width, height, b64=data)
    if ref.startswith(("http://", "https://")):
        ext = ref.split("?")[0].rsplit("/", 1)[-1].rpartition(".")[2].lower()
        return GeneratedImage(EXTENSIONS.get(ext, output_format), width, height, url=ref)
    return GeneratedImage(output_format, width, height, b64=ref)


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (answers are read defensively)."""
    return value if isinstance(value, dict) else {}


def requested_size(request: CanonicalRequest) -> tuple[int, int] | None:
    """``(width, height)`` in pixels of a resolved request, ``None`` for ``auto``."""
    return parse_size(request.size or "")


# -- flows -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """A flow step that ends the job: its images, job id, reported cost and provider status name."""

    images: tuple[GeneratedImage, ...]
    job_id: str | None
    cost: ReportedCost | None = None
    status: str | None = None


@dataclass(frozen=True)
class Pending:
    """A flow step that needs another poll: the job id, the provider's status name, the poll call."""

    job_id: str
    status: str
    poll: HttpCall


Step = Finished | Pending


class Flow(ABC):
    """One provider's transport flow (see the module docstring). Subclasses set ``provider``."""

    provider: ClassVar[str]

    def prepare(self, request: CanonicalRequest, target: Provider) -> CanonicalRequest:
        """Transport settings the flow adds to a canonical request before the dialect sees it (e.g.
        Cloudflare's account id). Raises ``ValidationError`` when the target lacks a needed setting."""
        return request

    def first_call(self, native: NativeRequest, target: Provider) -> HttpCall:
        """The submission of a native request."""
        return native_call(native)

    @abstractmethod
    def read(self, request: CanonicalRequest, answer: Answer, on: dt.date | None) -> Step:
        """Read a 2xx answer of the submission or of a poll (``request`` resolved; ``on`` the date reported
        usage is priced on, ``None`` for today). Raises an ``ImageClientError`` for a job that failed
        inside a 2xx answer (Apiframe FAILED, GMI failed, Runware task errors)."""

    def poll_call(self, job_id: str) -> HttpCall:
        """The call that polls job ``job_id``. Raises ``ValidationError`` for a synchronous provider."""
        raise ValidationError(self.provider, "answers synchronously; there is no job to poll")

    def error(self, answer: Answer) -> ImageClientError:
        """The client error for a non-2xx answer. The default classifies by HTTP status only."""
        return self.make(kind_for_status(answer.status), answer, answer.text or f"HTTP {answer.status}")

    def make(self, kind: str, answer: Answer | None, message: str, **fields: Any) -> ImageClientError:
        """An error of ``kind`` carrying the answer's status, body and Retry-After."""
        if answer is not None:
            fields.setdefault("status", answer.status)
            fields.setdefault("body", answer.body if answer.body is not None else answer.text)
            fields.setdefault("retry_after", answer.retry_after)
        return make_error(kind, self.provider, message, **fields)

    def step(self, request: CanonicalRequest, answer: Answer, on: dt.date | None = None) -> Step:
        """``read`` for a 2xx answer; raises ``error(answer)`` otherwise."""
        if not answer.ok:
            raise self.error(answer)
        return self.read(request, answer, on)


# -- the engine ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """Engine action: make this call to this target and send back the ``Answer``."""

    call: HttpCall
    target: Provider


@dataclass(frozen=True)
class Sleep:
    """Engine action: wait this many seconds."""

    seconds: float


Action = Send | Sleep
Exchange = Generator[Action, Any, Any]


@dataclass(frozen=True)
class Submission:
    """A submitted job: ``result`` when the provider answered synchronously, else ``pending`` (the next
    poll). ``request`` is the resolved canonical request; ``status`` the provider's own status name."""

    target: Provider
    request: CanonicalRequest
    job_id: str | None
    status: str | None
    raw: Any
    pending: Pending | None = None
    result: ImageResult | None = None

    @property
    def done(self) -> bool:
        """True when the job has finished (``result`` is set)."""
        return self.result is not None


@dataclass(frozen=True)
class Settings:
    """Engine settings of a client: retries, polling, and the date quotes and usage are priced on."""

    retries: RetryPolicy = field(default_factory=RetryPolicy)
    polling: PollPolicy = field(default_factory=PollPolicy)
    pricing_date: dt.date | None = None


def flow_for(provider: str) -> Flow:
    """The flow of ``provider`` (``pixelmock.client.<module>.FLOW``, the module the registry names in
    ``contracts/data/providers.yaml``). Raises ``UnknownProvider``."""
    import importlib

    flow: Flow = importlib.import_module(f"{__package__}.{registered(provider).client}").FLOW
    return flow


def send_exchange(flow: Flow, target: Provider, call: HttpCall, retries: RetryPolicy) -> Exchange:
    """Send one call with retries (see ``RetryPolicy``); returns the last ``Answer`` whatever its status.
    A lost answer, once retries are used up, raises ``RequestTimeoutError`` or ``ProviderError``."""
    attempt = 0
    while True:
        failure: ImageClientError | None = None
        try:
            answer: Answer = yield Send(call, target)
        except httpx.TimeoutException as exc:
            failure = RequestTimeoutError(flow.provider, f"no answer in time: {exc!r}")
            cause: Exception = exc
        except httpx.TransportError as exc:
            failure = ProviderError(flow.provider, f"could not reach {call.url(target)}: {exc!r}")
            cause = exc
        if failure is not None:
            if call.idempotent and attempt < retries.max_retries:
                attempt += 1
                yield Sleep(retries.backoff(attempt))
                continue
            raise failure from cause
        if attempt < retries.max_retries:
            wait: float | None = None
            if answer.status == 429 and flow.error(answer).kind == RateLimitedError.kind:
                wait = answer.retry_after if answer.retry_after is not None else retries.backoff(attempt + 1)
            elif (answer.status >= 500 or answer.status == 408) and call.idempotent:
                wait = answer.retry_after or retries.backoff(attempt + 1)
            if wait is not None and wait <= retries.max_wait:
                attempt += 1
                yield Sleep(wait)
                continue
        return answer


def request_headers(call: HttpCall, target: Provider) -> dict[str, str]:
    """Headers of one call: the contract's auth header, the target's own headers, the call's headers."""
    return {**auth_headers(target.name, target.api_key), **target.headers, **dict(call.headers)}


def request_args(call: HttpCall, target: Provider) -> dict[str, Any]:
    """The keyword arguments of ``httpx.Client.request`` for one call besides its method and URL:
    ``headers`` (``request_headers``), and the body as ``json``, or as form ``data`` and ``files``."""
    args: dict[str, Any] = {"headers": request_headers(call, target)}
    if call.json is not None:
        args["json"] = call.json
    if call.form or call.files:
        args["data"] = dict(call.form)
        args["files"] = list(call.files)
    return args


def prepared(
    flow: Flow, request: CanonicalRequest, target: Provider
) -> tuple[CanonicalRequest, NativeRequest]:
    """``(resolved request, native request)``. Raises ``ValidationError`` (``status None``, ``param`` the
    canonical field) for a value the provider cannot express: nothing is sent."""
    if target.name != flow.provider:
        raise ValueError(f"flow {flow.provider!r} cannot send to {target.name!r}")
    dialect = get_dialect(flow.provider)
    request = flow.prepare(request, target)
    try:
        resolved = dialect.resolve(request)
        native = dialect.to_native(request)
    except UnsupportedValue as exc:
        raise ValidationError(flow.provider, str(exc), code="unsupported_value", param=exc.field) from exc
    return resolved, native


def _quote(provider: str, resolved: CanonicalRequest, settings: Settings) -> Quote | None:
    try:
        return get_dialect(provider).quote(resolved, settings.pricing_date)
    except (LookupError, ValueError):  # outside the seller's published table, or inputs it cannot price
        return None


def _result(flow: Flow, sub: Submission, step: Finished, raw: Any, settings: Settings) -> ImageResult:
    return ImageResult(
        provider=flow.provider,
        model=sub.request.model,
        request=sub.request,
        images=step.images,
        job_id=step.job_id or sub.job_id,
        reported_cost=step.cost,
        quote=_quote(flow.provider, sub.request, settings),
        raw=raw,
    )


def submit_exchange(flow: Flow, request: CanonicalRequest, target: Provider, settings: Settings) -> Exchange:
    """Build, send and read the submission; returns a ``Submission`` (finished for synchronous answers)."""
    resolved, native = prepared(flow, request, target)
    answer = yield from send_exchange(flow, target, flow.first_call(native, target), settings.retries)
    step = flow.step(resolved, answer, settings.pricing_date)
    sub = Submission(target, resolved, step.job_id, step.status, answer.body)
    if isinstance(step, Pending):
        return replace(sub, pending=step)
    return replace(sub, result=_result(flow, sub, step, answer.body, settings))


def wait_exchange(flow: Flow, sub: Submission, settings: Settings) -> Exchange:
    """Poll a pending submission until it finishes (see ``PollPolicy``); returns the ``ImageResult``.
    Raises ``RequestTimeoutError`` (with the job id) when the poll budget runs out."""
    if sub.result is not None:
        return sub.result
    assert sub.pending is not None
    polling = settings.polling
    step: Step = sub.pending
    delay, waited, retry_after, polls = polling.initial, 0.0, 0.0, 0
    while isinstance(step, Pending):
        wait = max(delay, retry_after)
        if waited + wait > polling.timeout or (polling.max_polls is not None and polls >= polling.max_polls):
            message = f"job {step.job_id} still {step.status} after {polls} poll(s), {waited:g} s of waiting"
            raise RequestTimeoutError(flow.provider, message, job_id=step.job_id)
        if wait > 0:
            yield Sleep(wait)
        waited, polls = waited + wait, polls + 1
        answer = yield from send_exchange(flow, sub.target, step.poll, settings.retries)
        step = flow.step(sub.request, answer, settings.pricing_date)
        retry_after = answer.retry_after or 0.0
        delay = min(delay * polling.factor, polling.maximum)
    return _result(flow, sub, step, answer.body, settings)


def resume_submission(flow: Flow, request: CanonicalRequest, target: Provider, job_id: str) -> Submission:
    """A pending ``Submission`` for an existing job (e.g. after a ``RequestTimeoutError``)."""
    resolved, _ = prepared(flow, request, target)
    poll = flow.poll_call(job_id)
    return Submission(target, resolved, job_id, None, None, pending=Pending(job_id, "unknown", poll))
