"""OpenAI's documented and reconstructed cassettes (cassettes/documented/openai/,
cassettes/reconstructed/openai/) replayed through the reference client (``cassette_replay``): the client
reads the published values (the image, the usage and its price, error statuses, codes, params and texts)
and makes every documented call. The published figures below are the oracles.

A canonical request is built from the cassette's own request where the dialect can read it; documented
error examples whose requests the client would refuse before sending (a size OpenAI rejects, an unknown
model) go through ``ImageClient.call`` with the published body instead.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cassette_replay import (
    PNG_1X1,
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

from pixelmock.client import AuthenticationError, ImageClient, ImageClientError, ValidationError
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.pricing import TokenBreakdown

PROVIDER = "openai"
CASSETTES = cassettes_of(PROVIDER)


def generations_response_example(path: Path, images: ImageClient) -> None:
    request = canonical("openai", "createImage", request_body(path))
    result = images.generate(request, target("openai"))
    [image] = result.images
    assert (image.format, image.width, image.height, image.b64) == ("png", 1024, 1024, "iVBORw0KGgo...")
    assert result.reported_cost is not None
    assert result.reported_cost.tokens == TokenBreakdown(text_input=50, image_input=0, image_output=4160)
    # 50 text tokens at $5/M and 4160 image tokens at $32/M (contracts/data/models.yaml).
    assert result.reported_cost.usd == Decimal("0.00025") + Decimal("0.13312")
    assert result.quote is not None and result.quote.tokens.image_output == 4160  # the published usage


def documented_error(status: int, code: str, param: str | None, text: str) -> Scenario:
    def scenario(path: Path, images: ImageClient) -> None:
        body = request_body(path)
        error = raises(ImageClientError, lambda: images.call(target("openai"), "createImage", json=body))
        expected = AuthenticationError if status == 401 else ValidationError
        assert type(error) is expected
        assert (error.status, error.code, error.param) == (status, code, param)
        assert text in error.message

    return scenario


def refused_before_sending(field: str, **changes: Any) -> Scenario:
    """The canonical form of the documented request is refused by the client without a request (the
    cassette stays unplayed), then the published body is sent as it is and its error read."""

    def scenario(path: Path, images: ImageClient) -> None:
        request = CanonicalRequest(model="gpt-image-2", prompt="x").with_(**changes)
        refused = raises(ValidationError, lambda: images.generate(request, target("openai")))
        assert (refused.status, refused.param) == (None, field)
        error = raises(
            ValidationError, lambda: images.call(target("openai"), "createImage", json=request_body(path))
        )
        assert (error.status, error.param) == (400, field)

    return scenario


def error_unsupported_file_mimetype(path: Path, images: ImageClient) -> None:
    # Bytes that are not an image travel as application/octet-stream, as in the documented capture.
    request = CanonicalRequest(
        model="gpt-image-1.5", prompt="Make the sky purple", input_images=(ImageInput(b"??"),)
    )
    error = raises(ValidationError, lambda: images.generate(request, target("openai")))
    assert (error.status, error.code, error.param) == (400, "unsupported_file_mimetype", "image")
    assert "'application/octet-stream'" in error.message


def error_input_fidelity_gpt_image_2(path: Path, images: ImageClient) -> None:
    image = ImageInput.from_bytes(PNG_1X1)
    request = CanonicalRequest(model="gpt-image-2", prompt="Make the sky purple", input_images=(image,))
    error = raises(ValidationError, lambda: images.generate(request, target("openai")))
    assert (error.status, error.code, error.param) == (400, "invalid_input_fidelity_model", "input_fidelity")
    assert error.body["error"]["type"] == "image_generation_user_error"


SCENARIOS: dict[str, Scenario] = {
    "documented/openai/generations_response_example.yaml": generations_response_example,
    "documented/openai/error_invalid_api_key.yaml": documented_error(
        401, "invalid_api_key", None, "Incorrect API key provided"
    ),
    "documented/openai/error_model_not_found.yaml": documented_error(
        400, "invalid_value", "model", "The model 'bad model' does not exist."
    ),
    "documented/openai/error_response_format.yaml": documented_error(
        400, "unknown_parameter", "response_format", "Unknown"
    ),
    "reconstructed/openai/error_wrong_type_size.yaml": documented_error(
        400, "invalid_type", "size", "but got an integer"
    ),
    "documented/openai/error_unsupported_size.yaml": refused_before_sending(
        "size", model="gpt-image-1.5", size="512x512"
    ),
    "reconstructed/openai/error_transparent_background_gpt_image_2.yaml": refused_before_sending(
        "background", background="transparent"
    ),
    "documented/openai/error_unsupported_file_mimetype.yaml": error_unsupported_file_mimetype,
    "documented/openai/error_input_fidelity_gpt_image_2.yaml": error_input_fidelity_gpt_image_2,
}


def test_every_openai_cassette_has_a_replay() -> None:
    assert missing_and_unknown(PROVIDER, SCENARIOS) == ([], [])


@pytest.mark.parametrize("path", CASSETTES, ids=[cassette_key(p) for p in CASSETTES])
def test_client_reads_the_documented_openai_cassette(path: Path) -> None:
    replay(path, SCENARIOS)
