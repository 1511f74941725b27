"""Azure OpenAI contract (contracts/openapi/azure.yaml) against Microsoft's REST specification examples.

Oracles: Azure/azure-rest-api-specs@7a31c79caed372d6e7963f40b6a0230c728cd0fe, the 2025-04-01-preview
``examples/image_edits.json`` (typed in below): its api-version, deployment parameter, request fields and
its 200 body; and the how-to's endpoint
(https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/dall-e, read 2026-12-07).
"""

from __future__ import annotations

from typing import Any

from pixelmock.contracts.openapi import document, inlined, operation, real_base_url, validate

PROVIDER = "azure"
#: Microsoft's example (image_edits.json), parameters and 200 body.
EXAMPLE_API_VERSION = "2025-04-01-preview"
EXAMPLE_EDIT = {"prompt": "In the style of WordArt, Microsoft Clippy wearing a cowboy hat.", "n": 1,
                "size": "1024x1024", "quality": "high", "image": "<binary-image-data>"}  # fmt: skip
EXAMPLE_200: dict[str, Any] = {
    "created": 1698342300,
    "data": [{"b64_json": "iVB..."}],
    "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
              "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}},
}  # fmt: skip


def test_the_base_url_is_a_resources_openai_azure_com_host() -> None:
    assert real_base_url(PROVIDER).endswith(".openai.azure.com")
    assert document(PROVIDER)["servers"][0]["url"] == real_base_url(PROVIDER)


def test_the_documented_paths_are_the_operations() -> None:
    assert operation(PROVIDER, "createImage")[:2] == (
        "POST",
        "/openai/deployments/{deployment-id}/images/generations",
    )
    assert operation(PROVIDER, "createImageEdit")[:2] == (
        "POST",
        "/openai/deployments/{deployment-id}/images/edits",
    )
    assert operation(PROVIDER, "createImageV1")[1] == "/openai/v1/images/generations"
    assert operation(PROVIDER, "createImageEditV1")[1] == "/openai/v1/images/edits"


def test_the_examples_api_version_is_required_and_accepted() -> None:
    params = {p["name"]: p for p in operation(PROVIDER, "createImageEdit")[2]["parameters"]}
    assert params["api-version"]["required"] is True
    assert EXAMPLE_API_VERSION in params["api-version"]["schema"]["enum"]
    assert params["deployment-id"]["in"] == "path"


def test_the_examples_request_and_answer_validate() -> None:
    schemas = inlined(PROVIDER)["components"]["schemas"]
    assert validate(PROVIDER, schemas["EditRequest"], EXAMPLE_EDIT) == []
    assert validate(PROVIDER, schemas["ImagesResponse"], EXAMPLE_200) == []


def test_both_credentials_are_declared() -> None:
    schemes = document(PROVIDER)["components"]["securitySchemes"]
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header", "name": "api-key"}
    assert schemes["bearerAuth"]["scheme"] == "bearer"


def test_the_bodies_are_read_from_openais_contract() -> None:
    schemas = document(PROVIDER)["components"]["schemas"]
    assert schemas["GenerationRequest"]["x-upstream-request"] == {"openai": "createImage"}
    assert schemas["EditRequest"]["x-upstream-request"] == {"openai": "createImageEdit"}
    operation("openai", "createImage")
    operation("openai", "createImageEdit")
