"""OpenAI Images API flow: one synchronous call (``createImage`` JSON or ``createImageEdit`` multipart).

The 200 answer is an ``ImagesResponse`` (contracts/openapi/openai.yaml): ``data[].b64_json`` images of the
reported ``size`` and ``output_format``, and ``usage`` tokens, which are priced here with the model's
token prices (contracts/data/models.yaml) into the reported cost. The job id is the ``x-request-id``
header. Errors are ``{"error": {"message", "type", "param", "code"}}``; a 429 whose code is the contract's
``insufficient_quota`` is an ``InsufficientCreditsError``, a ``moderation_blocked`` refusal a
``ContentPolicyError``. Streaming (``stream=true``) is not followed by this client and is refused before
sending.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pixelmock.client.base import (
    Answer,
    Finished,
    Flow,
    GeneratedImage,
    HttpCall,
    Provider,
    ReportedCost,
    image_from_reference,
    native_call,
    obj,
)
from pixelmock.client.errors import (
    ContentPolicyError,
    ImageClientError,
    InsufficientCreditsError,
    ValidationError,
    kind_for_status,
    mentions_content_policy,
)
from pixelmock.contracts.canonical import CanonicalRequest, parse_size
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.openapi import document
from pixelmock.contracts.pricing import token_cost, usage_tokens

PROVIDER = "openai"


def insufficient_quota_code() -> str:
    """The ``code`` of OpenAI's 429 for an exhausted quota (contract ``x-openai-errors``)."""
    return str(document(PROVIDER)["x-openai-errors"]["insufficient_quota"]["code"])


def price_usage(model: str, usage: dict[str, Any], on: dt.date | None = None) -> ReportedCost:
    """The USD cost of a ``usage`` block at the model's token prices in force on ``on`` (default today):
    text input, image input, image output and text output tokens, each at its price per million
    (``pixelmock.contracts.pricing.token_cost``). Raises ``KeyError`` for an unknown model."""
    tokens = usage_tokens(usage)
    return ReportedCost(usd=token_cost(model, tokens, on or dt.date.today()), tokens=tokens)


class OpenAIFlow(Flow):
    """See the module docstring."""

    provider = PROVIDER

    def first_call(self, native: NativeRequest, target: Provider) -> HttpCall:
        """The JSON or multipart call; ``stream`` is refused (``ValidationError``, nothing sent)."""
        if isinstance(native.body, dict) and native.body.get("stream"):
            raise ValidationError(
                PROVIDER, "streaming answers are not followed by this client", param="stream"
            )
        return native_call(native)

    def read(self, request: CanonicalRequest, answer: Answer, on: dt.date | None) -> Finished:
        """The images of an ``ImagesResponse`` and its priced usage."""
        body = obj(answer.body)
        size = parse_size(str(body.get("size", ""))) or parse_size(request.size or "")
        output_format = str(body.get("output_format") or request.output_format or "png")
        images: tuple[GeneratedImage, ...] = tuple(
            image_from_reference(str(item["b64_json"]), output_format, size)
            for item in body.get("data", [])
            if isinstance(item, dict) and "b64_json" in item
        )
        usage = body.get("usage")
        cost = price_usage(request.model, usage, on) if isinstance(usage, dict) else None
        return Finished(images, answer.headers.get("x-request-id"), cost)

    def error(self, answer: Answer) -> ImageClientError:
        """OpenAI's error envelope, classified (see the module docstring)."""
        return error_from_body(self, answer, answer.body)


def error_from_body(flow: Flow, answer: Answer, body: Any) -> ImageClientError:
    """The client error for an OpenAI error envelope ``body`` answered with ``answer``'s status (shared
    with Cloudflare, which wraps OpenAI's upstream errors)."""
    inner = body.get("error") if isinstance(body, dict) else None
    inner = inner if isinstance(inner, dict) else {}
    code = inner.get("code")
    message = str(inner.get("message") or answer.text or f"HTTP {answer.status}")
    kind = kind_for_status(answer.status)
    if answer.status == 429 and code == insufficient_quota_code():
        kind = InsufficientCreditsError.kind
    elif mentions_content_policy(code, inner.get("type"), message):
        kind = ContentPolicyError.kind
    return flow.make(kind, answer, message, code=code, param=inner.get("param"))


FLOW = OpenAIFlow()
