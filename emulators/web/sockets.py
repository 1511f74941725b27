"""The view of a WebSocket route: flask-sock's, built on the first upgrade.

flask-sock (``Sock.route``) wraps a handler ``handler(ws, **kwargs)`` into the view that upgrades the
request and hands the connection over. Importing flask-sock, simple-websocket and wsproto costs about
30 ms, which a server should not pay at start-up for a route most runs never use, so ``SockView`` asks
flask-sock for that view on the first call: it stands in for the blueprint flask-sock registers its view
on (``Sock.route(bp=...)``) and keeps the view instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Response

__all__ = ["SockView"]


class SockView:
    """A Flask view (register it on a rule with ``websocket=True``) calling ``handler(ws)`` with the
    upgraded connection (bind other arguments with ``functools.partial``)."""

    def __init__(self, handler: Callable[..., None]) -> None:
        self._handler = handler
        self._view: Any = None

    def __call__(self) -> Response:
        if self._view is None:
            from flask_sock import Sock  # type: ignore[import-untyped]

            Sock().route("", bp=self)(self._handler)
        return cast(Response, self._view())

    def route(self, path: str, **options: Any) -> Callable[[Any], Any]:
        """``Blueprint.route`` as flask-sock calls it: keep the view it registers."""

        def keep(view: Any) -> Any:
            self._view = view
            return view

        return keep
