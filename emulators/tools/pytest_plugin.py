"""pixelmock's pytest plugin: the emulators, their control plane and SDK wiring as fixtures.

Installed with pixelmock through the ``pytest11`` entry point (or load it with
``-p pixelmock.emulators.tools.pytest_plugin``). Every fixture is function-scoped and every test gets a fresh
emulator app, so no state (jobs, balances, clock, journal) leaks from one test to the next. The socket
server is started once per session, on a free port of 127.0.0.1, and serves the current test's app.

- ``pixelmock_config``: the ``EmulatorConfig`` of the test's app; ``@pytest.mark.pixelmock(**fields)``
  sets its fields (``today="2026-12-02"``, ``options={"apiframe.polls_to_complete": 3}``...), or
  override the fixture.
- ``pixelmock_app``: the Flask app, in process (``@pytest.mark.pixelmock(providers=["openai"])`` mounts
  only some providers).
- ``pixelmock_server``: a ``PixelmockServer`` (``url``, ``base_url(provider)``, ``base_urls``) serving
  ``pixelmock_app`` on a real socket.
- ``pixelmock_admin``: a ``PixelmockAdmin`` (``pixelmock.emulators.admin.client``), the control plane
  of ``pixelmock_app``: reset, clock, journal, ledger, balances, keys, fault rules, webhook deliveries,
  latency profile.
- ``pixelmock_receiver``: a ``WebhookReceiver`` on a free port of 127.0.0.1 that records every request
  the emulator sends it (webhooks, uploads) and can answer failures first; stopped after the test.
- ``pixelmock_api_key``: the API key ``pixelmock_env`` exports (``"pixelmock-test-key"``).
- ``pixelmock_env``: points the SDKs at ``pixelmock_server`` through the environment variables the
  provider registry lists for them (``contracts/data/providers.yaml``: ``OPENAI_BASE_URL``,
  ``CLOUDFLARE_BASE_URL``, ``GMI_BASE_URL``, their keys, ``RUNWARE_API_KEY``) and exports ``PIXELMOCK_URL``
  and ``PIXELMOCK_<PROVIDER>_BASE_URL``.

Settings of the plugin (``pytest --help``, group "pixelmock"):

- ini keys ``pixelmock_<field>`` for every ``EmulatorConfig`` field (``pixelmock_today = 2026-11-30``,
  ``pixelmock_options = apiframe.polls_to_complete=3``), parsed as ``pixelmock.toml``'s values; a marker
  wins over them, ``$PIXELMOCK_TODAY`` over ``pixelmock_today``.
- ``--pixelmock-url URL`` (ini ``pixelmock_url``): ``pixelmock_server``, ``pixelmock_admin`` and
  ``pixelmock_env`` use the server at URL (``pixelmock serve``, a container), reset through its admin API
  before and after each test; a marker's ``today`` sets its clock and its other fields go through
  ``PUT /__admin/settings`` (run-time settings only) and are put back; ``pixelmock_app`` fails there.
  When URL is a recording ``pixelmock proxy``, each test's exchanges are recorded as one session named
  after the test's node id (``PUT /__admin/session``: ``<record_dir>/sessions/<node id>.yaml``, the
  characters a file name cannot hold replaced by ``-``).
- A guard, on by default, refuses lookups of the real providers' hosts during the session
  (``RealHostGuard``); ``--pixelmock-allow-real-hosts`` (ini ``pixelmock_allow_real_hosts = true``) lets
  them through.

The bill of the run: when a session used ``pixelmock_app``, the terminal summary ends with what its
requests would have cost at the providers, per provider and model (requests, images, USD or credits as
each provider bills): the sum of each test app's bill (``PixelmockAdmin.bill``), read when the test ends.
Under pytest-xdist each worker sends its bill to the controller, which prints the sum.
``--no-pixelmock-bill`` leaves it out. The apps' access log goes to pytest's log capture (shown with a
failing test's output, or live with ``--log-cli-level=INFO``), not to the terminal.

Loading this module (pytest does, in every session of an environment where pixelmock is installed) imports
pytest and the standard library only; Flask, httpx and the emulators are imported when a fixture is first
used (``tests/tools/test_plugin.py`` checks it; ``python -m benchmarks.plugin_load`` measures it).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from pixelmock.emulators.admin.client import Bill, PixelmockAdmin

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

    from pixelmock.emulators.config import EmulatorConfig

__all__ = [
    "DEFAULT_API_KEY",
    "PixelmockServer",
    "ReceivedRequest",
    "WebhookReceiver",
    "sdk_cleared",
    "sdk_environment",
]

#: The key ``pixelmock_api_key`` gives (any key is accepted by default).
DEFAULT_API_KEY = "pixelmock-test-key"

_KEY_SETS = ("invalid_keys", "inactive_keys", "api_keys", "outbound_hosts")


def sdk_environment() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """provider -> (base URL variables, API key variables) its SDKs read, from the provider registry
    (``contracts/data/providers.yaml``, each with its source); empty where they read none. Read when a
    fixture needs it: loading the plugin does not load the registry (nor PyYAML)."""
    from pixelmock.contracts.providers import entries

    return {entry.name: (entry.base_url_env, entry.api_key_env) for entry in entries()}


def sdk_cleared() -> tuple[str, ...]:
    """The variables ``pixelmock_env`` removes: credentials an SDK would use instead of its key variable
    (the cloudflare SDK's e-mail and global key), from the provider registry."""
    from pixelmock.contracts.providers import entries

    return tuple(name for entry in entries() for name in entry.cleared_env)


def __getattr__(name: str) -> Any:
    # The former constants, kept for their users: SDK_ENVIRONMENT (provider -> (base URL variable, key
    # variable) of its first SDK, None where it reads none) and SDK_CLEARED, read from the registry.
    if name == "SDK_ENVIRONMENT":
        return {p: (b[0] if b else None, k[0] if k else None) for p, (b, k) in sdk_environment().items()}
    if name == "SDK_CLEARED":
        return sdk_cleared()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The session's bill (the sum of every finished test app's) and how many apps it adds up.
