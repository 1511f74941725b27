"""The emulator runtime: services shared by every provider module (one job each).

``runtime()`` returns the current app's ``Runtime`` inside a request: the config, the virtual clock, the
state store, accounts and ledger, the image renderer, the file store, the request journal
(``journal_note`` attaches a request's canonical view and cost to its entry), the latency profile, the
scheduler of due work, outbound deliveries (webhooks, uploads) and fault rules. A provider module exports
a ``ProviderEmulator`` naming its blueprint, URL prefix, error body for framework-level failures and its
answers to injected faults.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, has_request_context, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import ClosingIterator

from pixelmock.contracts.evidence import TRUSTED
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.contracts.options import check_values
from pixelmock.contracts.options import option as contract_option
from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.core.accounts import Accounts, AuthResult
from pixelmock.emulators.core.bill import BillRecorder
from pixelmock.emulators.core.bodies import BodyRefused, parse_json
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.control import KEY as CONTROL_KEY
from pixelmock.emulators.core.control import NAMESPACE as CONTROL_NS
from pixelmock.emulators.core.control import Control
from pixelmock.emulators.core.faults import FaultAnswer, Faults
from pixelmock.emulators.core.files import NAMESPACE as FILES
from pixelmock.emulators.core.files import FileStore, StoredFile
from pixelmock.emulators.core.images import ImageSpec, render, spec_for
from pixelmock.emulators.core.journal import Journal, JournalEntry, journal_note
from pixelmock.emulators.core.latency import Latency
from pixelmock.emulators.core.latency import check as check_latency
from pixelmock.emulators.core.scheduler import QUEUE as TIMERS
from pixelmock.emulators.core.scheduler import Scheduler, Ticker, run_tick, timer_handler
from pixelmock.emulators.core.store import Store, open_store
from pixelmock.emulators.core.webhooks import ATTEMPT, Webhooks

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "AuthResult",
    "ErrorResponder",
    "FaultAnswer",
    "ImageSpec",
    "Journal",
    "JournalEntry",
    "MalformedBody",
    "ProviderEmulator",
    "Runtime",
    "StoredFile",
    "choice",
    "journal_note",
    "parse_client_json",
    "read_json",
    "request_body",
    "runtime",
    "shut_down_upstream",
    "spec_for",
]

#: ``fn(status, kind, message) -> Response``: a provider's body for framework-level failures. ``kind`` is
#: one of not_found, method_not_allowed, too_large, malformed_json, unsupported_media_type, internal.
ErrorResponder = Callable[[int, str, str], Response]


@dataclass(frozen=True)
class ProviderEmulator:
    """What a provider module exports: ``name`` (as in ``pixelmock.contracts.openapi.PROVIDERS``), ``prefix``
    (e.g. ``/openai/v1``), its ``blueprint``, its ``error_response`` and ``faults``: its own answer to
    each injected fault kind it has a documented answer for (``emulators/core/faults.py``; usually
    ``faults.contract_answers`` over its contract's ``x-faults``); ``budgets``: store namespaces whose
    records count against a byte budget (``Runtime.BUDGETS``), e.g. ``{"runware.tasks": "results"}``."""

    name: str
    prefix: str
    blueprint: Blueprint
    error_response: ErrorResponder
    faults: Mapping[str, FaultAnswer] = field(default_factory=dict)
    budgets: Mapping[str, str] = field(default_factory=dict)


class Images:
    """The deterministic renderer (``pixelmock.emulators.core.images.render``), as a runtime service."""

    def __init__(self, files: FileStore) -> None:
        self._files = files

    def render(self, spec: ImageSpec) -> bytes:
        """Encoded image bytes for ``spec`` (exact size and format), for an answer that carries the bytes
        (base64, an upload). Inside a request the journal entry notes ``{"image": "/files/<id>.<ext>"}``:
        the same image kept as its spec in the file store (rendered again when read), so the inspector
        page can show what the journal keeps only the start of. The provider's answer never names it."""
        if has_request_context():
            journal_note(image=urlsplit(self._files.put_image(spec).url).path)
        return render(spec)


#: Where the settings changed at run time are kept (namespace, key): ``{name: value}``.
SETTINGS = ("runtime", "settings")


class Runtime:
    """Every shared service of one emulator app."""

    #: The store's byte budgets: name -> the ``EmulatorConfig`` field bounding it.
    BUDGETS: Mapping[str, str] = {"results": "results_max_bytes", "payloads": "payloads_max_bytes"}

    def __init__(self, config: EmulatorConfig, store: Store | None = None) -> None:
        self.config = config
        self.clock = Clock(config.today)
        self.store: Store = store or open_store(config.store, config.max_records)
        self.control = Control(self.store, self.clock)
        self.accounts = Accounts(config, self.clock, self.store, self.control)
        self.files = FileStore(self.store, self.clock)
        self.images = Images(self.files)
        for name in self.BUDGETS:
            self.store.budget(name, self._budget_bytes(name), ())
        self.count_against_budgets({FILES: "results"})
        self.journal = Journal(config.journal_limit, config.journal_max_bytes, self.store)
        self.latency = Latency(config, self.clock, self.store, self.control)
        self.scheduler = Scheduler(self.store, self.clock)
        self.webhooks = Webhooks(
            self.store,
            self.clock,
            self.journal,
            self.scheduler,
            allowed_hosts=frozenset(config.outbound_hosts),
            timeout_seconds=config.outbound_timeout_seconds,
            retry_schedule=config.webhook_retry_schedule,
            max_bytes=config.uploads_max_bytes,
        )
        self.faults = Faults(self.store, self.control)
        self.bill = BillRecorder(self.store)
        #: The control generation whose shared settings (``SETTINGS``) this worker last applied.
        self._settings_generation = ""
        self._app: Flask | None = None
        self._ticker: Ticker | None = None

    def _budget_bytes(self, name: str) -> int | None:
        bound: int | None = getattr(self.config, self.BUDGETS[name])
        return bound

    def count_against_budgets(self, namespaces: Mapping[str, str]) -> None:
        """Count each store namespace's records against the named byte budget (``BUDGETS``; a provider's
        ``ProviderEmulator.budgets``). Raises ``KeyError`` for an unknown budget name."""
        for ns, name in namespaces.items():
            self.store.budget(name, self._budget_bytes(name), (ns,))

    def stats(self) -> dict[str, Any]:
        """What the app holds and has evicted: ``{"budgets": {name: Usage JSON}, "store": {"max_records",
        "namespaces": {ns: {"count", "evicted"}}}}`` with the budgets ``results`` and ``payloads`` (store),
        ``uploads`` (outbound deliveries) and ``journal`` (``Usage.to_json``: ``max_bytes``, ``count``,
        ``bytes``, ``evicted``, ``evicted_bytes``; bytes are estimates)."""
        store = self.store.stats()
        budgets = {
            **store.pop("budgets"),
            "uploads": self.webhooks.usage().to_json(),
            "journal": self.journal.usage().to_json(),
        }
        return {"budgets": budgets, "store": store}

    def bind(self, app: Flask) -> None:
        """Serve ``app``: ticks run in its context, before each request is handled and after its answer
        has been sent (``app.wsgi_app`` is wrapped), and the background ticker (``config.tick_seconds``)
        starts with its first request."""
        self._app = app
        inner = app.wsgi_app

        def ticking(environ: Any, start_response: Any) -> Any:
            self.sync()
            self.start_ticker()
            if self.due():
                self.tick()
            return ClosingIterator(inner(environ, start_response), [self._tick_after])

        app.wsgi_app = ticking  # type: ignore[method-assign]

    def _tick_after(self) -> None:
        if self.due():
            self.tick()

    def due(self) -> bool:
        """Whether a timer (job timers, delivery attempts) is due now, as of the last ``sync`` and the
        timers this app set since (``Scheduler.due``: no store read, no lock)."""
        return self.scheduler.due()

    def tick(self, wait: bool = False) -> bool:
        """Run due work now (``scheduler``: timers and webhook and upload attempts, each claimed by one app
        of those sharing the store), outside any request. With ``wait`` false, skipped (``False``) when
        another tick of this app is running."""
        if self._app is None:
            return False
        return run_tick(self._app, [self.scheduler.run_due], self.scheduler.tick_lock, wait)

    def _tick_in_background(self) -> bool:
        self.sync()
        return self.tick()

    def sync(self) -> None:
        """Take the shared control-plane state (``control.apply``: the clock) and the earliest due timer
        (``scheduler.expect``), in one store read, and, when the generation is new to this worker, the
        settings changed through any worker (``configure``)."""
        state, head = self.store.peek(CONTROL_NS, CONTROL_KEY, TIMERS)
        generation = self.control.apply(state)
        self.scheduler.expect(head)
        if generation != self._settings_generation:
            self._settings_generation = generation
            changed: Mapping[str, Any] | None = self.store.get(*SETTINGS)
            if changed:
                self._apply_settings(changed)

    def start_ticker(self) -> None:
        """Start the background ticker once, when ``config.tick_seconds`` is set."""
        seconds = self.config.tick_seconds
        if seconds is None or self._ticker is not None:
            return
        self._ticker = Ticker(seconds, self._tick_in_background)
        self._ticker.start()

    def configure(self, changes: Mapping[str, Any]) -> None:
        """Change settings of the running emulator (``changes``: field name -> parsed value, those
        ``SettingMeta.runtime`` marks; ``pixelmock.emulators.config.settings.changes`` parses them), for every
        worker sharing the store: the changes are kept in the store (``SETTINGS``) and published
        (``control.changed``); each worker updates its ``config`` in place and the services that keep a
        copy (outbound deliveries) take the new values (``sync``). A change of the latency profile
        switches to it; ``reset`` keeps them all. Raises ``ValueError`` (nothing changed) for options or a
        latency setting that cannot be used."""
        updated = replace(self.config, **changes)
        check_values(updated.options)
        latency = {"latency_profile", "speed_factor"} & set(changes)
        if latency:
            check_latency(updated.latency_profile, updated.speed_factor)
        self.store.update(*SETTINGS, lambda old: {**(old or {}), **changes})
        self._apply_settings(changes)
        if latency:
            self.latency.reset()
        self.control.changed()

    def _apply_settings(self, changes: Mapping[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self.config, name, value)
        self.webhooks.allowed_hosts = frozenset(self.config.outbound_hosts)
        self.webhooks.timeout_seconds = self.config.outbound_timeout_seconds
        self.webhooks.retry_schedule = self.config.webhook_retry_schedule

    def reset(self) -> None:
        """Back to a fresh emulator's state, for every worker sharing the store: store (jobs, tasks,
        files, accounts, ledger, bill) emptied, key statuses as configured, journal empty, clock back to
        the configured start and latency profile, no timers, deliveries or fault rules; the settings
        changed through ``configure`` are kept. Published to every worker (``control``)."""
        changed = self.store.get(*SETTINGS)
        self.store.clear()
        if changed:
            self.store.put(*SETTINGS, changed)
        self.accounts.reset()
        self.clock.reset(self.config.today)
        self.latency.reset()
        self.control.changed()


def runtime() -> Runtime:
    """The current app's runtime (inside an app or request context)."""
    return cast(Runtime, current_app.extensions["pixelmock"])


@timer_handler(ATTEMPT)
def _attempt_delivery(delivery_id: str) -> None:
    """A delivery's due attempt (``Webhooks.attempt``), made by the app that claimed it."""
    runtime().webhooks.attempt(delivery_id)


def shut_down_upstream(provider: str, model: str) -> dt.date | None:
    """For a reseller (Apiframe, Runware, GMI Cloud): the date canonical ``model`` stopped being served
    upstream (``pixelmock.contracts.lifecycle``) when it has passed on the virtual clock and the provider's
    option ``<provider>.after_upstream_shutdown`` is ``refuse`` (journaled by ``choice``); else ``None``."""
    found = lifecycle(provider, model)
    if found is None or not found.shut_down_on(runtime().clock.today()):
        return None
    return found.shutdown if choice(f"{provider}.after_upstream_shutdown") == "refuse" else None


def choice(name: str) -> Any:
    """The value in force of the contract option ``name`` (``pixelmock.contracts.options``): the one set
    in ``EmulatorConfig.options``, else the contract's default. When the answer rests on it below the
    ``recorded`` rung (an untrusted default, or a value the user set), the current request's journal
    entry notes ``{"choice": {"option", "value", "evidence"}}`` (``evidence`` is ``"configured"`` for a
    value the user set). Raises ``KeyError`` for an option no contract declares."""
    spec = contract_option(name)
    configured = runtime().config.options
    value = configured.get(name, spec.default)
    if name in configured or spec.evidence not in TRUSTED:
        evidence = "configured" if name in configured else spec.evidence
        journal_note(choice={"option": name, "value": value, "evidence": evidence})
    return value


class MalformedBody(Exception):
    """The request body is not what the route needs; ``kind`` is ``malformed_json`` or
    ``unsupported_media_type``. The app answers it with the provider's ``error_response(400 or 415, ...)``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def read_json(require_content_type: bool = False) -> Any:
    """The request's JSON body (``request_body``, parsed by ``bodies.parse_json`` within
    ``EmulatorConfig.max_json_depth``). Raises ``MalformedBody`` when it is empty, not JSON, nested too
    deep or not Unicode text, or, with ``require_content_type``, when the Content-Type is not
    ``application/json``; ``RequestEntityTooLarge`` (the provider's 413) when it exceeds
    ``max_body_bytes``."""
    if require_content_type and request.mimetype != "application/json":
        raise MalformedBody("unsupported_media_type", f"Unsupported Content-Type {request.mimetype!r}")
    raw = request_body()
    if not raw.strip():
        raise MalformedBody("malformed_json", "The request body is empty")
    try:
        return parse_client_json(raw, request.blueprint if request.blueprint in PROVIDERS else None)
    except BodyRefused as exc:
        raise MalformedBody("malformed_json", str(exc)) from exc


def parse_client_json(raw: bytes | str, provider: str | None) -> Any:
    """A body or message a client sent to ``provider``, parsed by ``bodies.parse_json`` within
    ``EmulatorConfig.max_json_depth``; a lone UTF-16 surrogate is refused or replaced as the provider's
    option ``<provider>.lone_surrogate`` says (journaled by ``choice``, only when one is found), and
    refused for the control plane (``provider`` ``None``). Raises ``BodyRefused``."""
    depth = runtime().config.max_json_depth
    try:
        return parse_json(raw, depth)
    except BodyRefused as exc:
        if exc.reason != "text" or provider is None or choice(f"{provider}.lone_surrogate") != "replace":
            raise
        return parse_json(raw, depth, "replace")


def request_body() -> bytes:
    """The request's body bytes (cached). Raises ``RequestEntityTooLarge`` when it is larger than
    ``EmulatorConfig.max_body_bytes``, also for a chunked body (no Content-Length), which Werkzeug stops
    reading at the limit without saying so: such a body is read up to the limit, never further."""
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    # At the limit without a Content-Length: the server terminates a chunked stream
    # (``wsgi.input_terminated``), so one more byte to read means the body is larger.
    chunked = request.content_length is None and bool(request.environ.get("wsgi.input_terminated"))
    if limit is not None and chunked and len(raw) >= limit and request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return raw
