"""Azure OpenAI emulator over HTTP: api-version, credentials, deployments, the lifecycle on the virtual
clock (Azure's retirement dates, and GMI Cloud following the same fact), ledger and bill, and the
reference client."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from flask import Flask

from pixelmock.client import ImageClient, Provider
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin

TODAY = dt.date(2026, 12, 7)
GENERATE = "/azure/openai/deployments/{deployment}/images/generations"
VERSION = {"api-version": "2025-04-01-preview"}
KEY = {"api-key": "k"}
BODY = {"prompt": "a fox", "size": "1024x1024", "quality": "low"}


def _post(http: httpx.Client, deployment: str = "gpt-image-2", **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("params", VERSION)
    kwargs.setdefault("headers", KEY)
    kwargs.setdefault("json", BODY)
    return http.post(GENERATE.format(deployment=deployment), **kwargs)


def test_a_generation_answers_images_response_with_usage_and_bills_azure(
    wsgi: httpx.Client, app: Flask
) -> None:
    answer = _post(wsgi)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= {"created", "data", "usage"} and body["size"] == "1024x1024"
    assert "apim-request-id" not in answer.headers or answer.headers["apim-request-id"]
    admin = PixelmockAdmin.for_app(app)
    [row] = admin.bill().rows
    assert (row.provider, row.model, row.requests) == ("azure", "gpt-image-2", 1)
    assert [e["provider"] for e in admin.journal(provider="azure")] == ["azure"]


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 404), ({"api-version": "2023-05-15"}, 404), ({"api-version": "2025-04-01-preview"}, 200)],
)
def test_api_version_is_required_on_the_deployments_path(
    wsgi: httpx.Client, params: dict[str, str], status: int
) -> None:
    answer = _post(wsgi, params=params)
    assert answer.status_code == status
    if status == 404:
        assert answer.json() == {"error": {"code": "404", "message": "Resource not found"}}


def test_the_v1_surface_needs_no_api_version(wsgi: httpx.Client) -> None:
    answer = wsgi.post(
        "/azure/openai/v1/images/generations", json={**BODY, "model": "gpt-image-1.5"}, headers=KEY
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"api-key": ""}])
def test_no_credential_is_azures_401(wsgi: httpx.Client, headers: dict[str, str]) -> None:
    answer = _post(wsgi, headers=headers)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "401"


def test_a_bearer_token_is_a_credential(wsgi: httpx.Client) -> None:
    assert _post(wsgi, headers={"Authorization": "Bearer entra-token"}).status_code == 200


@pytest.mark.parametrize("deployment", ["dall-e-3", "my-images", "gpt-image-1-mini", "gpt-image-2.5-flare"])
def test_an_unknown_deployment_is_deployment_not_found(wsgi: httpx.Client, deployment: str) -> None:
    answer = _post(wsgi, deployment)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "DeploymentNotFound"


def test_declared_deployments_serve_their_model() -> None:
    options = {
        "azure.deployment_models": {"images-prod": "gpt-image-1.5"},
        "azure.deployments": "declared_only",
    }
    app = create_app(EmulatorConfig(today=dt.date(2026, 12, 7), options=options))
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        assert _post(http, "images-prod").status_code == 200
        assert _post(http, "gpt-image-2").status_code == 404


def test_the_body_is_validated_as_openais(wsgi: httpx.Client) -> None:
    answer = _post(wsgi, json={**BODY, "quality": "ultra"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "quality"


@pytest.mark.parametrize(("day", "status"), [("2026-12-15", 200), ("2026-12-16", 404)])
def test_gpt_image_15_deployments_retire_on_azures_date_and_gmi_follows(day: str, status: int) -> None:
    app = create_app(EmulatorConfig(today=dt.date.fromisoformat(day)))
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        assert _post(http, "gpt-image-1.5").status_code == status
        gmi = {"model": "gpt-image-1.5", "payload": {"prompt": "a fox"}}
        answer = http.post(
            "/gmicloud/api/v1/ie/requestqueue/apikey/requests",
            json=gmi,
            headers={"Authorization": "Bearer k"},
        )
        assert answer.status_code == status
    azure, gmicloud = lifecycle("azure", "gpt-image-1.5"), lifecycle("gmicloud", "gpt-image-1.5")
    assert (
        azure is not None
        and gmicloud is not None
        and azure.shutdown == gmicloud.shutdown == dt.date(2026, 12, 16)
    )


def test_gpt_image_2_retires_on_azures_own_date() -> None:
    found = lifecycle("azure", "gpt-image-2")
    assert found is not None and found.shutdown == dt.date(2027, 10, 21)


def test_the_reference_client_generates_through_the_registry(app: Flask) -> None:
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
    client = ImageClient(http=http)
    request = CanonicalRequest(model="gpt-image-2", prompt="a fox", size="1024x1024", quality="low")
    result = client.generate(request, Provider("azure", "k", "http://127.0.0.1/azure"))
    assert len(result.images) == 1 and result.reported_cost is not None and result.reported_cost.usd > 0
