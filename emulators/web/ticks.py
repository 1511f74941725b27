"""Due work run around the requests of a Flask app: a runtime's ticks (``Runtime.tick``) run in the app's
context, before each request is handled and after its answer has been sent, and every
``EmulatorConfig.tick_seconds`` in a background thread (``Runtime.start_ticker``)."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask
from werkzeug.wsgi import ClosingIterator

from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.scheduler import timer_handler
from pixelmock.emulators.core.store import StoreUnavailable
from pixelmock.emulators.core.webhooks import ATTEMPT
from pixelmock.emulators.web.context import defer_to_app, raise_deferred, runtime

__all__ = ["FlaskHost", "bind"]

log = logging.getLogger("pixelmock")


class FlaskHost:
    """Runs a runtime's tick steps in ``app``'s context, one tick at a time (``lock``)."""

    def __init__(self, app: Flask, lock: threading.Lock) -> None:
        self._app = app
        self._lock = lock

    def run_detached(self, steps: Sequence[Callable[[], object]], wait: bool) -> bool:
        """Run ``steps`` in order, in the app's context and outside any request or exchange (an empty
        ``contextvars`` context). With ``wait`` false, returns ``False`` at once when another tick is
        running; with ``wait``, waits for it (up to 60 s). A step that raises is logged, never raised."""
        if not self._lock.acquire(blocking=wait, timeout=60 if wait else -1):
            return False
        try:

            def body() -> None:
                with self._app.app_context():
                    for step in steps:
                        try:
                            step()
                        except Exception:  # due work never breaks the request that triggered it
                            log.exception("tick step %s failed", getattr(step, "__qualname__", step))

            contextvars.Context().run(body)
            return True
        finally:
            self._lock.release()


def bind(app: Flask, rt: Runtime) -> None:
    """Serve ``rt`` in ``app``: its ticks run in the app's context, before each request is handled and
    after its answer has been sent (``app.wsgi_app`` is wrapped), and the background ticker
    (``config.tick_seconds``) starts with the first request. Should the store be unavailable before the
    request is handled, the app raises ``StoreUnavailable`` from its first ``before_request`` hook
    (``defer_to_app``; its error handler answers in the provider's shape)."""
    rt.host = FlaskHost(app, rt.scheduler.tick_lock)
    inner = app.wsgi_app

    def tick_after() -> None:
        if rt.due():
            rt.tick()

    def ticking(environ: Any, start_response: Any) -> Any:
        try:
            rt.sync()
            rt.start_ticker()
            if rt.due():
                rt.tick()
        except StoreUnavailable as exc:  # answered inside the app, in the provider's shape
            defer_to_app(environ, exc)
            return inner(environ, start_response)
        return ClosingIterator(inner(environ, start_response), [tick_after])

    raise_deferred(app)
    app.wsgi_app = ticking  # type: ignore[method-assign]


@timer_handler(ATTEMPT)
def _attempt_delivery(delivery_id: str) -> None:
    """A delivery's due attempt (``Webhooks.attempt``), made by the app that claimed it."""
    runtime().webhooks.attempt(delivery_id)
