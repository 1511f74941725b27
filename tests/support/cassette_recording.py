"""The examples of ``cassettes/recorded/<provider>/``: interactions recorded from the emulators, committed as
examples of each provider's flow as the reference client drives it. What each
``tests/providers/<name>/test_<name>_recorded.py`` shares.

A provider's test file holds its ``KEY`` (key-shaped on purpose: ``sk-...``, ``afk_...``;
test_cassettes_secrets.py fails if one is ever written to a cassette) and ``SCENARIOS``, a list of
``Scenario``; it runs ``record_or_replay(scenario, KEY)`` for each and checks
``unused(provider, SCENARIOS)`` is empty (every recorded cassette of the provider belongs to a scenario).

- ``PIXELMOCK_RECORD_CASSETTES=1 pytest tests/providers/<name>/test_<name>_recorded.py`` records that
  provider's examples again (``tests/providers/*/test_*_recorded.py``: every provider's): each scenario
  runs against an in-process emulator through ``pixelmock.client.recording`` (credentials scrubbed, the
  emulator's base URL rewritten to the provider's real one), overwriting the files.
- Otherwise each cassette is replayed (vcrpy, method + path, nothing recorded) with the client pointed at
  the real base URL, and the same assertions run on what the client reads; every interaction must be
  used. ``pixelmock verify`` checks these cassettes against the contracts (test_cassettes_verify.py).

``tests/cassettes/test_cassettes_per_provider.py`` checks that every folder of ``cassettes/recorded/`` has
its provider's test file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from paths import RECORDED

from pixelmock.client import AuthenticationError, ImageClient, PollPolicy, Provider, RetryPolicy
from pixelmock.client.recording import recording
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.openapi import real_base_url
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.app import mounted_providers

RECORD = os.environ.get("PIXELMOCK_RECORD_CASSETTES") == "1"
EMULATOR = "http://127.0.0.1:8080"  # pixelmock serve's default address, so image URLs read naturally
#: A key the emulator refuses (``EmulatorConfig.invalid_keys``), scrubbed like the providers' keys.
INVALID = "sk-pixelmock-revoked-00000000000000000000"
ACCOUNT = "0123456789abcdef0123456789abcdef"  # a Cloudflare account id (not a credential)
#: What a scenario does and checks: ``run(images, target)``.
Run = Callable[[ImageClient, Provider], None]
#: A small JPEG answer (OpenAI's output options).
JPEG = {"size": "1024x1024", "quality": "low", "output_format": "jpeg", "output_compression": 20}


@dataclass(frozen=True)
class Scenario:
    """One recorded example: provider, file name, what to do and check, and emulator options."""

    provider: str
    name: str
    run: Run
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return RECORDED / self.provider / f"{self.name}.yaml"


def ids(scenarios: list[Scenario]) -> list[str]:
    """``<provider>/<name>``, each scenario's test id."""
    return [f"{s.provider}/{s.name}" for s in scenarios]


def unused(provider: str, scenarios: list[Scenario]) -> tuple[list[Path], list[Path]]:
    """``(recorded cassettes of provider no scenario replays, scenarios' cassettes not recorded)``: both
    empty when every recorded cassette of the provider belongs to a scenario and each has its file."""
    recorded = sorted((RECORDED / provider).glob("*.yaml"))
    expected = sorted(s.path for s in scenarios)
    return [p for p in recorded if p not in expected], [p for p in expected if p not in recorded]


def record_or_replay(scenario: Scenario, key: str) -> None:
    """Record the scenario from an in-process emulator (``PIXELMOCK_RECORD_CASSETTES=1``), or replay its
    cassette with the client pointed at the real base URL: every recorded interaction must be used."""
    quiet = {"retries": RetryPolicy(max_retries=0), "polling": PollPolicy(initial=0, max_polls=10)}
    if RECORD:
        app = create_app(
            EmulatorConfig(
                invalid_keys=frozenset({INVALID}),
                starting_balances={"credits": Decimal(10**6), "USD": Decimal(10**6)},
                options=scenario.options,
            ),
            providers=[scenario.provider],
        )
        prefix = mounted_providers(app)[0].prefix
        base = EMULATOR + prefix
        rewrite = {base: real_base_url(scenario.provider)}
        scenario.path.parent.mkdir(parents=True, exist_ok=True)
        scenario.path.unlink(missing_ok=True)  # vcrpy's "all" mode appends to an existing cassette
        with (
            recording(scenario.path, secrets=[key, INVALID], rewrite=rewrite, record_mode="all"),
            ImageClient(transport=httpx.WSGITransport(app=app), **quiet) as images,
        ):
            scenario.run(images, Provider(scenario.provider, key, base, account_id=ACCOUNT))
        return
    assert scenario.path.exists(), f"{scenario.path} is missing: run with PIXELMOCK_RECORD_CASSETTES=1"
    with recording(scenario.path, record_mode="none") as cassette, ImageClient(**quiet) as images:
        scenario.run(images, Provider(scenario.provider, key, account_id=ACCOUNT))
    assert cassette.all_played


def generate(request: CanonicalRequest, images_expected: int, cost: str) -> Run:
    """Generate ``request``: ``images_expected`` images, a quote, and the reported cost ``cost`` says
    (``usd`` or ``credits``: equal to the quote's; ``none``: no reported cost)."""

    def run(images: ImageClient, target: Provider) -> None:
        result = images.generate(request, target)
        assert len(result.images) == images_expected == result.request.n
        assert result.quote is not None
        reported = result.reported_cost
        if cost == "usd":
            assert reported is not None and reported.usd == result.quote.usd
        elif cost == "credits":
            assert reported is not None and reported.credits == result.quote.credits
        else:
            assert reported is None

    return run


def invalid_key(images: ImageClient, target: Provider) -> None:
    """A generation with a refused key is a 401 ``AuthenticationError``."""
    with pytest.raises(AuthenticationError) as info:
        images.generate(
            CanonicalRequest(model="gpt-image-2", prompt="a red fox"),
            Provider(target.name, INVALID, target.base_url),
        )
    assert info.value.status == 401


def small(model: str, **changes: Any) -> CanonicalRequest:
    """A request for ``model`` with the recordings' prompt and ``changes``."""
    return CanonicalRequest(model=model, prompt="pixelmock recording: a lighthouse at dusk", **changes)  # type: ignore[arg-type]
