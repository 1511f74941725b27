"""Emulator configuration: one dataclass, every field with a safe default ("embedded defaults")."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pixelmock.emulators.config.options import parse_options

#: ``EmulatorConfig.latency_profile`` values (``pixelmock.emulators.core.latency``).
Profile = Literal["instant", "realistic", "manual"]
PROFILES: tuple[Profile, ...] = ("instant", "realistic", "manual")
#: ``EmulatorConfig.log_level`` values (``off`` logs nothing) and ``log_format`` values.
LOG_LEVELS = ("debug", "info", "warning", "error", "off")
LOG_FORMATS = ("text", "json")

#: Environment variable naming the date (``YYYY-MM-DD``) a new emulator's clock starts on by default.
TODAY_ENV = "PIXELMOCK_TODAY"


def today_from_env() -> dt.date | None:
    """The date in ``$PIXELMOCK_TODAY``, or ``None`` (the real date). Raises ``ValueError`` if malformed."""
    value = os.environ.get(TODAY_ENV, "").strip()
    return dt.date.fromisoformat(value) if value else None


#: The key of a field's ``SettingMeta`` in its dataclass field metadata.
SETTING = "pixelmock.setting"


@dataclass(frozen=True)
class SettingMeta:
    """How a configuration field is set from outside (``pixelmock.emulators.config.settings`` derives
    the flag, the ``PIXELMOCK_<NAME>`` environment variable, the config file key, the value parser and
    the README table row from it and the field's name, type and default).

    ``help``: one line, what the setting means. ``runtime``: whether ``PUT /__admin/settings`` may change
    it on a running app. ``flag``: the flag's name when not ``--<name-with-dashes>``; ``aliases``: older
    flags that still work. ``choices``: the allowed values of a ``str`` setting (a callable is called when
    first needed, so the module defining them need not be imported here). ``parse``: a parser for a
    value whose type alone does not say how to read it (``str`` or the file's value in, value out;
    raises ``ValueError``). ``minimum`` / ``maximum``: bounds of a number. ``default_text``: the default
    as documented, when the field's default is computed (e.g. from the environment)."""

    help: str
    runtime: bool = False
    flag: str | None = None
    aliases: tuple[str, ...] = ()
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None
    parse: Callable[[object], Any] | None = None
    minimum: float = 0
    maximum: float | None = None
    default_text: str | None = None


def setting(help: str, **kwargs: Any) -> dict[str, SettingMeta]:
    """Field metadata making a dataclass field a setting: ``field(default=..., metadata=setting(...))``
    (keywords as in ``SettingMeta``)."""
    return {SETTING: SettingMeta(help, **kwargs)}


@dataclass
class EmulatorConfig:
    """Settings of one emulator app.

    - ``today``: the date the virtual clock starts on (``None``: the real date); by default the date in
      ``$PIXELMOCK_TODAY`` if set. Model lifecycle (e.g. gpt-image-1.5's shutdown at OpenAI on
      2026-12-01) and price tables are decided on the clock's date.
    - ``starting_balances``: what a new (open) account holds, per currency: ``"credits"`` (Apiframe),
      ``"USD"`` (Runware, Cloudflare, GMI). Amounts are ``Decimal``.
    - ``invalid_keys`` / ``inactive_keys``: credentials answered with the provider's 401 / 403.
    - ``open_accounts``: any well-formed credential is accepted (default). When ``False``, only
      ``api_keys`` and keys added through the control plane are; every other key gets the 401.
    - ``journal_limit``: how many requests the journal keeps (oldest dropped first; 0 turns it off).
    - ``max_records``: how many records the state store keeps per namespace (jobs, tasks, stored files,
      sessions...; oldest inserted dropped first, so memory stays bounded). An evicted job or file answers
      as one that never existed (the provider's own not-found).
    - ``ledger_limit``: how many ledger lines are kept (oldest dropped first; balances are unaffected).
    - ``store``: where the runtime keeps its state (``core.store.open_store``): ``None`` for this
      process's memory (the default), or a Redis URL (``redis://host:port/db``) that several workers and
      hosts share.
    - ``max_body_bytes``: larger request bodies get the provider's "too large" answer.
    - ``file_ttl_seconds``: default lifetime of generated image URLs (``None``: they never expire).
    - ``options``: provider-specific switches named ``<provider>.<option>`` (each provider module
      documents its own; e.g. a choice between two conflicting sources).
    - ``latency_profile``: how long generations take (``emulators/core/latency.py``): ``"instant"``
      (default: jobs finish on their first poll, sync answers at once), ``"realistic"`` (the latencies of
      ``contracts/data/latency.yaml`` divided by ``speed_factor``: sync answers really wait, async jobs
      need that much virtual time) or ``"manual"`` (the virtual clock stands still; jobs need the
      documented latency and only move when a test advances the clock; sync answers at once).
    - ``speed_factor``: realistic latencies are divided by it (``1000``: a 15 s job takes 15 ms).
    - ``outbound_hosts``: hosts webhooks and uploads may reach besides loopback (127.0.0.0/8, ::1,
      ``localhost``); ``"*"`` allows any. By default no request can make the emulator reach elsewhere.
    - ``outbound_timeout_seconds``: real seconds one webhook or upload attempt may take.
    - ``webhook_retry_schedule``: seconds (virtual) between attempts of a failed delivery; ``None``: each
      provider's schedule from ``contracts/data/webhooks.yaml``.
    - ``tick_seconds``: run due work (job progress, webhook retries) every this many real seconds in a
      background thread, started on the first request (``None``: only when requests arrive and when the
      clock is moved through the control plane). For servers whose clients only wait for webhooks.
    - ``results_max_bytes``: bytes (estimated) the stored results may hold: Runware's task records with
      their base64 results, OpenAI's stored Responses and the file store's records. Past it the
      oldest are evicted first (an evicted task or file answers as one that never existed). ``None``: no
      byte bound (``max_records`` still applies).
    - ``payloads_max_bytes``: bytes (estimated) GMI Cloud's request records may hold, with the payloads
      they keep (a rejected request keeps its payload too); oldest evicted first, as above.
    - ``uploads_max_bytes``: bytes (estimated) the settled outbound deliveries (webhooks, and uploads
      with their image bytes) may hold for ``GET /__admin/webhooks``; the oldest are dropped first. A
      pending one is not counted against it and never dropped (``max_records`` still applies).
    - ``journal_max_bytes``: bytes (estimated) the journal may hold besides ``journal_limit``; oldest
      entries dropped first. Every budget's figures (held, evicted) are at ``GET /__admin/stats``.
    - ``log_level``: ``"debug"``, ``"info"`` (default: one access line per request, one per webhook or
      upload attempt), ``"warning"`` (unmatched requests, failed deliveries), ``"error"`` or ``"off"``.
      Records go to the ``pixelmock`` logger (``emulators/web/access_log.py``); the last app built sets it.
    - ``log_format``: ``"text"`` (default) or ``"json"`` (one object per line) for the stderr handler the
      app adds when no other handler takes the ``pixelmock`` logger's records (under pytest they go to
      its log capture instead).
    - ``max_json_depth``: JSON bodies (and Runware WebSocket messages) nested deeper than this many
      arrays/objects get the provider's malformed-JSON answer (``emulators/core/bodies.py``); the
      journal shows such a body as ``None``. Real bodies of every provider nest under 10 levels.

    Each field carries its ``setting(...)`` metadata (``SettingMeta``): ``pixelmock serve`` reads it
    from a flag, a ``PIXELMOCK_<NAME>`` variable or a config file
    (``pixelmock.emulators.config.settings``), and
    ``PUT /__admin/settings`` changes the ones marked ``runtime`` on a running app.
    """

    today: dt.date | None = field(
        default_factory=today_from_env,
        metadata=setting(
            "date the virtual clock starts on (YYYY-MM-DD)", aliases=("--date",), default_text="the real date"
        ),
    )
    starting_balances: dict[str, Decimal] = field(
        default_factory=lambda: {"credits": Decimal(10_000), "USD": Decimal(100)},
        metadata=setting("what a new account holds per currency (currency=amount,...)", runtime=True),
    )
    invalid_keys: frozenset[str] = field(
        default=frozenset(), metadata=setting("API keys answered with the provider's 401 (comma-separated)")
    )
    inactive_keys: frozenset[str] = field(
        default=frozenset(), metadata=setting("API keys answered with the provider's 403 (comma-separated)")
    )
    open_accounts: bool = field(
        default=True,
        metadata=setting(
            "accept any well-formed API key (false: only api_keys and added keys)", runtime=True
        ),
    )
    api_keys: frozenset[str] = field(
        default=frozenset(), metadata=setting("API keys accepted when accounts are closed (comma-separated)")
    )
    journal_limit: int = field(
        default=1000, metadata=setting("requests the journal keeps, oldest dropped first (0: off)")
    )
    max_records: int = field(
        default=10_000, metadata=setting("records (jobs, tasks, files...) kept per namespace, oldest dropped")
    )
    ledger_limit: int = field(default=10_000, metadata=setting("ledger lines kept, oldest dropped first"))
    store: str | None = field(
        default=None,
        metadata=setting(
            "where state is kept: empty for this process's memory, or redis://host:port/db to share it "
            "between workers and hosts"
        ),
    )
    max_body_bytes: int = field(
        default=64 * 1024 * 1024,
        metadata=setting("larger request bodies get the provider's 'too large' answer (bytes)"),
    )
    file_ttl_seconds: int | None = field(
        default=None,
        metadata=setting("lifetime of generated image URLs in seconds (none: never expire)", runtime=True),
    )
    options: dict[str, object] = field(
        default_factory=dict,
        metadata=setting(
            "provider options name=value,... (e.g. apiframe.polls_to_complete=3; FIDELITY.md lists them)",
            runtime=True,
            flag="--option",
            parse=parse_options,
        ),
    )
    latency_profile: str = field(
        default="instant",
        metadata=setting(
            "how long generations take: instant, realistic (documented latencies) or manual (the clock "
            "moves only when advanced)",
            runtime=True,
            aliases=("--latency",),
            choices=PROFILES,
        ),
    )
    speed_factor: float = field(
        default=1.0,
        metadata=setting("realistic latencies are divided by this", runtime=True, aliases=("--speed",)),
    )
    outbound_hosts: frozenset[str] = field(
        default=frozenset(),
        metadata=setting(
            "hosts, addresses or networks webhooks and uploads may reach besides loopback "
            "(comma-separated; * allows any)",
            runtime=True,
        ),
    )
    outbound_timeout_seconds: float = field(
        default=10.0, metadata=setting("real seconds one webhook or upload attempt may take", runtime=True)
    )
    webhook_retry_schedule: tuple[float, ...] | None = field(
        default=None,
        metadata=setting(
            "virtual seconds between webhook attempts, comma-separated (none: each provider's own)",
            runtime=True,
        ),
    )
    tick_seconds: float | None = field(
        default=None,
        metadata=setting(
            "run due work (job progress, webhook retries) every this many real seconds (none: on requests)"
        ),
    )
    results_max_bytes: int | None = field(
        default=64 * 1024 * 1024,
        metadata=setting("estimated bytes stored results (Runware tasks, files) may hold, oldest evicted"),
    )
    payloads_max_bytes: int | None = field(
        default=16 * 1024 * 1024,
        metadata=setting("estimated bytes GMI Cloud's request records may hold, oldest evicted"),
    )
    uploads_max_bytes: int | None = field(
        default=32 * 1024 * 1024,
        metadata=setting("estimated bytes settled outbound deliveries may hold, oldest evicted"),
    )
    journal_max_bytes: int | None = field(
        default=16 * 1024 * 1024,
        metadata=setting("estimated bytes the journal may hold, oldest entries dropped"),
    )
    log_level: str = field(
        default="info",
        metadata=setting("access log level on stderr (info: one line per request)", choices=LOG_LEVELS),
    )
    log_format: str = field(
        default="text", metadata=setting("access log format: text, or json lines", choices=LOG_FORMATS)
    )
    max_json_depth: int = field(
        default=64,
        metadata=setting("JSON nested deeper than this many arrays/objects is malformed", minimum=1),
    )

    def option(self, name: str, default: object) -> object:
        """A provider option ``<provider>.<option>``, or ``default`` when not set."""
        return self.options.get(name, default)
