"""Runware's documented cassettes (cassettes/documented/runware/) replayed through the reference client
(``cassette_replay``): the client reads the published images and costs of the model page's four examples,
the documented invalid-key error and the ping, and makes every documented call. The published costs
below are the oracles.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from cassette_replay import (
    Scenario,
    canonical,
    cassette_key,
    cassettes_of,
    missing_and_unknown,
    raises,
    replay,
    request_body,
    response_body,
    target,
)

from pixelmock.client import AuthenticationError, ImageClient
from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "runware"
CASSETTES = cassettes_of(PROVIDER)
COSTS = {  # runware.ai/docs/models/openai-gpt-image-1-5, the four published responses
    "openai-4-1-bioluminescent-art-nouveau-portrait.yaml": "0.20312",
    "openai-4-1-luminescent-botanical-observatory-interior.yaml": "0.19961",
    "openai-4-1-retro-futurist-metro-poster.yaml": "0.19984",
    "openai-4-1-retro-futurist-observatory-sticker-sheet.yaml": "0.13392",
}


def example(path: Path, images: ImageClient) -> None:
    [task] = request_body(path)
    result = images.generate(canonical("runware", "runTasks", [task]), target("runware"))
    item = response_body(path)["data"][0]
    [image] = result.images
    assert (image.url, image.format) == (item["imageURL"], "jpeg")
    assert (image.width, image.height) == (task["width"], task["height"])
    assert result.job_id == task["taskUUID"]
    assert result.reported_cost is not None and result.reported_cost.usd == Decimal(COSTS[path.name])


def invalid_api_key(path: Path, images: ImageClient) -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="a cat")
    error = raises(AuthenticationError, lambda: images.generate(request, target("runware")))
    assert (error.status, error.code, error.param) == (401, "invalidApiKey", "apiKey")
    assert error.message == "Invalid API key. Get one at https://my.runware.ai/signup"


def ping(path: Path, images: ImageClient) -> None:
    answer = images.call(target("runware"), "runTasks", json=[{"taskType": "ping", "ping": True}])
    assert answer == {"data": [{"taskType": "ping", "pong": True}]}


SCENARIOS: dict[str, Scenario] = {
    **{f"documented/runware/{name}": example for name in COSTS},
    "documented/runware/invalid-api-key.yaml": invalid_api_key,
    "documented/runware/ping.yaml": ping,
}


def test_every_runware_cassette_has_a_replay() -> None:
    assert missing_and_unknown(PROVIDER, SCENARIOS) == ([], [])


@pytest.mark.parametrize("path", CASSETTES, ids=[cassette_key(p) for p in CASSETTES])
def test_client_reads_the_documented_runware_cassette(path: Path) -> None:
    replay(path, SCENARIOS)
