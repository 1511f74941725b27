"""Fault injection on the wire: the hooks that choose a fault for each request under a provider's prefix
(the ``X-Pixelmock-Fault`` header, then the rules of ``pixelmock.emulators.core.faults.Faults``) and
apply it, the faults of WebSocket messages (``message_fault``), and ``active`` for a provider's flow.

The chosen fault is the current ``Exchange``'s (``exchange.fault``) and is noted on its journal entry.
Kinds answered the same way for every provider (``GENERIC_KINDS``): ``slow`` waits, ``drop`` closes the
connection without an answer (``_DroppingMiddleware``), ``malformed`` cuts the answer's body in half.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, cast

from flask import Flask, Response, jsonify, request
from werkzeug.wrappers import Response as WireResponse

from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.exchange import current, journal_note
from pixelmock.emulators.core.faults import (
    HEADER,
    KINDS,
    Fault,
    FaultAnswer,
    FaultError,
    Faults,
    answer_of,
    check_params,
    operation_of,
    parse_header,
)
from pixelmock.emulators.web.context import runtime

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from pixelmock.emulators.web.provider import ProviderEmulator

__all__ = ["Wire", "active", "after_answer", "before_answer", "install", "message_fault", "outage_response"]

#: The WSGI environ keys marking a request whose connection is dropped, or whose answer is cut.
_DROP, _CUT = "pixelmock.fault.drop", "pixelmock.fault.cut"


class Wire(Protocol):
    """What the generic fault kinds (``GENERIC_KINDS``) need of a transport, HTTP or WebSocket."""

    def drop(self) -> None:
        """End the connection without an answer."""

    def cut_next(self) -> None:
        """Cut the next answer sent in half."""


class _HttpWire:
    """An HTTP request's wire: its WSGI environ is marked, and the hooks and ``_DroppingMiddleware``
    act on the marks."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def drop(self) -> None:
        self._environ[_DROP] = True

    def cut_next(self) -> None:
        self._environ[_CUT] = True


def before_answer(fault: Fault, wire: Wire) -> bool:
    """Apply a generic fault before the answer is made, the same way on every transport: ``slow`` waits
    ``seconds`` real seconds (then the answer is made), ``drop`` without ``after`` ends the connection,
    ``malformed`` cuts the answer in half. Whether nothing more is to be answered (a drop)."""
    if fault.kind == "slow":
        time.sleep(fault.slow_seconds())
    elif fault.kind == "drop" and not fault.param("after", False):
        wire.drop()
        return True
    elif fault.kind == "malformed":
        wire.cut_next()
    return False


def after_answer(fault: Fault, wire: Wire) -> None:
    """Apply a generic fault once the work is done: ``drop`` with ``after=true`` ends the connection, the
    answer lost."""
    if fault.kind == "drop" and fault.param("after", False):
        wire.drop()


def active(kind: str) -> Fault | None:
    """The flow fault of ``kind`` chosen for the current exchange, if any (for the provider's flow)."""
    exchange = current()
    fault = exchange.fault if exchange is not None else None
    return fault if fault is not None and fault.kind == kind else None


@contextlib.contextmanager
def message_fault(
    faults: Faults, provider: ProviderEmulator, operation: str, model: str | None
) -> Iterator[Fault | None]:
    """The fault the rules fire for one message of a long-lived connection (a WebSocket frame), chosen as
    for a request of ``operation`` naming ``model`` (native id), or ``None``. While the ``with`` block
    runs, the fault is ``active()`` for the provider's flow; it is noted (``fault``) on the current
    exchange (the message's, under ``journal_message``). The one-off header does not apply to messages:
    rules only."""
    fault = faults.choose(provider, operation, lambda: model) if len(faults) else None
    exchange = current()
    if fault is None or exchange is None:
        yield fault
        return
    journal_note(fault=fault.to_json())
    previous, exchange.fault = exchange.fault, fault
    try:
        yield fault
    finally:
        exchange.fault = previous


def _request_model() -> str | None:
    """The native model id the request names: route variable, JSON ``model``, a task's ``model``,
    multipart field ``model``."""
    if request.view_args and isinstance(request.view_args.get("model"), str):
        return cast(str, request.view_args["model"])
    body = None
    if request.is_json:  # the one defensive parser: a body it refuses names no model
        depth = runtime().config.max_json_depth
        with contextlib.suppress(BodyRefused):
            body = parse_json(request.get_data(cache=True), depth)
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return cast(str, body["model"])
    if isinstance(body, list):
        for task in body:
            if isinstance(task, dict) and isinstance(task.get("model"), str):
                return cast(str, task["model"])
    if request.mimetype == "multipart/form-data":
        value = request.form.get("model")
        return value if value else None
    return None


