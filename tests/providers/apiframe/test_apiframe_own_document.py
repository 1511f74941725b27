"""Apiframe's own API document as the oracle: every GPT Image request form it describes is accepted.

Apiframe publishes an OpenAPI document of its v2 API (``openapi.json`` at the root of the MIT-licensed
repository apiframe-ai/apiframe-nodejs-sdk, commit 9f9b464, 2026-07-16; the document's own ``info.license``
says Proprietary, so it is not copied here). The project's shared reference folder holds that copy
(``shared/reference/apiframe-v2-openapi.json``, beside the repository, where CI and the developers have
it). This test takes the two GPT Image branches of its ``GenerateImageRequest`` (``gpt-image-1.5`` with
``gptImageParams``, ``gpt-image-2`` with ``gptImage2Params``), lets schemathesis generate positive data
from them, and sends each request to the emulator on a real socket: every one must be accepted (202 and a
job id), as Apiframe's own document says it is. Without the reference copy the module is skipped, and says
why.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from paths import ROOT
from schemathesis.generation import GenerationMode

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.tools.server import running

REFERENCE = ROOT.parent / "shared" / "reference" / "apiframe-v2-openapi.json"
if not REFERENCE.exists():
    pytest.skip(f"Apiframe's own API document is not at {REFERENCE}", allow_module_level=True)

EXAMPLES = int(os.environ.get("PIXELMOCK_EXAMPLES", "6")) * 5
GPT_MODELS = {"gpt-image-1.5", "gpt-image-2"}


def _gpt_branches(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The branches of Apiframe's ``GenerateImageRequest`` whose ``model`` is a GPT Image model."""
    branches = document["components"]["schemas"]["GenerateImageRequest"]["oneOf"]
    return [b for b in branches if set(b["properties"]["model"].get("enum", [])) & GPT_MODELS]


def _document() -> dict[str, Any]:
    own = json.loads(REFERENCE.read_text(encoding="utf-8"))
    branches = _gpt_branches(own)
    assert len(branches) == 2, "Apiframe's document no longer has one branch per GPT Image model"
    operation = own["paths"]["/v2/images/generate"]["post"]
    return {
        "openapi": own["openapi"],
        "info": {"title": "Apiframe v2, GPT Image operations only", "version": own["info"]["version"]},
        "paths": {
            "/v2/images/generate": {
                "post": {
                    "operationId": operation.get("operationId", "generateImage"),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"oneOf": branches}}},
                    },
                    "responses": {"202": {"description": "accepted"}},
                }
            }
        },
    }


SCHEMA = schemathesis.openapi.from_dict(_document())
SCHEMA.config.generation.update(modes=[GenerationMode.POSITIVE])
RICH = {"credits": Decimal(10**9), "USD": Decimal(10**9)}


@pytest.fixture(scope="module")
def apiframe_url() -> Any:
    with running(create_app(EmulatorConfig(starting_balances=RICH), providers=["apiframe"])) as root:
        yield root + "/apiframe"


@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_documented_gpt_image_request_is_accepted(case: Any, apiframe_url: str) -> None:
    response = httpx.post(
        apiframe_url + case.formatted_path, json=case.body, headers={"X-API-Key": "afk_own_document"}
    )
    assert response.status_code == 202, (case.body, response.text)
    assert response.json()["status"] == "QUEUED"
