"""The OpenAI emulator over HTTP (in-process WSGI and a real socket, via the ``http`` fixture).

Oracles: the documented examples (cassettes/documented/openai, replayed verbatim with the host changed),
OpenAI's published token table and prices (the sources of contracts/data/models.yaml), and the decoded bytes
of every returned image.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask
from paths import cassette, provider_cassettes
from PIL import Image

EMULATED_PROVIDERS = ["openai"]
TODAY = dt.date(2026, 11, 21)  # the sources' read date: gpt-image-1.5 is still served (shutdown 2026-12-01)
REAL_BASE = "https://api.openai.com/v1"
AUTH = {"Authorization": "Bearer sk-test-0123456789"}
GEN = "/openai/v1/images/generations"
EDIT = "/openai/v1/images/edits"


def _png(width: int = 64, height: int = 64, mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), (10, 90, 160, 255)[: len(mode)]).save(buf, fmt)
    return buf.getvalue()


def _decode(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


# ------------------------------------------------------------------------------------ documented examples
def _cassette(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    interaction = yaml.safe_load(cassette("openai", f"{name}.yaml").read_text())["interactions"][0]
    return interaction["request"], interaction["response"]


def _replay(http: httpx.Client, request: dict[str, Any]) -> httpx.Response:
    assert request["uri"].startswith(REAL_BASE)
    body = request["body"]
    return http.request(
        request["method"],
        "/openai/v1" + request["uri"].removeprefix(REAL_BASE),
        headers={name: values[0] for name, values in request["headers"].items()},
        content=body.encode() if isinstance(body, str) else body,
    )


ERROR_CASSETTES = sorted(
    p.stem for p in provider_cassettes("openai", "error_*.yaml") if p.stem not in ("error_invalid_api_key",)
)


@pytest.mark.parametrize("name", ERROR_CASSETTES)
def test_documented_error_examples_replay_exactly(http: httpx.Client, name: str) -> None:
    request, documented = _cassette(name)
    response = _replay(http, request)
    assert response.status_code == documented["status"]["code"]
    assert _error(response) == json.loads(documented["body"]["string"])["error"]


@pytest.mark.parametrize("config", [{"invalid_keys": frozenset({"REDACTED"})}], indirect=True)
def test_documented_invalid_key_example(http: httpx.Client) -> None:
    request, documented = _cassette("error_invalid_api_key")
    response = _replay(http, request)
    expected = json.loads(documented["body"]["string"])["error"]
    got = _error(response)
    assert response.status_code == 401
    assert {k: got[k] for k in ("type", "param", "code")} == {
        k: expected[k] for k in ("type", "param", "code")
    }
    # The published message elides an sk- key; a key in another form (this placeholder) is echoed as sent,
    # as a recording shows (maruel/genai errors/bad_apiKey_image/GenSync.yaml).
    prefix, suffix = expected["message"].split("sk-…")
    assert got["message"] == prefix + "REDACTED" + suffix


def test_documented_response_example_shape_and_tokens(http: httpx.Client) -> None:
    request, documented = _cassette("generations_response_example")
    example = json.loads(documented["body"]["string"])
    response = _replay(http, request)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == list(example)
    for key in ("background", "output_format", "quality", "size"):
        assert body[key] == example[key]
    # The example names no model and shows no text output tokens; gpt-image-1.5's live answer adds its
    # recorded 420 text output tokens to the same 4160 image tokens (models.yaml text_output_tokens).
    details = body["usage"]["output_tokens_details"]
    assert details["image_tokens"] == example["usage"]["output_tokens_details"]["image_tokens"] == 4160
    assert details["text_tokens"] == 420
    assert body["usage"]["output_tokens"] == 4160 + 420
    usage = body["usage"]
    assert usage["input_tokens"] == sum(usage["input_tokens_details"].values())
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    image = _decode(body["data"][0]["b64_json"])
    assert (image.format, image.size) == ("PNG", (1024, 1024))
    assert response.headers["x-request-id"].startswith("req_")


# ------------------------------------------------------------------------------------ generations
@pytest.mark.parametrize(
    ("model", "extra", "size", "fmt"),
    [
        ("gpt-image-1.5", {"size": "1536x1024", "quality": "low"}, (1536, 1024), "PNG"),
        (
            "gpt-image-1.5",
            {"size": "1024x1536", "output_format": "jpeg", "output_compression": 60},
            (1024, 1536),
            "JPEG",
        ),
        ("gpt-image-1.5-2025-12-16", {"size": "1024x1024", "output_format": "webp"}, (1024, 1024), "WEBP"),
        ("gpt-image-2", {"size": "1536x864", "quality": "medium"}, (1536, 864), "PNG"),
        ("gpt-image-2-2026-04-21", {"size": "1024x640", "output_format": "webp"}, (1024, 640), "WEBP"),
    ],
)
def test_generation_returns_images_of_the_requested_size_and_format(
    wsgi: httpx.Client, model: str, extra: dict[str, Any], size: tuple[int, int], fmt: str
) -> None:
    response = wsgi.post(GEN, headers=AUTH, json={"model": model, "prompt": "a lighthouse", "n": 2, **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["data"]) == 2
    for item in body["data"]:
        assert set(item) == {"b64_json"}  # GPT image models never return url / revised_prompt
        image = _decode(item["b64_json"])
        assert (image.format, image.size) == (fmt, size)
    assert body["size"] == f"{size[0]}x{size[1]}"
    assert body["output_format"] == {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}[fmt]


def test_transparent_background_png_has_alpha(wsgi: httpx.Client) -> None:
    response = wsgi.post(
        GEN, headers=AUTH, json={"model": "gpt-image-1.5", "prompt": "a sticker", "background": "transparent"}
    )
    body = response.json()
    assert body["background"] == "transparent"
    image = _decode(body["data"][0]["b64_json"])
    assert image.mode == "RGBA" and image.getextrema()[3][0] == 0


def test_auto_is_resolved_in_the_response(wsgi: httpx.Client) -> None:
    body = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-2", "prompt": "a fox"}).json()
    assert body["background"] in ("opaque", "transparent")
    assert body["quality"] in ("low", "medium", "high")
    width, height = (int(v) for v in body["size"].split("x"))
    assert _decode(body["data"][0]["b64_json"]).size == (width, height)


@pytest.mark.parametrize(
    ("size", "quality", "tokens"),
    # OpenAI's published output-token table for gpt-image-1/1.5 (community.openai.com/t/1371851)
    [
        ("1024x1024", "low", 272),
        ("1024x1536", "medium", 1584),
        ("1536x1024", "high", 6208),
        ("1024x1536", "high", 6240),
    ],
)
def test_usage_output_tokens_follow_the_published_table(
    wsgi: httpx.Client, size: str, quality: str, tokens: int
) -> None:
    body = wsgi.post(
        GEN,
        headers=AUTH,
        json={"model": "gpt-image-1.5", "prompt": "a fox", "size": size, "quality": quality, "n": 3},
    ).json()
    # Text output ("reasoning") tokens per image: 420 recorded at high (maruel/genai@5f224cb gpt-image-1.5
    # GenDoc-Image.yaml), 209 reported at low (community.openai.com/t/1369511); medium: the low figure
    # (a choice).
    text = {"low": 209, "medium": 209, "high": 420}[quality]
    assert body["usage"]["output_tokens_details"] == {"image_tokens": 3 * tokens, "text_tokens": 3 * text}
    assert body["usage"]["output_tokens"] == 3 * (tokens + text)


def test_cost_debited_from_the_ledger_uses_the_published_prices(app: Flask, wsgi: httpx.Client) -> None:
    """gpt-image-1.5: text $5/M, image output $32/M, text output $10/M (contracts/data/models.yaml); the
    recorded default answer bills 420 text output tokens at high."""
    rt = app.extensions["pixelmock"]
    with app.app_context():
        account = rt.accounts.authenticate("openai", "sk-test-0123456789").account
        before = rt.accounts.balance(account, "USD")
        body = wsgi.post(
            GEN,
            headers=AUTH,
            json={"model": "gpt-image-1.5", "prompt": "a fox", "size": "1024x1024", "quality": "high"},
        ).json()
        spent = before - rt.accounts.balance(account, "USD")
    text = body["usage"]["input_tokens_details"]["text_tokens"]
    assert spent == (Decimal(text) * 5 + Decimal(4160) * 32 + Decimal(420) * 10) / 1_000_000


@pytest.mark.parametrize("config", [{"starting_balances": {"USD": Decimal("0.01")}}], indirect=True)
def test_exhausted_quota_is_429_insufficient_quota(wsgi: httpx.Client) -> None:
    response = wsgi.post(
        GEN, headers=AUTH, json={"model": "gpt-image-1.5", "prompt": "a fox", "quality": "high"}
    )
    assert response.status_code == 429
    assert _error(response)["code"] == "insufficient_quota"


# ------------------------------------------------------------------------------------ rejections
@pytest.mark.parametrize(
    ("body", "status", "code", "param", "message"),
    [
        (
            {"model": "gpt-image-1.5"},
            400,
            "missing_required_parameter",
            "prompt",
            "Missing required parameter: 'prompt'.",
        ),
        ({"prompt": "x"}, 400, "missing_required_parameter", "model", "Missing required parameter: 'model'."),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "style": "vivid"},
            400,
            "unknown_parameter",
            "style",
            None,
        ),
        (
            {"model": "gpt-image-2", "prompt": "x", "response_format": "b64_json"},
            400,
            "unknown_parameter",
            "response_format",
            None,
        ),
        ({"model": "gpt-image-1.5", "prompt": "x", "n": 11}, 400, "integer_above_max_value", "n", None),
        ({"model": "gpt-image-1.5", "prompt": "x", "n": 0}, 400, "integer_below_min_value", "n", None),
        ({"model": "gpt-image-1.5", "prompt": "x", "n": "2"}, 400, "invalid_type", "n", None),
        ({"model": "gpt-image-1.5", "prompt": "x" * 32001}, 400, "string_above_max_length", "prompt", None),
        ({"model": "gpt-image-1.5", "prompt": "x", "quality": "hd"}, 400, "invalid_value", "quality", None),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "output_compression": 101},
            400,
            "integer_above_max_value",
            "output_compression",
            None,
        ),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "output_compression": 50},
            400,
            "invalid_png_output_compression",
            None,
            None,
        ),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "background": "transparent", "output_format": "jpeg"},
            400,
            "invalid_transparent_background_output_format",
            None,
            None,
        ),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "input_fidelity": "high"},
            400,
            "unknown_parameter",
            "input_fidelity",
            None,
        ),
        (
            {"model": "gpt-image-2", "prompt": "x", "size": "1792x936"},
            400,
            "invalid_value",
            "size",
            "Invalid size '1792x936'. Width and height must both be divisible by 16.",
        ),
        ({"model": "gpt-image-2", "prompt": "x", "size": "3072x1008"}, 400, "invalid_value", "size", None),
        ({"model": "gpt-image-2", "prompt": "x", "size": "768x768"}, 400, "invalid_value", "size", None),
        ({"model": "gpt-image-2", "prompt": "x", "size": "3856x2160"}, 400, "invalid_value", "size", None),
        ({"model": "gpt-image-2", "prompt": "x", "size": "big"}, 400, "invalid_value", "size", None),
        (
            {"model": "dall-e-3", "prompt": "x"},
            400,
            "invalid_value",
            "model",
            "The model 'dall-e-3' does not exist.",
        ),
        # an id no GPT Image model has (the bare 2.5 id is not a model: its docs 404 it)
        ({"model": "gpt-image-2.5", "prompt": "x"}, 400, "invalid_value", "model", None),
        # gpt-image-2 refuses the 2.5 qualities (lobehub/lobehub#19342: the reported 400)
        (
            {"model": "gpt-image-2", "prompt": "x", "quality": "xhigh"},
            400,
            "invalid_value",
            "quality",
            "The model 'gpt-image-2' does not support quality 'xhigh'",
        ),
        ({"model": 3, "prompt": "x"}, 400, "invalid_type", "model", None),
    ],
)
def test_generation_rejections_are_openai_errors(
    wsgi: httpx.Client, body: dict[str, Any], status: int, code: str, param: str | None, message: str | None
) -> None:
    response = wsgi.post(GEN, headers=AUTH, json=body)
    error = _error(response)
    assert (response.status_code, error["code"], error["param"]) == (status, code, param)
    if message is not None:
        assert error["message"] == message


@pytest.mark.parametrize(
    "config", [{"options": {"openai.gpt_image_2_max_edge_inclusive": False}}], indirect=True
)
def test_codex_edge_reading_is_an_option(wsgi: httpx.Client) -> None:
    """openai/codex: "use 3824x2160 instead of 3840x2160"."""
    rejected = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-2", "prompt": "x", "size": "3840x2160"})
    assert rejected.status_code == 400 and "less than 3840" in _error(rejected)["message"]
    accepted = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-2", "prompt": "x", "size": "3824x2160"})
    assert accepted.status_code == 200


def test_sdk_edge_reading_is_the_default(wsgi: httpx.Client) -> None:
    response = wsgi.post(
        GEN, headers=AUTH, json={"model": "gpt-image-2", "prompt": "x", "size": "3840x2160", "quality": "low"}
    )
    assert response.status_code == 200
    assert _decode(response.json()["data"][0]["b64_json"]).size == (3840, 2160)


@pytest.mark.parametrize(
    "config", [{"options": {"openai.gpt_image_2_transparent_preview": True}}], indirect=True
)
def test_transparent_preview_is_an_option(wsgi: httpx.Client) -> None:
    body = {"model": "gpt-image-2", "prompt": "a sticker", "background": "transparent", "size": "1024x1024"}
    response = wsgi.post(GEN, headers=AUTH, json=body)
    assert response.status_code == 200
    assert response.json()["background"] == "transparent"
    assert _decode(response.json()["data"][0]["b64_json"]).mode == "RGBA"


def test_framework_level_failures_are_openai_errors(http: httpx.Client) -> None:
    malformed = http.post(GEN, headers={**AUTH, "Content-Type": "application/json"}, content=b"{not json")
    assert malformed.status_code == 400 and _error(malformed)["message"].startswith(
        "We could not parse the JSON"
    )
    form = http.post(GEN, headers=AUTH, data={"model": "gpt-image-1.5", "prompt": "x"})
    assert form.status_code == 400 and _error(form)["message"].startswith("We could not parse the JSON")
    not_multipart = http.post(EDIT, headers=AUTH, data={"model": "gpt-image-1.5", "prompt": "x"})
    assert (
        not_multipart.status_code == 400
        and "expected multipart/form-data" in _error(not_multipart)["message"]
    )
    unknown = http.post("/openai/v1/images/variations", headers=AUTH, json={})
    assert (
        unknown.status_code == 404
        and _error(unknown)["message"] == "Invalid URL (POST /v1/images/variations)"
    )
    wrong_method = http.get(GEN, headers=AUTH)
    assert wrong_method.status_code == 405 and _error(wrong_method)["code"] == "method_not_supported"
    array = http.post(GEN, headers=AUTH, json=[1, 2])
    assert array.status_code == 400 and _error(array)["code"] == "invalid_type"


@pytest.mark.parametrize("config", [{"max_body_bytes": 2048}], indirect=True)
def test_oversized_body_is_413_in_openais_envelope(wsgi: httpx.Client) -> None:
    response = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-1.5", "prompt": "x" * 4096})
    assert response.status_code == 413
    assert _error(response)["type"] == "invalid_request_error"


# ------------------------------------------------------------------------------------ auth
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic c2stdGVzdA=="}, {"Authorization": "Bearer"}]
)
def test_missing_key_is_401(wsgi: httpx.Client, headers: dict[str, str]) -> None:
    response = wsgi.post(GEN, headers=headers, json={"model": "gpt-image-1.5", "prompt": "x"})
    error = _error(response)
    assert response.status_code == 401 and error["code"] is None
    assert error["message"].startswith("You didn't provide an API key.")


@pytest.mark.parametrize(
    "config",
    [{"invalid_keys": frozenset({"sk-bad-key-123456"}), "inactive_keys": frozenset({"sk-gone"})}],
    indirect=True,
)
def test_invalid_and_deactivated_keys(http: httpx.Client) -> None:
    invalid = http.post(GEN, headers={"Authorization": "Bearer sk-bad-key-123456"}, json={})
    assert invalid.status_code == 401 and _error(invalid)["code"] == "invalid_api_key"
    assert "sk-bad-key-123456" not in _error(invalid)["message"]
    assert "sk-**********3456" in _error(invalid)["message"]
    inactive = http.post(GEN, headers={"Authorization": "Bearer sk-gone"}, json={})
    assert inactive.status_code == 401 and _error(inactive)["code"] == "account_deactivated"
    for answer in (invalid, inactive):
        # recorded: maruel/genai errors/bad_apiKey_image/GenSync.yaml
        assert answer.headers["www-authenticate"] == 'Bearer realm="OpenAI API"'


@pytest.mark.parametrize("config", [{"invalid_keys": frozenset({"bad apiKey"})}], indirect=True)
def test_a_key_not_in_openais_form_is_echoed_as_the_recording_shows(wsgi: httpx.Client) -> None:
    # maruel/genai errors/bad_apiKey_image/GenSync.yaml (5f224cb): the answer, body and status exactly
    body = {"prompt": "Tell a short joke.", "model": "gpt-image-1.5", "moderation": "low"}
    answer = wsgi.post(GEN, headers={"Authorization": "Bearer bad apiKey"}, json=body)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {
            "message": "Incorrect API key provided: bad apiKey. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }


def test_an_injected_rate_limit_says_when_to_retry(wsgi: httpx.Client) -> None:
    wsgi.post(
        "/__admin/faults", json={"kind": "rate_limit", "provider": "openai", "params": {"retry_after": 7}}
    )
    answer = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-2", "prompt": "x", "quality": "low"})
    assert answer.status_code == 429 and _error(answer)["code"] == "rate_limit_exceeded"
    assert answer.headers["retry-after"] == "7" and answer.headers["x-ratelimit-reset-requests"] == "7s"
    assert answer.headers["x-ratelimit-remaining-requests"] == "0"
    assert "try again in 7s" in _error(answer)["message"]


# ------------------------------------------------------------------------------------ models
@pytest.mark.parametrize("config", [{"today": dt.date(2026, 11, 30)}], indirect=True)
def test_models_list_the_shutdown_dates_until_the_shutdown(wsgi: httpx.Client) -> None:
    # developers.openai.com/api/docs/deprecations: gpt-image-1.5 and its snapshot shut down on 2026-12-01
    listed = wsgi.get("/openai/v1/models", headers=AUTH).json()
    dates = {model["id"]: model["shutdown_date"] for model in listed["data"]}
    assert listed["object"] == "list"
    # gpt-image-1-mini too (deprecations page); the 2.5 and 2.6 models have none announced
    live = {
        "gpt-image-2": None,
        "gpt-image-2-2026-04-21": None,
        "gpt-image-2.5-flare": None,
        "gpt-image-2.5-flare-2026-09-08": None,
        "gpt-image-2.5-sunburst": None,
        "gpt-image-2.5-sunburst-2026-09-08": None,
        "gpt-image-2.6-flare": None,
        "gpt-image-2.6-sunburst": None,
    }
    assert dates == {
        "gpt-image-1.5": "2026-12-01",
        "gpt-image-1.5-2025-12-16": "2026-12-01",
        "gpt-image-1-mini": "2026-12-01",
        **live,
    }
    one = wsgi.get("/openai/v1/models/gpt-image-1.5", headers=AUTH).json()
    assert (one["object"], one["shutdown_date"], one["owned_by"]) == ("model", "2026-12-01", "system")
    wsgi.put("/__admin/clock", json={"date": "2026-12-01"})
    assert {m["id"] for m in wsgi.get("/openai/v1/models", headers=AUTH).json()["data"]} == set(live)
    gone = wsgi.get("/openai/v1/models/gpt-image-1.5", headers=AUTH)
    assert gone.status_code == 404 and _error(gone)["code"] == "model_not_found"
    assert wsgi.get("/openai/v1/models").status_code == 401


# ------------------------------------------------------------------------------------ lifecycle
@pytest.mark.parametrize("config", [{"today": dt.date(2026, 12, 1)}], indirect=True)
@pytest.mark.parametrize("model", ["gpt-image-1.5", "gpt-image-1.5-2025-12-16"])
def test_gpt_image_1_5_is_gone_from_its_shutdown_date(wsgi: httpx.Client, model: str) -> None:
    """models.yaml lifecycle.openai_shutdown = 2026-12-01 (OpenAI deprecations page)."""
    gone = wsgi.post(GEN, headers=AUTH, json={"model": model, "prompt": "x"})
    assert gone.status_code == 400 and _error(gone)["type"] == "image_generation_user_error"
    assert _error(gone)["message"] == f"The model '{model}' does not exist."
    alive = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-2", "prompt": "x", "quality": "low"})
    assert alive.status_code == 200


@pytest.mark.parametrize("config", [{"today": dt.date(2026, 11, 30)}], indirect=True)
def test_gpt_image_1_5_is_served_the_day_before(wsgi: httpx.Client) -> None:
    response = wsgi.post(GEN, headers=AUTH, json={"model": "gpt-image-1.5", "prompt": "x", "quality": "low"})
    assert response.status_code == 200


# ------------------------------------------------------------------------------------ edits
def _edit(http: httpx.Client, fields: dict[str, str], files: list[tuple[str, Any]]) -> httpx.Response:
    return http.post(EDIT, headers=AUTH, data=fields, files=files)


@pytest.mark.parametrize(
    ("config", "model", "refusal"),
    [
        # the default of OpenAI's API document (openai/openai-openapi@f85dbe2) while the model is served
        ({"today": dt.date(2026, 11, 30)}, "gpt-image-1.5", None),
        # ... shut down at OpenAI from 2026-12-01; the newest SDKs (openai-python 3.63.0) name no default, so
        # the answer names the missing parameter, never a model the caller did not send
        ({"today": dt.date(2026, 12, 1)}, None, "Missing required parameter: 'model'."),
        (
            {"today": dt.date(2026, 12, 1), "options": {"openai.edit_default_model": "gpt-image-1.5"}},
            None,
            "The model 'gpt-image-1.5' does not exist.",
        ),
        (
            {"today": dt.date(2026, 12, 1), "options": {"openai.edit_default_model": "gpt-image-2"}},
            "gpt-image-2",
            None,
        ),
        (
            {"options": {"openai.edit_default_model": "required"}},
            None,
            "Missing required parameter: 'model'.",
        ),
    ],
    indirect=["config"],
)
def test_an_edit_without_model_takes_the_documented_default(
    wsgi: httpx.Client, model: str | None, refusal: str | None
) -> None:
    response = _edit(
        wsgi, {"prompt": "make it blue", "quality": "low"}, [("image", ("a.png", _png(), "image/png"))]
    )
    if refusal is not None:
        assert response.status_code == 400 and _error(response)["message"] == refusal
        return
    assert response.status_code == 200
    [entry] = wsgi.get("/__admin/journal", params={"provider": "openai"}).json()["entries"]
    assert next(note["canonical"]["model"] for note in entry["notes"] if "canonical" in note) == model


def test_edit_with_one_image_bills_the_published_input_tokens(http: httpx.Client) -> None:
    """A 1024x1024 input costs 194 image tokens at low fidelity (65 + 129 x 1 tile; observed:
    community.openai.com/t/1281361)."""
    response = _edit(
        http,
        {"model": "gpt-image-1.5", "prompt": "make it blue", "n": "2", "size": "1024x1536", "quality": "low"},
        [("image", ("in.png", _png(1024, 1024), "image/png"))],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["usage"]["input_tokens_details"]["image_tokens"] == 194
    assert body["usage"]["output_tokens_details"]["image_tokens"] == 2 * 408
    assert [_decode(d["b64_json"]).size for d in body["data"]] == [(1024, 1536)] * 2


def test_edit_with_repeated_image_parts_and_a_mask(http: httpx.Client) -> None:
    images = [("image[]", (f"{i}.png", _png(1024, 1536), "image/png")) for i in range(3)]
    mask = ("mask", ("mask.png", _png(1024, 1536, "RGBA"), "image/png"))
    response = _edit(
        http,
        {"model": "gpt-image-1.5", "prompt": "add a hat", "input_fidelity": "low", "output_format": "webp"},
        [*images, mask],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["usage"]["input_tokens_details"]["image_tokens"] == 3 * 323  # 1024x1536 -> 323 (512-px tiles)
    assert _decode(body["data"][0]["b64_json"]).format == "WEBP"


def test_edit_on_gpt_image_2_with_jpeg_input(wsgi: httpx.Client) -> None:
    response = _edit(
        wsgi,
        {"model": "gpt-image-2", "prompt": "add snow", "size": "1536x864"},
        [("image", ("in.jpg", _png(640, 480, fmt="JPEG"), "image/jpeg"))],
    )
    assert response.status_code == 200, response.text
    assert _decode(response.json()["data"][0]["b64_json"]).size == (1536, 864)


@pytest.mark.parametrize(
    ("fields", "files", "code", "param"),
    [
        (
            {},
            [("model", (None, "gpt-image-1.5")), ("prompt", (None, "x"))],
            "missing_required_parameter",
            "image",
        ),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "moderation": "low"},
            "one",
            "unknown_parameter",
            "moderation",
        ),
        (
            {"model": "gpt-image-1.5", "prompt": "x", "input_fidelity": "max"},
            "one",
            "invalid_value",
            "input_fidelity",
        ),
        ({"model": "gpt-image-1.5", "prompt": "x", "n": "eleven"}, "one", "invalid_type", "n"),
        ({"model": "gpt-image-1.5", "prompt": "x"}, "seventeen", "array_above_max_length", "image"),
        ({"model": "gpt-image-1.5", "prompt": "x"}, "octet-list", "unsupported_file_mimetype", "image[1]"),
        ({"model": "gpt-image-1.5", "prompt": "x"}, "jpeg-mask", "unsupported_file_mimetype", "mask"),
        # clients' fixtures of the live 400: code invalid_mask_image_format, no param
        ({"model": "gpt-image-1.5", "prompt": "x"}, "mask-size", "invalid_mask_image_format", None),
        ({"model": "gpt-image-1.5", "prompt": "x"}, "rgb-mask", "invalid_mask_image_format", None),
        # the guide: "The image to edit and mask must be of the same format and size"
        ({"model": "gpt-image-1.5", "prompt": "x"}, "jpeg-image-png-mask", "invalid_mask_image_format", None),
        ({"model": "gpt-image-1.5", "prompt": "x"}, "not-image", "invalid_image_file", "image"),
        (
            {"model": "gpt-image-2", "prompt": "x", "input_fidelity": "low"},
            "one",
            "invalid_input_fidelity_model",
            "input_fidelity",
        ),
    ],
)
def test_edit_rejections(
    wsgi: httpx.Client, fields: dict[str, str], files: Any, code: str, param: str | None
) -> None:
    png = ("a.png", _png(), "image/png")
    parts = (
        {
            "one": [("image", png)],
            "seventeen": [("image[]", png)] * 17,
            "octet-list": [("image[]", png), ("image[]", ("upload", _png(), "application/octet-stream"))],
            "jpeg-mask": [("image", png), ("mask", ("m.jpg", _png(fmt="JPEG"), "image/jpeg"))],
            "mask-size": [("image", png), ("mask", ("m.png", _png(32, 32, "RGBA"), "image/png"))],
            "rgb-mask": [("image", png), ("mask", ("m.png", _png(mode="RGB"), "image/png"))],
            "jpeg-image-png-mask": [
                ("image", ("a.jpg", _png(fmt="JPEG"), "image/jpeg")),
                ("mask", ("m.png", _png(mode="RGBA"), "image/png")),
            ],
            "not-image": [("image", ("a.png", b"not an image", "image/png"))],
        }.get(files, files)
        if isinstance(files, str)
        else files
    )
    response = _edit(wsgi, fields, parts)
    error = _error(response)
    assert (response.status_code, error["code"], error["param"]) == (400, code, param)
    # The messages third parties quote from the live API (client fixtures of the upstream 400)
    quoted = {
        "mask-size": "Invalid mask image format - mask size does not match image size",
        "rgb-mask": "Invalid mask image format - mask image missing alpha channel",
    }
    if isinstance(files, str) and files in quoted:
        assert error["message"] == quoted[files]


# ------------------------------------------------------------------------------------ streaming
def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streamed_generation_sends_partials_then_the_completed_image(http: httpx.Client) -> None:
    body = {
        "model": "gpt-image-1.5",
        "prompt": "a fox",
        "stream": True,
        "partial_images": 2,
        "size": "1024x1024",
    }
    response = http.post(GEN, headers=AUTH, json=body)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert [name for name, _ in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [data["partial_image_index"] for _, data in events[:2]] == [0, 1]
    completed = events[-1][1]
    # OpenAI's table: 1024x1024 high is 4160 tokens; the guide: each partial image costs 100 more
    assert completed["type"] == "image_generation.completed"
    # (plus gpt-image-1.5's recorded 420 text output tokens at high)
    assert completed["usage"]["output_tokens"] == 4160 + 2 * 100 + 420
    assert _decode(completed["b64_json"]).size == (1024, 1024)


def test_streamed_edit_uses_image_edit_events(wsgi: httpx.Client) -> None:
    response = _edit(
        wsgi,
        {"model": "gpt-image-2", "prompt": "x", "stream": "true", "size": "1024x1024", "quality": "low"},
        [("image", ("a.png", _png(), "image/png"))],
    )
    assert [name for name, _ in _events(response.text)] == ["image_edit.completed"]


def test_safety_identifier_is_echoed(wsgi: httpx.Client) -> None:
    """images_response.py: the effective identifier is safety_identifier, else the deprecated user."""
    base = {"model": "gpt-image-2", "prompt": "x", "quality": "low", "size": "1024x1024"}
    echoed = wsgi.post(GEN, headers=AUTH, json={**base, "user": "u-1", "safety_identifier": "sid-9"}).json()
    assert echoed["safety_identifier"] == "sid-9"
    assert wsgi.post(GEN, headers=AUTH, json={**base, "user": "u-1"}).json()["safety_identifier"] == "u-1"
    assert "safety_identifier" not in wsgi.post(GEN, headers=AUTH, json=base).json()
