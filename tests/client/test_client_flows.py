"""The reference client end to end against the emulators: every provider and model it sells, sync and
async clients, on a real socket; the polling flows (Apiframe jobs, Runware getResponse) with their
backoff and Retry-After; and the error hierarchy for the failures each emulator can produce.

Waits run on the emulator's virtual clock: the client's ``sleep`` advances it instead of sleeping, so a
60-second Retry-After costs nothing and the waits the client chose can be checked exactly.
"""

from __future__ import annotations

import datetime as dt
import io
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dialect_cases import OFFERED
from flask import Flask
from PIL import Image

from pixelmock.client import (
    AsyncImageClient,
    AuthenticationError,
    ContentPolicyError,
    ImageClient,
    ImageResult,
    InsufficientCreditsError,
    PollPolicy,
    Provider,
    ProviderError,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ValidationError,
)
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.app import mounted_providers

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
FAST = PollPolicy(initial=0, max_polls=20)
KEY = "flow-test-key"


def _target(root: str, app: Flask, provider: str, key: str = KEY, **changes: Any) -> Provider:
    prefix = {p.name: p.prefix for p in mounted_providers(app)}[provider]
    return Provider(provider, api_key=key, base_url=root + prefix, **{"account_id": "acct", **changes})


def _wsgi(app: Flask, **options: Any) -> ImageClient:
    options.setdefault("polling", FAST)
    return ImageClient(transport=httpx.WSGITransport(app=app), **options)


def _app(**options: Any) -> Flask:
    return create_app(EmulatorConfig(options=options))


class VirtualSleep:
    """A client ``sleep`` that advances the emulator's virtual clock and remembers each wait."""

    def __init__(self, app: Flask) -> None:
        self.clock = app.extensions["pixelmock"].clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self(seconds)


def _request(provider: str, model: str) -> CanonicalRequest:
    caps = get_dialect(provider).capabilities(model)
    quality = "low" if "low" in caps.qualities else None
    n = min(2, caps.max_n)
    return CanonicalRequest(
        model=model, prompt="a lighthouse at dusk", size="1024x1024", quality=quality, n=n
    )  # type: ignore[arg-type]


def _check_images(result: ImageResult, blobs: list[bytes], provider: str) -> None:
    assert len(result.images) == len(blobs) == result.request.n
    for image, blob in zip(result.images, blobs, strict=True):
        with Image.open(io.BytesIO(blob)) as decoded:
            assert decoded.size == (1024, 1024) == (image.width, image.height)
            assert (
                decoded.format == PIL_FORMATS[image.format] == PIL_FORMATS[str(result.request.output_format)]
            )
    assert (result.job_id is None) == (provider == "cloudflare")
    assert result.quote is not None


# -- every provider and model, on a real socket --------------------------------------------------------


@pytest.mark.parametrize(("provider", "model"), OFFERED)
def test_sync_client_generates_over_a_socket(live_url: str, app: Flask, provider: str, model: str) -> None:
    with ImageClient(polling=FAST) as images:
        result = images.generate(_request(provider, model), _target(live_url, app, provider))
        _check_images(result, [images.download(i) for i in result.images], provider)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.parametrize(("provider", "model"), OFFERED)
async def test_async_client_generates_over_a_socket(
    live_url: str, app: Flask, provider: str, model: str
) -> None:
    async with AsyncImageClient(polling=FAST) as images:
        result = await images.generate(_request(provider, model), _target(live_url, app, provider))
        _check_images(result, [await images.download(i) for i in result.images], provider)


# -- polling flows -------------------------------------------------------------------------------------

#: Apiframe's Node SDK polls after 2 s, then x1.5 up to 5 s (its jobs.waitFor): PollPolicy().
SDK_WAITS = [2.0, 3.0, 4.5, 5.0]


