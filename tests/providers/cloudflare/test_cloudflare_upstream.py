"""OpenAI's answers as Cloudflare wraps them (400 / 5012 "AiError: AiError: <upstream JSON>"): one upstream
answer, one body. The oracle is pixelmock's own OpenAI emulator, driven with the request Cloudflare's proxy
sends upstream; the Cloudflare contract only names OpenAI's ``x-openai-errors`` entry (``upstream-error``).

Evidence: Cloudflare's page note for gpt-image-2 ("transparent backgrounds are not supported", read
2026-11-21) and the 5012 wrapping of a partner model's upstream body (third-party report, 2026-10; see
``x-errors.upstream`` in contracts/openapi/cloudflare.yaml); OpenAI's bodies are OpenAI's contract's.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from PIL import Image

from pixelmock.contracts.openapi import inlined
from pixelmock.contracts.upstream import UPSTREAM_KEY, openai_entry
from pixelmock.emulators import EmulatorConfig, create_app

CF_RUN = "/cloudflare/client/v4/accounts/acct/ai/run"
OA = "/openai/v1/images"
AUTH = {"Authorization": "Bearer test-token"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SCHEMAS = inlined("cloudflare")["components"]["schemas"]
INPUTS = ("GptImage2Input", "GptImage15Input", "GptImage15EffectiveInput")
# The day before and the day of OpenAI's gpt-image-1.5 shutdown (contracts/data/models.yaml).
BEFORE_SHUTDOWN, SHUTDOWN = dt.date(2026, 11, 30), dt.date(2026, 12, 1)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


@contextmanager
def emulators(today: dt.date) -> Iterator[httpx.Client]:
    """OpenAI's and Cloudflare's emulators in one app, the virtual clock on ``today``."""
    app = create_app(EmulatorConfig(today=today), providers=["openai", "cloudflare"])
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        yield http


@pytest.fixture
def both() -> Iterator[httpx.Client]:
    with emulators(BEFORE_SHUTDOWN) as http:
        yield http


def unwrapped(response: httpx.Response) -> tuple[int, Any]:
    """``(HTTP status, upstream JSON)`` of a Cloudflare 5012 answer."""
    error = response.json()["errors"][0]
    assert error["code"] == 5012
    match = re.fullmatch(rf"AiError: AiError: (.*) \({UUID}\)", error["message"])
    assert match is not None, error["message"]
    return response.status_code, json.loads(match.group(1))


def openai_answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("model", "changes"),
    [
        ("gpt-image-2", {"background": "transparent"}),  # audit 3 item 10: the type must be OpenAI's
        ("gpt-image-2", {"prompt": "x" * 32001}),
        ("gpt-image-1.5", {"prompt": "y" * 40000}),
    ],
)
def test_generation_refusals_are_openais_bodies(
    both: httpx.Client, model: str, changes: dict[str, Any]
) -> None:
    native = {"prompt": "x", **changes}
    cloudflare = both.post(CF_RUN, json={"model": f"openai/{model}", "input": native}, headers=AUTH)
    openai = both.post(f"{OA}/generations", json={"model": model, **native}, headers=AUTH)
    assert openai.status_code == 400
    assert unwrapped(cloudflare) == openai_answer(openai)


def test_transparent_refusal_has_openais_type(both: httpx.Client) -> None:
    body = {"model": "openai/gpt-image-2", "input": {"prompt": "x", "background": "transparent"}}
    _, upstream = unwrapped(both.post(CF_RUN, json=body, headers=AUTH))
    assert upstream["error"]["type"] == openai_entry("transparent_unsupported")["type"]
    assert upstream["error"]["type"] == "image_generation_user_error"  # as measured live (openai.yaml source)


@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-1.5"])
def test_unreadable_input_image_is_openais_body(both: httpx.Client, model: str) -> None:
    # Cloudflare routes `images` to OpenAI's /v1/images/edits; the entries go up as repeated image[] parts.
    good, bad = _png(), b"hello"
    entries = [base64.b64encode(good).decode(), base64.b64encode(bad).decode()]
    cloudflare = both.post(
        CF_RUN, json={"model": f"openai/{model}", "input": {"prompt": "x", "images": entries}}, headers=AUTH
    )
    files = [("image[]", ("a.png", good, "image/png")), ("image[]", ("b.png", bad, "image/png"))]
    openai = both.post(f"{OA}/edits", data={"model": model, "prompt": "x"}, files=files, headers=AUTH)
    assert openai.status_code == 400
    assert unwrapped(cloudflare) == openai_answer(openai)


def test_shut_down_model_is_openais_body() -> None:
    with emulators(SHUTDOWN) as both:
        body = {"model": "openai/gpt-image-1.5", "input": {"prompt": "x"}}
        cloudflare = both.post(CF_RUN, json=body, headers=AUTH)
        openai = both.post(f"{OA}/generations", json={"model": "gpt-image-1.5", "prompt": "x"}, headers=AUTH)
    assert openai.status_code == 400
    assert unwrapped(cloudflare) == openai_answer(openai)


def _rules() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in INPUTS:
        for rule in SCHEMAS[name].get("x-upstream-rejects", []):
            yield f"{name}.x-upstream-rejects.{rule['param']}", rule
        if "x-upstream-shutdown" in SCHEMAS[name]:
            yield f"{name}.x-upstream-shutdown", SCHEMAS[name]["x-upstream-shutdown"]


@pytest.mark.parametrize(("where", "rule"), list(_rules()), ids=[w for w, _ in _rules()])
def test_every_wrapped_body_is_named_not_copied(where: str, rule: dict[str, Any]) -> None:
    assert not {"error", "status"} & set(rule), f"{where} copies an upstream body"
    assert openai_entry(str(rule[UPSTREAM_KEY]["openai"]))  # the entry exists in OpenAI's contract


@pytest.mark.parametrize("name", INPUTS)
def test_prompt_limit_is_openais(name: str) -> None:
    openai = inlined("openai")["components"]["schemas"]
    model = str(SCHEMAS[name]["x-canonical-model"])
    branch = "CreateImageGptImage2" if model == "gpt-image-2" else "CreateImageGptImage15"
    rule = next(r for r in SCHEMAS[name]["x-upstream-rejects"] if r["param"] == "prompt")
    assert rule["max_length"] == openai[branch]["properties"]["prompt"]["maxLength"]