def _header_fault(provider: ProviderEmulator, operation: str | None, value: str) -> Fault:
    kind, params = parse_header(value)
    if kind not in KINDS:
        raise FaultError(f"unknown fault kind {kind!r}; kinds are {', '.join(KINDS)}")
    answer = answer_of(provider, kind)
    if answer is None:
        raise FaultError(f"{provider.name} has no documented answer for {kind!r}")
    if answer.operations is not None and operation not in answer.operations:
        raise FaultError(f"{kind} at {provider.name} applies to {', '.join(sorted(answer.operations))} only")
    params = {**answer.defaults, **check_params(kind, params)}
    return Fault(kind, provider.name, operation, _request_model(), params, None)


#: The fault kinds whose documented answer stands for an outage of the emulator's own store, in order of
#: preference: the provider's 503 where it documents one, else its documented 500.
OUTAGE_KINDS = ("unavailable", "server_error")


def outage_response(provider: ProviderEmulator) -> WireResponse | None:
    """The provider's own answer when the emulator cannot serve a request now (its shared store is away:
    ``StoreUnavailable``): the documented answer of the first of ``OUTAGE_KINDS`` it has, with that
    answer's headers; ``None`` when it documents neither."""
    for kind in OUTAGE_KINDS:
        answer = answer_of(provider, kind)
        if answer is not None and answer.respond is not None:
            fault = Fault(kind, provider.name, None, None, dict(answer.defaults), None)
            return _with_headers(answer.respond(fault), answer, fault)
    return None


def _pixelmock_error(message: str) -> Response:
    response = jsonify(error=f"pixelmock: {message}")
    response.status_code = 400
    return response


def _with_headers(response: WireResponse, answer: FaultAnswer, fault: Fault) -> WireResponse:
    for name, template in answer.headers.items():
        response.headers[name] = template.format_map(dict(fault.params))
    return response


def install(
    app: Flask, faults: Faults, owner: Callable[[], ProviderEmulator | None], prefix_of: Callable[[], str]
) -> None:
    """Register the hooks that choose and apply faults on ``app`` (after the journal's, so a faulted
    request is journaled with what was sent) and wrap ``app.wsgi_app`` for dropped connections.
    ``prefix_of()`` is the current request's provider prefix."""

    @app.before_request
    def _fault_before() -> WireResponse | None:
        provider = owner()
        if provider is None or request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        header = request.headers.get(HEADER)
        if header is None and len(faults) == 0:
            return None  # the common case: nothing can fire, no need to find the operation
        operation = operation_of(provider.name, request.method, request.path[len(prefix_of()) :])
        try:
            fault = (
                _header_fault(provider, operation, header)
                if header is not None
                else faults.choose(provider, operation, _request_model)
            )
        except FaultError as exc:
            return _pixelmock_error(str(exc))
        exchange = current()
        if fault is None or exchange is None:
            return None
        exchange.fault = fault
        journal_note(fault=fault.to_json())
        if before_answer(fault, _HttpWire(request.environ)):
            return Response(status=0)
        answer = answer_of(provider, fault.kind)
        if answer is None or answer.respond is None:
            return None  # generic after-the-fact kinds, or a flow fault the provider applies
        journal_note(answered_by="fault")  # the access line and the journal entry say so
        return _with_headers(answer.respond(fault), answer, fault)

    @app.after_request
    def _fault_after(response: Response) -> Response:
        exchange = current()
        fault = exchange.fault if exchange is not None else None
        if fault is None:
            return response
        if request.environ.get(_CUT) and not response.is_streamed:
            data = response.get_data()
            response.set_data(data[: max(1, len(data) // 2)] if data else b"{")
        after_answer(fault, _HttpWire(request.environ))
        return Response(status=0) if request.environ.get(_DROP) else response

    app.wsgi_app = _DroppingMiddleware(app.wsgi_app)  # type: ignore[method-assign]


class _DroppingMiddleware:
    """Closes the connection, without a status line, for requests a ``drop`` fault fired on."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def deferred(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if environ.get(_DROP):
                return lambda data: None
            return start_response(status, headers, exc_info)

        result = self.wsgi_app(environ, deferred)
        if not environ.get(_DROP):
            return result
        return _dropped(environ, result)


def _dropped(environ: WSGIEnvironment, result: Iterable[bytes]) -> Iterator[bytes]:
    close = getattr(result, "close", None)
    if close is not None:
        close()
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError(errno.ECONNRESET, "pixelmock fault: connection dropped without an answer")
    yield b""  # pragma: no cover (makes this a generator)