_BILL = pytest.StashKey[tuple[Bill, int]]()


#: The ini key (``pytest.ini``, ``[tool.pytest.ini_options]``...) of each ``EmulatorConfig`` field.
INI_PREFIX = "pixelmock_"

#: The key of a worker's bill in pytest-xdist's ``workeroutput`` (sent to the controller).
_WORKER_BILL = "pixelmock_bill"


def pytest_addoption(parser: pytest.Parser) -> None:
    from dataclasses import fields

    from pixelmock.emulators.config import SETTING, EmulatorConfig  # standard library only

    group = parser.getgroup("pixelmock")
    group.addoption(
        "--no-pixelmock-bill",
        action="store_true",
        default=False,
        help="do not print what the session's pixelmock requests would have cost",
    )
    group.addoption(
        "--pixelmock-url",
        default=None,
        metavar="URL",
        help="run the fixtures against the pixelmock server at URL (pixelmock serve, a container) instead "
        "of an app in process; reset through its admin API around each test [ini: pixelmock_url]",
    )
    group.addoption(
        "--pixelmock-allow-real-hosts",
        action="store_true",
        default=None,
        help="let tests connect to the real providers' hosts (refused by default) "
        "[ini: pixelmock_allow_real_hosts]",
    )
    parser.addini("pixelmock_url", "the URL of a running pixelmock server the fixtures use (--pixelmock-url)")
    parser.addini(
        "pixelmock_allow_real_hosts",
        "let tests connect to the real providers' hosts (true/false; default false)",
        type="bool",
        default=False,
    )
    for item in fields(EmulatorConfig):
        parser.addini(
            INI_PREFIX + item.name,
            f"pixelmock: {item.metadata[SETTING].help} (as in pixelmock.toml; a marker overrides it)",
            default="",
        )


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The session's bill (see the module docstring), when a test used an emulator; under pytest-xdist
    the sum of every worker's."""
    if _BILL not in config.stash or config.getoption("no_pixelmock_bill"):
        return
    bill, apps = config.stash[_BILL]
    terminalreporter.write_sep("=", "pixelmock bill")
    tests = "1 test app" if apps == 1 else f"{apps} test apps"
    if not bill.rows:
        terminalreporter.write_line(f"{tests}: no request was charged")
        return
    terminalreporter.write_line(f"what the requests of {tests} would have cost at the providers (ledger)")
    for line in bill.table():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker sends its bill to the controller (``workeroutput``)."""
    config = session.config
    output = getattr(config, "workeroutput", None)
    if output is not None and _BILL in config.stash:
        bill, apps = config.stash[_BILL]
        output[_WORKER_BILL] = {"apps": apps, **bill.to_json()}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist's controller adds each worker's bill to the session's."""
    sent = getattr(node, "workeroutput", {}).get(_WORKER_BILL)
    if sent:
        _add_bill(node.config, Bill.from_json(sent), int(sent["apps"]))


