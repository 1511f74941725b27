"""cassettes/recorded/<provider>/: interactions recorded from the emulators by this module, committed as
examples of each provider's flow as the reference client drives it.

- ``PIXELMOCK_RECORD_CASSETTES=1 pytest tests/cassettes/test_cassettes_recorded.py`` records them again:
  each scenario runs against an in-process emulator through ``pixelmock.client.recording`` (credentials
  scrubbed, the emulator's base URL rewritten to the provider's real one), overwriting the files.
- Otherwise each cassette is replayed (vcrpy, method + path, nothing recorded) with the client pointed at
  the real base URL, and the same assertions run on what the client reads; every interaction must be
  used. ``pixelmock verify`` checks these cassettes against the contracts (test_cassettes_verify.py).

Keys are key-shaped on purpose (``sk-...``, ``afk_...``): test_cassettes_secrets.py fails if one is ever
written to a cassette.
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
from paths import RECORDED as ROOT

from pixelmock.client import (
    AuthenticationError,
    ImageClient,
    PollPolicy,
    Provider,
    RetryPolicy,
    ValidationError,
)
from pixelmock.client.recording import recording
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.openapi import real_base_url
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.app import mounted_providers

RECORD = os.environ.get("PIXELMOCK_RECORD_CASSETTES") == "1"
EMULATOR = "http://127.0.0.1:8080"  # pixelmock serve's default address, so image URLs read naturally
KEYS = {
    "openai": "sk-pixelmock-9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c",
    "cloudflare": "pixelmockCloudflareToken0123456789abcdefXY",
    "apiframe": "afk_pixelmock0123456789abcdef",
    "runware": "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c",
    "gmicloud": "gmi-pixelmock-0123456789abcdef0123456789",
}
INVALID = "sk-pixelmock-revoked-00000000000000000000"
ACCOUNT = "0123456789abcdef0123456789abcdef"  # a Cloudflare account id (not a credential)


@dataclass(frozen=True)
class Scenario:
    """One recorded example: provider, file name, emulator options, and what to do and check."""

    provider: str
    name: str
    run: Callable[[ImageClient, Provider], None]
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return ROOT / self.provider / f"{self.name}.yaml"


def _generate(
    request: CanonicalRequest, images_expected: int, cost: str
) -> Callable[[ImageClient, Provider], None]:
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


def _invalid_key(images: ImageClient, target: Provider) -> None:
    with pytest.raises(AuthenticationError) as info:
        images.generate(
            CanonicalRequest(model="gpt-image-2", prompt="a red fox"),
            Provider(target.name, INVALID, target.base_url),
        )
    assert info.value.status == 401


def _runware_authentication_task(images: ImageClient, target: Provider) -> None:
    tasks = [{"taskType": "authentication", "apiKey": KEYS["runware"]}, {"taskType": "ping", "ping": True}]
    assert images.call(Provider("runware", "", target.base_url), "runTasks", json=tasks) == {
        "data": [{"taskType": "ping", "pong": True}]
    }


def _gmi_rejected(images: ImageClient, target: Provider) -> None:
    request = CanonicalRequest(
        model="gpt-image-2", prompt="make it blue", input_images=(ImageInput(b"not an image"),)
    )
    with pytest.raises(ValidationError) as info:
        images.generate(request, target)
    assert info.value.status == 400 and info.value.job_id


def _small(model: str, **changes: Any) -> CanonicalRequest:
    return CanonicalRequest(model=model, prompt="pixelmock recording: a lighthouse at dusk", **changes)  # type: ignore[arg-type]


JPEG = {"size": "1024x1024", "quality": "low", "output_format": "jpeg", "output_compression": 20}
SCENARIOS = [
    Scenario("openai", "generate-gpt-image-1.5", _generate(_small("gpt-image-1.5", **JPEG), 1, "usd")),
    Scenario("openai", "generate-gpt-image-2", _generate(_small("gpt-image-2", **JPEG), 1, "usd")),
    Scenario("openai", "error-invalid-api-key", _invalid_key),
    Scenario("cloudflare", "run-gpt-image-1.5", _generate(_small("gpt-image-1.5", quality="low"), 1, "none")),
    Scenario("cloudflare", "run-gpt-image-2", _generate(_small("gpt-image-2", size="1536x1024"), 1, "none")),
    Scenario(
        "apiframe",
        "generate-and-poll-gpt-image-1.5",
        _generate(_small("gpt-image-1.5", n=2, quality="medium"), 2, "credits"),
        {"apiframe.polls_to_complete": 2},
    ),
    Scenario(
        "apiframe", "generate-gpt-image-2", _generate(_small("gpt-image-2", quality="low"), 1, "credits")
    ),
    Scenario("runware", "sync-gpt-image-1.5", _generate(_small("gpt-image-1.5", quality="high"), 1, "usd")),
    Scenario(
        "runware",
        "async-get-response-gpt-image-2",
        _generate(
            _small("gpt-image-2", n=2, size="1024x1024", extra={"runware": {"deliveryMethod": "async"}}),
            2,
            "usd",
        ),
        {"runware.processing_polls": 1},
    ),
    Scenario("runware", "authentication-task-ping", _runware_authentication_task),
    Scenario("gmicloud", "submit-gpt-image-1.5", _generate(_small("gpt-image-1.5"), 1, "none")),
    Scenario("gmicloud", "submit-gpt-image-2", _generate(_small("gpt-image-2", quality="high"), 1, "none")),
    Scenario("gmicloud", "error-rejected", _gmi_rejected),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.provider}/{s.name}" for s in SCENARIOS])
def test_recorded_example(scenario: Scenario) -> None:
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
        secrets = [*KEYS.values(), INVALID]
        with (
            recording(scenario.path, secrets=secrets, rewrite=rewrite, record_mode="all"),
            ImageClient(transport=httpx.WSGITransport(app=app), **quiet) as images,
        ):
            scenario.run(
                images, Provider(scenario.provider, KEYS[scenario.provider], base, account_id=ACCOUNT)
            )
        return
    assert scenario.path.exists(), f"{scenario.path} is missing: run with PIXELMOCK_RECORD_CASSETTES=1"
    with recording(scenario.path, record_mode="none") as cassette, ImageClient(**quiet) as images:
        scenario.run(images, Provider(scenario.provider, KEYS[scenario.provider], account_id=ACCOUNT))
    assert cassette.all_played


def test_every_recorded_cassette_belongs_to_a_scenario() -> None:
    assert sorted(ROOT.glob("*/*.yaml")) == sorted(s.path for s in SCENARIOS)