def test_apiframe_job_is_polled_with_backoff_until_completed() -> None:
    app = _app(**{"apiframe.polls_to_complete": 4})
    sleep = VirtualSleep(app)
    with _wsgi(app, polling=PollPolicy(), sleep=sleep) as images:
        submission = images.submit(
            _request("apiframe", "gpt-image-2"), _target("http://emu", app, "apiframe")
        )
        assert (submission.done, submission.status) == (False, "QUEUED")
        result = images.wait(submission)
    assert sleep.waits == SDK_WAITS
    assert result.job_id == submission.job_id and len(result.images) == 2
    assert result.reported_cost is not None and result.reported_cost.credits == 8  # low: 4 credits x 2 images


@pytest.mark.anyio
async def test_runware_async_delivery_polls_get_response() -> None:
    app = _app(**{"runware.processing_polls": 2})
    sleep = VirtualSleep(app)
    request = _request("runware", "gpt-image-2").with_(extra={"runware": {"deliveryMethod": "async"}})
    transport = httpx.WSGITransport(app=app)
    async with httpx.AsyncClient(transport=_AsyncWsgi(transport)) as http:
        images = AsyncImageClient(http=http, sleep=sleep.asleep)
        submission = await images.submit(request, _target("http://emu", app, "runware"))
        assert not submission.done and submission.status == "async"
        result = await images.wait(submission)
    assert sleep.waits == SDK_WAITS[:3]  # processing, processing, success
    assert result.job_id == submission.job_id and len(result.images) == 2
    assert result.reported_cost is not None and result.quote is not None
    assert result.reported_cost.usd == result.quote.usd


class _AsyncWsgi(httpx.AsyncBaseTransport):
    """httpx has no async WSGI transport; this runs the sync one (the emulator is a WSGI app)."""

    def __init__(self, inner: httpx.WSGITransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self.inner.handle_request(request)
        return httpx.Response(response.status_code, headers=response.headers, content=response.read())


def test_a_429_is_retried_after_its_retry_after_and_then_raised() -> None:
    app = _app(**{"apiframe.rate_limit_per_minute": 1})
    sleep = VirtualSleep(app)
    limited: list[str] = []

    def remember(response: httpx.Response) -> None:
        if response.status_code == 429:
            limited.append(response.headers["retry-after"])

    http = httpx.Client(transport=httpx.WSGITransport(app=app), event_hooks={"response": [remember]})
    target = _target("http://emu", app, "apiframe")
    with http, ImageClient(http=http, polling=PollPolicy(), sleep=sleep) as images:
        result = images.generate(_request("apiframe", "gpt-image-1.5"), target)
        assert result.images and len(limited) == 1
        assert sleep.waits == [2.0, float(limited[0])]  # the poll wait, then the Retry-After

        impatient = ImageClient(http=http, retries=RetryPolicy(max_retries=0), polling=FAST)
        with pytest.raises(RateLimitedError) as info:
            impatient.generate(_request("apiframe", "gpt-image-1.5"), target)
    assert info.value.status == 429 and info.value.retry_after == float(limited[-1]) > 0


def test_poll_budget_ends_with_the_job_id_and_the_job_can_be_resumed() -> None:
    app = _app(**{"apiframe.polls_to_complete": 6})
    sleep = VirtualSleep(app)
    request, target = _request("apiframe", "gpt-image-1.5"), _target("http://emu", app, "apiframe")
    short = PollPolicy(initial=1, factor=1, maximum=1, timeout=3)
    with _wsgi(app, polling=short, sleep=sleep) as images, pytest.raises(RequestTimeoutError) as info:
        images.generate(request, target)
    assert info.value.job_id and sleep.waits == [1, 1, 1]
    with _wsgi(app, sleep=sleep) as images:
        result = images.resume(request, target, info.value.job_id)
    assert result.job_id == info.value.job_id and result.images


# -- the error hierarchy -------------------------------------------------------------------------------


def _fails(app: Flask, provider: str, request: CanonicalRequest | None = None, **target: Any) -> Any:
    with _wsgi(app, retries=RetryPolicy(max_retries=0)) as images, pytest.raises(Exception) as info:
        images.generate(
            request or _request(provider, "gpt-image-2"), _target("http://emu", app, provider, **target)
        )
    return info.value


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_keys_are_authentication_errors(provider: str) -> None:
    app = create_app(
        EmulatorConfig(invalid_keys=frozenset({"bad-key-1"}), inactive_keys=frozenset({"old-key-1"}))
    )
    for key in ("bad-key-1", "old-key-1"):
        error = _fails(app, provider, key=key)
        assert isinstance(error, AuthenticationError), error
        assert error.provider == provider and error.status in (401, 403) and error.body


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_short_balance_is_insufficient_credits(provider: str) -> None:
    app = create_app(EmulatorConfig(starting_balances={"credits": Decimal(1), "USD": Decimal("0.001")}))
    error = _fails(app, provider)
    assert isinstance(error, InsufficientCreditsError), error
    if provider == "apiframe":  # 402 with the credits the job needs: low x 2 images = 8 (the credit table)
        assert (error.required, error.available) == (8, 1)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Provider returned an error: content policy violation", ContentPolicyError),
        ("Provider returned an error: upstream unavailable", ProviderError),
    ],
)
def test_a_failed_apiframe_job_names_the_job(text: str, kind: type[Exception]) -> None:
    error = _fails(_app(**{"apiframe.job_failure": text}), "apiframe")
    assert type(error) is kind
    assert (error.message, error.code) == (text, "FAILED") and error.job_id


