"""Emulator configuration: one dataclass, every field with a safe default ("embedded defaults")."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from decimal import Decimal

#: Environment variable naming the date (``YYYY-MM-DD``) a new emulator's clock starts on by default.
TODAY_ENV = "PIXELMOCK_TODAY"


def today_from_env() -> dt.date | None:
    """The date in ``$PIXELMOCK_TODAY``, or ``None`` (the real date). Raises ``ValueError`` if malformed."""
    value = os.environ.get(TODAY_ENV, "").strip()
    return dt.date.fromisoformat(value) if value else None


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
    - ``max_body_bytes``: larger request bodies get the provider's "too large" answer.
    - ``file_ttl_seconds``: default lifetime of generated image URLs (``None``: they never expire).
    - ``options``: provider-specific switches named ``<provider>.<option>`` (each provider module
      documents its own; e.g. a choice between two conflicting sources).
    - ``latency_profile``: how long generations take (``emulators/runtime/latency.py``): ``"instant"``
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
    - ``max_json_depth``: JSON bodies (and Runware WebSocket messages) nested deeper than this many
      arrays/objects get the provider's malformed-JSON answer (``emulators/runtime/bodies.py``); the
      journal shows such a body as ``None``. Real bodies of every provider nest under 10 levels.
    """

    today: dt.date | None = field(default_factory=today_from_env)
    starting_balances: dict[str, Decimal] = field(
        default_factory=lambda: {"credits": Decimal(10_000), "USD": Decimal(100)}
    )
    invalid_keys: frozenset[str] = frozenset()
    inactive_keys: frozenset[str] = frozenset()
    open_accounts: bool = True
    api_keys: frozenset[str] = frozenset()
    journal_limit: int = 1000
    max_records: int = 10_000
    ledger_limit: int = 10_000
    max_body_bytes: int = 64 * 1024 * 1024
    file_ttl_seconds: int | None = None
    options: dict[str, object] = field(default_factory=dict)
    latency_profile: str = "instant"
    speed_factor: float = 1.0
    outbound_hosts: frozenset[str] = frozenset()
    outbound_timeout_seconds: float = 10.0
    webhook_retry_schedule: tuple[float, ...] | None = None
    tick_seconds: float | None = None
    max_json_depth: int = 64

    def option(self, name: str, default: object) -> object:
        """A provider option ``<provider>.<option>``, or ``default`` when not set."""
        return self.options.get(name, default)
