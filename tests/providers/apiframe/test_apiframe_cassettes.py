"""Apiframe's documented cassettes (cassettes/documented/apiframe/) replayed through the reference client
(``cassette_replay``): the client reads the published job, image and credits, the SDK fixtures' error
bodies, the documented authentication errors and a failed job's state, and makes every documented call.
The published figures below are the oracles.
"""

from __future__ import annotations

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
    target,
)

from pixelmock.client import (
    AuthenticationError,
    ContentPolicyError,
    ImageClient,
    InsufficientCreditsError,
    RateLimitedError,
    ValidationError,
)
from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "apiframe"
CASSETTES = cassettes_of(PROVIDER)
JOB = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def _seed(path: Path) -> CanonicalRequest:
    return canonical("apiframe", "generateImage", request_body(path))


def gpt_image_1_5_generate_and_poll(path: Path, images: ImageClient) -> None:
    result = images.generate(_seed(path), target("apiframe"))
    assert result.job_id == JOB
    [image] = result.images
    assert image.url == f"https://cdn2.apiframe.ai/images/{JOB}-1.png"
    assert (image.format, image.width, image.height) == ("png", 1536, 1024)  # 3:2
    # 24 credits: the page's credit table, high quality x 1 image.
    assert result.reported_cost is not None and result.reported_cost.credits == 24
    assert result.quote is not None and result.quote.credits == 24


def error_bodies_sdk_fixtures(path: Path, images: ImageClient) -> None:
    request, to = _seed(path), target("apiframe")
    bad = raises(ValidationError, lambda: images.generate(request, to))
    assert (bad.status, bad.message, bad.body["details"]) == (400, "Bad", {"foo.bar": ["nope"]})
    broke = raises(InsufficientCreditsError, lambda: images.generate(request, to))
    assert (broke.status, broke.required, broke.available) == (402, 50, 10)
    slow = raises(RateLimitedError, lambda: images.generate(request, to))
    assert (slow.status, slow.message, slow.retry_after) == (429, "slow down", 7)


def auth_errors_documented(path: Path, images: ImageClient) -> None:
    found = [raises(AuthenticationError, lambda: images.call(target("apiframe"), "getMe")) for _ in range(3)]
    assert [(e.status, e.message) for e in found] == [
        (401, "API key is required"),
        (401, "Invalid API key"),
        (403, "API key is inactive"),
    ]


def job_states_documented(path: Path, images: ImageClient) -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="resumed")
    failed = raises(ContentPolicyError, lambda: images.resume(request, target("apiframe"), JOB))
    assert (failed.job_id, failed.code) == (JOB, "FAILED")
    assert failed.message == "Provider returned an error: content policy violation"


SCENARIOS: dict[str, Scenario] = {
    "documented/apiframe/gpt_image_1_5_generate_and_poll.yaml": gpt_image_1_5_generate_and_poll,
    "documented/apiframe/error_bodies_sdk_fixtures.yaml": error_bodies_sdk_fixtures,
    "documented/apiframe/auth_errors_documented.yaml": auth_errors_documented,
    "documented/apiframe/job_states_documented.yaml": job_states_documented,
}


def test_every_apiframe_cassette_has_a_replay() -> None:
    assert missing_and_unknown(PROVIDER, SCENARIOS) == ([], [])


@pytest.mark.parametrize("path", CASSETTES, ids=[cassette_key(p) for p in CASSETTES])
def test_client_reads_the_documented_apiframe_cassette(path: Path) -> None:
    replay(path, SCENARIOS)
