"""The journal's hooks: every request under a provider's prefix, every WebSocket message and every
unmatched request recorded in the journal (``pixelmock.emulators.core.journal``) from the current
``Exchange`` (its notes, ledger lines, provider) and what Flask received and answered.

A request's capture is kept by reference and scrubbed when the entry is first read when it is small and
the store is not shared (``Journal.record_lazy``), at once otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from pixelmock.contracts.secrets import REDACTED, collect, is_credential_field
from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.exchange import LOCAL_ORIGIN, Exchange, current, opened
from pixelmock.emulators.core.journal import (
    WEBSOCKET,
    Journal,
    build_safely,
    finish,
    journal_text,
    ledger_json,
    record_message,
    scrub,
    scrub_headers,
)
from pixelmock.emulators.web import access_log

if TYPE_CHECKING:
    from pixelmock.emulators.core.runtime import Runtime

__all__ = ["LAZY_MAX_BYTES", "install", "journal_message", "record_unmatched"]

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


#: The WSGI environ keys ``Request.headers`` and ``Request.args`` are read from.
_ENVIRON_PREFIXES = ("HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH", "QUERY_STRING")
#: Requests and answers whose bodies are at most this many bytes are scrubbed when the entry is first
#: read (on a store that is not shared; ``Journal.record_lazy``); larger ones (base64 images, uploads) are
#: scrubbed at once, so the journal never holds them whole.
LAZY_MAX_BYTES = 16 * 1024
#: Bytes a deferred capture holds besides its bodies and environ strings (dicts, headers, notes), as
#: ``approx_bytes`` measures a typical one.
_CAPTURE_OVERHEAD = 2500


def _query(args: MultiDict[str, str], secrets: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in args:
        values = args.getlist(name)
        if is_credential_field(name):
            collect(values, secrets)
            out[name] = REDACTED
        else:
            out[name] = (
                [journal_text(v, secrets) for v in values]
                if len(values) > 1
                else journal_text(values[0], secrets)
            )
    return out


@dataclasses.dataclass(slots=True, repr=False)
class _Captured:
    """What the journal keeps of a request and its answer until the entry is first read (unscrubbed:
    never returned as such, and not shown by ``repr``). ``body``: the raw request body, or ``None``
    when it is not read (too large, unreadable); ``form``/``files`` for form posts. ``response_data``:
    the answer's bytes, or ``None`` when streamed."""

    environ: dict[str, Any]
    body: bytes | None
    form: dict[str, Any] | None
    files: list[dict[str, Any]] | None
    status: int
    response_headers: list[tuple[str, str]]
    response_streamed: bool
    response_data: bytes | None
    notes: list[dict[str, Any]]
    max_depth: int

    def size(self) -> int:
        return len(self.body or b"") + len(self.response_data or b"")

    def footprint(self) -> int:
        """Estimated bytes held until the entry is built: the bodies, the environ's strings and
        ``_CAPTURE_OVERHEAD`` for the objects around them (cheaper than ``approx_bytes``)."""
        text = sum(len(k) + len(v) for k, v in self.environ.items() if isinstance(v, str))
        return self.size() + text + _CAPTURE_OVERHEAD

    def build(self) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
        """The scrubbed request part, response part and notes."""
        secrets: set[str] = set()
        # The header and query views Werkzeug gives the request, rebuilt from the keys they read.
        view = Request(self.environ)
        request_part: dict[str, Any] = {
            "headers": scrub_headers(view.headers.items(), secrets),
            "query": _query(view.args, secrets),
            "content_type": view.content_type,
            "size": view.content_length,
            "body": None,
        }
        if self.form is not None:
            request_part["form"] = scrub(self.form, secrets)
            request_part["files"] = self.files
        elif self.body is not None:
            raw = self.body
            request_part["size"] = len(raw) if raw else view.content_length
            if raw.strip():
                # A lone surrogate shows as U+FFFD: the entry stays JSON whatever the request held.
                with contextlib.suppress(BodyRefused):
                    request_part["body"] = scrub(parse_json(raw, self.max_depth, "replace"), secrets)
        content_type = next((v for k, v in self.response_headers if k.lower() == "content-type"), None)
        mimetype = (content_type or "").split(";", 1)[0].strip().lower()
        response_part: dict[str, Any] = {
            "status": self.status,
            "content_type": content_type,
            "size": None,
            "headers": scrub_headers(self.response_headers, secrets),
            "body": None,
            "streamed": self.response_streamed,
        }
        if self.response_data is not None:
            response_part["size"] = len(self.response_data)
            if mimetype == "application/json" or mimetype.endswith("+json"):
                with contextlib.suppress(BodyRefused):
                    response_part["body"] = scrub(parse_json(self.response_data, self.max_depth), secrets)
        return finish(request_part, response_part, self.notes, secrets)


