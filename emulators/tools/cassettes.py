"""Cassettes written and read by the proxy and the replaying server: vcrpy YAML, credentials scrubbed.

A cassette holds one exchange with a provider (the request and its answer; a streamed answer whole, as
the client received it) and, when the recording fetched them, the files the answer pointed to by URL
(interactions marked ``x-fetched: true``, which ``pixelmock verify`` does not check against the contract
and vcrpy replays like any other); a named session's cassette holds every exchange of the session, in
order. Layout: ``<directory>/<provider>/<stamp>-<seq>-<operationId>.yaml`` (the files of one stamp are one
session for the drift report), ``<directory>/sessions/<name>.yaml``;
the request URI is under the provider's real base URL (its contract's ``servers[0]``), whatever upstream
answered, so ``pixelmock verify`` reads the file as a recording of the provider.

Scrubbing (before anything reaches disk) is ``pixelmock.contracts.secrets``', as for the journal and the
client's cassettes: credential headers (``Bearer REDACTED`` keeps the scheme), credential-named JSON
fields at any depth (Runware's ``apiKey``...), credentials inside strings (URL userinfo, ``?token=``,
key-shaped values); every credential found so is then replaced wherever else it appears in the cassette
(URIs, other headers, both directions' bodies; binary bodies bytewise). Nothing is shortened.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pixelmock.contracts.data import SAFE_LOADER
from pixelmock.contracts.secrets import (
    replace_secrets,
    replace_secrets_bytes,
    scrub_header,
    scrub_json_text,
    scrub_text,
)
from pixelmock.contracts.verify import FETCHED_KEY, WEBSOCKET_KEY

#: libyaml's safe dumper where PyYAML has it (a cassette holding a base64 image is written about 10x
#: faster), else the pure-Python one; cassettes are read with ``contracts.data.SAFE_LOADER``.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
LOADER = SAFE_LOADER
#: vcrpy's cassette format version.
FORMAT_VERSION = 1
#: The top-level key holding when a cassette was recorded (ISO 8601, UTC); vcrpy ignores it. The drift
#: report replays the cassette on that day.
RECORDED_AT_KEY = "recorded_at"
#: The top-level key listing interactions the drift report cannot replay (``{interaction, reason}``: an
#: SDK fixture answering any call, a request the source did not transcribe).
SKIP_KEY = "x-drift-skip"
#: A cassette name as ``CassetteWriter`` makes it: ``<stamp>-<sequence>-<operation>.yaml``; the files
#: of one stamp under one folder are one session (``drift.sessions``).
STAMP = re.compile(r"^(\d{8}T\d{6})-(\d{4,})-")


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


class _Scrub:
    """The scrubbing of one cassette (``pixelmock.contracts.secrets``): credentials collected from every
    part first, then replaced in all of them."""

    def __init__(self, exchanges: Iterable[Exchange]) -> None:
        self.secrets: set[str] = set()
        for exchange in exchanges:
            scrub_text(exchange.uri, self.secrets)
            for name, value in (*exchange.request_headers, *exchange.response_headers):
                scrub_header(name, value, self.secrets)
            for body in (exchange.request_body, exchange.response_body):
                self._scrubbed(body, self.secrets)

    @staticmethod
    def _scrubbed(body: bytes, secrets: set[str] | None) -> str | None:
        """The body's text with its credentials replaced (JSON re-serialized only when a field was), or
        ``None`` when it is not UTF-8."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        scrubbed = scrub_json_text(text, secrets)
        return scrub_text(text, secrets) if scrubbed is None else scrubbed

    def text(self, text: str) -> str:
        return str(replace_secrets(scrub_text(text), self.secrets))

    def headers(self, pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in pairs:
            out.setdefault(name.lower(), []).append(
                str(replace_secrets(scrub_header(name, value), self.secrets))
            )
        return out

    def body(self, body: bytes) -> str | bytes:
        """Text when the body is UTF-8, else bytes (written as YAML ``!!binary``) with the collected
        credentials replaced bytewise."""
        text = self._scrubbed(body, None)
        if text is None:
            return replace_secrets_bytes(body, self.secrets)
        return str(replace_secrets(text, self.secrets))


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
    ``stamp``: when the writer was made, UTC, so sessions never overwrite each other), or one per named
    session (``append``: ``sessions/<name>.yaml``). Thread-safe; each
    file appears whole (written aside, then renamed). Raises ``OSError`` when the folder is not writable."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._sessions: dict[str, list[Exchange]] = {}

    def write(self, provider: str, operation: str, exchanges: list[Exchange]) -> Path:
        """Write ``exchanges`` (scrubbed) as one cassette; returns its path."""
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", operation) or "request"
        folder = self.directory / provider
        tmp = self._aside(folder, exchanges)
        with self._lock:
            while True:  # never over another session's file of the same second
                path = folder / f"{self._stamp}-{next(self._seq):04d}-{name}.yaml"
                if not path.exists():
                    os.replace(tmp, path)
                    return path

    def append(self, session: str, exchanges: list[Exchange]) -> Path:
        """Add ``exchanges`` to the named session's cassette (``<directory>/sessions/<session>.yaml``,
        every exchange of the session in order, scrubbed as one); returns its path. The session's
        exchanges are kept in memory for as long as the writer lives."""
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", session).strip(".-") or "session"
        folder = self.directory / "sessions"
        with self._lock:
            recorded = self._sessions.setdefault(name, [])
            recorded.extend(exchanges)
            os.replace(self._aside(folder, recorded), folder / f"{name}.yaml")
        return folder / f"{name}.yaml"

    @staticmethod
    def _aside(folder: Path, exchanges: list[Exchange]) -> str:
        """Write the cassette of ``exchanges`` to a temporary file in ``folder``; returns its path."""
        folder.mkdir(parents=True, exist_ok=True)
        data = {
            "interactions": interactions(exchanges),
            RECORDED_AT_KEY: dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "version": FORMAT_VERSION,
        }
        text = yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=True, width=120)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return tmp


def read_interactions(directory: str | Path) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """``(cassette, index, interaction)`` of every vcrpy cassette under ``directory``, files in sorted
    order. Files that are not cassettes (unreadable, no ``interactions`` list) are skipped."""
    for path in sorted(
        p for p in Path(directory).rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
    ):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)  # a safe loader
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


def json_leaves(value: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """``(JSON path, last key, value)`` of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from (
                json_leaves(item, f"{path}.{key}")
                if isinstance(item, dict | list)
                else [(f"{path}.{key}", str(key), item)]
            )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from (
                json_leaves(item, f"{path}[{index}]")
                if isinstance(item, dict | list)
                else [(f"{path}[{index}]", "", item)]
            )
