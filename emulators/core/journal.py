"""The request journal: every request under a provider's prefix and its answer, credentials scrubbed;
also the requests no route and no prefix matched (``unmatched``, ``record_unmatched``).

Each ``JournalEntry`` holds the provider, the route (method and Flask URL rule), the status, the time on
the virtual clock, the request (headers, query, JSON body or size), a summary of the answer, the ledger
lines the request moved, and what the provider module noted with ``journal_note`` (the canonical
request and its cost). The journal is the store's capped log ``journal`` (``LOG``): it keeps the last
``EmulatorConfig.journal_limit`` entries within ``EmulatorConfig.journal_max_bytes`` (oldest dropped
first; ``GET /__admin/stats`` counts them), and is read through the control plane (``GET
/__admin/journal``). Every app sharing one store (the workers and hosts of one emulator) writes to that
one log: ``seq`` is the store's, so entries of all workers are numbered in the order they were recorded.

Scrubbing (``pixelmock.contracts.secrets``, shared with the client's cassettes): credential headers
(``Authorization``, ``X-API-Key``, Cloudflare's ``X-Auth-Key`` / ``X-Auth-Email``, AI Gateway's
``cf-aig-authorization``, ``Ocp-Apim-Subscription-Key``, cookies, any name with ``auth``/``token``/
``secret``...), JSON fields, form fields and query parameters named like a credential at any depth
(``apiKey``, ``secret_key``, ``private_key``, ``auth``, ``credentials``, ``sig``..., e.g. Runware's
authentication task), and credentials inside any string (a ``webhookURL``'s ``?token=``, URL userinfo,
``Bearer ...``, ``sk-...``) become ``REDACTED`` (``Bearer REDACTED`` keeps the scheme); any other string
still containing a credential found that way has it replaced. Strings longer than ``MAX_STRING``
characters (base64 images, data URIs) are cut short with their length noted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from flask import Flask, Request, Response, g, has_request_context, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from pixelmock.contracts.secrets import (
    REDACTED,
    collect,
    is_credential_field,
    replace_secrets,
    scrub_header,
    scrub_json,
    scrub_text,
)
from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.store import MemoryStore, Store, Usage
from pixelmock.emulators.web import access_log

if TYPE_CHECKING:
    from pixelmock.emulators.core.accounts import LedgerLine
    from pixelmock.emulators.core.runtime import ProviderEmulator, Runtime

__all__ = [
    "LOG",
    "REDACTED",
    "Journal",
    "JournalEntry",
    "install",
    "journal_message",
    "journal_note",
    "jsonable",
    "record_unmatched",
    "request_records",
    "scrub",
]

log = logging.getLogger("pixelmock")
#: Strings longer than this (characters) are shortened in the journal.
MAX_STRING = 512
_KEEP = 64
#: Characters of a long string scrubbed before it is cut to ``_KEEP``: a credential that starts in the
#: kept part is replaced whole before the cut.
_WINDOW = _KEEP + 256
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

#: The store log the journal is.
LOG = "journal"
_NOTES = "pixelmock_journal_notes"
_LEDGER = "pixelmock_journal_ledger"
_START = "pixelmock_journal_start"


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_STRING else f"{text[:_KEEP]}…[{len(text)} chars]"


def _text(text: str, secrets: set[str] | None) -> str:
    """A string as the journal keeps it: credentials replaced (``scrub_text``), then shortened."""
    if len(text) <= MAX_STRING:
        return scrub_text(text, secrets)
    return f"{scrub_text(text[:_WINDOW], secrets)[:_KEEP]}…[{len(text)} chars]"


def scrub(value: Any, secrets: set[str] | None = None) -> Any:
    """A copy of a JSON value with credentials ``REDACTED`` (``pixelmock.contracts.secrets.scrub_json``:
    credential-named fields at any depth, credentials inside strings; found ones are added to
    ``secrets``) and long strings shortened."""
    return scrub_json(value, secrets, _text)


def _headers(items: Iterable[tuple[str, str]], secrets: set[str]) -> dict[str, str]:
    return {name: _shorten(scrub_header(name, value, secrets)) for name, value in items}


def _query(args: MultiDict[str, str], secrets: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in args:
        values = args.getlist(name)
        if is_credential_field(name):
            collect(values, secrets)
            out[name] = REDACTED
        else:
            out[name] = [_text(v, secrets) for v in values] if len(values) > 1 else _text(values[0], secrets)
    return out


def _finish(
    request_part: dict[str, Any],
    response_part: dict[str, Any],
    notes: list[dict[str, Any]],
    secrets: set[str],
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The scrubbed request part, response part and notes of an entry: the notes made JSON-ready and
    scrubbed, then every credential collected from the three replaced wherever else it appears."""
    scrubbed = [scrub(_note_json(note), secrets) for note in notes]
    if secrets:
        request_part, response_part, scrubbed = replace_secrets(
            [request_part, response_part, scrubbed], secrets
        )
    return request_part, response_part, scrubbed


