"""GMI Cloud's examples recorded from the emulator (cassettes/recorded/gmicloud/), replayed through the
reference client (``cassette_recording``): every recorded interaction must be used.

    PIXELMOCK_RECORD_CASSETTES=1 pytest tests/providers/gmicloud/test_gmicloud_recorded.py

records them again from an in-process emulator (credentials scrubbed, the real base URL written).
"""

from __future__ import annotations

import pytest
from cassette_recording import Scenario, generate, ids, record_or_replay, small, unused

from pixelmock.client import ImageClient, Provider, ValidationError
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput

PROVIDER = "gmicloud"
KEY = "gmi-pixelmock-0123456789abcdef0123456789"  # key-shaped: test_cassettes_secrets.py must catch it


def rejected(images: ImageClient, target: Provider) -> None:
    request = CanonicalRequest(
        model="gpt-image-2", prompt="make it blue", input_images=(ImageInput(b"not an image"),)
    )
    with pytest.raises(ValidationError) as info:
        images.generate(request, target)
    assert info.value.status == 400 and info.value.job_id


SCENARIOS = [
    Scenario(PROVIDER, "submit-gpt-image-1.5", generate(small("gpt-image-1.5"), 1, "none")),
    Scenario(PROVIDER, "submit-gpt-image-2", generate(small("gpt-image-2", quality="high"), 1, "none")),
    Scenario(PROVIDER, "error-rejected", rejected),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=ids(SCENARIOS))
def test_recorded_gmicloud_example(scenario: Scenario) -> None:
    record_or_replay(scenario, KEY)


def test_every_recorded_gmicloud_cassette_belongs_to_a_scenario() -> None:
    assert unused(PROVIDER, SCENARIOS) == ([], [])
