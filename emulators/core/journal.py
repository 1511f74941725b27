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

import dataclasses
import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from pixelmock.contracts.secrets import (
    REDACTED,
    replace_secrets,
    scrub_header,
    scrub_json,
    scrub_text,
)
from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.store import Append, Delete, MemoryStore, Put, Store, Usage

if TYPE_CHECKING:
    from pixelmock.emulators.core.accounts import DebitAttempt, LedgerLine
    from pixelmock.emulators.core.exchange import Exchange

__all__ = [
    "LOG",
    "REDACTED",
    "UNANSWERED",
    "WEBSOCKET",
    "Journal",
    "JournalEntry",
    "build_safely",
    "charge_json",
    "finish",
    "journal_text",
    "jsonable",
    "ledger_json",
    "record_message",
    "scrub",
    "scrub_headers",
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
#: The ``method`` (and route prefix) of a journal entry for one WebSocket message.
WEBSOCKET = "WEBSOCKET"
#: The store namespace of the requests being charged whose answer is not yet recorded
#: (``Journal.charging``), by a key of each request's own.
UNANSWERED = "journal.unanswered"


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_STRING else f"{text[:_KEEP]}…[{len(text)} chars]"


def journal_text(text: str, secrets: set[str] | None) -> str:
    """A string as the journal keeps it: credentials replaced (``scrub_text``), then shortened."""
    if len(text) <= MAX_STRING:
        return scrub_text(text, secrets)
    return f"{scrub_text(text[:_WINDOW], secrets)[:_KEEP]}…[{len(text)} chars]"


def scrub(value: Any, secrets: set[str] | None = None) -> Any:
    """A copy of a JSON value with credentials ``REDACTED`` (``pixelmock.contracts.secrets.scrub_json``:
    credential-named fields at any depth, credentials inside strings; found ones are added to
    ``secrets``) and long strings shortened."""
    return scrub_json(value, secrets, journal_text)


def scrub_headers(items: Iterable[tuple[str, str]], secrets: set[str]) -> dict[str, str]:
    return {name: _shorten(scrub_header(name, value, secrets)) for name, value in items}


def finish(
    request_part: dict[str, Any],
    response_part: dict[str, Any],
    notes: list[dict[str, Any]],
    secrets: set[str],
) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The scrubbed request part, response part and notes of an entry: the notes made JSON-ready and
    scrubbed, then every credential collected from the three replaced wherever else it appears."""
    scrubbed = [scrub(_note_json(note), secrets) for note in notes]
    if secrets and _may_hold([request_part, response_part, scrubbed], secrets):
        request_part, response_part, scrubbed = replace_secrets(
            [request_part, response_part, scrubbed], secrets
        )
    return request_part, response_part, scrubbed


#: Characters JSON text writes escaped (``json.dumps`` with ``ensure_ascii=False``).
_ESCAPED = re.compile(r'["\\\x00-\x1f]')
_json_text = json.JSONEncoder(ensure_ascii=False).encode


def _may_hold(value: Any, secrets: set[str]) -> bool:
    """Whether a string of ``value`` (JSON-ready, already scrubbed) may still hold one of ``secrets``:
    ``False`` only when ``value``'s JSON text has none of them, which one C-speed encoding shows (the
    common case: a credential appears only where it was found and replaced). A secret JSON would write
    escaped, or a value that is not JSON-ready, answers ``True`` (looked for string by string)."""
    if any(_ESCAPED.search(secret) for secret in secrets):
        return True
    try:
        text = _json_text(value)
    except (TypeError, ValueError):
        return True
    return any(secret in text for secret in secrets)


def jsonable(value: Any, skip: frozenset[str] = frozenset()) -> Any:
    """A JSON-ready copy: dataclasses as objects (fields in ``skip`` left out), ``Decimal`` as a string,
    dates as ISO 8601, bytes as ``{"bytes": <length>}``, tuples and sets as lists, long strings cut."""
    convert = _CONVERTERS.get(type(value))  # by identity: a journal entry holds hundreds of values
    if convert is None:
        convert = _CONVERTERS[type(value)] = _converter_of(value)
    return convert(value, skip)


_Converter = Callable[[Any, frozenset[str]], Any]


def _same(value: Any, skip: frozenset[str]) -> Any:
    return value


def _items(values: Iterable[Any], skip: frozenset[str]) -> list[Any]:
    return [jsonable(v, skip) for v in values]


def _fields(value: Any, skip: frozenset[str]) -> dict[str, Any]:
    return {
        f.name: jsonable(getattr(value, f.name), skip)
        for f in dataclasses.fields(value)
        if f.name not in skip
    }


#: ``jsonable``'s conversion of each type; another type gets its own entry (``_converter_of``) when first
#: met.
_CONVERTERS: dict[type, _Converter] = {
    str: lambda v, skip: _shorten(v),
    int: _same,
    bool: _same,
    float: _same,
    type(None): _same,
    dict: lambda v, skip: {str(k): jsonable(item, skip) for k, item in v.items()},
    list: _items,
    tuple: _items,
    set: _items,
    frozenset: _items,
    Decimal: lambda v, skip: str(v),
    dt.datetime: lambda v, skip: v.isoformat(),
    dt.date: lambda v, skip: v.isoformat(),
    bytes: lambda v, skip: {"bytes": len(v)},
    bytearray: lambda v, skip: {"bytes": len(v)},
}


def _converter_of(value: Any) -> _Converter:
    """The conversion of a type ``_CONVERTERS`` does not name: a dataclass's fields, an ``Enum``'s value,
    a subclass's base type's, else the text (cut)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields
    if isinstance(value, Enum):
        return lambda v, skip: jsonable(v.value)
    found = next((convert for kind, convert in tuple(_CONVERTERS.items()) if isinstance(value, kind)), None)
    return found if found is not None else lambda v, skip: _shorten(str(v))


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