def _add_bill(config: pytest.Config, bill: Bill, apps: int = 1) -> None:
    total, counted = config.stash.get(_BILL, (Bill(), 0))
    config.stash[_BILL] = (total + bill, counted + apps)


def _add_to_bill(config: pytest.Config, app: Flask) -> None:
    from pixelmock.emulators.admin.routes import bill_json

    _add_bill(config, Bill.from_json(bill_json(app.extensions["pixelmock"].bill.rows())))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pixelmock(providers=None, **config): settings of the test's pixelmock emulator app "
        "(providers to mount; EmulatorConfig fields such as today, options, starting_balances)",
    )
    allowed = config.getoption("pixelmock_allow_real_hosts")
    if not (allowed if allowed is not None else config.getini("pixelmock_allow_real_hosts")):
        guard = RealHostGuard()
        guard.install()
        config.stash[_GUARD] = guard
        config.add_cleanup(guard.uninstall)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A test that tried a real provider's host fails with the guard's message, even when the code under
    test caught the connection error (an SDK retrying, a broad ``except``)."""
    guard = item.config.stash.get(_GUARD, None)
    before = len(guard.refused) if guard is not None else 0
    result = yield
    if guard is not None and len(guard.refused) > before:
        pytest.fail(guard.refused[before], pytrace=False)
    return result


# --------------------------------------------------------------------------------------------------------
# The guard against the real providers


class RealProviderRefused(ConnectionRefusedError):
    """A test tried to resolve a real provider's host (``api.openai.com``...) while pixelmock's guard was
    on: the client was not pointed at the emulator."""


class RealHostGuard:
    """Refuses name lookups (``socket.getaddrinfo``, which every client's connect goes through: httpx,
    requests, aiohttp, websockets, asyncio) of the real providers' hosts, from the provider registry's real
    base URLs (``contracts/data/providers.yaml``, read at the first lookup), with a
    ``RealProviderRefused`` that names pixelmock and the way out; every refusal is kept in ``refused``.
    No connection is attempted and nothing leaves the machine."""

    def __init__(self) -> None:
        import socket

        self._socket = socket
        self._original = socket.getaddrinfo
        self._hosts: dict[str, str] | None = None
        self.refused: list[str] = []

    def hosts(self) -> dict[str, str]:
        """Host name -> provider name, of every provider's real base URL."""
        if self._hosts is None:
            from urllib.parse import urlsplit

            from pixelmock.contracts.providers import entries

            self._hosts = {str(urlsplit(e.base_url.value).hostname).lower(): e.name for e in entries()}
        return self._hosts

    def install(self) -> None:
        """Replace ``socket.getaddrinfo`` with the guarded lookup."""
        original = self._original

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if isinstance(name, str) and _may_be_remote(name) and name.lower().rstrip(".") in self.hosts():
                message = self.message(name.lower().rstrip("."))
                self.refused.append(message)
                raise RealProviderRefused(message)
            return original(host, *args, **kwargs)

        self._socket.getaddrinfo = getaddrinfo

    def uninstall(self) -> None:
        """Put the original ``socket.getaddrinfo`` back."""
        self._socket.getaddrinfo = self._original

    def message(self, host: str) -> str:
        """Why the connection to ``host`` was refused and what to do."""
        provider = self.hosts()[host]
        return (
            f"pixelmock refused a connection to {host} ({provider}'s real API) during a test: point the "
            f"client at the emulator (the pixelmock_env fixture sets the SDKs' variables, or pass "
            f"pixelmock_server.base_url({provider!r})); to reach the real provider on purpose, run with "
            f"--pixelmock-allow-real-hosts or set pixelmock_allow_real_hosts = true in the pytest ini"
        )


