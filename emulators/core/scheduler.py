"""Work due on the virtual clock: timers set by provider flows and outbound delivery attempts, run when
the emulator "ticks".

The emulator ticks when a request arrives (before it is handled and after its answer is sent), when the
clock is moved or read through the control plane, and, with ``EmulatorConfig.tick_seconds``, every so
many real seconds in a background thread. A tick runs every due timer: an Apiframe job with a webhook
moving on without being polled, a webhook or upload attempt (``webhooks.py``).

A timer is named work, not a closure, so that every worker sharing the store can run it: a handler name
registered by the module that defines it (``timer_handler``, at import) and JSON-able arguments. The
timer lives in the store's due queue ``QUEUE`` (its member is the timer itself, JSON: a token of its own,
the name shown in logs, the handler, its arguments, the root URL of its stand-in request), so it is
never evicted like a record, and ``claim_due`` hands each due timer to exactly one worker, whichever
ticks first. Consistency: each timer runs at most once, in one worker, at its first tick at or after its
moment; a worker that stops between claiming a timer and running it loses that timer.

Ticks run outside any request (an empty ``contextvars`` context with only the app context pushed:
``pixelmock.emulators.web.ticks``), so what a timer does (ledger lines, journal entries) is never
attributed to the request that happened to trigger the tick (a timer set during a request runs in a
stand-in exchange for its origin, never journaled). One tick runs at a time in a worker; a request
that arrives during a tick does not wait for it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pixelmock.emulators.core.exchange import Exchange, current, opened
from pixelmock.emulators.core.store import Store

if TYPE_CHECKING:
    from pixelmock.emulators.core.clock import Clock

log = logging.getLogger("pixelmock")

#: The store's due queue of timers.
QUEUE = "timers"
#: What a timer runs: called with the timer's arguments inside the app context.
Handler = Callable[..., None]
H = TypeVar("H", bound=Handler)

#: Handler name -> handler, for the whole process (``timer_handler``).
_HANDLERS: dict[str, Handler] = {}


def timer_handler(name: str) -> Callable[[H], H]:
    """Register the decorated function as the handler of timers named ``name`` (e.g. ``"apiframe.job"``),
    for every app of the process; the module defining it registers it when imported. Raises
    ``ValueError`` when another function already has the name."""

    def register(fn: H) -> H:
        known = _HANDLERS.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"timer handler {name!r} is already {known.__module__}.{known.__qualname__}")
        _HANDLERS[name] = fn
        return fn

    return register


class Scheduler:
    """Timers on the virtual clock, kept in ``store``'s due queue ``QUEUE`` (thread-safe; shared by every
    app on the store). ``at(moment, key, handler, *args)`` runs the registered ``handler(*args)`` once,
    in one app, at the first tick at or after ``moment``. Timers set during a request run in a stand-in
    exchange for the same origin (``Exchange.origin``), so the URLs they build (generated images) point
    at the server the client used; nothing they do is journaled."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self.tick_lock = threading.Lock()
        #: The earliest due moment this app knows of (POSIX seconds; ``None``: none): read with the
        #: control record at each request (``expect``), lowered by the timers it sets, read again after
        #: it ran the due ones.
        self._head: float | None = None

    def at(self, moment: dt.datetime, key: str, handler: str, *args: Any) -> None:
        """Run ``handler(*args)`` at the first tick at or after ``moment`` (virtual time); ``key`` names the
        timer in logs (e.g. ``apiframe job <id>``); ``args``: JSON values (they come back as JSON gives
        them: a tuple as a list). Raises ``KeyError`` for a handler no module registered, ``TypeError``
        for arguments JSON cannot carry."""
        if handler not in _HANDLERS:
            raise KeyError(f"no timer handler {handler!r}")
        exchange = current()
        root = exchange.origin if exchange is not None else None
        # A token of its own makes each timer a member of its own (two timers with the same work stay two);
        # timers due at the same moment run in the order they were set (``Store.claim_due``).
        member = json.dumps([uuid.uuid4().hex, key, handler, list(args), root], separators=(",", ":"))
        self._store.schedule(QUEUE, member, moment.timestamp())
        at, head = moment.timestamp(), self._head
        self._head = at if head is None else min(head, at)

    def expect(self, head: float | None) -> None:
        """Take the queue's earliest moment as read from the store (``Store.next_due`` or ``peek``)."""
        self._head = head

    def due(self) -> bool:
        """Whether a timer is due now, as far as this app knows: the earliest moment read at the start of
        the request (``expect``) or set by it since (no store read; no clock read when none waits).
        Timers another app sets meanwhile are seen at the next request, or by any app's tick."""
        head = self._head
        return head is not None and head <= self._clock.now().timestamp()

    def run_due(self) -> int:
        """Claim and run every timer due now (also those a timer sets for now); returns how many ran. A
        timer whose handler raises, or is not registered in this process, is logged and dropped."""
        ran = 0
        while claimed := self._store.claim_due(QUEUE, self._clock.now().timestamp()):
            for member in claimed:
                _run(member, self._clock)
                ran += 1
        self._head = self._store.next_due(QUEUE)
        return ran


def _run(member: str, clock: Clock) -> None:
    """Run one claimed timer (its queue member) in the current app: set during a request, in a stand-in
    exchange for that request's origin (never journaled)."""
    _, key, name, args, root = json.loads(member)
    handler = _HANDLERS.get(name)
    if handler is None:
        log.error("timer %s dropped: no handler %r in this process", key, name)
        return
    try:
        if root is not None:
            stand_in = Exchange("GET", "/", clock.now(), origin_of=lambda: str(root), journaled=False)
            with opened(stand_in):
                handler(*args)
        else:
            handler(*args)
    except Exception:
        log.exception("timer %s failed", key)


class Ticker:
    """A daemon thread calling ``tick()`` every ``seconds`` of real time while the app is alive."""

    def __init__(self, seconds: float, tick: Callable[[], object]) -> None:
        self._seconds = seconds
        self._tick = weakref.WeakMethod(tick) if hasattr(tick, "__self__") else (lambda: tick)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pixelmock-ticker")

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after the current tick)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            tick = self._tick()
            if tick is None:
                return
            try:
                tick()
            except Exception:
                log.exception("background tick failed")
