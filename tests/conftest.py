"""Shared fixtures.

- ``app``: a fresh emulator app per test. A test module may set ``EMULATED_PROVIDERS = ["openai"]`` to
  mount only some providers (default: all five).
- ``twin_apps``: two apps sharing one store, as the workers (or hosts) of one emulator.
- ``live_url``: root URL (``http://127.0.0.1:<port>``) of a real threaded socket server running ``app``;
  stopped after the test.
- ``http``: an ``httpx.Client`` whose base URL is the emulator root, parametrized over the in-process WSGI
  transport and the real socket server, so the same behaviour test runs both ways.
- ``ledger_invariant`` (autouse): after every test, the ledger invariant (``tests/ledger_invariant.py``)
  is checked on every emulator runtime the test built in this process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from flask import Flask
from ledger_invariant import check_ledger

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.runtime import Runtime
from pixelmock.emulators.runtime.store import open_store
from pixelmock.emulators.server import running

#: Every emulator the suite starts (in process, or as a `pixelmock serve` subprocess) runs on this date
#: unless a test sets another: the suite must not change verdict when a model's shutdown date passes
#: (gpt-image-1.5 at OpenAI: 2026-12-01). Lifecycle tests set their dates explicitly.
SUITE_DATE = "2026-11-21"
os.environ.setdefault("PIXELMOCK_TODAY", SUITE_DATE)


@pytest.fixture
def config() -> EmulatorConfig:
    """The emulator config used by ``app`` (override the fixture to change it)."""
    return EmulatorConfig()


@pytest.fixture
def app(request: pytest.FixtureRequest, config: EmulatorConfig) -> Flask:
    return create_app(config, providers=getattr(request.module, "EMULATED_PROVIDERS", None))


@pytest.fixture
def twin_apps(request: pytest.FixtureRequest, config: EmulatorConfig) -> tuple[Flask, Flask]:
    """Two apps sharing one store (``open_store(config.store)``): two workers, or two hosts, of one
    emulator. Whatever one answers, the other must know."""
    store = open_store(config.store, config.max_records)
    providers = getattr(request.module, "EMULATED_PROVIDERS", None)
    # Each app its own copy of the config, as each process of ``pixelmock serve`` reads its own.
    return create_app(replace(config), providers, store), create_app(replace(config), providers, store)


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
