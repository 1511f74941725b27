"""Serving an emulator app: gunicorn with one gevent worker where gunicorn can run, Werkzeug's threaded
server where it cannot.

Why gevent. A held connection must cost memory, not a thread: a Runware WebSocket stays open up to its
120 s idle timeout, and a slow client can take as long as it likes to send its request. With one thread
per connection (gunicorn ``gthread``, 32 threads, before issue 13) 32 idle WebSockets or 40 slow clients
left every provider and ``/__admin/`` without an answer. gunicorn's gevent worker serves each connection
in a greenlet, and flask-sock/simple-websocket run their WebSockets on it: with 1,000 idle WebSockets
and 100 slow clients held, REST answers keep a p99 under 100 ms (the gthread worker answered nothing),
at about 45 kB per held connection. On a quiet machine it serves 1.2-1.5x the gthread worker's requests
on the cheap mixes; image rendering runs on gevent's native thread pool (``runtime/images.py``) so PNG
encoding keeps both cores busy (BENCHMARKS.md, "Held connections", with the throughput before and after).

Workers. ``workers`` (``pixelmock serve --workers N``) gunicorn processes accept on the one listening
socket; the kernel hands each connection to one of them. They act as one emulator only on a shared store
(``--store redis://...``: ``runtime/store.py``), which ``pixelmock serve`` checks
(``settings.check_workers``); ``serve`` itself serves any app, e.g. the stateless benchmark baseline.
gunicorn's master never builds the app: each worker builds its own after the fork (``preload_app`` off),
so every store connection a worker uses was opened in that worker, after gevent's patching, and none is
shared across a fork (redis-py's connections are sockets: two processes writing to one would mix their
replies). The announcement and the port file come from the first worker once it is ready.

gevent patches the standard library (``threading``, ``socket``, ``time.sleep``) in the worker, after
gunicorn forks it. Everything the app creates must come after that patch: a ``threading.Lock`` made
before it is an OS lock that blocks the whole event loop when a greenlet waits on it (the scheduler's
tick lock is held across webhook deliveries), and an ``RLock`` made before it cannot tell greenlets
apart. So :func:`serve` takes a factory and builds the app in the worker, after patching; the background
ticker starts with the first request, so it is a greenlet too.

Slow clients. gunicorn's gevent worker reads a request's head under a deadline (here ``read_timeout``
seconds, which also closes a kept-alive connection idle that long); this module's worker then reads the
body, up to the app's ``MAX_CONTENT_LENGTH`` plus one byte, under the same deadline before the app sees
the request. A client that misses either deadline has its connection closed without
an answer. That is pixelmock's choice, not a provider's documented behaviour: no provider documents what
it does with a client that dribbles its request; nginx, the common front server, ends such requests by
closing the connection (its 408 goes to its log, not to the client). WebSockets are not affected: once
upgraded, a connection is Runware's, with its own idle timeout (``emulators/providers/runware/sessions.py``).

Gunicorn needs ``fcntl`` (POSIX only): on Windows, or wherever gunicorn or gevent fails to import,
``serve`` says so and runs Werkzeug's threaded server instead (one process, one thread per connection,
no read deadline; ``workers`` > 1 is refused there), which flask-sock also supports. Both stop on
SIGINT (Ctrl-C) and SIGTERM with status 0 and no traceback; gunicorn's worker exits at once, without a
grace period for open connections (about 0.5 s in all, measured with a kept-alive connection open).
Flask, gunicorn and gevent are imported only when an app is served: ``pixelmock cost``,
``verify`` and ``demo`` never import them.
"""

from __future__ import annotations

import errno
import math
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pixelmock.emulators.config.settings import DEFAULT_CONNECTIONS, DEFAULT_READ_TIMEOUT
from pixelmock.emulators.tools.tls import TlsFiles
from pixelmock.emulators.web.context import BoundedBody, OversizedBody, read_bounded

if TYPE_CHECKING:
    from flask import Flask

#: Builds the app to serve; called once, in the process (and after the patching) that serves it.
AppFactory = Callable[[], "Flask"]

#: Listen backlog (gunicorn's default): connections waiting to be accepted.
BACKLOG = 2048

_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


class WorkersUnsupported(RuntimeError):
    """``serve(workers=N)`` with N > 1 where gunicorn cannot run: Werkzeug's fallback serves from one
    process. ``pixelmock serve`` prints its message and exits with status 2."""


