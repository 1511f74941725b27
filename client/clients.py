"""``ImageClient`` (sync) and ``AsyncImageClient``: drive the flow engine of ``pixelmock.client.base`` over
httpx.

Both expose the same calls, the async ones as coroutines::

    client.generate(request, provider) -> ImageResult    submit, then poll until finished
    client.submit(request, provider)   -> Submission     the first answer only (sync answers finish here)
    client.wait(submission)            -> ImageResult    poll a pending submission
    client.resume(request, provider, job_id) -> ImageResult   poll a job submitted earlier
    client.call(provider, operation_id, ...) -> Any      any contract operation, with auth, retries, errors
    client.download(image)             -> bytes          an image's bytes (fetching its URL if needed)

Every failure is a ``pixelmock.client.errors.ImageClientError``; a canonical value the provider cannot express
is a ``ValidationError`` with ``status None`` and nothing is sent.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import anyio
import httpx

from pixelmock.client.base import (
    DEFAULT_TIMEOUT,
    Answer,
    Exchange,
    GeneratedImage,
    ImageResult,
    PollPolicy,
    Provider,
    RetryPolicy,
    Settings,
    Sleep,
    Submission,
    flow_for,
    operation_call,
    request_args,
    resume_submission,
    send_exchange,
    submit_exchange,
    wait_exchange,
)
from pixelmock.client.errors import ProviderError
from pixelmock.contracts.canonical import CanonicalRequest

DEFAULT_RETRIES = RetryPolicy()
DEFAULT_POLLING = PollPolicy()


def _call_exchange(
    provider: Provider,
    operation_id: str,
    path_params: Mapping[str, str] | None,
    body: Any,
    settings: Settings,
) -> Exchange:
    flow = flow_for(provider.name)
    call = operation_call(provider.name, operation_id, path_params=path_params, json_body=body)
    answer: Answer = yield from send_exchange(flow, provider, call, settings.retries)
    if not answer.ok:
        raise flow.error(answer)
    return answer.body


def _download_failed(image: GeneratedImage, response: httpx.Response) -> ProviderError:
    return ProviderError(
        "download", f"GET {image.url} answered {response.status_code}", status=response.status_code
    )


class _Base:
    def __init__(
        self,
        retries: RetryPolicy,
        polling: PollPolicy,
        pricing_date: dt.date | None,
    ) -> None:
        self.settings = Settings(retries, polling, pricing_date)

    def _submit(self, request: CanonicalRequest, provider: Provider) -> Exchange:
        return submit_exchange(flow_for(provider.name), request, provider, self.settings)

    def _generate(self, request: CanonicalRequest, provider: Provider) -> Exchange:
        flow = flow_for(provider.name)
        sub = yield from submit_exchange(flow, request, provider, self.settings)
        return (yield from wait_exchange(flow, sub, self.settings))

    def _wait(self, submission: Submission) -> Exchange:
        return wait_exchange(flow_for(submission.target.name), submission, self.settings)

    def _resume(self, request: CanonicalRequest, provider: Provider, job_id: str) -> Exchange:
        flow = flow_for(provider.name)
        return wait_exchange(flow, resume_submission(flow, request, provider, job_id), self.settings)


class ImageClient(_Base):
    """Synchronous client (see the module docstring).

    ``timeout``: httpx timeout per HTTP call (seconds or ``httpx.Timeout``; default 180 s, connect 10 s);
    ``retries`` / ``polling``: ``RetryPolicy`` and ``PollPolicy``; ``pricing_date``: the date quotes and
    OpenAI usage are priced on (default today); ``http``: your own ``httpx.Client`` (not closed by this
    client), else one is made with ``transport`` (e.g. ``httpx.WSGITransport(app=...)``); ``sleep``: how to
    wait (seconds), ``time.sleep`` by default.
    """

    def __init__(
        self,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: RetryPolicy = DEFAULT_RETRIES,
        polling: PollPolicy = DEFAULT_POLLING,
        pricing_date: dt.date | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(retries, polling, pricing_date)
        self._own = http is None
        self._http = http or httpx.Client(timeout=timeout, transport=transport)
        self._sleep = sleep

    def generate(self, request: CanonicalRequest, provider: Provider) -> ImageResult:
        """Submit ``request`` to ``provider`` and follow its flow to the finished images. Raises
        ``ImageClientError`` subclasses (``ValidationError`` before sending for inexpressible values)."""
        result: ImageResult = self._drive(self._generate(request, provider))
        return result

    def submit(self, request: CanonicalRequest, provider: Provider) -> Submission:
        """Send the submission only; ``Submission.done`` for synchronous answers, else ``pending``."""
        submission: Submission = self._drive(self._submit(request, provider))
        return submission

    def wait(self, submission: Submission) -> ImageResult:
        """Poll a submission until it finishes. Raises ``RequestTimeoutError`` after the poll budget."""
        result: ImageResult = self._drive(self._wait(submission))
        return result

    def resume(self, request: CanonicalRequest, provider: Provider, job_id: str) -> ImageResult:
        """Poll a job submitted earlier (``request`` is what was submitted, for the result and quote)."""
        result: ImageResult = self._drive(self._resume(request, provider, job_id))
        return result

    def call(
        self,
        provider: Provider,
        operation_id: str,
        *,
        path_params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """Any operation of the provider's contract (e.g. Apiframe ``getMe``, Runware ``runTasks`` with a
        ping): returns the JSON answer; non-2xx answers raise the provider's ``ImageClientError``."""
        return self._drive(_call_exchange(provider, operation_id, path_params, json, self.settings))

    def download(self, image: GeneratedImage) -> bytes:
        """The image's bytes: decoded base64, or its URL fetched. Raises ``ProviderError`` on a failed GET."""
        if image.url is None:
            return image.data or b""
        response = self._http.get(image.url)
        if response.status_code != 200:
            raise _download_failed(image, response)
        return response.content

    def close(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._own:
            self._http.close()

    def __enter__(self) -> ImageClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _drive(self, exchange: Exchange) -> Any:
        try:
            action = next(exchange)
            while True:
                if isinstance(action, Sleep):
                    self._sleep(action.seconds)
                    action = exchange.send(None)
                    continue
                try:
                    response = self._http.request(
                        action.call.method,
                        action.call.url(action.target),
                        **request_args(action.call, action.target),
                    )
                except httpx.TransportError as exc:
                    action = exchange.throw(exc)
                    continue
                action = exchange.send(Answer.from_httpx(response))
        except StopIteration as stop:
            return stop.value


class AsyncImageClient(_Base):
    """Asynchronous client: the same calls as ``ImageClient``, as coroutines (asyncio or trio, via anyio).

    ``http`` is your own ``httpx.AsyncClient``; ``sleep`` an async wait (default ``anyio.sleep``).
    """

    def __init__(
        self,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: RetryPolicy = DEFAULT_RETRIES,
        polling: PollPolicy = DEFAULT_POLLING,
        pricing_date: dt.date | None = None,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        super().__init__(retries, polling, pricing_date)
        self._own = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout, transport=transport)
        self._sleep = sleep

    async def generate(self, request: CanonicalRequest, provider: Provider) -> ImageResult:
        """See ``ImageClient.generate``."""
        result: ImageResult = await self._drive(self._generate(request, provider))
        return result

    async def submit(self, request: CanonicalRequest, provider: Provider) -> Submission:
        """See ``ImageClient.submit``."""
        submission: Submission = await self._drive(self._submit(request, provider))
        return submission

    async def wait(self, submission: Submission) -> ImageResult:
        """See ``ImageClient.wait``."""
        result: ImageResult = await self._drive(self._wait(submission))
        return result

    async def resume(self, request: CanonicalRequest, provider: Provider, job_id: str) -> ImageResult:
        """See ``ImageClient.resume``."""
        result: ImageResult = await self._drive(self._resume(request, provider, job_id))
        return result

    async def call(
        self,
        provider: Provider,
        operation_id: str,
        *,
        path_params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """See ``ImageClient.call``."""
        return await self._drive(_call_exchange(provider, operation_id, path_params, json, self.settings))

    async def download(self, image: GeneratedImage) -> bytes:
        """See ``ImageClient.download``."""
        if image.url is None:
            return image.data or b""
        response = await self._http.get(image.url)
        if response.status_code != 200:
            raise _download_failed(image, response)
        return response.content

    async def aclose(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._own:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncImageClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _drive(self, exchange: Exchange) -> Any:
        try:
            action = next(exchange)
            while True:
                if isinstance(action, Sleep):
                    await self._sleep(action.seconds)
                    action = exchange.send(None)
                    continue
                try:
                    url = action.call.url(action.target)
                    response = await self._http.request(
                        action.call.method, url, **request_args(action.call, action.target)
                    )
                except httpx.TransportError as exc:
                    action = exchange.throw(exc)
                    continue
                action = exchange.send(Answer.from_httpx(response))
        except StopIteration as stop:
            return stop.value
