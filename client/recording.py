"""Recording cassettes (vcrpy YAML) with credentials scrubbed at record time.

``recording(path, secrets=[key])`` is a vcrpy cassette context: every HTTP call the client makes inside it
is recorded (or replayed), and before anything is written

- credential headers are replaced by ``REDACTED`` (``Bearer REDACTED`` for bearer tokens): every header a
  provider's contract names in any of its security schemes (``Authorization``, Apiframe's ``X-API-Key``,
  Cloudflare's ``X-Auth-Email`` and ``X-Auth-Key``);
- credential fields of JSON bodies are replaced likewise, at any depth: the fields of Runware's
  ``authentication`` task other than ``taskType`` (``apiKey``; contract ``AuthenticationTask``);
- every literal occurrence of a string in ``secrets`` is replaced in URIs, headers and bodies of requests
  and responses (a key echoed in an error message, a key prefix...);
- ``rewrite`` replaces URL prefixes, e.g. an emulator's base URL by the real one, so that a recording
  replays with the client pointed at the real service.

Recording needs vcrpy: ``pip install "pixelmock[record]"`` (without it, ``recorder`` and ``recording``
raise ``ImportError`` saying so; the scrubber itself needs nothing). Interactions are matched on method
and path (``MATCH_ON``), as the documented cassettes are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pixelmock.contracts.openapi import PROVIDERS, credential_headers, inlined

PLACEHOLDER = "REDACTED"
MATCH_ON = ("method", "path")
#: Shorter secrets are not replaced literally (they would hit unrelated text).
MIN_SECRET_LENGTH = 6


@cache
def secret_headers() -> frozenset[str]:
    """Lower-case names of the headers that carry credentials, from every provider's contract."""
    return frozenset(name.lower() for provider in PROVIDERS for name in credential_headers(provider))


@cache
def secret_fields() -> frozenset[str]:
    """JSON body fields that carry credentials: Runware's authentication task fields but ``taskType``."""
    task = inlined("runware")["components"]["schemas"]["AuthenticationTask"]
    return frozenset(name for name in task["properties"] if name != "taskType")


class Scrubber:
    """vcrpy hooks: ``request`` (``before_record_request``) and ``response`` (``before_record_response``).

    ``secrets``: literal strings to remove; ``rewrite``: ``{old URL prefix: new}`` applied to URIs and
    bodies, longest prefix first.
    """

    def __init__(self, secrets: Iterable[str] = (), rewrite: Mapping[str, str] | None = None) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self.rewrite = sorted((rewrite or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def text(self, text: str) -> str:
        """``text`` with secrets replaced and URL prefixes rewritten."""
        for secret in self.secrets:
            text = text.replace(secret, PLACEHOLDER)
        for old, new in self.rewrite:
            text = text.replace(old, new)
        return text

    def body(self, body: Any) -> Any:
        """A body (bytes or str) with credential fields and secrets replaced; other types unchanged."""
        if isinstance(body, bytes):
            try:
                return self._body_text(body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:  # binary (multipart with image bytes): literal secrets only
                for secret in self.secrets:
                    body = body.replace(secret.encode(), PLACEHOLDER.encode())
                return body
        return self._body_text(body) if isinstance(body, str) else body

    def _body_text(self, text: str) -> str:
        try:
            parsed = json.loads(text)
        except ValueError:
            return self.text(text)
        scrubbed = _scrub_fields(parsed)
        if scrubbed != parsed:
            text = json.dumps(scrubbed)
        return self.text(text)

    def header(self, name: str, value: str) -> str:
        """A header value: credentials replaced (keeping a ``Bearer`` scheme), then secrets."""
        if name.lower() in secret_headers():
            scheme, _, _ = value.partition(" ")
            return f"{scheme} {PLACEHOLDER}" if scheme.lower() == "bearer" else PLACEHOLDER
        return self.text(value)

    def request(self, request: Any) -> Any:
        """``before_record_request``: scrub a ``vcr.request.Request`` (already a copy)."""
        request.uri = self.text(request.uri)
        request.headers = {name: self.header(name, str(value)) for name, value in request.headers.items()}
        request.body = self.body(request.body)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """``before_record_response``: scrub a vcrpy response dict."""
        headers = response.get("headers") or {}
        response["headers"] = {
            name: [self.header(name, str(v)) for v in (values if isinstance(values, list) else [values])]
            for name, values in headers.items()
        }
        body = response.get("body") or {}
        if "string" in body:
            body["string"] = self.body(body["string"])
        return response


def _scrub_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: PLACEHOLDER if k in secret_fields() else _scrub_fields(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_fields(item) for item in value]
    return value


def recorder(
    *,
    secrets: Iterable[str] = (),
    rewrite: Mapping[str, str] | None = None,
    record_mode: str = "once",
    **options: Any,
) -> Any:
    """A ``vcr.VCR`` that scrubs as the module docstring says (``options`` go to ``vcr.VCR``). Raises
    ``ImportError`` when vcrpy is not installed."""
    try:
        import vcr
    except ImportError as exc:
        raise ImportError('recording cassettes needs vcrpy: pip install "pixelmock[record]"') from exc

    scrubber = Scrubber(secrets, rewrite)
    options.setdefault("match_on", MATCH_ON)
    options.setdefault("decode_compressed_response", True)
    return vcr.VCR(
        record_mode=record_mode,
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
        **options,
    )


def recording(
    path: str | Path,
    *,
    secrets: Iterable[str] = (),
    rewrite: Mapping[str, str] | None = None,
    record_mode: str = "once",
    **options: Any,
) -> Any:
    """A cassette context for ``path`` (``with recording("c.yaml", secrets=[key]): client.generate(...)``).

    ``record_mode`` is vcrpy's: ``once`` (record if the file is new, else replay), ``all`` (always
    record), ``none`` (replay only; an unrecorded request raises).
    """
    return recorder(secrets=secrets, rewrite=rewrite, record_mode=record_mode, **options).use_cassette(
        str(path)
    )
