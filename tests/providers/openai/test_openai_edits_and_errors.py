"""The OpenAI emulator's answers to the third fidelity round: raw error bytes, moderation details,
``complexity``, JSON edits, the size of an ``auto`` edit, shut-down notes and paced streams.

Oracles: the recorded live error body (maruel/genai@5f224cb, quoted below byte for byte), OpenAI's image
guide (moderation_details, copy of 2026-07-27), OpenAI's API document (EditImageBodyJsonParam,
openai/openai-openapi@f85dbe2) and the SDK types (openai-python 3.63.0 ``complexity``).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
from typing import Any

import httpx
import pytest
from flask import Flask
from PIL import Image

EMULATED_PROVIDERS = ["openai"]
TODAY = dt.date(2026, 11, 21)  # gpt-image-1.5 still served (shutdown 2026-12-01)
AUTH = {"Authorization": "Bearer sk-test-0123456789"}
GEN = "/openai/v1/images/generations"
EDIT = "/openai/v1/images/edits"

# The live answer to {"model": "bad model"}: maruel/genai@5f224cb:providers/openaichat/testdata/TestClient/
# errors/bad_model_image/GenSync.yaml (recorded 2026-04-17; Content-Length 169, no final newline).
RECORDED_BAD_MODEL = (
    "{\n"
    '  "error": {\n'
    '    "message": "The model \'bad model\' does not exist.",\n'
    '    "type": "image_generation_user_error",\n'
    '    "param": "model",\n'
    '    "code": "invalid_value"\n'
    "  }\n"
    "}"
)


def _png(width: int = 64, height: int = 64, mode: str = "RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), (10, 90, 160, 255)[: len(mode)]).save(buf, "PNG")
    return buf.getvalue()


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _size(b64: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as image:
        return image.size


def _error(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json()["error"])


# ------------------------------------------------------------------------------------ raw error bodies
def test_an_error_body_is_byte_for_byte_the_recorded_one(wsgi: httpx.Client) -> None:
    response = wsgi.post(GEN, headers=AUTH, json={"prompt": "Tell a short joke.", "model": "bad model"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.text == RECORDED_BAD_MODEL
    assert response.headers["content-length"] == "169"


@pytest.mark.parametrize("config", [{"options": {"openai.error_body_format": "compact"}}], indirect=True)
def test_compact_error_bodies_remain_an_option(wsgi: httpx.Client) -> None:
    response = wsgi.post(GEN, headers=AUTH, json={"prompt": "x", "model": "bad model"})
    assert "\n" not in response.text
    assert json.loads(response.text) == json.loads(RECORDED_BAD_MODEL)


# ------------------------------------------------------------------------------------ moderation
def test_a_moderation_block_carries_the_documented_moderation_details(wsgi: httpx.Client) -> None:
    # OpenAI's guide: {"error": {"type": "image_generation_user_error", "code": "moderation_blocked",
    # "moderation_details": {"moderation_stage": "input", "categories": ["harassment"]}}}
    body = {"model": "gpt-image-2", "prompt": "x"}
    plain = wsgi.post(GEN, headers={**AUTH, "X-Pixelmock-Fault": "content_policy"}, json=body)
    error = _error(plain)
    assert (error["type"], error["code"]) == ("image_generation_user_error", "moderation_blocked")
    assert error["moderation_details"] == {"moderation_stage": "input", "categories": ["harassment"]}
    header = "content_policy; stage=output; category=violence|self-harm"
    chosen = wsgi.post(GEN, headers={**AUTH, "X-Pixelmock-Fault": header}, json=body)
    assert _error(chosen)["moderation_details"] == {
        "moderation_stage": "output",
        "categories": ["violence", "self-harm"],
    }


# ------------------------------------------------------------------------------------ complexity
@pytest.mark.parametrize("model", ["gpt-image-1.5", "gpt-image-2"])
def test_complexity_is_accepted_and_changes_no_tokens(wsgi: httpx.Client, model: str) -> None:
    # openai-python 3.63.0 types/image_generate_params.py: complexity low | medium | high
    body = {"model": model, "prompt": "a fox", "size": "1024x1024", "quality": "low"}
    plain = wsgi.post(GEN, headers=AUTH, json=body)
    planned = wsgi.post(GEN, headers=AUTH, json={**body, "complexity": "high"})
    assert planned.status_code == 200
    assert planned.json()["usage"] == plain.json()["usage"]
    bad = wsgi.post(GEN, headers=AUTH, json={**body, "complexity": "extreme"})
    assert bad.status_code == 400 and _error(bad)["param"] == "complexity"


@pytest.mark.parametrize("config", [{"options": {"openai.complexity": "refuse"}}], indirect=True)
def test_complexity_can_be_refused_as_unknown(wsgi: httpx.Client) -> None:
    body = {"model": "gpt-image-2", "prompt": "a fox", "complexity": "low"}
    response = wsgi.post(GEN, headers=AUTH, json=body)
    assert response.status_code == 400
    assert _error(response)["message"] == "Unknown parameter: 'complexity'."


# ------------------------------------------------------------------------------------ JSON edits
def test_a_json_edit_with_a_data_url_is_billed_as_the_multipart_one(wsgi: httpx.Client) -> None:
    image = _png(1024, 1024)
    fields = {"model": "gpt-image-1.5", "prompt": "make it blue", "size": "1024x1024", "quality": "low"}
    multipart = wsgi.post(EDIT, headers=AUTH, data=fields, files=[("image", ("a.png", image, "image/png"))])
    as_json = wsgi.post(EDIT, headers=AUTH, json={**fields, "images": [{"image_url": _data_url(image)}]})
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["usage"] == multipart.json()["usage"]
    # a 1024x1024 input is 194 image tokens at low fidelity (community.openai.com/t/1281361)
    assert as_json.json()["usage"]["input_tokens_details"]["image_tokens"] == 194


def test_a_json_edit_reads_the_emulators_own_file_urls_and_a_mask(app: Flask, wsgi: httpx.Client) -> None:
    with app.test_request_context(base_url="http://127.0.0.1"):
        stored = app.extensions["pixelmock"].files.put(_png(256, 256), "png")
    body = {
        "model": "gpt-image-2",
        "prompt": "make it blue",
        "size": "1024x1024",
        "quality": "low",
        "images": [{"image_url": stored.url}, {"image_url": _data_url(_png(64, 64))}],
        "mask": {"image_url": _data_url(_png(256, 256))},
    }
    response = wsgi.post(EDIT, headers=AUTH, json=body)
    assert response.status_code == 200, response.text
    # 256x256 magnified 2x to 512x512 (256 patches); 64x64 magnified 2x to 128x128 (16 patches)
    assert response.json()["usage"]["input_tokens_details"]["image_tokens"] == 256 + 16


@pytest.mark.parametrize(
    ("images", "code", "param"),
    [
        ([], "empty_array", "images"),
        ([{"image_url": "https://example.com/a.png"}], "invalid_image_url", "images[0].image_url"),
        ([{"file_id": "file-abc123"}], "invalid_value", "images[0].file_id"),
        ([{"image_url": "data:,x", "file_id": "file-abc123"}], "invalid_value", "images[0]"),
        ([{"url": "https://example.com/a.png"}], "invalid_value", "images[0]"),
        ("not-a-list", "invalid_type", "images"),
        (None, "missing_required_parameter", "images"),
    ],
)
def test_json_edit_references_are_checked(wsgi: httpx.Client, images: Any, code: str, param: str) -> None:
    body: dict[str, Any] = {"model": "gpt-image-2", "prompt": "make it blue"}
    if images is not None:
        body["images"] = images
    response = wsgi.post(EDIT, headers=AUTH, json=body)
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["param"]) == (code, param)


def test_the_download_error_names_the_url(wsgi: httpx.Client) -> None:
    url = "https://example.com/a.png"
    response = wsgi.post(
        EDIT, headers=AUTH, json={"model": "gpt-image-2", "prompt": "x", "images": [{"image_url": url}]}
    )
    assert _error(response)["message"] == f"Error while downloading {url}."


# ------------------------------------------------------------------------------------ auto edit size
@pytest.mark.parametrize(
    ("model", "input_size", "answered"),
    [
        ("gpt-image-2", (1536, 1024), "1536x1024"),  # the recorded 1254x1254 area at the input's 3:2
        ("gpt-image-2", (1024, 1536), "1024x1536"),
        ("gpt-image-1.5", (1536, 1024), "1536x1024"),  # the fixed size nearest 3:2
        ("gpt-image-1.5", (1000, 1000), "1024x1024"),
    ],
)
def test_an_auto_size_edit_keeps_the_inputs_orientation(
    wsgi: httpx.Client, model: str, input_size: tuple[int, int], answered: str
) -> None:
    image = _png(*input_size)
    fields = {"model": model, "prompt": "add a hat", "quality": "low"}
    response = wsgi.post(EDIT, headers=AUTH, data=fields, files=[("image", ("a.png", image, "image/png"))])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == answered
    assert _size(body["data"][0]["b64_json"]) == tuple(int(v) for v in answered.split("x"))


@pytest.mark.parametrize("config", [{"options": {"openai.auto_edit_size": "square"}}], indirect=True)
def test_square_auto_edits_remain_an_option(wsgi: httpx.Client) -> None:
    fields = {"model": "gpt-image-2", "prompt": "add a hat", "quality": "low"}
    files = [("image", ("a.png", _png(1536, 1024), "image/png"))]
    assert wsgi.post(EDIT, headers=AUTH, data=fields, files=files).json()["size"] == "1254x1254"


# ------------------------------------------------------------------------------------ shutdown notes
@pytest.mark.parametrize("config", [{"today": dt.date(2026, 12, 2)}], indirect=True)
def test_a_refused_shut_down_model_is_noted_in_pixelmocks_own_words(
    wsgi: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="pixelmock.access"):
        response = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-1.5", "prompt": "x"})
    # the provider's own words (recorded for any model it does not serve)
    assert _error(response)["message"] == "The model 'gpt-image-1.5' does not exist."
    [entry] = wsgi.get("/__admin/journal", params={"provider": "openai"}).json()["entries"]
    notes = [note["shut_down"] for note in entry["notes"] if "shut_down" in note]
    assert notes == [{"provider": "openai", "model": "gpt-image-1.5", "date": "2026-12-01"}]
    assert any("shut_down=gpt-image-1.5@openai:2026-12-01" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------------------------ paced streams
@pytest.mark.parametrize("config", [{"latency_profile": "realistic", "speed_factor": 100.0}], indirect=True)
def test_partial_images_are_spread_over_the_generation_under_a_realistic_profile(live_url: str) -> None:
    # "partial images ... as they are generated" (OpenAI's guide): each event is its own write
    body = {"model": "gpt-image-1.5", "prompt": "a fox", "stream": True, "partial_images": 2,
            "size": "1024x1024", "quality": "low"}  # fmt: skip
    with (
        httpx.Client(base_url=live_url, timeout=30) as client,
        client.stream("POST", GEN, headers=AUTH, json=body) as response,
    ):
        pieces = [chunk for chunk in response.iter_raw() if chunk]
    text = b"".join(pieces).decode()
    assert [line for line in text.splitlines() if line.startswith("event: ")] == [
        "event: image_generation.partial_image",
        "event: image_generation.partial_image",
        "event: image_generation.completed",
    ]
    assert len(pieces) >= 3
