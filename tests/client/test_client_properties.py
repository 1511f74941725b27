"""Properties of the reference client against the emulators, over hypothesis-drawn canonical requests.

Requests are drawn per provider and model from the dialect's capabilities (``text_requests`` of
tests/support/dialect_cases.py, plus input images and, for Runware, its delivery and output types). For
each one:

- every HTTP request the client sends validates against the provider's OpenAPI document, and every answer
  the emulator gives validates against the operation's response schema (``pixelmock.contracts.verify``, the
  documents being the oracle);
- the cost the emulator reports (OpenAI ``usage`` priced, Runware ``cost``, Apiframe ``creditCost``)
  equals the cost engine's quote of the request; Cloudflare and GMI report none;
- a canonical value the provider cannot express fails with ``ValidationError`` before any request
  reaches the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dialect_cases import OFFERED, _png, _unsupported_cases, text_requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pixelmock.client import ImageClient, PollPolicy, Provider, ValidationError
from pixelmock.client.base import flow_for, prepared
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.openapi import real_base_url
from pixelmock.contracts.verify import check_interaction
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.app import mounted_providers

RICH = {"credits": Decimal(10**9), "USD": Decimal(10**9)}
APP = create_app(EmulatorConfig(starting_balances=RICH))
PREFIX = {p.name: p.prefix for p in mounted_providers(APP)}
ROOT = "http://127.0.0.1:8080"
SETTINGS = settings(
    max_examples=int(os.environ.get("PIXELMOCK_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


class Counted:
    """WSGI middleware counting the requests that reach the emulator."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app, self.calls = app, 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.calls += 1
        return self.app(environ, start_response)


REACHED = Counted(APP.wsgi_app)
APP.wsgi_app = REACHED  # type: ignore[method-assign]


def _interaction(provider: str, response: httpx.Response) -> dict[str, Any]:
    """The exchange as a vcrpy interaction at the provider's real URL (what ``pixelmock.contracts.verify``
    reads)."""
    request = response.request
    path = request.url.path.removeprefix(PREFIX[provider])
    return {
        "request": {
            "method": request.method,
            "uri": real_base_url(provider) + ("" if path in ("", "/") else path),
            "body": request.content.decode("utf-8", "replace"),
            "headers": {"Content-Type": [request.headers.get("content-type", "")]},
        },
        "response": {
            "status": {"code": response.status_code},
            "headers": {"Content-Type": [response.headers.get("content-type", "")]},
            "body": {"string": response.text},
        },
    }


@pytest.fixture
def wire() -> Iterator[tuple[ImageClient, list[httpx.Response]]]:
    seen: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append(response)

    http = httpx.Client(transport=httpx.WSGITransport(app=APP), event_hooks={"response": [keep]})
    with http, ImageClient(http=http, polling=PollPolicy(initial=0, max_polls=10)) as images:
        yield images, seen


def _target(provider: str) -> Provider:
    return Provider(
        provider, api_key=f"{provider}-property-key", base_url=ROOT + PREFIX[provider], account_id="acct"
    )


def _accepts(provider: str, request: CanonicalRequest) -> bool:
    try:
        prepared(flow_for(provider), request, _target(provider))
    except ValidationError:
        return False
    return True


@st.composite
def client_requests(draw: st.DrawFn, provider: str, model: str) -> CanonicalRequest:
    """A request the provider can express: at most 2 images out (rendering is the slow part), maybe
    input images (bytes or URLs, whichever the provider takes), Runware's delivery and output types."""
    caps = get_dialect(provider).capabilities(model)
    request = draw(text_requests(caps))
    request = request.with_(n=draw(st.none() | st.integers(1, min(2, caps.max_n))))
    if caps.max_input_images and draw(st.booleans()):
        count = draw(st.integers(1, min(2, caps.max_input_images)))
        form = draw(st.sampled_from(["bytes", "url"]))
        image = _png(64, 48) if form == "bytes" else ImageInput(url="https://example.com/input.png")
        request = request.with_(input_images=(image,) * count)
    if provider == "runware":
        transport = {
            "deliveryMethod": draw(st.sampled_from(["sync", "async"])),
            "outputType": draw(st.sampled_from(["URL", "base64Data", "dataURI"])),
        }
        request = request.with_(extra={"runware": transport})
    assume(_accepts(provider, request))
    return request


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@SETTINGS
@given(data=st.data())
def test_wire_traffic_keeps_the_contract_and_costs_match_the_quote(
    wire: tuple[ImageClient, list[httpx.Response]], provider: str, model: str, data: st.DataObject
) -> None:
    images, seen = wire
    seen.clear()
    request = data.draw(client_requests(provider, model))
    result = images.generate(request, _target(provider))

    assert seen and all(r.is_success for r in seen)
    for response in seen:
        assert check_interaction(_interaction(provider, response)) == []
    assert len(result.images) == result.request.n
    quote, reported = result.quote, result.reported_cost
    assert quote is not None
    if provider in ("openai", "azure"):  # Azure answers OpenAI's usage block
        assert reported is not None and (reported.usd, reported.tokens) == (quote.usd, quote.tokens)
    elif provider == "runware":
        assert reported is not None and reported.usd == quote.usd
    elif provider == "apiframe":
        assert reported is not None and reported.credits == quote.credits
    else:
        assert reported is None


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@SETTINGS
@given(data=st.data())
def test_inexpressible_values_fail_before_any_request(
    wire: tuple[ImageClient, list[httpx.Response]], provider: str, model: str, data: st.DataObject
) -> None:
    images, _ = wire
    cases = [(f, v) for p, m, f, v in _unsupported_cases() if (p, m) == (provider, model)]
    field, value = data.draw(st.sampled_from(cases))
    request = data.draw(text_requests(get_dialect(provider).capabilities(model))).with_(**{field: value})
    before = REACHED.calls
    with pytest.raises(ValidationError) as info:
        images.generate(request, _target(provider))
    assert (info.value.status, info.value.param, info.value.provider) == (None, field, provider)
    assert REACHED.calls == before