def jsonable(value: Any, skip: frozenset[str] = frozenset()) -> Any:
    """A JSON-ready copy: dataclasses as objects (fields in ``skip`` left out), ``Decimal`` as a string,
    dates as ISO 8601, bytes as ``{"bytes": <length>}``, tuples and sets as lists, long strings cut."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name), skip)
            for f in dataclasses.fields(value)
            if f.name not in skip
        }
    if isinstance(value, dict):
        return {str(k): jsonable(v, skip) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, skip) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, str):
        return _shorten(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _shorten(str(value))


def journal_note(*, canonical: Any = None, cost: Any = None, **extra: Any) -> None:
    """Attach what a provider module knows about the current request to its journal entry.

    ``canonical``: the resolved ``CanonicalRequest`` (or any dataclass/dict); ``cost``: a
    ``pixelmock.contracts.pricing.Quote``, or a dict such as ``{"credits": 10}``; ``extra``: other facts (a
    job id...). Call once per job (a Runware task array may note several). Outside a request: no-op. The
    values are made JSON-ready (``jsonable``) when the entry is first read, not here, so pass values
    nobody changes afterwards (frozen dataclasses, fresh dicts).
    """
    if not has_request_context():
        return
    note: dict[str, Any] = {}
    if canonical is not None:
        note["canonical"] = canonical
    if cost is not None:
        note["cost"] = cost
    note.update(extra)
    g.setdefault(_NOTES, []).append(note)


def _note_json(note: dict[str, Any]) -> dict[str, Any]:
    """A note as the journal shows it: every value ``jsonable`` (a cost without its resolved request)."""
    return {
        name: jsonable(value, _COST_SKIP if name == "cost" else frozenset()) for name, value in note.items()
    }


_COST_SKIP = frozenset({"resolved"})


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    """One request and its answer. ``seq`` counts from 1 (per store: every app sharing it; restarted by a
    reset); ``at`` is the virtual clock when the request arrived (aware UTC); ``route`` is ``"<METHOD>
    <url rule>"`` (``None`` when no route matched); ``duration_ms`` is real time. ``request``:
    ``headers``, ``query``, ``content_type``, ``size`` (bytes), ``body`` (the JSON when the body parses,
    else ``None``) and, for forms, ``form`` and ``files``. ``response``: ``status``, ``content_type``,
    ``size``, ``headers``, ``body`` (JSON or ``None``), ``streamed``. ``notes``: what the provider noted
    (``canonical``, ``cost``...). ``ledger``: the balance movements this request made. ``unmatched``: no
    route and no provider prefix matched the path (answered 404 with a near-miss hint; ``provider`` is
    ``""``)."""

    seq: int
    at: dt.datetime
    provider: str
    method: str
    path: str
    route: str | None
    status: int
    duration_ms: float
    request: dict[str, Any]
    response: dict[str, Any]
    notes: tuple[dict[str, Any], ...] = ()
    ledger: tuple[dict[str, Any], ...] = ()
    unmatched: bool = False

    def to_json(self) -> dict[str, Any]:
        """The entry as the control plane serves it (``at`` in ISO 8601)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "provider": self.provider,
            "method": self.method,
            "path": self.path,
            "route": self.route,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "request": self.request,
            "response": self.response,
            "notes": list(self.notes),
            "ledger": list(self.ledger),
            "unmatched": self.unmatched,
        }


def _status_matches(status: int, wanted: int | str) -> bool:
    text = str(wanted).strip().lower()
    if len(text) == 3 and text.endswith("xx") and text[0].isdigit():
        return status // 100 == int(text[0])
    return str(status) == text


