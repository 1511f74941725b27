"""The record of one exchange: a request and its answer, or one message received on a WebSocket.

An ``Exchange`` is opened when a request arrives (``pixelmock.emulators.web.exchange``, a
``before_request`` hook) or a WebSocket message is read (``pixelmock.emulators.web.journal
.journal_message``), and is current for the code that answers it: the journal, the bill, the access log,
fault injection and the provider modules read and add to that one typed record (as WireMock's
``ServeEvent`` or respx's ``Call``), never to loose per-request globals. It is current in a
``contextvars.ContextVar``: per thread and per greenlet, and a message's exchange replaces the upgrade
request's for as long as the message is being answered (``opened``).

Outside any exchange (a timer set outside a request, the control plane's own work) ``current()`` is
``None`` and ``journal_note`` does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixelmock.emulators.core.accounts import LedgerLine
    from pixelmock.emulators.core.faults import Fault

__all__ = ["LOCAL_ORIGIN", "Exchange", "current", "journal_note", "opened"]

#: The origin of URLs built outside any request (a timer set by the control plane).
LOCAL_ORIGIN = "http://127.0.0.1/"


@dataclass(eq=False)
class Exchange:
    """One request (or WebSocket message) as the emulator answers it.

    ``method`` and ``path`` as received (``WEBSOCKET`` and the upgrade's path for a message); ``at``: the
    virtual time it arrived (aware UTC); ``started``: ``time.perf_counter()`` then (real seconds);
    ``provider``: the name of the provider whose prefix the path is under (``None``: the control plane,
    files, an unmatched path); ``origin``: ``scheme://host[:port]/`` the client reached, computed when
    first asked (``origin_of``), which generated files' URLs start with. What answering it adds:
    ``notes`` (``journal_note``: the canonical request, its cost, choices made...), ``ledger`` (the
    balance movements it made, ``LedgerLine``), ``fault`` (the fault injected into it), ``unmatched``
    (no route and no provider prefix matched), ``near_miss`` (the route it most likely meant, once
    computed), ``journaled`` (false for a timer's stand-in: nothing of it is journaled), ``charges`` and
    ``charge_key`` (the debits it is making and the key of its note in ``Journal.unanswered`` until its
    answer is recorded: ``Journal.charging``)."""

    method: str
    path: str
    at: dt.datetime
    started: float = field(default_factory=time.perf_counter)
    provider: str | None = None
    origin_of: Callable[[], str] = field(default=lambda: LOCAL_ORIGIN, repr=False)
    notes: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[LedgerLine] = field(default_factory=list)
    fault: Fault | None = None
    unmatched: bool = False
    near_miss: str | None = None
    near_miss_known: bool = False
    journaled: bool = True
    charges: list[dict[str, Any]] = field(default_factory=list)
    charge_key: str | None = None
    _origin: str | None = field(default=None, repr=False)
    _token: contextvars.Token[Exchange | None] | None = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]/`` the client reached (computed once)."""
        if self._origin is None:
            self._origin = self.origin_of()
        return self._origin

    def elapsed_ms(self, digits: int) -> float:
        """Real milliseconds since it arrived, rounded to ``digits``."""
        return round((time.perf_counter() - self.started) * 1000, digits)

    def enter(self) -> None:
        """Make this the current exchange until ``leave`` (a request's hooks; ``opened`` otherwise)."""
        self._token = _CURRENT.set(self)

    def leave(self) -> None:
        """Make the exchange current before ``enter`` current again."""
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None


_CURRENT: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("pixelmock_exchange", default=None)


def current() -> Exchange | None:
    """The exchange being answered, or ``None`` outside any."""
    return _CURRENT.get()


@contextlib.contextmanager
def opened(exchange: Exchange) -> Iterator[Exchange]:
    """Make ``exchange`` current while the ``with`` block runs (the previous one current again after)."""
    exchange.enter()
    try:
        yield exchange
    finally:
        exchange.leave()


def note_shutdown(provider: str, model: str, on: dt.date) -> None:
    """Note on the current exchange that ``provider`` refused ``model`` because it stopped serving it on
    ``on`` (``{"shut_down": {"provider", "model", "date"}}``): pixelmock's own words for the journal, the
    access log and the inspector, while the provider's answer keeps the provider's. Outside an exchange:
    no-op."""
    journal_note(shut_down={"provider": provider, "model": model, "date": on.isoformat()})


def journal_note(*, canonical: Any = None, cost: Any = None, **extra: Any) -> None:
    """Attach what a provider module knows about the current exchange to its journal entry.

    ``canonical``: the resolved ``CanonicalRequest`` (or any dataclass/dict); ``cost``: a
    ``pixelmock.contracts.pricing.Quote``, or a dict such as ``{"credits": 10}``; ``extra``: other facts
    (a job id...). Call once per job (a Runware task array may note several). Outside an exchange: no-op.
    The values are made JSON-ready (``journal.jsonable``) when the entry is first read, not here, so pass
    values nobody changes afterwards (frozen dataclasses, fresh dicts).
    """
    exchange = _CURRENT.get()
    if exchange is None:
        return
    note: dict[str, Any] = {}
    if canonical is not None:
        note["canonical"] = canonical
    if cost is not None:
        note["cost"] = cost
    note.update(extra)
    exchange.notes.append(note)
