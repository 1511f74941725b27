"""Cloudflare's examples recorded from the emulator (cassettes/recorded/cloudflare/), replayed through the
reference client (``cassette_recording``): every recorded interaction must be used.

    PIXELMOCK_RECORD_CASSETTES=1 pytest tests/providers/cloudflare/test_cloudflare_recorded.py

records them again from an in-process emulator (credentials scrubbed, the real base URL written).
"""

from __future__ import annotations

import pytest
from cassette_recording import Scenario, generate, ids, record_or_replay, small, unused

PROVIDER = "cloudflare"
KEY = "pixelmockCloudflareToken0123456789abcdefXY"  # key-shaped: test_cassettes_secrets.py must catch it
SCENARIOS = [
    Scenario(PROVIDER, "run-gpt-image-1.5", generate(small("gpt-image-1.5", quality="low"), 1, "none")),
    Scenario(PROVIDER, "run-gpt-image-2", generate(small("gpt-image-2", size="1536x1024"), 1, "none")),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids(SCENARIOS))
def test_recorded_cloudflare_example(scenario: Scenario) -> None:
    record_or_replay(scenario, KEY)


def test_every_recorded_cloudflare_cassette_belongs_to_a_scenario() -> None:
    assert unused(PROVIDER, SCENARIOS) == ([], [])
