"""The OpenAI contract (contracts/openapi/openai.yaml) against the published facts.

Oracles: the facts as OpenAI and its SDK publish them (openai-python 3.54.0, captured errors; restated here
as literals), the documented example requests (cassettes/documented/openai), and contracts/data/models.yaml.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate as validate_spec
from paths import DOCUMENTED
from paths import cassette as cassette_path

from pixelmock.contracts.canonical import MODELS
from pixelmock.contracts.data import model_facts
from pixelmock.contracts.openapi import (
    document,
    inlined,
    model_branch,
    real_base_url,
    request_schema,
    validate,
)

CASSETTES = DOCUMENTED / "openai"
GENERATE_MODELS = ("gpt-image-1.5", "gpt-image-1.5-2025-12-16", "gpt-image-2", "gpt-image-2-2026-04-21")


def _branch(operation_id: str, model: str) -> dict[str, Any]:
    content = "multipart/form-data" if operation_id == "createImageEdit" else "application/json"
    found = model_branch("openai", request_schema("openai", operation_id, content), model)
    assert found is not None
    return found


def test_document_is_valid_openapi_with_the_real_base_url() -> None:
    validate_spec(document("openai"))
    assert real_base_url("openai") == "https://api.openai.com/v1"
    assert document("openai")["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_operations_are_the_documented_ones() -> None:
    paths = inlined("openai")["paths"]
    assert {
        p: [op["operationId"] for op in item.values() if "operationId" in op] for p, item in paths.items()
    } == {
        "/images/generations": ["createImage"],
        "/images/edits": ["createImageEdit"],
        "/models": ["listModels"],
        "/models/{model}": ["retrieveModel"],
        "/responses": ["createResponse"],
        "/responses/{response_id}": ["getResponse", "deleteResponse"],
    }
    # multipart (the SDKs) and JSON with image references (OpenAI's EditImageBodyJsonParam)
    assert list(paths["/images/edits"]["post"]["requestBody"]["content"]) == [
        "multipart/form-data",
        "application/json",
    ]


#: openai==3.63.0 types/image_model.py: the GPT Image ids (besides gpt-image-1, shut down 2026-10-23,
#: chatgpt-image-latest and the DALL-E models, which pixelmock does not emulate)
SDK_IMAGE_MODELS = {
    "gpt-image-1.5",
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "gpt-image-1-mini",
}


@pytest.mark.parametrize("operation_id", ["createImage", "createImageEdit"])
def test_models_are_the_catalogues_and_their_snapshots(operation_id: str) -> None:
    content = "multipart/form-data" if operation_id == "createImageEdit" else "application/json"
    mapping = request_schema("openai", operation_id, content)["discriminator"]["mapping"]
    expected = {m for canonical in MODELS for m in (canonical, *_snapshots(canonical))}
    assert set(mapping) == expected
    # every GPT Image id of the newest SDK is there (plus gpt-image-1.5's dated snapshot)
    assert set(mapping) >= SDK_IMAGE_MODELS
    for native in mapping:
        branch = _branch(operation_id, native)
        assert branch["properties"]["model"]["const"] == native
        assert branch["additionalProperties"] is False


def _snapshots(model: str) -> list[str]:
    return list(model_facts(model)["snapshots"])


@pytest.mark.parametrize("model", GENERATE_MODELS)
def test_published_limits_and_defaults(model: str) -> None:
    """SDK: prompt <= 32000 chars, n 1-10, output_compression 0-100 (default 100), defaults auto/png."""
    props = _branch("createImage", model)["properties"]
    assert props["prompt"]["maxLength"] == 32000
    assert (props["n"]["minimum"], props["n"]["maximum"]) == (1, 10)
    assert (props["output_compression"]["minimum"], props["output_compression"]["maximum"]) == (0, 100)
    assert props["output_compression"]["default"] == 100
    defaults = {name: props[name]["default"] for name in ("size", "quality", "background", "output_format")}
    assert defaults == {"size": "auto", "quality": "auto", "background": "auto", "output_format": "png"}
    assert props["moderation"]["default"] == "auto"
    refused = set(props["quality"].get("not", {}).get("enum", ()))  # gpt-image-2: xhigh and max (2.5's)
    assert set(props["quality"]["enum"]) - {None} - refused == {"low", "medium", "high", "auto"}
    assert set(props["output_format"]["enum"]) - {None} == {"png", "webp", "jpeg"}
    assert "response_format" not in props and "style" not in props


def test_gpt_image_1_5_sizes_and_edit_fields() -> None:
    """codex image-api.md matrix: fixed sizes + auto; input_fidelity low/high, default low (edits only)."""
    sizes = _branch("createImage", "gpt-image-1.5")["properties"]["size"]["enum"]
    assert sizes == ["1024x1024", "1024x1536", "1536x1024", "auto", None]
    edit = _branch("createImageEdit", "gpt-image-1.5")
    assert set(edit["properties"]["input_fidelity"]["enum"]) - {None} == {"low", "high"}
    assert edit["properties"]["input_fidelity"]["default"] == "low"
    assert "input_fidelity" not in _branch("createImage", "gpt-image-1.5")["properties"]
    assert edit["properties"]["image[]"]["maxItems"] == 16 and edit["x-max-input-images"] == 16
    assert "moderation" not in edit["properties"]  # not an images.edit parameter in openai-python 3.54.0


def test_gpt_image_2_size_rules_are_the_published_numbers() -> None:
    """SDK/codex rules: edges divisible by 16, ratio <= 3:1, 655,360-8,294,400 pixels, 3840 edge (SDK)."""
    rules = _branch("createImage", "gpt-image-2")["properties"]["size"]["x-size-rules"]
    assert {k: v for k, v in rules.items() if not k.startswith("x-")} == {
        "multiple_of": 16,
        "max_ratio": 3,
        "min_pixels": 655360,
        "max_pixels": 8294400,
        "max_edge": 3840,
        "max_edge_inclusive": True,
    }
    assert "x-choice" in rules


def test_documented_generation_example_request_validates() -> None:
    interaction = yaml.safe_load((CASSETTES / "generations_response_example.yaml").read_text())[
        "interactions"
    ][0]
    body = json.loads(interaction["request"]["body"])
    assert validate("openai", request_schema("openai", "createImage"), body) == []
    response = json.loads(interaction["response"]["body"]["string"])
    schema = inlined("openai")["components"]["schemas"]["ImagesResponse"]
    assert validate("openai", schema, response) == []


@pytest.mark.parametrize(
    ("cassette", "param", "keyword"),
    [
        ("error_unsupported_size", "size", "enum"),
        ("error_wrong_type_size", "size", "type"),
        ("error_response_format", "response_format", "additionalProperties"),
        ("error_transparent_background_gpt_image_2", "background", "not"),
    ],
)
def test_documented_rejections_break_the_contract_at_the_documented_param(
    cassette: str, param: str, keyword: str
) -> None:
    interaction = yaml.safe_load(cassette_path("openai", f"{cassette}.yaml").read_text())["interactions"][0]
    violations = validate(
        "openai", request_schema("openai", "createImage"), json.loads(interaction["request"]["body"])
    )
    assert (violations[0].param, violations[0].keyword) == (param, keyword)
    assert json.loads(interaction["response"]["body"]["string"])["error"]["param"] == param


def test_every_error_body_is_the_openai_envelope() -> None:
    errors = inlined("openai")["x-openai-errors"]
    entries = [v for k, v in errors.items() if isinstance(v, dict) and "status" in v]
    entries += [v for v in errors["validation"].values() if isinstance(v, dict) and "status" in v]
    assert len(entries) > 20
    for entry in entries:
        assert {"status", "type", "message", "x-source"} <= set(entry)
        assert 400 <= entry["status"] < 600
    statuses = {e["status"] for e in entries}
    for name in ("/images/generations", "/images/edits"):
        declared = {
            int(code) for code in inlined("openai")["paths"][name]["post"]["responses"] if code != "200"
        }
        # 404 answers unknown paths and 405 other methods, which the paths do not declare
        assert statuses - {404, 405} <= declared
