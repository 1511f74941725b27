"""Serving an emulator app: gunicorn with one worker process and threads (``gthread``) where gunicorn can
run, Werkzeug's threaded server where it cannot.

One process because state lives in memory; gthread because it serves concurrent clients and, unlike
waitress or granian's WSGI interface, supports WebSocket upgrades (see ARCHITECTURE.md, measured here).
Gunicorn needs ``fcntl`` (POSIX only): on Windows, or wherever it fails to import, ``serve`` says so and
runs Werkzeug's threaded server instead, which flask-sock also supports. Both handle SIGINT/SIGTERM.
Flask and gunicorn are imported only when an app is served: ``pixelmock cost``, ``verify`` and ``demo``
never import gunicorn.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

#: Worker threads of ``pixelmock serve`` on gunicorn: each open Runware WebSocket holds one for its
#: lifetime. The request throughput does not depend on it (8, 16 and 32 measured alike, BENCHMARKS.md).
DEFAULT_THREADS = 32


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a server started next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_urls(app: Flask, root: str) -> dict[str, str]:
    """Provider name -> base URL under ``root`` (e.g. ``http://127.0.0.1:8080``), for the mounted ones."""
    from pixelmock.emulators.app import mounted_providers

    return {p.name: root + p.prefix for p in mounted_providers(app)}


def _announce(app: Flask, root: str) -> None:
    print(f"pixelmock listening on {root} (health: {root}/__health)", flush=True)
    for name, url in base_urls(app, root).items():
        print(f"  {name:<11} {url}", flush=True)


def serve(app: Flask, host: str = "127.0.0.1", port: int = 8080, threads: int = DEFAULT_THREADS) -> None:
    """Run ``app`` until SIGINT/SIGTERM, printing every provider's base URL once listening. ``threads``
    applies to gunicorn; Werkzeug's fallback starts one thread per connection."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # no fcntl (Windows), or gunicorn not installed
        print(
            f"pixelmock: gunicorn cannot run here ({exc}); serving with Werkzeug's threaded server",
            file=sys.stderr,
            flush=True,
        )
        _serve_werkzeug(app, host, port)
        return

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
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
                "when_ready": lambda server: _announce(app, f"http://{host}:{port}"),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Gunicorn().run()


def _serve_werkzeug(app: Flask, host: str, port: int) -> None:
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    _announce(app, f"http://{host}:{server.server_port}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@contextmanager
def running(app: Flask, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a real socket in a background thread (Werkzeug, threaded) for the ``with`` block;
    yields the root URL (``http://127.0.0.1:<port>``; port 0 picks a free one). For tests and tools that
    need a server in-process; ``serve`` is the production server."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
