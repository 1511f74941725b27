"""What a provider module reads of the request being answered: the app's ``Runtime`` (``runtime``), the
contract options in force (``choice``), the body (``request_body``, ``read_json``, ``parse_client_json``),
the origin the client reached (``url_root``) and the models shut down upstream (``shut_down_upstream``).
Each needs a Flask app or request context."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.webhooks import is_loopback

__all__ = [
    "MalformedBody",
    "choice",
    "parse_client_json",
    "read_json",
    "request_body",
    "runtime",
    "shut_down_upstream",
    "url_root",
]

DEFAULT_PORTS = {"http": 80, "https": 443}
#: WSGI environ keys under which Werkzeug's and gunicorn's servers hand over the connection's socket.
SOCKET_KEYS = ("werkzeug.socket", "gunicorn.socket")


def runtime() -> Runtime:
    """The current app's runtime (inside an app or request context)."""
    return cast(Runtime, current_app.extensions["pixelmock"])


def choice(name: str) -> Any:
    """The value in force of the contract option ``name`` (``Runtime.choice``: journaled on the current
    exchange when the answer rests on it below the ``recorded`` rung). Raises ``KeyError`` for an option
    no contract declares."""
    return runtime().choice(name)


def shut_down_upstream(provider: str, model: str) -> dt.date | None:
    """For a reseller: the date canonical ``model`` stopped being served upstream, when the provider's
    option says to refuse it (``Runtime.shut_down_upstream``); else ``None``."""
    return runtime().shut_down_upstream(provider, model)


class MalformedBody(Exception):
    """The request body is not what the route needs; ``kind`` is ``malformed_json`` or
    ``unsupported_media_type``. The app answers it with the provider's ``error_response(400 or 415, ...)``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def read_json(require_content_type: bool = False) -> Any:
    """The request's JSON body (``request_body``, parsed by ``bodies.parse_json`` within
    ``EmulatorConfig.max_json_depth``). Raises ``MalformedBody`` when it is empty, not JSON, nested too
    deep or not Unicode text, or, with ``require_content_type``, when the Content-Type is not
    ``application/json``; ``RequestEntityTooLarge`` (the provider's 413) when it exceeds
    ``max_body_bytes``."""
    if require_content_type and request.mimetype != "application/json":
        raise MalformedBody("unsupported_media_type", f"Unsupported Content-Type {request.mimetype!r}")
    raw = request_body()
    if not raw.strip():
        raise MalformedBody("malformed_json", "The request body is empty")
    try:
        return parse_client_json(raw, request.blueprint if request.blueprint in PROVIDERS else None)
    except BodyRefused as exc:
        raise MalformedBody("malformed_json", str(exc)) from exc


def parse_client_json(raw: bytes | str, provider: str | None) -> Any:
    """A body or message a client sent to ``provider``, parsed by ``bodies.parse_json`` within
    ``EmulatorConfig.max_json_depth``; a lone UTF-16 surrogate is refused or replaced as the provider's
    option ``<provider>.lone_surrogate`` says (journaled by ``choice``, only when one is found), and
    refused for the control plane (``provider`` ``None``). Raises ``BodyRefused``."""
    depth = runtime().config.max_json_depth
    try:
        return parse_json(raw, depth)
    except BodyRefused as exc:
        if exc.reason != "text" or provider is None or choice(f"{provider}.lone_surrogate") != "replace":
            raise
        return parse_json(raw, depth, "replace")


def request_body() -> bytes:
    """The request's body bytes (cached). Raises ``RequestEntityTooLarge`` when it is larger than
    ``EmulatorConfig.max_body_bytes``, also for a chunked body (no Content-Length), which Werkzeug stops
    reading at the limit without saying so: such a body is read up to the limit, never further."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    # At the limit without a Content-Length: the server terminates a chunked stream
    # (``wsgi.input_terminated``), so one more byte to read means the body is larger.
    chunked = request.content_length is None and bool(request.environ.get("wsgi.input_terminated"))
    if limit is not None and chunked and len(raw) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return raw


def url_root() -> str:
    """``scheme://host[:port]/`` of the current request (needs a request context): as
    ``request.host_url`` gives it for an ASCII host, without its IRI decoding (~20 us), except that a
    loopback ``Host`` without a port gets the port of the connection's socket when that is not the
    scheme's default (see the module docstring)."""
    host = request.host
    if _has_port(host) or not is_loopback(host):
        return f"{request.scheme}://{host}/"
    port = _local_port(request.environ)
    if port is None or port == DEFAULT_PORTS.get(request.scheme):
        return f"{request.scheme}://{host}/"
    return f"{request.scheme}://{host}:{port}/"


def _has_port(host: str) -> bool:
    return ":" in host.rsplit("]", 1)[-1]  # an IPv6 literal is bracketed: [::1]:8080


def _local_port(environ: dict[str, Any]) -> int | None:
    """The local port of the request's connection, from the socket the WSGI server exposes."""
    for key in SOCKET_KEYS:
        sock = environ.get(key)
        if sock is not None:
            try:
                return int(sock.getsockname()[1])
            except (OSError, AttributeError, IndexError, TypeError, ValueError):
                return None
    return None
