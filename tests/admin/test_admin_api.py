"""The control plane as an API: its OpenAPI document, reset, isolation from the provider routes, and a
property-based run of the served document (no 5xx, answers as documented)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import checks

from pixelmock.contracts.openapi import PROVIDERS, document
from pixelmock.emulators import EmulatorConfig, create_app


@pytest.fixture
def config() -> EmulatorConfig:
    """The clock on real time (the suite otherwise pins a date): reset must bring it back there."""
    return EmulatorConfig(today=None)


APIFRAME_KEY = {"X-API-Key": "afk_admin_api"}


def test_the_document_is_valid_openapi_3_1_and_served_with_the_app_as_server(
    http: httpx.Client, store_kind: str
) -> None:
    doc = document("admin")
    assert doc["openapi"].startswith("3.1")
    validate(doc)
    served = http.get("/__admin/openapi.json")
    assert served.status_code == 200
    body = served.json()
    assert body["servers"] == [
        {"url": f"{http.base_url}/__admin".replace("//__", "/__"), "description": "pixelmock emulator"}
    ]
    assert body["paths"] == doc["paths"]
    index = http.get("/__admin/").json()
    assert index["openapi"].endswith("/__admin/openapi.json")
    assert set(index["providers"]) == set(PROVIDERS)
    assert index["shared_store"] is (store_kind == "redis")  # a reset then resets every worker on it


def test_provider_routes_never_expose_the_control_plane(http: httpx.Client) -> None:
    for provider in PROVIDERS:
        assert "__admin" not in str(document(provider))
    answer = http.post("/openai/v1/__admin/reset", headers={"Authorization": "Bearer sk-x"})
    assert answer.status_code == 404
    assert "error" in answer.json() and "message" in answer.json()["error"]  # OpenAI's own envelope
    answer = http.get("/apiframe/__admin/journal", headers=APIFRAME_KEY)
    assert answer.status_code == 404
    assert set(answer.json()) == {"error"}
    assert http.get("/__admin/nothing").status_code == 404


def test_reset_forgets_everything_and_rewinds_the_clock(http: httpx.Client) -> None:
    body = {"model": "gpt-image-2", "prompt": "a", "gptImage2Params": {"quality": "low"}}
    job_id = http.post("/apiframe/v2/images/generate", json=body, headers=APIFRAME_KEY).json()["jobId"]
    [url] = http.get(f"/apiframe/v2/jobs/{job_id}", headers=APIFRAME_KEY).json()["result"]["images"]
    image = httpx.URL(url).path
    http.post("/__admin/keys", json={"key": "afk_gone", "status": "invalid"})
    http.post("/__admin/clock/advance", json={"seconds": 86_400 * 3})
    assert http.get("/__admin/journal").json()["entries"]

    reset = http.post("/__admin/reset")
    assert reset.status_code == 200
    assert reset.json()["reset"] is True
    assert abs(reset.json()["clock"]["offset_seconds"]) < 1

    assert http.get("/__admin/journal").json()["entries"] == []
    assert http.get("/__admin/ledger").json() == {"lines": [], "totals": {}}
    assert http.get("/__admin/accounts").json() == {"accounts": []}
    assert http.get(image).status_code == 404
    assert http.get(f"/apiframe/v2/jobs/{job_id}", headers=APIFRAME_KEY).status_code == 404
    assert http.get("/apiframe/v2/me", headers={"X-API-Key": "afk_gone"}).status_code == 200
    assert http.get("/apiframe/v2/me", headers=APIFRAME_KEY).json()["team"]["credits"] == 10_000
    assert [e["seq"] for e in http.get("/__admin/journal").json()["entries"]] == [1, 2, 3]  # counted afresh


def test_reset_returns_the_clock_to_the_configured_date() -> None:
    app = create_app(EmulatorConfig(today=dt.date(2026, 12, 2)))
    client = app.test_client()
    client.put("/__admin/clock", json={"date": "2030-01-01"})
    assert client.post("/__admin/reset").get_json()["clock"]["date"] == "2026-12-02"


def test_malformed_bodies_are_400(http: httpx.Client) -> None:
    for raw in (b"", b"{", b"[1, 2]"):
        response = http.post(
            "/__admin/clock/advance", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert set(response.json()) == {"error"}
    assert http.get("/__admin/reset").status_code == 405


APP = create_app(EmulatorConfig())
SCHEMA = schemathesis.openapi.from_wsgi("/__admin/openapi.json", APP)


@SCHEMA.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_served_admin_document(case: Any) -> None:
    case.call_and_validate(
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
        ]
    )
