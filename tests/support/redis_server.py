"""A real ``redis-server`` for the tests: on a free port of 127.0.0.1, in a temporary directory, without
persistence, stopped when done.

Where ``redis-server`` is not installed the tests that need it fail under ``CI=true`` (CI installs
Debian's package: ``.ci/run``) and are skipped with that reason elsewhere.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from pixelmock.emulators.core.store import open_store
from pixelmock.emulators.core.store.redis import RedisStore

#: Where Debian's package installs it; else whatever ``PATH`` finds.
CANDIDATES = ("/usr/bin/redis-server",)
MISSING = "redis-server is not installed (Debian: apt-get install redis-server); the Redis store is untested"


def find_redis_server() -> str | None:
    """The ``redis-server`` executable, or ``None``."""
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("redis-server")


def require_redis_server() -> str:
    """The executable; when missing, fails the test under ``CI=true`` and skips it otherwise."""
    found = find_redis_server()
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return found


@dataclasses.dataclass(frozen=True)
class RedisServer:
    """A running server's URLs: ``url`` (``redis://127.0.0.1:<port>/0``) and ``unix_url``
    (``unix://<temp dir>/redis.sock?db=0``)."""

    url: str
    unix_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(executable: str, port: int, workdir: str, *extra: str) -> list[str]:
    """A ``redis-server`` on 127.0.0.1:``port`` and a unix socket in ``workdir``, without persistence."""
    command = [executable, "--bind", "127.0.0.1", "--port", str(port), "--dir", workdir]
    command += ["--unixsocket", os.path.join(workdir, "redis.sock"), "--unixsocketperm", "700"]
    return [
        *command,
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "yes",
        "--daemonize",
        "no",
        *extra,
    ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def redis_server(executable: str, attempts: int = 3) -> Iterator[RedisServer]:
    """Run ``executable`` until the block ends; yields its addresses. Raises ``RuntimeError`` when it
    does not start (its output in the message)."""
    with tempfile.TemporaryDirectory(prefix="pixelmock-redis-") as workdir:
        for _ in range(attempts):  # a free port may be taken by someone else before the server binds it
            port = _free_port()
            log = open(os.path.join(workdir, "redis.log"), "w+b")  # noqa: SIM115 (closed below)
            process = subprocess.Popen(
                _command(executable, port, workdir), stdout=log, stderr=subprocess.STDOUT
            )
            try:
                url = f"redis://127.0.0.1:{port}/0"
                if _wait_ready(url, process):
                    yield RedisServer(url, f"unix://{os.path.join(workdir, 'redis.sock')}?db=0")
                    return
            finally:
                _stop(process)
                log.seek(0)
                output = log.read().decode(errors="replace")
                log.close()
        raise RuntimeError(f"redis-server did not start:\n{output}")


class OwnRedis:
    """A ``redis-server`` of one test's own, which the test stops and starts again on the same port
    (``stop``, ``start``; its data is lost, as without persistence). ``extra``: more server options
    (``--maxmemory 2mb``). Use as a context manager: stopped when the block ends."""

    def __init__(self, executable: str, *extra: str) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="pixelmock-redis-")
        self._argv = _command(executable, _free_port(), self._workdir.name, *extra)
        self.url = f"redis://127.0.0.1:{self._argv[4]}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server; raises ``RuntimeError`` when it does not answer ``PING``."""
        self._process = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not _wait_ready(self.url, self._process):
            self.stop()
            raise RuntimeError(f"redis-server did not start: {' '.join(self._argv)}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self._process is not None:
            _stop(self._process)
            self._process = None

    def __enter__(self) -> OwnRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._workdir.cleanup()


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 10.0) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and process.poll() is None:
            try:
                return bool(client.ping())
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        return False
    finally:
        client.close()


@contextlib.contextmanager
def redis_stores(url: str) -> Iterator[Callable[[str, int | None], RedisStore]]:
    """``(prefix, max_records) -> RedisStore``: new connections to the Redis at ``url`` (each one another
    process's view of the store under ``prefix``), all closed when the block ends."""
    opened: list[RedisStore] = []

    def open_one(prefix: str, max_records: int | None) -> RedisStore:
        store = open_store(f"{url}?prefix={prefix}", max_records)
        assert isinstance(store, RedisStore)
        opened.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in opened:
            store.client.close()
