"""Runware's examples recorded from the emulator (cassettes/recorded/runware/), replayed through the
reference client (``cassette_recording``): every recorded interaction must be used.

    PIXELMOCK_RECORD_CASSETTES=1 pytest tests/providers/runware/test_runware_recorded.py

records them again from an in-process emulator (credentials scrubbed, the real base URL written).
"""

from __future__ import annotations

import pytest
from cassette_recording import Scenario, generate, ids, record_or_replay, small, unused

from pixelmock.client import ImageClient, Provider

PROVIDER = "runware"
KEY = "9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c"  # key-shaped: test_cassettes_secrets.py must catch it


def authentication_task(images: ImageClient, target: Provider) -> None:
    tasks = [{"taskType": "authentication", "apiKey": KEY}, {"taskType": "ping", "ping": True}]
    assert images.call(Provider(PROVIDER, "", target.base_url), "runTasks", json=tasks) == {
        "data": [{"taskType": "ping", "pong": True}]
    }


SCENARIOS = [
    Scenario(PROVIDER, "sync-gpt-image-1.5", generate(small("gpt-image-1.5", quality="high"), 1, "usd")),
    Scenario(
        PROVIDER,
        "async-get-response-gpt-image-2",
        generate(
            small("gpt-image-2", n=2, size="1024x1024", extra={"runware": {"deliveryMethod": "async"}}),
            2,
            "usd",
        ),
        {"runware.processing_polls": 1},
    ),
    Scenario(PROVIDER, "authentication-task-ping", authentication_task),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids(SCENARIOS))
def test_recorded_runware_example(scenario: Scenario) -> None:
    record_or_replay(scenario, KEY)


def test_every_recorded_runware_cassette_belongs_to_a_scenario() -> None:
    assert unused(PROVIDER, SCENARIOS) == ([], [])
