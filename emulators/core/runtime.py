"""The emulator runtime: services shared by every provider module (one job each), with no web framework.

A ``Runtime`` holds the config, the virtual clock, the state store, accounts and ledger (each line billed
and added to the current ``Exchange``), the image renderer, the file store, the request journal, the
latency profile, the scheduler of due work, outbound deliveries (webhooks, uploads) and fault rules. The
web layer reaches it with ``pixelmock.emulators.web.context.runtime()`` and runs its ticks in the app's
context (``Host``, ``pixelmock.emulators.web.ticks``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from pixelmock.contracts.evidence import TRUSTED
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.contracts.options import check_values
from pixelmock.contracts.options import option as contract_option
from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.core.accounts import Accounts, DebitAttempt, LedgerLine
from pixelmock.emulators.core.bill import BillRecorder
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.control import KEY as CONTROL_KEY
from pixelmock.emulators.core.control import NAMESPACE as CONTROL_NS
from pixelmock.emulators.core.control import Control
from pixelmock.emulators.core.exchange import current, journal_note, note_shutdown
from pixelmock.emulators.core.faults import Faults
from pixelmock.emulators.core.files import NAMESPACE as FILES
from pixelmock.emulators.core.files import FileStore
from pixelmock.emulators.core.images import ImageSpec, render
from pixelmock.emulators.core.journal import Journal, charge_json
from pixelmock.emulators.core.latency import Latency
from pixelmock.emulators.core.latency import check as check_latency
from pixelmock.emulators.core.scheduler import QUEUE as TIMERS
from pixelmock.emulators.core.scheduler import Scheduler, Ticker
from pixelmock.emulators.core.store import Store, open_store
from pixelmock.emulators.core.webhooks import Webhooks

__all__ = ["SETTINGS", "Host", "Images", "Runtime"]


class Host(Protocol):
    """Where a runtime's ticks run (``pixelmock.emulators.web.ticks`` hosts it in a Flask app)."""

    def run_detached(self, steps: Sequence[Callable[[], object]], wait: bool) -> bool:
        """Run ``steps`` in order, in the app's context and outside any exchange; with ``wait`` false,
        return ``False`` at once when another tick of this app is running."""
        ...


class Images:
    """The deterministic renderer (``pixelmock.emulators.core.images.render``), as a runtime service."""

    def __init__(self, files: FileStore) -> None:
        self._files = files

    def render(self, spec: ImageSpec) -> bytes:
        """Encoded image bytes for ``spec`` (exact size and format), for an answer that carries the bytes
        (base64, an upload). Inside a request the journal entry notes ``{"image": "/files/<id>.<ext>"}``:
        the same image kept as its spec in the file store (rendered again when read), so the inspector
        page can show what the journal keeps only the start of. The provider's answer never names it."""
        if current() is not None:
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
        self.accounts.subscribe(self._ledger_line)
        self.accounts.subscribe_debits(self._charging)
        #: The control generation whose shared settings (``SETTINGS``) this worker last applied.
        self._settings_generation = ""
        #: Where ticks run (set by the web layer when an app serves this runtime).
        self.host: Host | None = None
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

    def _charging(self, attempt: DebitAttempt) -> None:
        """A debit about to be tried for the current exchange: noted in ``Journal.unanswered`` until the
        exchange's answer is recorded."""
        exchange = current()
        if exchange is not None and exchange.journaled:
            self.journal.charging(exchange, charge_json(attempt))

    def _ledger_line(self, line: LedgerLine) -> None:
        """A balance movement: added to the current exchange's record and billed (``BillRecorder.record``)."""
        exchange = current()
        if exchange is not None:
            exchange.ledger.append(line)
        self.bill.record(line)

    def due(self) -> bool:
        """Whether a timer (job timers, delivery attempts) is due now, as of the last ``sync`` and the
        timers this app set since (``Scheduler.due``: no store read, no lock)."""
        return self.scheduler.due()

    def tick(self, wait: bool = False) -> bool:
        """Run due work now (``scheduler``: timers and webhook and upload attempts, each claimed by one app
        of those sharing the store), outside any request. With ``wait`` false, skipped (``False``) when
        another tick of this app is running."""
        if self.host is None:
            return False
        return self.host.run_detached([self.scheduler.run_due], wait)

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

    def choice(self, name: str) -> Any:
        """The value in force of the contract option ``name`` (``pixelmock.contracts.options``): the one
        set in ``EmulatorConfig.options``, else the contract's default. When the answer rests on it below
        the ``recorded`` rung (an untrusted default, or a value the user set), the current exchange's
        journal entry notes ``{"choice": {"option", "value", "evidence"}}`` (``evidence`` is
        ``"configured"`` for a value the user set). Raises ``KeyError`` for an option no contract
        declares."""
        spec = contract_option(name)
        configured = self.config.options
        value = configured.get(name, spec.default)
        if name in configured or spec.evidence not in TRUSTED:
            evidence = "configured" if name in configured else spec.evidence
            journal_note(choice={"option": name, "value": value, "evidence": evidence})
        return value

    def shut_down_upstream(self, provider: str, model: str) -> dt.date | None:
        """For a reseller (Apiframe, Runware, GMI Cloud): the date canonical ``model`` stopped being served
        upstream (``pixelmock.contracts.lifecycle``) when it has passed on the virtual clock and the
        provider's option ``<provider>.after_upstream_shutdown`` is ``refuse`` (journaled by ``choice``);
        else ``None``."""
        found = lifecycle(provider, model)
        if found is None or found.shutdown is None or not found.shut_down_on(self.clock.today()):
            return None
        if self.choice(f"{provider}.after_upstream_shutdown") != "refuse":
            return None
        note_shutdown(provider, model, found.shutdown)
        return found.shutdown

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