class PortInUse(OSError):
    """The address ``host``:``port`` is taken by another socket (``EADDRINUSE``), found when binding,
    before anything is served. ``pixelmock serve`` prints its message and exits with status 2."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"port {port} on {host} is already in use")
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return f"port {self.port} on {self.host} is already in use; choose another with --port"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for a server started next)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_urls(app: Flask, root: str) -> dict[str, str]:
    """Provider name -> base URL under ``root`` (e.g. ``http://127.0.0.1:8080``), for the mounted ones."""
    from pixelmock.emulators.app import mounted_providers

    return {p.name: root + p.prefix for p in mounted_providers(app)}


def serve(
    factory: AppFactory,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    connections: int = DEFAULT_CONNECTIONS,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    port_file: str | os.PathLike[str] | None = None,
    workers: int = 1,
    tls: TlsFiles | None = None,
) -> None:
    """Serve the app ``factory()`` builds on ``host``:``port`` until SIGINT/SIGTERM. Port 0 picks a free
    port. Once the app answers, prints every provider's base URL (with the real port) and, with
    ``port_file``, writes the port there (decimal digits and a newline, written whole: a script may poll
    for the file); the file is removed when the server stops.

    ``connections`` (open at once, per worker), ``read_timeout`` (seconds for a request's head, and again
    for its body; a slower client's connection is closed unanswered) and ``workers`` (processes, each
    calling ``factory`` after its fork) apply to gunicorn; Werkzeug's fallback starts one thread per
    connection in this one process and has no read deadline. With ``tls`` (``tools/tls.py``) it serves
    HTTPS on the port, and answers name ``https://`` URLs.

    Raises :class:`PortInUse` at once when the port is taken (gunicorn would retry for 5 s),
    ``OSError`` for other bind failures (an address not on this host), and
    :class:`WorkersUnsupported` when ``workers`` > 1 and gunicorn cannot run."""
    listener = _listen(host, port)
    serving_pid = os.getpid()  # gunicorn's workers leave this function too, when they exit
    scheme = "http" if tls is None else "https"
    root = f"{scheme}://{_url_host(host)}:{listener.getsockname()[1]}"
    try:
        try:
            from gunicorn.app.base import BaseApplication
            from gunicorn.workers.ggevent import GeventWorker
        except (ImportError, RuntimeError) as exc:  # no fcntl (Windows), no gunicorn, no usable gevent
            if workers > 1:
                raise WorkersUnsupported(
                    f"{workers} workers need gunicorn, which cannot run here ({exc}); serve with --workers 1"
                ) from None
            print(
                f"pixelmock: gunicorn cannot run here ({exc}); serving with Werkzeug's threaded server",
                file=sys.stderr,
                flush=True,
            )
            _serve_werkzeug(factory(), listener, root, port_file, tls)
            return
        _raise_fd_limit(connections + 64)
        fd = listener.detach()  # gunicorn takes the bound socket over (``fd://``) and closes this fd
        built: list[Flask] = []

        def announce_once(worker: Any) -> None:
            if worker.age == 1:  # gunicorn numbers the workers it spawns from 1: the first, once ready
                _announce(built[0], root, port_file)

        class Gunicorn(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                options = {
                    "bind": f"fd://{fd}",
                    "workers": workers,
                    "worker_class": _worker_class(GeventWorker, read_timeout),
                    "worker_connections": connections,
                    "keepalive": max(1, math.ceil(read_timeout)),  # on; the worker applies read_timeout
                    "timeout": 120,
                    "graceful_timeout": 5,
                    "accesslog": None,
                    "errorlog": "-",
                    "loglevel": "warning",
                    "post_worker_init": announce_once,
                }
                if tls is not None:
                    options.update(certfile=str(tls.cert), keyfile=str(tls.key))
                if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 25: one shared path
                    options["control_socket_disable"] = True
                for key, value in options.items():
                    self.cfg.set(key, value)

            def load(self) -> Flask:
                _return_large_blocks()
                built.append(factory())  # in the worker, after gevent's patching
                return built[0]

        Gunicorn().run()
    finally:
        listener.close()
        if port_file is not None and os.getpid() == serving_pid:
            Path(port_file).unlink(missing_ok=True)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as exc:
        if exc.errno in _IN_USE:
            raise PortInUse(host, port) from exc
        raise


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


#: glibc's ``mallopt`` parameter for the mmap threshold, and the threshold set: 128 KiB, glibc's own
#: starting value (``mallopt(3)``).
_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES = -3, 128 * 1024


def _return_large_blocks() -> bool:
    """On glibc, fix the mmap threshold at 128 KiB in this worker, so every allocation of that size or
    more (base64 results, request bodies, uploads' bytes) is mapped on its own and handed back to the
    OS when freed; ``False`` (nothing changed) elsewhere, or when ``MALLOC_MMAP_THRESHOLD_`` already
    sets it. glibc otherwise raises the threshold each time such a block is freed (up to 32 MiB), after
    which blocks of a few hundred kB come from the heap, whose freed holes stay resident: a served worker
    under issue 28's soak (large results evicted by their budget) held 380 MiB instead of 444 after 575
    requests (BENCHMARKS.md, "Performance and the shared store, round 2")."""
    import ctypes

    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):  # musl and others: their own allocators
            return False
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def _raise_fd_limit(wanted: int) -> None:
    """Raise this process's soft limit on open files to ``wanted`` (at most the hard limit): each held
    connection is a file descriptor, and the common soft limit is 1,024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _worker_class(base: type, read_timeout: float) -> type:
    """gunicorn's gevent worker, reading each request's body (``read_bounded`` by the app's
    ``MAX_CONTENT_LENGTH``, handed over as a ``BoundedBody``; a larger one is dropped as read and handed
    over as an ``OversizedBody``) within ``read_timeout`` seconds before the app is called; a client
    that misses the deadline has its connection closed unanswered."""
    import warnings

    import gevent
    import gevent.monkey

    class Worker(base):  # type: ignore[misc]
        alive: bool  # gunicorn's: whether the worker goes on serving

        def patch(self) -> None:
            with warnings.catch_warnings():
                # gevent warns because redis.asyncio (imported with redis when the master opened the
                # store, never used here) holds names from ssl; the sync client pixelmock uses reads ssl's
                # attributes when it connects (ssl.create_default_context), so it gets the patched ones.
                warnings.filterwarnings(
                    "ignore", "Monkey-patching ssl after ssl", gevent.monkey.MonkeyPatchWarning
                )
                super().patch()

        def run(self) -> None:
            self._main = gevent.getcurrent()  # the greenlet a stop ends (it sleeps between checks)
            super().run()

        def handle_quit(self, sig: int, frame: FrameType | None) -> None:  # SIGINT, SIGQUIT
            self._stop()

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # SIGTERM
            self._stop()

        def _stop(self) -> None:
            # gunicorn's gevent worker calls sys.exit(0) in a spawned greenlet on SIGINT/SIGQUIT: the
            # SystemExit ends only that greenlet, gevent prints its traceback, and the worker goes on
            # until its 1 s loop and the open connections' grace have passed (benoitc/gunicorn#3239).
            # Here a stop raises SystemExit(0) in the worker's main greenlet instead, from a greenlet
            # (a signal handler must not switch): the worker exits at once, as gunicorn's sync worker
            # does on SIGQUIT. An emulator holds nothing worth a grace period; SIGTERM does the same.
            if not self.alive:
                return
            self.alive = False
            self.cfg.worker_int(self)
            main = getattr(self, "_main", None)
            if main is not None and not main.dead:
                gevent.spawn(main.throw, SystemExit(0))

        def timeout_ctx(self) -> Any:  # the deadline of a request's head (and of a kept-alive wait)
            return gevent.Timeout(read_timeout, False)

        def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
            limit = self.wsgi.config.get("MAX_CONTENT_LENGTH")
            declared = next((int(v) for k, v in req.headers if k == "CONTENT-LENGTH"), None)
            if limit is None or declared is None or declared <= limit:  # larger ones are refused unread
                expects = any(k == "EXPECT" and v.lower() == "100-continue" for k, v in req.headers)
                if expects and req.version >= (1, 1):
                    # The client waits for this before sending the body (RFC 9110 §10.1.1); gunicorn
                    # would send it when the app starts, too late here and not twice.
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    req.headers = [(k, v) for k, v in req.headers if k != "EXPECT"]
                    req._expected_100_continue = False  # newer gunicorn reads this, older the header
                data: bytes | None = None
                done = False
                with gevent.Timeout(read_timeout, False):
                    data = req.body.read() if limit is None else read_bounded(req.body, limit)
                    done = True
                if not done:  # the deadline passed
                    raise StopIteration  # gunicorn closes the connection (as flask-sock does)
                req.body = OversizedBody() if data is None else BoundedBody(data)
            super().handle_request(listener_name, req, sock, addr)

    return Worker


def _announce(app: Flask, root: str, port_file: str | os.PathLike[str] | None) -> None:
    print(f"pixelmock listening on {root} (inspector: {root}/__admin/ui, health: /__health)", flush=True)
    for name, url in base_urls(app, root).items():
        print(f"  {name:<11} {url}", flush=True)
    if port_file is not None:
        path = Path(port_file)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(f"{root.rpartition(':')[2]}\n")
        partial.replace(path)


def _serve_werkzeug(
    app: Flask,
    listener: socket.socket,
    root: str,
    port_file: str | os.PathLike[str] | None,
    tls: TlsFiles | None = None,
) -> None:
    from werkzeug.serving import make_server

    host, port = listener.getsockname()[:2]
    context = None if tls is None else (str(tls.cert), str(tls.key))
    server = make_server(host, port, app, threaded=True, fd=listener.fileno(), ssl_context=context)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    _announce(app, root, port_file)
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
