"""Cassettes written and read by the proxy and the replaying server: vcrpy YAML, credentials scrubbed.

A cassette holds one exchange with a provider (the request and its answer; a streamed answer whole, as
the client received it) and, when the recording fetched them, the files the answer pointed to by URL
(interactions marked ``x-fetched: true``, which ``pixelmock verify`` does not check against the contract
and vcrpy replays like any other). Layout: ``<directory>/<provider>/<stamp>-<seq>-<operationId>.yaml``;
the request URI is under the provider's real base URL (its contract's ``servers[0]``), whatever upstream
answered, so ``pixelmock verify`` reads the file as a recording of the provider.

Scrubbing (before anything reaches disk): header values named like a credential (``Authorization``,
``X-API-Key``, Cloudflare's ``X-Auth-Key``...; ``journal.is_credential_header``) and JSON fields named
like one at any depth (Runware's ``apiKey``...; ``journal.is_credential_field``) become ``REDACTED``
(``Bearer REDACTED`` keeps the scheme), and every credential found that way is replaced wherever else it
appears (URIs, other headers, bodies of both directions, binary bodies bytewise). Bodies are kept whole.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pixelmock.contracts.verify import FETCHED_KEY, WEBSOCKET_KEY
from pixelmock.emulators.runtime.journal import REDACTED, is_credential_field, is_credential_header

#: libyaml's safe dumper and loader where PyYAML has them (a cassette holding a base64 image is written
#: about 10x faster), else the pure-Python ones.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: vcrpy's cassette format version.
FORMAT_VERSION = 1
_SCHEMES = ("bearer", "basic", "token")
#: Shorter credential values are not replaced literally elsewhere (they would hit unrelated text).
MIN_SECRET_LENGTH = 6


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer, as sent and received (unscrubbed; never written as such).

    ``uri``: absolute; ``*_headers``: ``(name, value)`` pairs; bodies: bytes; ``reason``: the status
    phrase; ``fetched``: a file fetched from a URL an answer named (not an operation of the contract);
    ``websocket``: one message on a WebSocket API and the frames answered after it (``WEBSOCKET_KEY``).
    """

    method: str
    uri: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes
    fetched: bool = False
    websocket: bool = False


def scrub_json(value: Any, secrets: set[str] | None = None) -> Any:
    """A copy of a JSON value with every credential-named field ``REDACTED`` at any depth; the string
    values replaced are added to ``secrets``. Nothing is shortened."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if is_credential_field(str(name)) and item is not None:
                _collect(item, secrets)
                out[name] = REDACTED
            else:
                out[name] = scrub_json(item, secrets)
        return out
    if isinstance(value, list):
        return [scrub_json(item, secrets) for item in value]
    return value


def _collect(value: Any, secrets: set[str] | None) -> None:
    if secrets is None:
        return
    if isinstance(value, str) and len(value.strip()) >= MIN_SECRET_LENGTH:
        secrets.add(value.strip())
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            _collect(item, secrets)


class _Scrub:
    """The scrubbing of one cassette: credentials collected from every part first, then replaced."""

    def __init__(self, exchanges: Iterable[Exchange]) -> None:
        self.secrets: set[str] = set()
        for exchange in exchanges:
            for name, value in (*exchange.request_headers, *exchange.response_headers):
                self._header(name, value)
            for body in (exchange.request_body, exchange.response_body):
                self._json(body)

    def _header(self, name: str, value: str) -> str:
        if not is_credential_header(name):
            return value
        scheme, _, rest = value.strip().partition(" ")
        if rest and scheme.lower() in _SCHEMES:
            _collect(rest, self.secrets)
            return f"{scheme} {REDACTED}"
        _collect(value, self.secrets)
        return REDACTED

    def _json(self, body: bytes) -> Any:
        try:
            return scrub_json(json.loads(body), self.secrets)
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return text

    def headers(self, pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in pairs:
            out.setdefault(name.lower(), []).append(self.text(self._header(name, value)))
        return out

    def body(self, body: bytes) -> str | bytes:
        """Text when the body is UTF-8 (JSON re-serialized only when a field was scrubbed), else bytes
        (written as YAML ``!!binary``) with credentials replaced bytewise."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            for secret in self.secrets:
                body = body.replace(secret.encode(), REDACTED.encode())
            return body
        try:
            parsed = json.loads(text)
        except ValueError:
            return self.text(text)
        scrubbed = scrub_json(parsed)
        return self.text(json.dumps(scrubbed) if scrubbed != parsed else text)


def interactions(exchanges: list[Exchange]) -> list[dict[str, Any]]:
    """The scrubbed vcrpy interactions of ``exchanges`` (one scrubbing: a credential seen in any of them
    is replaced in all)."""
    scrub = _Scrub(exchanges)
    out = []
    for exchange in exchanges:
        interaction: dict[str, Any] = {
            "request": {
                "body": scrub.body(exchange.request_body) if exchange.request_body else None,
                "headers": scrub.headers(exchange.request_headers),
                "method": exchange.method,
                "uri": scrub.text(exchange.uri),
            },
            "response": {
                "body": {"string": scrub.body(exchange.response_body)},
                "headers": scrub.headers(exchange.response_headers),
                "status": {"code": exchange.status, "message": exchange.reason},
            },
        }
        if exchange.fetched:
            interaction[FETCHED_KEY] = True
        if exchange.websocket:
            interaction[WEBSOCKET_KEY] = True
        out.append(interaction)
    return out


class CassetteWriter:
    """Writes one cassette per exchange under ``directory`` (``<provider>/<stamp>-<seq>-<operation>.yaml``;
    ``stamp``: when the writer was made, UTC, so sessions never overwrite each other). Thread-safe; each
    file appears whole (written aside, then renamed). Raises ``OSError`` when the folder is not writable."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def write(self, provider: str, operation: str, exchanges: list[Exchange]) -> Path:
        """Write ``exchanges`` (scrubbed) as one cassette; returns its path."""
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", operation) or "request"
        folder = self.directory / provider
        folder.mkdir(parents=True, exist_ok=True)
        data = {"interactions": interactions(exchanges), "version": FORMAT_VERSION}
        text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=True, width=120)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        with self._lock:
            while True:  # never over another session's file of the same second
                path = folder / f"{self._stamp}-{next(self._seq):04d}-{name}.yaml"
                if not path.exists():
                    os.replace(tmp, path)
                    return path


def read_interactions(directory: str | Path) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """``(cassette, index, interaction)`` of every vcrpy cassette under ``directory``, files in sorted
    order. Files that are not cassettes (unreadable, no ``interactions`` list) are skipped."""
    for path in sorted(
        p for p in Path(directory).rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
    ):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        found = data.get("interactions") if isinstance(data, dict) else None
        if isinstance(found, list):
            for index, interaction in enumerate(found):
                if isinstance(interaction, dict):
                    yield path, index, interaction


def body_bytes(body: Any) -> bytes:
    """A cassette body (request: str/bytes/None; response: ``{"string": ...}``) as bytes."""
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, str):
        return body.encode("utf-8")
    return body if isinstance(body, bytes) else b""


def header_pairs(headers: Any) -> list[tuple[str, str]]:
    """A cassette's headers (``{name: [values]}`` or ``{name: value}``) as ``(name, value)`` pairs."""
    if not isinstance(headers, dict):
        return []
    pairs = []
    for name, values in headers.items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return pairs
