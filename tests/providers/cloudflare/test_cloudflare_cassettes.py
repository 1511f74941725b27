"""Cloudflare's documented cassettes (cassettes/documented/cloudflare/: the published examples of
Workers AI's gpt-image models) replayed through the reference client (``cassette_replay``): the client
reads the published image URL of each and makes every documented call.
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
    replay,
    request_body,
    response_body,
    target,
)
from paths import DOCUMENTED

from pixelmock.client import ImageClient

PROVIDER = "cloudflare"
CASSETTES = cassettes_of(PROVIDER)


def run(path: Path, images: ImageClient) -> None:
    request = canonical("cloudflare", "aiRun", request_body(path))
    result = images.generate(request, target("cloudflare"))
    documented = response_body(path)["result"]["result"]["image"]
    [image] = result.images
    assert image.url == documented
    assert image.format == documented.rsplit(".", 1)[1]
    assert result.reported_cost is None and result.job_id is None  # Cloudflare reports neither
    assert result.quote is not None and result.quote.usd is not None


#: Every published example is the same flow: one aiRun answered with the image's URL (a reconstructed
#: cassette would need a scenario of its own).
SCENARIOS: dict[str, Scenario] = {
    cassette_key(path): run for path in sorted((DOCUMENTED / PROVIDER).glob("*.yaml"))
}


def test_every_cloudflare_cassette_has_a_replay() -> None:
    assert missing_and_unknown(PROVIDER, SCENARIOS) == ([], [])


@pytest.mark.parametrize("path", CASSETTES, ids=[cassette_key(p) for p in CASSETTES])
def test_client_reads_the_documented_cloudflare_cassette(path: Path) -> None:
    replay(path, SCENARIOS)
