"""Shared fixtures.

- ``app``: a fresh emulator app per test. A test module may set ``EMULATED_PROVIDERS = ["openai"]`` to
  mount only some providers (default: all of them).
- ``twin_apps``: two apps sharing one store, as the workers (or hosts) of one emulator.
- ``store_kind``: ``app`` and ``twin_apps`` are parametrized over the state stores, ``"memory"`` (the
  config's own store) and ``"redis"`` (a real ``redis-server``, ``redis_url``, under a key prefix of its
  own per test), independently of ``config``: every test built on them runs on both.
- ``redis_instance``: a ``redis-server`` started for the session (``tests/support/redis_server.py``: fails
  under ``CI=true`` when it is not installed, skips elsewhere); ``redis_url``: its
  ``redis://127.0.0.1:<port>/0``.
- ``live_url``: root URL (``http://127.0.0.1:<port>``) of a real threaded socket server running ``app``;
  stopped after the test.
- ``http``: an ``httpx.Client`` whose base URL is the emulator root, parametrized over the in-process WSGI
  transport and the real socket server, so the same behaviour test runs both ways (the socket server
  on the memory store only: the transport does not touch the store).
- ``ledger_invariant`` (autouse): after every test, the ledger invariant
  (``tests/support/ledger_invariant.py``) is checked on every emulator runtime the test built in this
  process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpcore  # noqa: F401  # see below
import httpx
import pytest
from flask import Flask
from ledger_invariant import check_ledger
from redis_server import RedisServer, redis_server, redis_stores, require_redis_server

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.store import Store, open_store
from pixelmock.emulators.tools.server import running

# httpx imports httpcore on its first request and keeps httpcore's exception classes from then on. A
# pytester run in process removes the modules first imported inside it when it ends: had that first
# request been made there, a later ``import httpcore`` would make new classes that httpx no longer maps
# (a raw ``httpcore.ConnectError`` instead of ``httpx.ConnectError``). Imported here, before any test,
# httpcore stays (pytest-xdist hands tests to workers in an order where this happened).

#: Every emulator the suite starts (in process, or as a `pixelmock serve` subprocess) runs on this date
#: unless a test sets another: the suite must not change verdict when a model's shutdown date passes
#: (gpt-image-1.5 at OpenAI: 2026-12-01). Lifecycle tests set their dates explicitly.
SUITE_DATE = "2026-11-21"
os.environ.setdefault("PIXELMOCK_TODAY", SUITE_DATE)


@pytest.fixture
def config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """The emulator config used by ``app``: ``EmulatorConfig()`` on the module's ``TODAY`` (a date) if it
    pins one, else the suite's date; or what a test gives by indirect parametrization (an
    ``EmulatorConfig``, or a dict of its fields over those defaults). Override the fixture in a module to
    change it for every test there."""
    given = getattr(request, "param", None)
    if isinstance(given, EmulatorConfig):
        return given
    pinned = getattr(request.module, "TODAY", None)
    return EmulatorConfig(**{**({"today": pinned} if pinned else {}), **(given or {})})


@pytest.fixture
def wsgi(app: Flask) -> Iterator[httpx.Client]:
    """An in-process client of ``app``, for the long parametrized tables (the ``http`` fixture also runs
    every test over a real socket)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
        yield client


#: The state stores ``app`` and ``twin_apps`` run on.
STORES = ["memory", "redis"]


@pytest.fixture(scope="session")
def redis_instance() -> Iterator[RedisServer]:
    """A real ``redis-server`` on a free port of 127.0.0.1 and a Unix socket, for the whole session
    (stopped at its end)."""
    with redis_server(require_redis_server()) as server:
        yield server


@pytest.fixture(scope="session")
def redis_url(redis_instance: RedisServer) -> str:
    """``redis://127.0.0.1:<port>/0`` of the session's ``redis-server``."""
    return redis_instance.url


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """The store ``app`` and ``twin_apps`` run on (not a ``config`` field, so modules overriding
    ``config`` keep it)."""
    return str(request.param)


@pytest.fixture
def open_test_store(
    request: pytest.FixtureRequest, store_kind: str, config: EmulatorConfig
) -> Iterator[Callable[[], Store]]:
    """``() -> Store``: on ``"memory"``, the config's own store (``open_store(config.store)``, a new one
    each call); on ``"redis"``, a new connection to the session's ``redis-server`` under this test's own
    key prefix (each call: another worker of the same emulator; closed after the test)."""
    prefix = f"test-{uuid.uuid4().hex}"
    if store_kind == "memory":
        yield lambda: open_store(config.store, config.max_records)
        return
    with redis_stores(request.getfixturevalue("redis_url")) as open_redis:
        yield lambda: open_redis(prefix, config.max_records)


@pytest.fixture
def app(
    request: pytest.FixtureRequest, config: EmulatorConfig, open_test_store: Callable[[], Store]
) -> Flask:
    return create_app(config, getattr(request.module, "EMULATED_PROVIDERS", None), open_test_store())


@pytest.fixture
def twin_apps(
    request: pytest.FixtureRequest,
    config: EmulatorConfig,
    store_kind: str,
    open_test_store: Callable[[], Store],
) -> tuple[Flask, Flask]:
    """Two apps sharing one store: two workers, or two hosts, of one emulator. Whatever one answers, the
    other must know. On Redis each has its own connection (as two processes would)."""
    providers = getattr(request.module, "EMULATED_PROVIDERS", None)
    first = open_test_store()
    second = first if store_kind == "memory" else open_test_store()
    # Each app its own copy of the config, as each process of ``pixelmock serve`` reads its own.
    return create_app(replace(config), providers, first), create_app(replace(config), providers, second)


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    with running(app) as url:
        yield url


@pytest.fixture(params=["wsgi", "socket"])
def http(request: pytest.FixtureRequest, app: Flask) -> Iterator[httpx.Client]:
    if request.param == "wsgi":
        client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
    else:
        client = httpx.Client(base_url=request.getfixturevalue("live_url"), timeout=30)
    with client:
        yield client


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``http`` fixture's socket transport on the Redis store: it is the same server code
    as the in-process transport, already run on Redis, and the memory store covers the transport."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        redundant = params.get("store_kind") == "redis" and params.get("http") == "socket"
        (dropped if redundant else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(autouse=True)
def ledger_invariant(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Collect the runtimes built during the test; afterwards, check the ledger invariant on each."""
    built: list[Runtime] = []
    original = Runtime.__init__

    def tracked(self: Runtime, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(Runtime, "__init__", tracked)
    yield
    for rt in built:
        check_ledger(rt)
