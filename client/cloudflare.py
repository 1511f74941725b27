"""Cloudflare Workers AI flow: one synchronous call to the universal endpoint ``POST .../ai/run``.

The account id (``Provider.account_id``) fills the path; the 200 answer is the v4 envelope around the
binding-level object (contracts/openapi/cloudflare.yaml ``RunSuccessEnvelope``): ``result.state``
``Completed`` and ``result.result.image``, a URL. Cloudflare reports no cost and no job id.

Errors are ``{"success": false, "errors": [{"code", "message"}]}``: the contract's ``x-errors`` name the
codes the client needs (9106 missing credentials and 6003 malformed Authorization are authentication
failures although answered 400), and its ``upstream`` entry says how OpenAI's own error is wrapped
(``AiError: AiError: <OpenAI body> (<request id>)``, code 5012), which is unwrapped and classified as an
OpenAI error.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from typing import Any

from pixelmock.client.base import Answer, Finished, Flow, Provider, image_from_reference, obj, requested_size
from pixelmock.client.errors import (
    AuthenticationError,
    ImageClientError,
    ProviderError,
    ValidationError,
    kind_for_status,
)
from pixelmock.client.openai import error_from_body
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.openapi import document, inlined

PROVIDER = "cloudflare"


@cache
def _errors() -> dict[str, Any]:
    block: dict[str, Any] = document(PROVIDER)["x-errors"]
    return block


def _code(name: str) -> int:
    return int(_errors()[name]["body"]["errors"][0]["code"])


@cache
def auth_codes() -> frozenset[int]:
    """Codes answered for credentials that are missing or malformed (``x-errors`` missing_credentials,
    malformed_authorization, authentication, forbidden)."""
    names = ("missing_credentials", "malformed_authorization", "authentication", "forbidden")
    return frozenset(_code(name) for name in names)


@cache
def completed_state() -> str:
    """The one documented ``state`` of a finished run (contract ``RunResult.state``)."""
    return str(inlined(PROVIDER)["components"]["schemas"]["RunResult"]["properties"]["state"]["enum"][0])


def upstream_body(message: str) -> Any:
    """OpenAI's error body inside a Cloudflare ``upstream`` message, or ``None`` when ``message`` is not
    one (template: the contract's ``x-errors.upstream`` message)."""
    template = str(_errors()["upstream"]["body"]["errors"][0]["message"])
    prefix, _, suffix = template.partition("{upstream_body}")
    if not message.startswith(prefix):
        return None
    rest = message.removeprefix(prefix)
    tail = suffix.partition("{")[0]  # " (" before the request id
    candidates = [rest.rsplit(tail, 1)[0]] if tail and tail in rest else []
    for text in [*candidates, rest]:
        try:
            return json.loads(text)
        except ValueError:
            continue
    return None


class CloudflareFlow(Flow):
    """See the module docstring."""

    provider = PROVIDER

    def prepare(self, request: CanonicalRequest, target: Provider) -> CanonicalRequest:
        """Put the target's account id into ``request.extra`` (the dialect fills the path from it).
        Raises ``ValidationError`` when neither gives one."""
        if "account_id" in request.extra:
            return request
        if not target.account_id:
            raise ValidationError(PROVIDER, "Cloudflare needs Provider(account_id=...)", param="account_id")
        return request.with_(extra={**request.extra, "account_id": target.account_id})

    def read(self, request: CanonicalRequest, answer: Answer, on: dt.date | None) -> Finished:
        """The image URL of a ``Completed`` run. Raises ``ProviderError`` for any other state or shape."""
        run = obj(obj(answer.body).get("result"))
        state = run.get("state")
        image = obj(run.get("result")).get("image")
        if state != completed_state() or not isinstance(image, str):
            raise self.make(ProviderError.kind, answer, f"run not completed (state {state!r})")
        output_format = str(request.output_format or "png")
        return Finished(
            (image_from_reference(image, output_format, requested_size(request)),), None, None, state
        )

    def error(self, answer: Answer) -> ImageClientError:
        """Cloudflare's error envelope, classified (see the module docstring)."""
        errors = obj(answer.body).get("errors")
        first = obj(errors[0]) if isinstance(errors, list) and errors else {}
        code, message = first.get("code"), str(first.get("message") or answer.text or f"HTTP {answer.status}")
        inner = upstream_body(message)
        if isinstance(inner, dict) and isinstance(inner.get("error"), dict):
            return error_from_body(self, answer, inner)
        kind = AuthenticationError.kind if code in auth_codes() else kind_for_status(answer.status)
        return self.make(kind, answer, message, code=code)


FLOW = CloudflareFlow()