@pytest.mark.parametrize("provider", ["openai", "cloudflare"])
def test_a_model_shut_down_at_openai_is_a_validation_error(provider: str) -> None:
    app = create_app(EmulatorConfig(today=dt.date(2026, 12, 2)))  # the day after gpt-image-1.5's shutdown
    error = _fails(app, provider, _request(provider, "gpt-image-1.5"))
    assert isinstance(error, ValidationError)
    # Cloudflare wraps OpenAI's answer (code 5012); the client reads OpenAI's own code inside it.
    assert (error.status, error.code) == (400, "invalid_value")


def test_a_rejected_gmi_generation_keeps_its_request_id() -> None:
    app = create_app()
    broken = CanonicalRequest(
        model="gpt-image-2", prompt="make it blue", input_images=(ImageInput(b"not png"),)
    )
    error = _fails(app, "gmicloud", broken)
    assert isinstance(error, ValidationError) and error.status == 400 and error.job_id
    with _wsgi(app) as images:
        record = images.call(
            _target("http://emu", app, "gmicloud"), "getRequest", path_params={"request_id": error.job_id}
        )
    assert record["status"] == "failed"


def test_a_reused_runware_task_uuid_is_refused() -> None:
    app = create_app()
    request = _request("runware", "gpt-image-2").with_(
        extra={"runware": {"taskUUID": "6f0a9d8e-2c4b-4e1f-9a7d-3b5c1e2f4a6d"}}
    )
    with _wsgi(app) as images:
        images.generate(request, _target("http://emu", app, "runware"))
    error = _fails(app, "runware", request)
    assert isinstance(error, ValidationError) and (error.status, error.code) == (400, "conflictTaskUUID")


def test_refusals_before_sending() -> None:
    app = create_app()
    no_account = _fails(app, "cloudflare", account_id=None)
    assert isinstance(no_account, ValidationError) and (no_account.status, no_account.param) == (
        None,
        "account_id",
    )
    stream = _request("openai", "gpt-image-2").with_(extra={"stream": True})
    streaming = _fails(app, "openai", stream)
    assert isinstance(streaming, ValidationError) and (streaming.status, streaming.param) == (None, "stream")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


def test_no_answer_in_time_is_a_timeout_and_no_server_a_provider_error(silent_port: int) -> None:
    request = _request("gmicloud", "gpt-image-2")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with ImageClient(timeout=0.2, retries=RetryPolicy(max_retries=0)) as quick:
        with pytest.raises(RequestTimeoutError):
            quick.generate(request, Provider("gmicloud", KEY, base_url=f"http://127.0.0.1:{silent_port}"))
        with pytest.raises(ProviderError):
            quick.generate(request, Provider("gmicloud", KEY, base_url=f"http://127.0.0.1:{closed}"))
