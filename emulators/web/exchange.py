"""The ``Exchange`` of each request (``pixelmock.emulators.core.exchange``): opened before any other hook
runs and closed when the request context is torn down, so the journal, the bill, the access log and the
fault hooks all read and add to one record."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request

from pixelmock.emulators.core.exchange import Exchange, current
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.web.context import url_root
from pixelmock.emulators.web.provider import ProviderEmulator

__all__ = ["install"]


def install(app: Flask, rt: Runtime, owner: Callable[[], ProviderEmulator | None]) -> None:
    """Open an ``Exchange`` for every request ``app`` receives (its first ``before_request`` hook:
    register this before any other), attributed to ``owner()``, the provider whose prefix the path is
    under."""

    @app.before_request
    def _open_exchange() -> None:
        provider = owner()
        Exchange(
            request.method,
            request.path,
            rt.clock.now(),
            provider=provider.name if provider is not None else None,
            origin_of=url_root,
        ).enter()

    @app.teardown_request
    def _close_exchange(_: BaseException | None) -> None:
        exchange = current()
        if exchange is not None:
            exchange.leave()
