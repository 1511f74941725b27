"""Apiframe's examples recorded from the emulator (cassettes/recorded/apiframe/), replayed through the
reference client (``cassette_recording``): every recorded interaction must be used.

    PIXELMOCK_RECORD_CASSETTES=1 pytest tests/providers/apiframe/test_apiframe_recorded.py

records them again from an in-process emulator (credentials scrubbed, the real base URL written).
"""

from __future__ import annotations

import pytest
from cassette_recording import Scenario, generate, ids, record_or_replay, small, unused

PROVIDER = "apiframe"
KEY = "afk_pixelmock0123456789abcdef"  # key-shaped: test_cassettes_secrets.py must catch it
SCENARIOS = [
    Scenario(
        PROVIDER,
        "generate-and-poll-gpt-image-1.5",
        generate(small("gpt-image-1.5", n=2, quality="medium"), 2, "credits"),
        {"apiframe.polls_to_complete": 2},
    ),
    Scenario(PROVIDER, "generate-gpt-image-2", generate(small("gpt-image-2", quality="low"), 1, "credits")),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids(SCENARIOS))
def test_recorded_apiframe_example(scenario: Scenario) -> None:
    record_or_replay(scenario, KEY)


def test_every_recorded_apiframe_cassette_belongs_to_a_scenario() -> None:
    assert unused(PROVIDER, SCENARIOS) == ([], [])
