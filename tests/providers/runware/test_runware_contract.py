"""Runware's OpenAPI contract against its oracles: the openai:4@1 model page (transcribed in
cassettes/documented/runware), the GPT Image 2 page and the errors page as summarised in
runware.ai/docs (read 2026-11-21; figures typed here from those pages, not read back from the document)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from paths import DOCUMENTED

from pixelmock.contracts.dialects.runware import branch, task_type_schema
from pixelmock.contracts.openapi import document, inlined, operation, request_schema, validate

CASSETTES = DOCUMENTED / "runware"


def _interactions() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"]:
            out.append((path.stem, interaction))
    return out


INTERACTIONS = _interactions()
IMAGE_EXAMPLES = [(name, i) for name, i in INTERACTIONS if name.startswith("openai-4-1-")]


def _response_schema(status: str) -> dict[str, Any]:
    _, _, op = operation("runware", "runTasks")
    schema: dict[str, Any] = op["responses"][status]["content"]["application/json"]["schema"]
    return schema


def test_document_is_valid_openapi_and_points_at_the_real_base_url() -> None:
    doc = document("runware")
    validate_spec(doc)
    assert doc["servers"][0]["url"] == "https://api.runware.ai/v1"
    method, path, _ = operation("runware", "runTasks")
    assert (method, path) == ("POST", "/")
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_there_are_four_documented_image_examples() -> None:
    assert len(IMAGE_EXAMPLES) == 4


@pytest.mark.parametrize(("name", "interaction"), INTERACTIONS, ids=[n for n, _ in INTERACTIONS])
def test_documented_requests_validate(name: str, interaction: dict[str, Any]) -> None:
    body = json.loads(interaction["request"]["body"])
    if name == "invalid-api-key":
        # The documented payload-auth example uses a non-GPT model (civitai); only its auth task is ours.
        body = body[:1]
    assert validate("runware", request_schema("runware", "runTasks"), body) == []


@pytest.mark.parametrize(("name", "interaction"), INTERACTIONS, ids=[n for n, _ in INTERACTIONS])
def test_documented_responses_match_the_response_schemas(name: str, interaction: dict[str, Any]) -> None:
    status = str(interaction["response"]["status"]["code"])
    body = json.loads(interaction["response"]["body"]["string"])
    errors = list(Draft202012Validator(_response_schema(status)).iter_errors(body))
    assert errors == []


def test_openai_4_1_fields_match_the_model_page() -> None:
    props = branch("openai:4@1")["properties"]  # type: ignore[index]
    assert props["outputType"]["enum"] == ["URL", "base64Data", "dataURI"]
    assert props["outputType"]["default"] == "URL"
    assert (props["outputFormat"]["enum"], props["outputFormat"]["default"]) == (
        ["JPG", "PNG", "WEBP"],
        "JPG",
    )
    quality = props["outputQuality"]
    assert (quality["minimum"], quality["maximum"], quality["default"]) == (20, 99, 95)
    assert props["deliveryMethod"]["enum"] == ["sync", "async"]
    assert props["deliveryMethod"]["default"] == "sync"
    assert props["safety"]["properties"]["checkContent"]["default"] is False
    assert props["safety"]["properties"]["mode"]["default"] == "none"
    assert props["ttl"]["minimum"] == 60
    assert props["includeCost"]["default"] is False
    results = props["numberResults"]
    assert (results["minimum"], results["maximum"], results["default"]) == (1, 20, 1)
    refs = props["inputs"]["properties"]["referenceImages"]
    assert (refs["minItems"], refs["maxItems"]) == (1, 16)
    prompt = props["positivePrompt"]
    assert (prompt["minLength"], prompt["maxLength"]) == (2, 32000)
    openai = props["providerSettings"]["properties"]["openai"]["properties"]
    assert (sorted(openai["background"]["enum"]), openai["background"]["default"]) == (
        ["auto", "opaque", "transparent"],
        "auto",
    )
    assert (sorted(openai["quality"]["enum"]), openai["quality"]["default"]) == (
        ["auto", "high", "low", "medium"],
        "auto",
    )
    assert sorted(branch("openai:4@1")["x-allowed-sizes"]["sizes"]) == [  # type: ignore[index]
        "1024x1024",
        "1024x1536",
        "1536x1024",
    ]


def test_gpt_image_2_differs_as_documented() -> None:
    schema = branch("openai:gpt-image@2")
    assert schema is not None
    props = schema["properties"]
    openai = props["providerSettings"]["properties"]["openai"]["properties"]
    assert sorted(openai) == ["moderation", "quality"]  # no background on GPT Image 2
    assert openai["moderation"]["enum"] == ["auto", "low"] and openai["moderation"]["default"] == "auto"
    for edge in ("width", "height"):
        assert (props[edge]["minimum"], props[edge]["maximum"], props[edge]["multipleOf"]) == (480, 3840, 16)


@pytest.mark.parametrize(
    ("model", "change", "param", "keyword"),
    [
        ("openai:4@1", {"width": 1000}, "width", "enum"),
        ("openai:4@1", {"outputFormat": "GIF"}, "outputFormat", "enum"),
        ("openai:4@1", {"outputQuality": 100}, "outputQuality", "maximum"),
        ("openai:4@1", {"numberResults": 21}, "numberResults", "maximum"),
        ("openai:4@1", {"positivePrompt": "a"}, "positivePrompt", "minLength"),
        ("openai:4@1", {"ttl": 59}, "ttl", "minimum"),
        ("openai:4@1", {"negativePrompt": "blur"}, "negativePrompt", "additionalProperties"),
        ("openai:gpt-image@2", {"width": 1000}, "width", "multipleOf"),
        ("openai:gpt-image@2", {"width": 3856}, "width", "maximum"),
        (
            "openai:gpt-image@2",
            {"providerSettings": {"openai": {"background": "opaque"}}},
            "providerSettings.openai.background",
            "additionalProperties",
        ),
    ],
)
def test_per_model_rules_reject(model: str, change: dict[str, Any], param: str, keyword: str) -> None:
    task = {
        "taskType": "imageInference",
        "taskUUID": "3d582d50-3e2b-47b2-bd02-839f962a7b38",
        "model": model,
        "positivePrompt": "a red fox",
        "width": 1024,
        "height": 1024,
        **change,
    }
    schema = task_type_schema("imageInference")
    assert schema is not None
    violations = validate("runware", schema, task)
    assert violations and (violations[0].param, violations[0].keyword) == (param, keyword)


def test_width_and_height_go_together() -> None:
    task = {
        "taskType": "imageInference",
        "taskUUID": "3d582d50-3e2b-47b2-bd02-839f962a7b38",
        "model": "openai:4@1",
        "positivePrompt": "a red fox",
        "width": 1024,
    }
    schema = task_type_schema("imageInference")
    assert schema is not None
    assert [v.keyword for v in validate("runware", schema, task)] == ["dependentRequired"]


def test_task_types_and_models_are_discriminated() -> None:
    items = request_schema("runware", "runTasks")["items"]
    assert sorted(items["discriminator"]["mapping"]) == [
        "authentication",
        "getResponse",
        "imageInference",
        "ping",
    ]
    inference = inlined("runware")["components"]["schemas"]["ImageInferenceTask"]
    assert sorted(inference["discriminator"]["mapping"]) == [
        "openai:4@1",
        "openai:gpt-image@2",
        "openai:gpt-image@2.5-flare",
        "openai:gpt-image@2.5-sunburst",
    ]


def test_error_catalogue_keeps_the_documented_statuses() -> None:
    codes = document("runware")["x-errors"]["codes"]
    assert codes["invalidApiKey"]["status"] == 401
    assert codes["invalidApiKey"]["message"] == "Invalid API key. Get one at https://my.runware.ai/signup"
    assert codes["insufficientCredits"]["status"] == 402
    assert codes["inactiveApiKey"]["status"] == 403
    assert codes["taskNotFound"]["status"] == 404