class _Pending:
    """An entry recorded with ``Journal.record_lazy`` on a store that is not shared: the fields filters
    need, and ``build`` giving the scrubbed ``request``, ``response`` and ``notes``, called once, when the
    entry is first read. Its ``seq`` is the log's (``entry``)."""

    __slots__ = (
        "_build",
        "_entry",
        "_fields",
        "at",
        "method",
        "path",
        "provider",
        "status",
        "unmatched",
    )

    def __init__(
        self, build: Callable[[], tuple[dict[str, Any], dict[str, Any], list[Any]]], **fields: Any
    ) -> None:
        self.at: dt.datetime = fields["at"]
        self.provider: str = fields["provider"]
        self.method: str = fields["method"]
        self.path: str = fields["path"]
        self.status: int = fields["status"]
        self.unmatched: bool = fields.get("unmatched", False)
        self._fields = fields
        self._build: Callable[[], tuple[dict[str, Any], dict[str, Any], list[Any]]] | None = build
        self._entry: JournalEntry | None = None

    def __repr__(self) -> str:
        return f"<pending journal entry: {self.method} {self.path} {self.status}>"

    def entry(self, seq: int) -> JournalEntry:
        """The scrubbed entry numbered ``seq`` (built on the first call; the unscrubbed capture is dropped
        then)."""
        entry, build = self._entry, self._build
        if entry is None and build is not None:
            request_part, response_part, notes = _build_safely(build)
            entry = JournalEntry(
                seq=seq, request=request_part, response=response_part, notes=tuple(notes), **self._fields
            )
            self._entry, self._build = entry, None
        # Another reader may have built it between the two reads above.
        return entry if entry is not None else cast(JournalEntry, self._entry)