def _capture(
    max_body: int | None, response: Response, notes: list[dict[str, Any]], max_depth: int
) -> _Captured:
    """The current request and ``response``, by reference (cheap: nothing is parsed or copied)."""
    req: Request = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    body: bytes | None = None
    form: dict[str, Any] | None = None
    files: list[dict[str, Any]] | None = None
    if max_body is None or (req.content_length or 0) <= max_body:
        try:
            if req.mimetype in _FORM_TYPES:
                form = req.form.to_dict(flat=False)
                files = [
                    {"field": name, "filename": f.filename, "content_type": f.content_type}
                    for name, f in req.files.items(multi=True)
                ]
            else:
                body = req.get_data(cache=True)
        except (HTTPException, ValueError, OSError):
            body = form = files = None
    opaque = response.is_streamed or response.direct_passthrough
    return _Captured(
        environ={k: v for k, v in req.environ.items() if k.startswith(_ENVIRON_PREFIXES)},
        body=body,
        form=form,
        files=files,
        status=response.status_code,
        response_headers=list(response.headers.items()),
        response_streamed=response.is_streamed,
        response_data=None if opaque else response.get_data(),
        notes=notes,
        max_depth=max_depth,
    )


@contextlib.contextmanager
def journal_message(rt: Runtime, provider: str, message: str | bytes) -> Iterator[list[Any]]:
    """Answer one message received on a WebSocket as an exchange of its own, in the context of the
    connection's upgrade request.

    Yields a list: append every frame (a JSON value) sent in reply while the block runs. While it runs, a
    new ``Exchange`` (``method`` ``WEBSOCKET``, the upgrade's path) is current: the notes, ledger lines
    and fault of the message are its own, not the upgrade's. When it ends, the journal records it
    (``journal.record_message``; nothing with ``journal_limit`` 0) and the access log gets a line of its
    own (``access_log.log_message``).
    """
    upgrade = current()
    exchange = Exchange(
        WEBSOCKET,
        request.path,
        rt.clock.now(),
        provider=provider,
        origin_of=upgrade.origin_of if upgrade is not None else (lambda: LOCAL_ORIGIN),
    )
    frames: list[Any] = []
    try:
        with opened(exchange):
            yield frames
    finally:
        if rt.journal.limit:
            ledger = list(ledger_json(exchange.ledger))
            record_message(rt.journal, exchange, message, frames, ledger, rt.config.max_json_depth)
        rt.journal.answered(exchange)
        access_log.log_message(exchange)


def record_unmatched(journal: Journal, max_body: int | None, response: Response, *, max_depth: int) -> None:
    """Journal the current request, which no route and no provider prefix matched, with its ``response``
    (scrubbed at once, like a large request's): ``unmatched`` true, ``provider`` ``""``, ``route``
    ``None``; ``max_depth``: ``EmulatorConfig.max_json_depth`` (a deeper body is shown as ``None``)."""
    exchange = current()
    if not journal.limit or exchange is None:
        return
    request_part, response_part, notes = build_safely(_capture(max_body, response, [], max_depth).build)
    journal.record(
        at=exchange.at,
        provider="",
        method=request.method,
        path=request.path,
        route=None,
        status=response.status_code,
        duration_ms=exchange.elapsed_ms(3),
        request=request_part,
        response=response_part,
        notes=tuple(notes),
        ledger=(),
        unmatched=True,
    )


def install(app: Flask, rt: Runtime) -> None:
    """Journal every request the current ``Exchange`` attributes to a provider (an ``after_request`` hook
    on ``app``; unmatched requests: ``record_unmatched``)."""
    journal = rt.journal

    @app.after_request
    def _journal_record(response: Response) -> Response:
        exchange = current()
        if exchange is None or exchange.provider is None or not journal.limit or not exchange.journaled:
            return response
        captured = _capture(
            app.config.get("MAX_CONTENT_LENGTH"), response, exchange.notes, rt.config.max_json_depth
        )
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        fields = {
            "at": exchange.at,
            "provider": exchange.provider,
            "method": req.method,
            "path": req.path,
            "route": f"{req.method} {rule.rule}" if rule is not None else None,
            "status": response.status_code,
            "duration_ms": exchange.elapsed_ms(3),
            "ledger": ledger_json(exchange.ledger),
        }
        if captured.form is None and captured.size() <= LAZY_MAX_BYTES:
            journal.record_lazy(captured.build, captured.footprint(), **fields)
        else:
            request_part, response_part, notes = build_safely(captured.build)
            journal.add(request=request_part, response=response_part, notes=tuple(notes), **fields)
        return response
