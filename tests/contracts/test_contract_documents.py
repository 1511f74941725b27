"""The OpenAPI documents themselves: valid OpenAPI 3.1, every parameter sourced, served by the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from pixelmock.contracts.evidence import RUNGS
from pixelmock.contracts.openapi import PROVIDERS, document, inlined

EVIDENCE = set(RUNGS)


def _properties(schema: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema below ``schema`` (through properties, items, oneOf/anyOf/allOf, if/then)."""
    if not isinstance(schema, dict):
        return
    for name, prop in schema.get("properties", {}).items():
        yield f"{path}.{name}", prop
        yield from _properties(prop, f"{path}.{name}")
    for key in ("items", "then", "else", "if", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _properties(schema[key], f"{path}[{key}]")
    for key in ("oneOf", "anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _properties(sub, f"{path}[{key}{i}]")


def _sourced(node: dict[str, Any]) -> bool:
    source = node.get("x-source")
    return isinstance(source, dict) and bool(source.get("ref")) and source.get("evidence") in EVIDENCE


@pytest.mark.parametrize("provider", PROVIDERS)
def test_document_is_valid_openapi_3_1(provider: str) -> None:
    doc = document(provider)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_parameter_and_body_property_has_a_source(provider: str) -> None:
    unsourced: list[str] = []
    for path, item in inlined(provider)["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            where = f"{method.upper()} {path}"
            for param in [*item.get("parameters", []), *op.get("parameters", [])]:
                if not _sourced(param):
                    unsourced.append(f"{where} parameter {param.get('name')}")
            for ctype, media in op.get("requestBody", {}).get("content", {}).items():
                for name, prop in _properties(media.get("schema", {}), f"{where} {ctype}"):
                    if not _sourced(prop):
                        unsourced.append(name)
    assert not unsourced, "properties without x-source {ref, evidence}:\n" + "\n".join(unsourced)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_emulator_serves_the_contract_with_itself_as_server(app: Flask, provider: str) -> None:
    prefix = next(p.prefix for p in app.extensions["pixelmock.providers"] if p.name == provider)
    served = app.test_client().get(f"{prefix}/openapi.json", base_url="http://127.0.0.1:9999")
    assert served.status_code == 200
    body = served.get_json()
    assert body["servers"] == [{"url": f"http://127.0.0.1:9999{prefix}", "description": "pixelmock emulator"}]
    assert body["paths"] == document(provider)["paths"]
    validate(body)
