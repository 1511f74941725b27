"""Serving an emulator app on gunicorn: one worker process with threads (``gthread``).

One process because state lives in memory; gthread because it serves concurrent clients and, unlike
waitress or granian's WSGI interface, supports WebSocket upgrades (see ARCHITECTURE.md, measured here).
Gunicorn handles SIGINT/SIGTERM: in-flight requests finish, then the process exits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from werkzeug.serving import make_server

from emulators.app import mounted_providers


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def base_urls(app: Flask, root: str) -> dict[str, str]:
    """Provider name -> base URL under ``root`` (e.g. ``http://127.0.0.1:8080``), for the mounted ones."""
    return {p.name: root + p.prefix for p in mounted_providers(app)}


#: Worker threads of ``pixelmock serve``: each open Runware WebSocket holds one for its lifetime. The
#: request throughput does not depend on it (8, 16 and 32 measured alike, BENCHMARKS.md).
DEFAULT_THREADS = 32


def serve(app: Flask, host: str = "127.0.0.1", port: int = 8080, threads: int = DEFAULT_THREADS) -> None:
    """Run ``app`` until SIGINT/SIGTERM, printing every provider's base URL once listening."""

    def when_ready(server: Any) -> None:
        root = f"http://{host}:{port}"
        urls = base_urls(app, root)
        print(f"pixelmock listening on {root} (health: {root}/__health)", flush=True)
        for name, url in urls.items():
            print(f"  {name:<11} {url}", flush=True)

    options = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": 120,
        "graceful_timeout": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "when_ready": when_ready,
    }
    _Gunicorn(app, options).run()


@contextmanager
def running(app: Flask, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a real socket in a background thread (Werkzeug, threaded) for the ``with`` block;
    yields the root URL (``http://127.0.0.1:<port>``; port 0 picks a free one). For tests and tools that
    need a server in-process; ``serve`` is the production server."""
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
