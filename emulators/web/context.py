"""What a provider module reads of the request being answered: the app's ``Runtime`` (``runtime``), the
contract options in force (``choice``), the body (``request_body``, ``read_json``, ``parse_client_json``),
the origin the client reached (``url_root``) and the models shut down upstream (``shut_down_upstream``).
Each needs a Flask app or request context."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any, cast

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.webhooks import is_loopback

__all__ = [
    "BoundedBody",
    "MalformedBody",
    "OversizedBody",
    "bound_chunked_bodies",
    "choice",
    "defer_to_app",
    "parse_client_json",
    "raise_deferred",
    "read_bounded",
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
    ``EmulatorConfig.max_body_bytes``; a chunked body (no Content-Length) was read and bounded before the
    app saw it (``bound_chunked_bodies``)."""
    return request.get_data(cache=True)


#: Bytes read at a time from a request body.
CHUNK_BYTES = 64 * 1024
#: The WSGI environ key of an exception a WSGI wrapper met before the request reached the app
#: (``defer_to_app``).
_DEFERRED = "pixelmock.deferred_error"


def defer_to_app(environ: Any, exc: Exception) -> None:
    """Have the app raise ``exc`` for this request, from its first ``before_request`` hook
    (``raise_deferred``), so that the app's error handlers answer it in the provider's shape: for a WSGI
    wrapper that met it before the app was called."""
    environ[_DEFERRED] = exc


def raise_deferred(app: Flask) -> None:
    """Make ``app``'s first ``before_request`` hook raise what a wrapper deferred (``defer_to_app``);
    installed once per app."""
    if _DEFERRED in app.extensions:
        return
    app.extensions[_DEFERRED] = True

    def deferred() -> None:
        found = request.environ.get(_DEFERRED)
        if found is not None:
            raise found

    app.before_request_funcs.setdefault(None, []).insert(0, deferred)


class BoundedBody(io.BytesIO):
    """A request body the server has already read within the app's limit (``read_bounded``): the app
    reads it as it is."""


class OversizedBody(io.BytesIO):
    """An empty request stream standing for a body larger than the app's limit, which the server read
    and dropped (``read_bounded``): the app answers the provider's 413 without reading anything."""


def read_bounded(stream: Any, limit: int) -> bytes | None:
    """Up to ``limit`` bytes of ``stream``, read ``CHUNK_BYTES`` at a time into a list (one growing buffer
    would be copied at each reallocation); ``None`` when it holds more, having held at most ``limit`` plus
    one chunk (what was read is dropped)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit and (chunk := stream.read(min(CHUNK_BYTES, limit + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def bound_chunked_bodies(app: Flask) -> None:
    """Read a body sent without a Content-Length (chunked; the server terminates it:
    ``wsgi.input_terminated``) before ``app`` does, with ``read_bounded`` and the app's
    ``MAX_CONTENT_LENGTH``: within the limit the app gets it with its Content-Length; past it (or when
    the server already found it so: ``OversizedBody``) the app answers the provider's 413
    (``defer_to_app``; ``app.wsgi_app`` is wrapped; a WebSocket upgrade, and a body the server has
    already read within the limit into memory, are left alone). Werkzeug's own reading of such a body
    held about three times the limit before refusing it."""
    inner = app.wsgi_app

    def reading(environ: Any, start_response: Any) -> Any:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        stream = environ.get("wsgi.input")
        chunked = environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH")
        if isinstance(stream, OversizedBody):
            defer_to_app(environ, RequestEntityTooLarge())
        elif (
            limit is not None
            and chunked
            and not isinstance(stream, BoundedBody)  # the gevent worker read it (``tools/server.py``)
            and environ.get("HTTP_UPGRADE", "").lower() != "websocket"
        ):
            body = read_bounded(stream, limit)
            if body is None:
                defer_to_app(environ, RequestEntityTooLarge())
            environ["wsgi.input"] = io.BytesIO(body or b"")
            environ["CONTENT_LENGTH"] = str(len(body or b""))
        return inner(environ, start_response)

    raise_deferred(app)
    app.wsgi_app = reading  # type: ignore[method-assign]


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
