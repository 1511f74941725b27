"""Work due on the virtual clock: timers set by provider flows, run when the emulator "ticks".

The emulator ticks when a request arrives (before it is handled and after its answer is sent), when the
clock is moved or read through the control plane, and, with ``EmulatorConfig.tick_seconds``, every so
many real seconds in a background thread. A tick runs every due timer (e.g. an Apiframe job with a
webhook moving on without being polled), then every due webhook delivery (``webhooks.py``).

Ticks run outside any request (an empty ``contextvars`` context with only the app context pushed), so
what a timer does (ledger lines, journal entries) is never attributed to the request that happened to
trigger the tick (a timer set during a request runs in a stand-in request for its host, never
journaled). One tick runs at a time; a request that arrives during a tick does not wait for it.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import heapq
import itertools
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app, has_request_context, request

if TYPE_CHECKING:
    from flask import Flask

    from pixelmock.emulators.runtime.clock import Clock

log = logging.getLogger("pixelmock")

#: A timer's work: called with no arguments inside the app context.
Work = Callable[[], None]


@dataclass(order=True)
class _Timer:
    at: dt.datetime
    seq: int
    key: str = field(compare=False)
    work: Work = field(compare=False)
    root: str | None = field(compare=False, default=None)


class Scheduler:
    """Timers on the virtual clock (thread-safe). ``at(moment, key, work)`` runs ``work()`` at the first
    tick at or after ``moment``; ``key`` names the timer in logs (e.g. ``apiframe job <id>``). Work set
    during a request runs in a stand-in request for the same host (``request.host_url``), so the URLs
    it builds (generated images) point at the server the client used; nothing it does is journaled."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self.tick_lock = threading.Lock()

    def at(self, moment: dt.datetime, key: str, work: Work) -> None:
        """Run ``work`` at the first tick at or after ``moment`` (virtual time)."""
        root = request.host_url if has_request_context() else None
        with self._lock:
            heapq.heappush(self._timers, _Timer(moment, next(self._seq), key, work, root))

    def due(self) -> bool:
        """Whether a timer is due now (no lock when no timer is waiting)."""
        if not self._timers:
            return False
        with self._lock:
            return bool(self._timers) and self._timers[0].at <= self._clock.now()

    def pending(self) -> int:
        """How many timers are waiting."""
        with self._lock:
            return len(self._timers)

    def run_due(self) -> int:
        """Run every timer due now (also those a timer sets for now); returns how many ran. A timer that
        raises is logged and dropped."""
        ran = 0
        while True:
            with self._lock:
                if not self._timers or self._timers[0].at > self._clock.now():
                    return ran
                timer = heapq.heappop(self._timers)
            try:
                if timer.root is not None:
                    with current_app.test_request_context("/", base_url=timer.root):
                        timer.work()
                else:
                    timer.work()
            except Exception:
                log.exception("timer %s failed", timer.key)
            ran += 1

    def clear(self) -> None:
        """Drop every timer (the control plane's reset)."""
        with self._lock:
            self._timers.clear()


def run_tick(app: Flask, steps: Sequence[Callable[[], object]], lock: threading.Lock, wait: bool) -> bool:
    """Run ``steps`` in order, in ``app``'s context and outside any request. With ``wait`` false, returns
    ``False`` at once when another tick is running; with ``wait``, waits for it (up to 60 s)."""
    if not lock.acquire(blocking=wait, timeout=60 if wait else -1):
        return False
    try:

        def body() -> None:
            with app.app_context():
                for step in steps:
                    try:
                        step()
                    except Exception:  # due work never breaks the request that triggered it
                        log.exception("tick step %s failed", getattr(step, "__qualname__", step))

        contextvars.Context().run(body)
        return True
    finally:
        lock.release()


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
