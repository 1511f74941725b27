"""OpenAI's examples recorded from the emulator (cassettes/recorded/openai/), replayed through the reference
client (``cassette_recording``): every recorded interaction must be used.

    PIXELMOCK_RECORD_CASSETTES=1 pytest tests/providers/openai/test_openai_recorded.py

records them again from an in-process emulator (credentials scrubbed, the real base URL written).
"""

from __future__ import annotations

import pytest
from cassette_recording import JPEG, Scenario, generate, ids, invalid_key, record_or_replay, small, unused

PROVIDER = "openai"
KEY = "sk-pixelmock-9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c"  # key-shaped: test_cassettes_secrets.py must catch it
SCENARIOS = [
    Scenario(PROVIDER, "generate-gpt-image-1.5", generate(small("gpt-image-1.5", **JPEG), 1, "usd")),
    Scenario(PROVIDER, "generate-gpt-image-2", generate(small("gpt-image-2", **JPEG), 1, "usd")),
    Scenario(PROVIDER, "error-invalid-api-key", invalid_key),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids(SCENARIOS))
def test_recorded_openai_example(scenario: Scenario) -> None:
    record_or_replay(scenario, KEY)


def test_every_recorded_openai_cassette_belongs_to_a_scenario() -> None:
    assert unused(PROVIDER, SCENARIOS) == ([], [])
