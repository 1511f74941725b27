"""Recording cassettes (vcrpy YAML) with credentials scrubbed at record time.

``recording(path, secrets=[key])`` is a vcrpy cassette context: every HTTP call the client makes inside it
is recorded (or replayed), and before anything is written

- credentials are replaced by ``REDACTED`` as ``pixelmock.contracts.secrets`` finds them (the emulators'
  journal uses the same rules): credential headers (``Bearer REDACTED`` keeps the scheme): every header a
  provider's contract names in a security scheme, those providers and gateways document (Cloudflare AI
  Gateway's ``cf-aig-authorization``, ``Ocp-Apim-Subscription-Key``, cookies...) and any name with
  ``auth``, ``token``, ``secret``...; credential-named fields of JSON bodies at any depth (Runware's
  ``authentication`` task ``apiKey``, ``secret_key``, ``credentials``...); URLs' userinfo and credential
  query parameters (``?token=``, ``?sig=``) in the URI, headers and bodies; key-shaped strings;
- every literal occurrence of a string in ``secrets`` is replaced in URIs, headers and bodies of requests
  and responses (a key echoed in an error message, a key prefix...);
- ``rewrite`` replaces URL prefixes, e.g. an emulator's base URL by the real one, so that a recording
  replays with the client pointed at the real service.

Recording needs vcrpy: ``pip install "pixelmock[record]"`` (without it, ``recorder`` and ``recording``
raise ``ImportError`` saying so; the scrubber itself needs nothing). Interactions are matched on method
and path (``MATCH_ON``), as the documented cassettes are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pixelmock.contracts.secrets import (
    replace_secrets,
    replace_secrets_bytes,
    scrub_header,
    scrub_json_text,
    scrub_text,
)

MATCH_ON = ("method", "path")
#: Shorter secrets are not replaced literally (they would hit unrelated text).
MIN_SECRET_LENGTH = 6


class Scrubber:
    """vcrpy hooks: ``request`` (``before_record_request``) and ``response`` (``before_record_response``).

    ``secrets``: literal strings to remove; ``rewrite``: ``{old URL prefix: new}`` applied to URIs and
    bodies, longest prefix first. Credentials found in a request (``pixelmock.contracts.secrets``) are
    also removed wherever they appear afterwards (a key echoed in an error answer).
    """

    def __init__(self, secrets: Iterable[str] = (), rewrite: Mapping[str, str] | None = None) -> None:
        self.secrets = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        self.rewrite = sorted((rewrite or {}).items(), key=lambda item: len(item[0]), reverse=True)

    def text(self, text: str) -> str:
        """``text`` with credentials (``scrub_text``) and secrets replaced and URL prefixes rewritten."""
        text = replace_secrets(scrub_text(text, self.secrets), self.secrets)
        for old, new in self.rewrite:
            text = text.replace(old, new)
        return text

    def body(self, body: Any) -> Any:
        """A body (bytes or str) with credentials and secrets replaced; other types unchanged."""
        if isinstance(body, bytes):
            try:
                return self._body_text(body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:  # binary (multipart with image bytes): literal secrets only
                return replace_secrets_bytes(body, self.secrets)
        return self._body_text(body) if isinstance(body, str) else body

    def _body_text(self, text: str) -> str:
        scrubbed = scrub_json_text(text, self.secrets)
        return self.text(text if scrubbed is None else scrubbed)

    def header(self, name: str, value: str) -> str:
        """A header value: credentials replaced (keeping a ``Bearer`` scheme), then secrets."""
        return self.text(scrub_header(name, value, self.secrets))

    def request(self, request: Any) -> Any:
        """``before_record_request``: scrub a ``vcr.request.Request`` (already a copy)."""
        headers = {name: self.header(name, str(value)) for name, value in request.headers.items()}
        request.body = self.body(request.body)
        request.uri = self.text(request.uri)
        request.headers = {name: self.text(value) for name, value in headers.items()}
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