_GUARD = pytest.StashKey[RealHostGuard]()


def _may_be_remote(name: str) -> bool:
    """Whether a looked-up name could be a provider's host: not ``localhost`` nor an address literal (the
    common loopback lookups pass without loading the provider registry)."""
    return name not in ("", "localhost") and ":" not in name and not name.replace(".", "").isdigit()


# --------------------------------------------------------------------------------------------------------
# A webhook receiver


@dataclass(frozen=True)
class ReceivedRequest:
    """One request a ``WebhookReceiver`` got: ``method``, ``path`` (with the query), ``headers`` (names
    as sent), the raw ``body`` and the ``status`` it was answered with."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        """The body parsed as JSON."""
        import json

        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header's value, by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 (a free port) that records every request and answers 200, or first
    the statuses queued with ``fail_next``. ``url`` is its root; any path is accepted."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[ReceivedRequest] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    status = receiver._failures.pop(0) if receiver._failures else 200
                    receiver.requests.append(
                        ReceivedRequest(self.command, self.path, dict(self.headers.items()), body, status)
                    )
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = do_GET = _record

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (then 200 again)."""
        with self._lock:
            self._failures.extend([status] * count)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        """Wait (real time) until ``count`` requests have arrived; returns them all. Raises
        ``TimeoutError`` when they do not arrive in time."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"{len(self.requests)} of {count} requests arrived in {timeout} s")
            return list(self.requests)

    def close(self) -> None:
        """Stop the server."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------------
# The socket server


@dataclass(frozen=True)
class PixelmockServer:
    """A running emulator: ``url`` is its root (``http://127.0.0.1:<port>``), ``app`` the Flask app it
    serves (None for the server of ``--pixelmock-url``), ``base_urls`` each mounted provider's base URL
    (``{"openai": ".../openai/v1", ...}``)."""

    url: str
    app: Flask | None
    base_urls: dict[str, str] = field(default_factory=dict)

    def base_url(self, provider: str) -> str:
        """The base URL of ``provider`` (raises ``KeyError`` if it is not mounted)."""
        return self.base_urls[provider]


