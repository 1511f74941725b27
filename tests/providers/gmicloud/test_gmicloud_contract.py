"""GMI Cloud contract (contracts/openapi/gmicloud.yaml) against its oracles.

Oracles: the gpt-image-1.5 parameter table (https://docs.gmicloud.ai/model-quickstarts/image/gpt-image-1-5)
and the gpt-image-2 rows of https://docs.gmicloud.ai/model-quickstarts/image/gpt-image-2 (read 2026-11-21),
typed in below from those sources; the documented cassettes in
cassettes/documented/gmicloud (requests must validate, responses must match the response schemas).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from openapi_spec_validator import validate as validate_spec
from paths import cassette, provider_cassettes
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from pixelmock.contracts.openapi import (
    document,
    inlined,
    model_branch,
    operation,
    real_base_url,
    request_schema,
    validate,
)

PROVIDER = "gmicloud"
REAL_BASE = "https://console.gmicloud.ai/api/v1/ie/requestqueue/apikey"

# https://docs.gmicloud.ai/model-quickstarts/image/gpt-image-1-5, "Request Parameters"
# (field: (enum or range, default)).
SEED_GPT_IMAGE_15: dict[str, tuple[Any, Any]] = {
    "size": (["1024x1024", "1024x1536", "1536x1024"], "1024x1024"),
    "quality": (["low", "medium", "high", "auto"], "medium"),
    "n": ((1, 10), 1),
    "output_format": (["png", "jpeg", "webp"], "png"),
    "output_compression": ((0, 100), 100),
    "background": (["auto", "transparent", "opaque"], "auto"),
}
SEED_GPT_IMAGE_15_FIELDS = {"prompt", *SEED_GPT_IMAGE_15, "image", "mask"}

# https://docs.gmicloud.ai/model-quickstarts/image/gpt-image-2 (read 2026-11-21).
DOC_GPT_IMAGE_2: dict[str, tuple[Any, Any]] = {
    "size": (["1024x1024", "1024x1536", "1536x1024"], "1024x1024"),
    "quality": (["low", "medium", "high", "auto"], "medium"),
    "n": ((1, 10), 1),
    "output_format": (["png", "jpeg"], "png"),
}
DOC_GPT_IMAGE_2_FIELDS = {"prompt", *DOC_GPT_IMAGE_2, "image", "mask"}


def _payload_schema(model: str) -> dict[str, Any]:
    schema = request_schema(PROVIDER, "submitRequest")
    target = schema["discriminator"]["mapping"][model].split("/")[-1]
    branch = inlined(PROVIDER)["components"]["schemas"][target]
    payload: dict[str, Any] = branch["properties"]["payload"]
    return payload


def _cassettes() -> list[tuple[str, Any, dict[str, Any]]]:
    out = []
    for path in provider_cassettes(PROVIDER):
        requests, responses = deserialize(path.read_text(encoding="utf-8"), yamlserializer)
        for req, resp in zip(requests, responses, strict=True):
            out.append((path.name, req, resp))
    return out


CASSETTE_CASES = _cassettes()


def test_document_is_valid_openapi_31_with_the_real_server() -> None:
    doc = document(PROVIDER)
    validate_spec(doc)
    assert doc["openapi"] == "3.1.0"
    assert real_base_url(PROVIDER) == REAL_BASE
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert doc["security"] == [{"bearerAuth": []}]


@pytest.mark.parametrize(
    ("operation_id", "method", "path"),
    [
        ("submitRequest", "POST", "/requests"),
        ("listRequests", "GET", "/requests"),
        ("getRequest", "GET", "/requests/{request_id}"),
        ("cancelRequest", "DELETE", "/requests/{request_id}"),
    ],
)
def test_operations(operation_id: str, method: str, path: str) -> None:
    assert operation(PROVIDER, operation_id)[:2] == (method, path)


def test_models_are_discriminated_by_slug() -> None:
    schema = request_schema(PROVIDER, "submitRequest")
    assert schema["discriminator"]["propertyName"] == "model"
    # GMI documents four slugs: gpt-image-1.5, gpt-image-2 and gpt-image-2-generate / -edit (its quickstarts);
    # a third party's live tests (2026-09) add a generate and an edit slug for each GPT Image 2.5 variant.
    documented = {"gpt-image-1.5", "gpt-image-2", "gpt-image-2-generate", "gpt-image-2-edit"}
    reported = {
        f"gpt-image-2.5-{variant}-{kind}"
        for variant in ("flare", "sunburst")
        for kind in ("generate", "edit")
    }
    assert set(schema["discriminator"]["mapping"]) == documented | reported
    for slug in reported:
        branch = model_branch(PROVIDER, schema, slug)
        assert branch is not None
        assert branch["x-canonical-model"] == slug.rsplit("-", 1)[0]
        assert branch["properties"]["model"]["x-source"]["evidence"] == "reported"


def test_every_gpt_image_25_payload_property_names_its_source() -> None:
    for slug in ("gpt-image-2.5-flare-generate", "gpt-image-2.5-sunburst-edit"):
        payload = _payload_schema(slug)
        for name, prop in payload["properties"].items():
            assert prop["x-source"]["evidence"] in {"reported", "inferred"}, (slug, name)
        assert payload["properties"]["quality"]["enum"] == ["low", "medium", "high", "xhigh", "max", "auto"]


@pytest.mark.parametrize(
    ("model", "table", "fields"),
    [
        ("gpt-image-1.5", SEED_GPT_IMAGE_15, SEED_GPT_IMAGE_15_FIELDS),
        ("gpt-image-2", DOC_GPT_IMAGE_2, DOC_GPT_IMAGE_2_FIELDS),
    ],
)
def test_payload_matches_the_published_table(model: str, table: dict[str, Any], fields: set[str]) -> None:
    payload = _payload_schema(model)
    assert set(payload["properties"]) == fields
    assert payload["required"] == ["prompt"]
    assert payload["additionalProperties"] is False
    for name, (allowed, default) in table.items():
        prop = payload["properties"][name]
        if isinstance(allowed, tuple):
            assert (prop["minimum"], prop["maximum"]) == allowed, name
        else:
            assert prop["enum"] == allowed, name
        assert prop["default"] == default, name


def test_gpt_image_2_has_no_compression_background_or_webp() -> None:
    payload = _payload_schema("gpt-image-2")
    assert "output_compression" not in payload["properties"]
    assert "background" not in payload["properties"]
    body = {"model": "gpt-image-2", "payload": {"prompt": "x", "output_format": "webp"}}
    [violation] = validate(PROVIDER, request_schema(PROVIDER, "submitRequest"), body)
    assert (violation.param, violation.keyword) == ("payload.output_format", "enum")


def test_document_examples_validate() -> None:
    _, _, op = operation(PROVIDER, "submitRequest")
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    assert examples
    for example in examples.values():
        assert validate(PROVIDER, request_schema(PROVIDER, "submitRequest"), example["value"]) == []


def test_status_enum_covers_the_sdk_and_the_docs_table() -> None:
    statuses = set(inlined(PROVIDER)["components"]["schemas"]["RequestStatus"]["enum"])
    # docs table (quickstart): queued, success, failed; gmicloud SDK RequestStatus adds the rest.
    assert {"queued", "success", "failed"} <= statuses
    assert statuses == {"created", "queued", "dispatched", "processing", "success", "failed", "cancelled"}


@pytest.mark.parametrize(("name", "req", "resp"), CASSETTE_CASES, ids=[c[0] for c in CASSETTE_CASES])
def test_cassette_is_a_well_formed_documented_interaction(name: str, req: Any, resp: dict[str, Any]) -> None:
    assert req.uri.startswith(REAL_BASE + "/")
    assert req.headers["Authorization"] == "Bearer REDACTED"
    json.loads(resp["body"]["string"])
    text = cassette(PROVIDER, name).read_text(encoding="utf-8")
    assert text.startswith("# Source:")


@pytest.mark.parametrize(("name", "req", "resp"), CASSETTE_CASES, ids=[c[0] for c in CASSETTE_CASES])
def test_cassette_requests_for_gpt_image_validate(name: str, req: Any, resp: dict[str, Any]) -> None:
    if req.method != "POST" or req.body is None:
        pytest.skip("no published request body")
    body = json.loads(req.body)
    if body["model"] not in ("gpt-image-1.5", "gpt-image-2"):
        pytest.skip("not a GPT Image model")
    assert validate(PROVIDER, request_schema(PROVIDER, "submitRequest"), body) == []


def _response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    relative = urlsplit(path).path.removeprefix(urlsplit(REAL_BASE).path)
    template = "/requests/{request_id}" if relative.startswith("/requests/") else relative
    op = inlined(PROVIDER)["paths"][template][method.lower()]
    schema: dict[str, Any] = op["responses"][str(status)]["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize(("name", "req", "resp"), CASSETTE_CASES, ids=[c[0] for c in CASSETTE_CASES])
def test_cassette_responses_match_the_contract(name: str, req: Any, resp: dict[str, Any]) -> None:
    """Drift check: every published response still fits the documented response schema.

    The published copies elide ids and URLs with "…"; such a placeholder is not a URI, so a ``format``
    violation on a value containing it is the source's elision, not drift.
    """
    schema = _response_schema(req.method, req.uri, resp["status"]["code"])
    violations = validate(PROVIDER, schema, json.loads(resp["body"]["string"]))
    assert [v for v in violations if not (v.keyword == "format" and "…" in str(v.value))] == []
