"""Azure OpenAI's documented cassettes (cassettes/documented/azure/) replayed through the reference client
(``cassette_replay``): the client sends the edit to the deployment and reads Microsoft's published answer
(its image and its usage, priced at Azure's rule)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cassette_replay import PNG_1X1, Scenario, cassette_key, cassettes_of, missing_and_unknown, replay, target

from pixelmock.client import ImageClient
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.pricing import TokenBreakdown

PROVIDER = "azure"
CASSETTES = cassettes_of(PROVIDER)


def image_edits_example(path: Path, images: ImageClient) -> None:
    image = ImageInput.from_bytes(PNG_1X1)
    request = CanonicalRequest(
        model="gpt-image-1.5",
        prompt="In the style of WordArt, Microsoft Clippy wearing a cowboy hat.",
        n=1,
        size="1024x1024",
        quality="high",
        input_images=(image,),
    )
    result = images.generate(request, target(PROVIDER))
    [found] = result.images
    assert (found.format, found.width, found.height, found.b64) == ("png", 1024, 1024, "iVB...")
    assert result.reported_cost is not None
    assert result.reported_cost.tokens == TokenBreakdown(text_input=10, image_input=40, image_output=50)


SCENARIOS: dict[str, Scenario] = {
    "documented/azure/image_edits_example.yaml": image_edits_example,
}


def test_every_azure_cassette_has_a_replay() -> None:
    assert missing_and_unknown(PROVIDER, SCENARIOS) == ([], [])


@pytest.mark.parametrize("path", CASSETTES, ids=[cassette_key(p) for p in CASSETTES])
def test_client_reads_the_documented_azure_cassette(path: Path) -> None:
    replay(path, SCENARIOS)