class _Listener:
    """One threaded Werkzeug server for the session; it serves whatever app is current (503 otherwise)."""

    def __init__(self) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass

        self.app: WSGIApplication | None = None
        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="pixelmock-server",
        )
        self._thread.start()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.app
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": "no pixelmock app is being served (no test is using pixelmock_server)"}']
        return app(environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------------------------------------
# Fixtures


def _marker_kwargs(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("pixelmock")
    return dict(marker.kwargs) if marker is not None else {}


def _ini_config(config: pytest.Config) -> dict[str, object]:
    """The ``EmulatorConfig`` fields set by ``pixelmock_<field>`` ini keys, parsed as ``pixelmock.toml``'s
    values are (maps add to the default map); ``$PIXELMOCK_TODAY`` wins over ``pixelmock_today`` as it
    does over the config file of ``pixelmock serve``. Raises ``pytest.UsageError`` for a bad value."""
    from pixelmock.emulators.config import EmulatorConfig
    from pixelmock.emulators.config.settings import SettingError, parse_from, settings

    values: dict[str, object] = {}
    for spec in settings():
        raw = str(config.getini(INI_PREFIX + spec.name)) if spec.owner is EmulatorConfig else ""
        if not raw.strip() or (spec.name == "today" and os.environ.get(spec.env, "").strip()):
            continue
        try:
            values[spec.name] = spec.over_default(
                parse_from(spec, raw, f"pytest ini: {INI_PREFIX}{spec.name}")
            )
        except SettingError as exc:
            raise pytest.UsageError(str(exc)) from None
    return values


def _remote_url(config: pytest.Config) -> str | None:
    """``--pixelmock-url``, else the ``pixelmock_url`` ini key, else None (fixtures run in process)."""
    url = config.getoption("pixelmock_url") or str(config.getini("pixelmock_url")).strip()
    return url.rstrip("/") or None


@pytest.fixture
def pixelmock_config(request: pytest.FixtureRequest) -> EmulatorConfig:
    """The test app's ``EmulatorConfig``: defaults, then the ``pixelmock_<field>`` ini keys, then the
    fields given to ``@pytest.mark.pixelmock`` (``today`` may be an ISO date string; key lists may be any
    iterable)."""
    from pixelmock.emulators.config import EmulatorConfig

    fields = {**_ini_config(request.config), **_marker_kwargs(request)}
    fields.pop("providers", None)
    if isinstance(fields.get("today"), str):
        fields["today"] = dt.date.fromisoformat(fields["today"])
    for name in _KEY_SETS:
        if name in fields:
            fields[name] = frozenset(fields[name])
    if fields.get("webhook_retry_schedule") is not None:
        fields["webhook_retry_schedule"] = tuple(fields["webhook_retry_schedule"])
    if "starting_balances" in fields:
        fields["starting_balances"] = {c: Decimal(str(v)) for c, v in fields["starting_balances"].items()}
    try:
        return EmulatorConfig(**fields)
    except TypeError as exc:
        raise pytest.UsageError(f"@pytest.mark.pixelmock: {exc}") from exc


@pytest.fixture
def pixelmock_app(request: pytest.FixtureRequest, pixelmock_config: EmulatorConfig) -> Iterator[Flask]:
    """A fresh emulator app for this test (in process); its bill is added to the session's when the
    test ends."""
    from pixelmock.emulators.app import create_app

    remote = _remote_url(request.config)
    if remote is not None:
        pytest.fail(
            f"pixelmock_app is an app in process, and this run uses the server at {remote} "
            "(--pixelmock-url): use pixelmock_server, pixelmock_admin or pixelmock_env",
            pytrace=False,
        )
    app = create_app(pixelmock_config, providers=_marker_kwargs(request).get("providers"))
    yield app
    _add_to_bill(request.config, app)


@pytest.fixture(scope="session")
def _pixelmock_listener() -> Iterator[_Listener]:
    listener = _Listener()
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def _pixelmock_remote(request: pytest.FixtureRequest) -> Iterator[PixelmockAdmin | None]:
    """With ``--pixelmock-url``: the control plane of that server, reset before and after the test, with
    the marker's settings applied for the test (``today`` as the clock's date, the others through
    ``PUT /__admin/settings``: only those that can change at run time) and put back after it; the
    test's bill is added to the session's. Else None."""
    url = _remote_url(request.config)
    if url is None:
        yield None
        return
    from pixelmock.emulators.admin.client import PixelmockAdminError

    admin = PixelmockAdmin.for_url(url)
    fields = _marker_kwargs(request)
    fields.pop("providers", None)
    today = fields.pop("today", None)
    before = admin.settings()
    admin.reset()
    proxy = admin.is_proxy()
    if proxy:  # a recording proxy: this test's exchanges are one session, named after the test
        admin.set_session(request.node.nodeid)
    try:
        if fields:
            admin.set_settings(**fields)
        if today is not None:
            admin.set_date(today)
    except PixelmockAdminError as exc:
        admin.close()
        pytest.fail(f"@pytest.mark.pixelmock on the server at {url}: {exc}", pytrace=False)
    try:
        yield admin
    finally:
        _add_bill(request.config, admin.bill())
        if fields:
            admin.set_settings(**{name: before[name] for name in fields})
        if proxy:
            admin.set_session(None)
        admin.reset()
        admin.close()


@pytest.fixture
def pixelmock_server(
    request: pytest.FixtureRequest, _pixelmock_remote: PixelmockAdmin | None
) -> Iterator[PixelmockServer]:
    """``pixelmock_app`` on a real socket of 127.0.0.1 (the session's port); with ``--pixelmock-url``, that
    server (``app`` is then None)."""
    from pixelmock.emulators.tools.server import base_urls

    if _pixelmock_remote is not None:
        url = _pixelmock_remote.root
        prefixes = _pixelmock_remote.health()["providers"]
        yield PixelmockServer(url=url, app=None, base_urls={name: url + p for name, p in prefixes.items()})
        return
    listener: _Listener = request.getfixturevalue("_pixelmock_listener")
    app: Flask = request.getfixturevalue("pixelmock_app")
    urls = base_urls(app, listener.url)
    listener.app = app
    try:
        yield PixelmockServer(url=listener.url, app=app, base_urls=urls)
    finally:
        listener.app = None


@pytest.fixture
def pixelmock_admin(
    request: pytest.FixtureRequest, _pixelmock_remote: PixelmockAdmin | None
) -> Iterator[PixelmockAdmin]:
    """The control plane of ``pixelmock_app`` (in process; the same state the server serves), or of the
    server of ``--pixelmock-url``."""
    if _pixelmock_remote is not None:
        yield _pixelmock_remote
        return
    admin = PixelmockAdmin.for_app(request.getfixturevalue("pixelmock_app"))
    try:
        yield admin
    finally:
        admin.close()


@pytest.fixture
def pixelmock_receiver() -> Iterator[WebhookReceiver]:
    """A ``WebhookReceiver`` on 127.0.0.1 for this test: point ``webhookUrl`` / ``webhookURL`` /
    ``uploadEndpoint`` at ``pixelmock_receiver.url``; stopped after the test."""
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def pixelmock_api_key() -> str:
    """The API key ``pixelmock_env`` exports (override the fixture to change it)."""
    return DEFAULT_API_KEY


@pytest.fixture
def pixelmock_env(
    monkeypatch: pytest.MonkeyPatch, pixelmock_server: PixelmockServer, pixelmock_api_key: str
) -> dict[str, str]:
    """Point the official SDKs at ``pixelmock_server`` for this test; returns the variables set.

    For each mounted provider: its SDKs' base-URL and key variables (``sdk_environment()``, from the
    provider registry) and ``PIXELMOCK_<PROVIDER>_BASE_URL``; also ``PIXELMOCK_URL`` (the root). Variables
    an SDK would prefer to its key (``sdk_cleared()``: Cloudflare's email/key) are removed and 127.0.0.1
    is added to ``NO_PROXY``.
    """
    environment = sdk_environment()
    values = {"PIXELMOCK_URL": pixelmock_server.url}
    for provider, url in pixelmock_server.base_urls.items():
        values[f"PIXELMOCK_{provider.upper()}_BASE_URL"] = url
        base_vars, key_vars = environment.get(provider, ((), ()))
        for base_var in base_vars:
            values[base_var] = url
        for key_var in key_vars:
            values[key_var] = pixelmock_api_key
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name in sdk_cleared():
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(x for x in (current, "127.0.0.1", "localhost") if x))
    return values
