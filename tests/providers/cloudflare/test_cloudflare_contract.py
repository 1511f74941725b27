"""Cloudflare contract: the OpenAPI document is valid, carries its sources, and agrees with the documented
examples (the cassettes transcribed from the two model pages)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_spec
from paths import DOCUMENTED

from pixelmock.contracts.dialects.cloudflare import classic_operations
from pixelmock.contracts.evidence import RUNGS
from pixelmock.contracts.openapi import (
    credential_headers,
    document,
    inlined,
    operation,
    real_base_url,
    request_schema,
    validate,
)
from pixelmock.contracts.options import options

PROVIDER = "cloudflare"
CASSETTES = sorted((DOCUMENTED / "cloudflare").glob("*.yaml"))
PAGE_15 = "https://developers.cloudflare.com/ai/models/openai/gpt-image-1.5/"
PAGE_2 = "https://developers.cloudflare.com/ai/models/openai/gpt-image-2/"
PAGE_25_SUNBURST = "https://developers.cloudflare.com/ai/models/openai/gpt-image-2.5-sunburst/"


def load_cassette(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0])


def test_document_is_valid_openapi_31() -> None:
    doc = document(PROVIDER)
    assert doc["openapi"] == "3.1.0"
    validate_spec(doc)


def test_real_base_url_and_auth() -> None:
    assert real_base_url(PROVIDER) == "https://api.cloudflare.com/client/v4"
    doc = document(PROVIDER)
    # A Bearer token (the pages' cURL), or X-Auth-Email + X-Auth-Key together (cloudflare-python 5.9.0).
    assert doc["security"] == [{"apiToken": []}, {"apiEmail": [], "apiKey": []}]
    schemes = doc["components"]["securitySchemes"]
    assert (schemes["apiToken"]["type"], schemes["apiToken"]["scheme"]) == ("http", "bearer")
    assert (schemes["apiEmail"]["in"], schemes["apiEmail"]["name"]) == ("header", "X-Auth-Email")
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "X-Auth-Key")
    assert credential_headers(PROVIDER) == {"Authorization", "X-Auth-Email", "X-Auth-Key"}


def test_operations_are_the_universal_and_classic_routes() -> None:
    assert operation(PROVIDER, "aiRun")[:2] == ("POST", "/accounts/{account_id}/ai/run")
    # The classic route keeps the model's slash literal (rest-api.mdx, cloudflare-python#2718).
    assert operation(PROVIDER, "runGptImage15")[1] == "/accounts/{account_id}/ai/run/openai/gpt-image-1.5"
    assert operation(PROVIDER, "runGptImage2")[1] == "/accounts/{account_id}/ai/run/openai/gpt-image-2"


def _walk_properties(node: Any, where: str, out: list[str]) -> None:
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            if "x-source" not in prop:
                out.append(f"{where}.{name}")
        items = node.get("items")
        if isinstance(items, dict) and "type" in items and "x-source" not in items:
            out.append(f"{where}[]")
        for key, value in node.items():
            _walk_properties(value, f"{where}.{key}", out)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk_properties(value, f"{where}[{index}]", out)


def test_every_parameter_and_request_property_has_a_source() -> None:
    doc = inlined(PROVIDER)
    missing: list[str] = []
    for path, item in doc["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):
                if "x-source" not in param:
                    missing.append(f"{path} parameter {param['name']}")
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            _walk_properties(schema, path, missing)
    for name, schema in doc["components"]["schemas"].items():
        if name.endswith("Input") or name.startswith("Universal"):
            _walk_properties(schema, name, missing)
    assert missing == []


def test_evidence_labels_are_known() -> None:
    labels = set(RUNGS)
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            source = node.get("x-source")
            if isinstance(source, dict):
                found.append(source["evidence"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document(PROVIDER))
    assert found and set(found) <= labels


def test_gpt_image_2_input_is_the_published_schema() -> None:
    # The catalog page's schema-input.json and its Parameters.
    schema = request_schema(PROVIDER, "runGptImage2")
    assert schema["required"] == ["prompt"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert set(props) == {"prompt", "images", "quality", "size", "background", "output_format"}
    assert props["images"]["maxItems"] == 16
    assert props["quality"]["enum"] == ["low", "medium", "high", "auto"]
    assert props["size"]["enum"] == ["1024x1024", "1024x1536", "1536x1024", "auto"]
    assert props["background"]["enum"] == ["transparent", "opaque", "auto"]
    assert props["output_format"]["enum"] == ["png", "webp", "jpeg"]


def test_gpt_image_15_input_is_the_published_schema() -> None:
    # The catalog page's Parameters: images[] (max 16), prompt (required), quality, size, style; nothing else.
    schema = request_schema(PROVIDER, "runGptImage15")
    assert schema["required"] == ["prompt"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert set(props) == {"prompt", "images", "quality", "size", "style"}
    assert props["images"]["maxItems"] == 16
    assert props["quality"]["enum"] == ["low", "medium", "high", "auto"]
    assert props["size"]["enum"] == ["256x256", "512x512", "1024x1024", "1792x1024", "1024x1792"]
    assert props["style"]["enum"] == ["vivid", "natural"]
    universal = request_schema(PROVIDER, "aiRun")
    assert (
        validate(
            PROVIDER, universal, {"model": "openai/gpt-image-1.5", "input": {"prompt": "x", "style": "vivid"}}
        )
        == []
    )
    assert validate(
        PROVIDER, universal, {"model": "openai/gpt-image-1.5", "input": {"prompt": "x", "background": "auto"}}
    )


def test_gpt_image_15_published_schema_is_the_default_option() -> None:
    option = options()["cloudflare.gpt_image_15_schema"]
    assert (option.default, set(option.alternatives)) == ("published", {"published", "effective"})
    assert "workers-sdk/issues/14657" in option.source
    alternatives = inlined(PROVIDER)["components"]["schemas"]["GptImage15Input"]["x-alternative-schemas"]
    assert alternatives["option"] == option.name
    assert set(alternatives["schemas"]) | {option.default} == set(option.alternatives)


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.stem)
def test_documented_request_validates(path: Path) -> None:
    request = load_cassette(path)["request"]
    assert urlsplit(request["uri"]).path.endswith("/ai/run")
    body = json.loads(request["body"])
    assert validate(PROVIDER, request_schema(PROVIDER, "aiRun"), body) == []
    classic = classic_operations()[body["model"]]
    assert validate(PROVIDER, request_schema(PROVIDER, classic), body["input"]) == []


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.stem)
def test_documented_response_matches_the_success_schema(path: Path) -> None:
    response = load_cassette(path)["response"]
    body = json.loads(response["body"]["string"])
    schema = inlined(PROVIDER)["components"]["schemas"]["RunSuccessEnvelope"]
    errors = list(
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).iter_errors(body)
    )
    assert errors == []
    assert response["status"]["code"] == 200


def test_cassettes_cover_every_example_of_the_pages() -> None:
    # 5 examples on the gpt-image-1.5 page (Usage + 4 quality levels), 6 on the gpt-image-2 page, 3 on the
    # gpt-image-2.5-sunburst page (Usage, Portrait WebP, Cinematic Reference Edit).
    stems = [p.stem for p in CASSETTES]
    pages = {"gpt-image-1.5-": PAGE_15, "gpt-image-2-": PAGE_2, "gpt-image-2.5-sunburst-": PAGE_25_SUNBURST}
    counts = {"gpt-image-1.5-": 5, "gpt-image-2-": 6, "gpt-image-2.5-sunburst-": 3}
    assert {prefix: len([s for s in stems if s.startswith(prefix)]) for prefix in counts} == counts
    assert len(stems) == sum(counts.values())
    for path in CASSETTES:
        header = path.read_text(encoding="utf-8").splitlines()[0]
        page = next(pages[prefix] for prefix in pages if path.stem.startswith(prefix))
        assert header.startswith("# Source: ") and page in header
        request = load_cassette(path)["request"]
        assert request["headers"]["Authorization"] == ["Bearer REDACTED"]


def test_error_bodies_match_the_error_schema() -> None:
    schema = inlined(PROVIDER)["components"]["schemas"]["ErrorEnvelope"]
    validator = Draft202012Validator(schema)
    for name, spec in document(PROVIDER)["x-errors"].items():
        assert list(validator.iter_errors(spec["body"])) == [], name


# --- the conflict rule for first-party sources (contracts/evidence.py) -------------------------------------


def test_every_option_says_whether_first_party_sources_conflict_and_which_is_newer() -> None:
    # "When two first-party sources (documented, sdk) disagree, the newer one is the default and the older
    # one a named option": each option names its sources by date, or says why the rule does not apply.
    for name, spec in document(PROVIDER)["x-options"].items():
        conflict = spec["conflict"]
        if "newer" in conflict:
            assert {"newer", "older", "outcome"} <= set(conflict), name
            assert "read 2026-" in conflict["newer"] + conflict["older"], name  # dated sources
        else:
            assert conflict["outcome"].startswith("not applicable"), name


@pytest.mark.parametrize(
    ("name", "newer_default"),
    [
        # The current catalog page (read 2026-11-21) over an earlier version of it: the published schema.
        ("cloudflare.gpt_image_15_schema", "published"),
        # openai==3.63.0 (the GPT image models render 1024x1024, 1536x1024, 1024x1536; the DALL-E sizes are
        # "legacy size suggestion[s]") over the page's "Size of the generated image" (read 2026-11-21).
        ("cloudflare.gpt_image_15_published_size", "upstream"),
    ],
)
def test_defaults_follow_the_newer_first_party_source(name: str, newer_default: str) -> None:
    assert options()[name].default == newer_default
    assert newer_default in document(PROVIDER)["x-options"][name]["conflict"]["outcome"]


def test_option_sources_are_public() -> None:
    # Sources are public pages, repositories or package releases; a link that cannot be checked is none.
    for name, option in options().items():
        if option.provider == PROVIDER:
            assert "/trap/" not in option.source, name