def _build_safely(
    build: Callable[[], tuple[dict[str, Any], dict[str, Any], list[Any]]],
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """``build()``, or, should it fail on what a request contained, an entry saying so: reading the
    journal never fails because of a request (the failure is logged, no unscrubbed content kept)."""
    try:
        return build()
    except Exception as exc:  # whatever a request held, the journal stays readable
        log.exception("journal entry could not be recorded")
        unrecorded = {"unrecorded": f"{type(exc).__name__} while recording this entry"}
        return dict(unrecorded), dict(unrecorded), []


class Journal:
    """The journal: the capped log ``LOG`` of ``store`` (default: a store of its own in memory), holding
    the last ``limit`` entries (0: nothing is kept) within ``max_bytes`` (the store's measure; ``None``:
    no byte bound): the oldest entries are dropped first, the newest is always kept. ``usage()`` says what
    is held and was dropped. Thread-safe, and shared by every app on the same store.

    On a store that is not shared, entries recorded with ``record_lazy`` are scrubbed when first read
    (``entries``): requests nobody reads do not pay for it, and no read path returns anything unscrubbed.
    On a shared store every entry is scrubbed when recorded (what is written there is serialized).
    """

    def __init__(self, limit: int = 1000, max_bytes: int | None = None, store: Store | None = None) -> None:
        self.limit = max(0, limit)
        self.store: Store = store if store is not None else MemoryStore()
        self.store.bound_log(LOG, self.limit, max_bytes)

    def usage(self) -> Usage:
        """A copy of what the journal holds and has dropped (``Usage``: entries and bytes)."""
        return self.store.log_usage(LOG)

    def __len__(self) -> int:
        return self.usage().count

    def record(self, **fields: Any) -> JournalEntry:
        """Append an entry built from ``JournalEntry``'s fields (all but ``seq``); returns it, with its
        ``seq``."""
        entry = JournalEntry(seq=0, **fields)
        return dataclasses.replace(entry, seq=self.store.append(LOG, entry))

    def record_lazy(
        self,
        build: Callable[[], tuple[dict[str, Any], dict[str, Any], list[Any]]],
        size: int = 0,
        **fields: Any,
    ) -> None:
        """Append an entry whose ``request``, ``response`` and ``notes`` are ``build()``'s: computed when the
        entry is first read on a store that is not shared (``size``: the bytes the capture holds, an
        estimate), now on a shared one; ``fields``: the other fields of ``JournalEntry`` but ``seq``."""
        if not self.limit:
            return
        if self.store.shared:
            request_part, response_part, notes = _build_safely(build)
            self.record(request=request_part, response=response_part, notes=tuple(notes), **fields)
        else:
            self.store.append(LOG, _Pending(build, **fields), size)

    def entries(
        self,
        *,
        provider: str | None = None,
        method: str | None = None,
        status: int | str | None = None,
        path: str | None = None,
        since: dt.datetime | None = None,
        after: int | None = None,
        limit: int | None = None,
        unmatched: bool | None = None,
    ) -> list[JournalEntry]:
        """Entries oldest first, filtered: ``provider`` name, ``method`` (any case), ``status`` (``404`` or a
        class such as ``"4xx"``), ``path`` (substring of the path), ``since`` (virtual time, inclusive;
        naive is UTC), ``after`` (``seq`` greater than), ``unmatched`` (only the requests no route
        matched, or only the others); ``limit`` keeps the most recent that many."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        chosen = [
            (seq, e)
            for seq, e in self.store.read_log(LOG, after or 0)
            if (provider is None or e.provider == provider)
            and (method is None or e.method == method.upper())
            and (status is None or _status_matches(e.status, status))
            and (path is None or path in e.path)
            and (since is None or e.at >= since)
            and (unmatched is None or e.unmatched == unmatched)
        ]
        if limit is not None:
            chosen = chosen[-limit:] if limit > 0 else []
        return [
            e.entry(seq) if isinstance(e, _Pending) else dataclasses.replace(e, seq=seq) for seq, e in chosen
        ]

    def clear(self) -> None:
        """Drop every entry (``seq`` keeps counting; ``Store.clear``, the emulator's reset, counts it from
        1 again)."""
        self.store.trim_log(LOG)


# --------------------------------------------------------------------------------------------------------
# Flask hooks


#: The WSGI environ keys ``Request.headers`` and ``Request.args`` are read from.
_ENVIRON_PREFIXES = ("HTTP_", "CONTENT_TYPE", "CONTENT_LENGTH", "QUERY_STRING")
#: Requests and answers whose bodies are at most this many bytes are scrubbed when the entry is first
#: read (on a store that is not shared; ``Journal.record_lazy``); larger ones (base64 images, uploads) are
#: scrubbed at once, so the journal never holds them whole.
LAZY_MAX_BYTES = 16 * 1024
#: Bytes a deferred capture holds besides its bodies and environ strings (dicts, headers, notes), as
#: ``approx_bytes`` measures a typical one.
_CAPTURE_OVERHEAD = 2500


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
            "headers": _headers(view.headers.items(), secrets),
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
            "headers": _headers(self.response_headers, secrets),
            "body": None,
            "streamed": self.response_streamed,
        }
        if self.response_data is not None:
            response_part["size"] = len(self.response_data)
            if mimetype == "application/json" or mimetype.endswith("+json"):
                with contextlib.suppress(BodyRefused):
                    response_part["body"] = scrub(parse_json(self.response_data, self.max_depth), secrets)
        return _finish(request_part, response_part, self.notes, secrets)


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


#: The ``method`` (and route prefix) of a journal entry for one WebSocket message.
WEBSOCKET = "WEBSOCKET"


@contextlib.contextmanager
def journal_message(rt: Runtime, provider: str, message: str | bytes) -> Iterator[list[Any]]:
    """Journal one message received on a WebSocket, in the context of the connection's upgrade request.

    Yields a list: append every frame (a JSON value) sent in reply while the block runs. When it ends, an
    entry is recorded, scrubbed at once like any request's: ``method`` ``WEBSOCKET``, the upgrade's path,
    ``status`` 101 (the connection's), ``request.body`` the message's JSON (``None`` when it is not JSON;
    ``size`` in bytes), ``response.frames`` the frames. The notes and ledger lines made while the block
    runs are this entry's, not the upgrade's. With ``journal_limit`` 0 nothing is recorded. The message
    gets an access-log line of its own (``access_log.log_message``).
    """
    frames: list[Any] = []
    saved = g.pop(_NOTES, None), g.pop(_LEDGER, None)
    at, started = rt.clock.now(), time.perf_counter()
    try:
        yield frames
    finally:
        notes, ledger = g.pop(_NOTES, []), g.pop(_LEDGER, [])
        for name, value in zip((_NOTES, _LEDGER), saved, strict=True):
            if value is not None:
                setattr(g, name, value)
        if rt.journal.limit:
            depth = rt.config.max_json_depth
            _record_message(rt.journal, provider, message, frames, notes, ledger, at, started, depth)
        access_log.log_message(provider, WEBSOCKET, notes, ledger, started)


def _record_message(
    journal: Journal,
    provider: str,
    message: str | bytes,
    frames: list[Any],
    notes: list[dict[str, Any]],
    ledger: list[dict[str, Any]],
    at: dt.datetime,
    started: float,
    max_depth: int,
) -> None:
    raw = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
    try:
        body: Any = parse_json(raw, max_depth, "replace")
    except BodyRefused:
        body = None
    secrets: set[str] = set()
    request_part = {
        "headers": {},
        "query": {},
        "content_type": "application/json" if isinstance(message, str) else "application/octet-stream",
        "size": len(raw),
        "body": scrub(body, secrets),
    }
    response_part = {
        "status": 101,
        "content_type": "application/json",
        "size": sum(len(json.dumps(frame, separators=(",", ":"))) for frame in frames),
        "headers": {},
        "body": None,
        "frames": scrub(frames, secrets),
        "streamed": False,
    }
    request_part, response_part, scrubbed = _finish(request_part, response_part, notes, secrets)
    journal.record(
        at=at,
        provider=provider,
        method=WEBSOCKET,
        path=request.path,
        route=f"{WEBSOCKET} {request.path}",
        status=101,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        request=request_part,
        response=response_part,
        notes=tuple(scrubbed),
        ledger=tuple(ledger),
    )


def request_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The notes (``journal_note``) and ledger lines (``{"account_id", "currency", "amount", ...}``,
    amounts as decimal strings) of the current request, or of the WebSocket message being journaled, so
    far; both empty outside a request. The lists are live: do not change them."""
    if not has_request_context():
        return [], []
    return g.get(_NOTES, []), g.get(_LEDGER, [])


def record_unmatched(
    journal: Journal,
    max_body: int | None,
    response: Response,
    started: float,
    at: dt.datetime,
    *,
    max_depth: int,
) -> None:
    """Journal the current request, which no route and no provider prefix matched, with its ``response``
    (scrubbed at once, like a large request's): ``unmatched`` true, ``provider`` ``""``, ``route``
    ``None``. ``started``: ``time.perf_counter()`` when it arrived; ``at``: the virtual time then;
    ``max_depth``: ``EmulatorConfig.max_json_depth`` (a deeper body is shown as ``None``)."""
    if not journal.limit:
        return
    request_part, response_part, notes = _build_safely(_capture(max_body, response, [], max_depth).build)
    journal.record(
        at=at,
        provider="",
        method=request.method,
        path=request.path,
        route=None,
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        request=request_part,
        response=response_part,
        notes=tuple(notes),
        ledger=(),
        unmatched=True,
    )


def _ledger_listener(line: LedgerLine) -> None:
    if has_request_context():
        g.setdefault(_LEDGER, []).append(
            {
                "account_id": line.account_id,
                "currency": line.currency,
                "amount": str(line.amount),
                "balance_after": str(line.balance_after),
                "memo": line.memo,
                "at": line.at,
            }
        )


def install(app: Flask, rt: Runtime, owner: Callable[[], ProviderEmulator | None]) -> None:
    """Journal every request ``owner()`` attributes to a provider (``before_request``/``after_request``
    hooks on ``app``, a ledger listener on ``rt.accounts``)."""
    journal = rt.journal
    rt.accounts.subscribe(_ledger_listener)

    @app.before_request
    def _journal_start() -> None:
        if journal.limit:
            setattr(g, _START, (time.perf_counter(), rt.clock.now()))

    @app.after_request
    def _journal_record(response: Response) -> Response:
        started = g.get(_START)
        provider = owner() if started is not None else None
        if provider is None:
            return response
        captured = _capture(
            app.config.get("MAX_CONTENT_LENGTH"), response, g.get(_NOTES, []), rt.config.max_json_depth
        )
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        fields = {
            "at": started[1],
            "provider": provider.name,
            "method": req.method,
            "path": req.path,
            "route": f"{req.method} {rule.rule}" if rule is not None else None,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started[0]) * 1000, 3),
            "ledger": tuple(g.get(_LEDGER, [])),
        }
        if captured.form is None and captured.size() <= LAZY_MAX_BYTES:
            journal.record_lazy(captured.build, captured.footprint(), **fields)
        else:
            request_part, response_part, notes = _build_safely(captured.build)
            journal.record(request=request_part, response=response_part, notes=tuple(notes), **fields)
        return response
