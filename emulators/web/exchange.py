"""The ``Exchange`` of each request (``pixelmock.emulators.core.exchange``): opened before any other hook
runs and closed when the request context is torn down, so the journal, the bill, the access log and the
fault hooks all read and add to one record.

Each HTTP request is also one ``Store.batch``: the writes its answer does not wait for (the bill, the
journal entry, stored files, finished results) are made together once the answer is ready and before it
is sent, so a file URL in an answer exists when the client fetches it, in one round trip on a shared
store. A WebSocket upgrade is not batched: its frames go out while it runs."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, request
from flask.typing import ResponseReturnValue

from pixelmock.emulators.core.exchange import Exchange, current
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.store import StoreUnavailable
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

    @app.after_request
    def _answered(response: Response) -> Response:
        exchange = current()
        if exchange is not None:
            rt.journal.answered(exchange)  # with the journal entry, in the batch's one round trip
        return response

    @app.teardown_request
    def _close_exchange(_: BaseException | None) -> None:
        exchange = current()
        if exchange is not None:
            exchange.leave()

    dispatch = app.full_dispatch_request

    def batched() -> Response:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return dispatch()
        try:
            with rt.store.batch():
                return dispatch()
        except StoreUnavailable as exc:  # the held writes could not be made: the answer must not go out
            answer: ResponseReturnValue = app.handle_user_exception(exc)
            return app.finalize_request(answer, from_error_handler=True)

    app.full_dispatch_request = batched  # type: ignore[method-assign]