def ledger_json(lines: Iterable[LedgerLine]) -> tuple[dict[str, Any], ...]:
    """Ledger lines as the journal keeps them: amounts as decimal strings."""
    return tuple(
        {
            "account_id": line.account_id,
            "currency": line.currency,
            "amount": str(line.amount),
            "balance_after": str(line.balance_after),
            "memo": line.memo,
            "at": line.at,
        }
        for line in lines
    )


def charge_json(attempt: DebitAttempt) -> dict[str, Any]:
    """A debit about to be tried, as ``Journal.unanswered`` lists it: ``account_id``, ``currency``,
    ``amount`` (a decimal string, negative: what its ledger line will say), ``memo``, and the
    ``provider``, ``model`` and ``job_id`` it pays for (``None`` when it pays for no provider's)."""
    charge = attempt.charge
    return {
        "account_id": attempt.account_id,
        "currency": attempt.currency,
        "amount": str(-attempt.amount),
        "memo": attempt.memo,
        "provider": charge.provider if charge is not None else None,
        "model": charge.model if charge is not None else None,
        "job_id": charge.job_id if charge is not None else None,
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
            request_part, response_part, notes = build_safely(build)
            entry = JournalEntry(
                seq=seq, request=request_part, response=response_part, notes=tuple(notes), **self._fields
            )
            self._entry, self._build = entry, None
        # Another reader may have built it between the two reads above.
        return entry if entry is not None else cast(JournalEntry, self._entry)


def build_safely(
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

    def add(self, **fields: Any) -> None:
        """Append an entry built from ``JournalEntry``'s fields (all but ``seq``) as one of the request's
        writes its answer does not wait for (``Store.write_many``: made with the others at the end of the
        request's ``Store.batch``); its ``seq`` is not returned."""
        if self.limit:
            self.store.write_many([Append(LOG, JournalEntry(seq=0, **fields))])

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
            request_part, response_part, notes = build_safely(build)
            self.add(request=request_part, response=response_part, notes=tuple(notes), **fields)
        else:
            self.store.write_many([Append(LOG, _Pending(build, **fields), size)])

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
        1 again). The requests being charged (``unanswered``) are kept."""
        self.store.trim_log(LOG)

    def charging(self, exchange: Exchange, charge: dict[str, Any]) -> None:
        """Note, before its debit is made, that ``exchange`` is being charged: ``charge`` is what the debit
        takes (``account_id``, ``currency``, ``amount`` as a decimal string, ``memo``, ``provider``,
        ``model``, ``job_id``). The note is one of the request's held writes, so a shared store receives
        it in the same round trip as the debit's script, just before it; ``answered`` removes it when the
        answer is recorded. What is left in ``unanswered`` once no request is in flight was charged (or
        about to be) by a worker that stopped before answering. A request charged several times (a
        Runware task array) is one note listing each charge."""
        key = exchange.charge_key
        if key is None:
            key = exchange.charge_key = str(new_uuid())
        exchange.charges.append(charge)
        note = {
            "at": exchange.at.isoformat(),
            "provider": exchange.provider or "",
            "method": exchange.method,
            "path": exchange.path,
            "charges": list(exchange.charges),
        }
        self.store.write_many([Put(UNANSWERED, key, note)])

    def answered(self, exchange: Exchange) -> None:
        """The answer of ``exchange`` is recorded: its ``charging`` note is removed, with the request's
        other held writes (its journal entry)."""
        if exchange.charge_key is not None:
            self.store.write_many([Delete(UNANSWERED, exchange.charge_key)])
            exchange.charge_key = None

    def unanswered(self) -> list[dict[str, Any]]:
        """The requests charged whose answer was never recorded, oldest first: ``{"at"`` (virtual time the
        request arrived, ISO 8601), ``"provider"``, ``"method"``, ``"path"``, ``"charges"``: [what each
        debit took: ``account_id``, ``currency``, ``amount``, ``memo``, ``provider``, ``model``,
        ``job_id``]``}``. While requests are being answered their notes are here too (for milliseconds);
        a note that stays was left by a worker that stopped (killed, or cut off from the store) after
        the debit and before the answer: the client got no answer, or the store's outage answer."""
        return sorted(self.store.values(UNANSWERED), key=lambda note: str(note["at"]))


def record_message(
    journal: Journal,
    exchange: Exchange,
    message: str | bytes,
    frames: list[Any],
    ledger: list[dict[str, Any]],
    max_depth: int,
) -> None:
    """Journal one message received on a WebSocket (``exchange``: the message's, ``path`` the upgrade's),
    scrubbed at once: ``method`` ``WEBSOCKET``, ``status`` 101 (the connection's), ``request.body`` the
    message's JSON (``None`` when it is not JSON; ``size`` in bytes), ``response.frames`` the ``frames``
    sent in reply, ``ledger`` the lines it moved (as JSON)."""
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
    request_part, response_part, scrubbed = finish(request_part, response_part, exchange.notes, secrets)
    journal.record(
        at=exchange.at,
        provider=exchange.provider or "",
        method=WEBSOCKET,
        path=exchange.path,
        route=f"{WEBSOCKET} {exchange.path}",
        status=101,
        duration_ms=exchange.elapsed_ms(3),
        request=request_part,
        response=response_part,
        notes=tuple(scrubbed),
        ledger=tuple(ledger),
    )
