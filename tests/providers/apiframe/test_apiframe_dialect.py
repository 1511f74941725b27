"""Apiframe dialect: canonical <-> ``POST /v2/images/generate`` bodies.

The oracles are the contract (every native body must validate against it) and Apiframe's published
parameter tables (https://apiframe.ai/docs/images/gpt-image/gpt-image-1-5 for gpt-image-1.5,
https://docs-v2.apiframe.ai/docs/images/gpt-image-2 for gpt-image-2; read 2026-11).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.dialects.apiframe import DIALECT
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import request_schema, validate

MODELS = ("gpt-image-1.5", "gpt-image-2")
URLS = st.sampled_from(["https://example.com/a.png", "https://cdn.test/b.jpg", "http://127.0.0.1:9/c.webp"])
PROMPTS = st.text(min_size=1, max_size=80).filter(lambda s: len(s.encode("utf-16-le")) // 2 <= 2000)


def _maybe(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.none() | st.sampled_from(values) if values else st.none()


@st.composite
def requests(draw: st.DrawFn) -> CanonicalRequest:
    """Any canonical request Apiframe can express, drawn from the dialect's capabilities."""
    model = draw(st.sampled_from(MODELS))
    caps = DIALECT.capabilities(model)
    webhook: dict[str, Any] = draw(
        st.just({})
        | st.fixed_dictionaries(
            {"webhookUrl": st.just("https://hooks.example.com/apiframe")},
            optional={
                "webhookEvents": st.lists(st.sampled_from(["progress", "completed", "failed"]), min_size=1)
            },
        )
    )
    return CanonicalRequest(
        model=model,  # type: ignore[arg-type]
        prompt=draw(PROMPTS),
        n=draw(st.none() | st.integers(1, caps.max_n)),
        size=draw(_maybe(caps.sizes)),
        quality=draw(_maybe(caps.qualities)),
        background=draw(_maybe(caps.backgrounds)),
        output_format=draw(_maybe(caps.output_formats)),
        moderation=draw(_maybe(caps.moderations)),
        input_fidelity=draw(_maybe(caps.input_fidelities)),
        input_images=tuple(ImageInput(url=u) for u in draw(st.lists(URLS, max_size=caps.max_input_images))),
        extra=webhook,
    )


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(requests())
def test_every_native_body_validates_against_the_contract(request: CanonicalRequest) -> None:
    native = DIALECT.to_native(request)
    assert (native.method, native.path) == ("POST", "/v2/images/generate")
    assert validate("apiframe", request_schema("apiframe", "generateImage"), native.body) == []


@SETTINGS
@given(requests())
def test_native_canonical_native_is_stable(request: CanonicalRequest) -> None:
    native = DIALECT.to_native(request)
    assert DIALECT.to_native(DIALECT.from_native(native)).body == native.body


@SETTINGS
@given(requests())
def test_resolve_is_idempotent_and_round_trips(request: CanonicalRequest) -> None:
    resolved = DIALECT.resolve(request)
    assert DIALECT.resolve(resolved) == resolved
    assert DIALECT.resolve(DIALECT.from_native(DIALECT.to_native(request))) == resolved


def test_the_registry_returns_this_dialect() -> None:
    assert get_dialect("apiframe") is DIALECT


@pytest.mark.parametrize("model", MODELS)
def test_defaults_are_the_documented_ones(model: str) -> None:
    resolved = DIALECT.resolve(CanonicalRequest(model=model, prompt="a fox"))  # type: ignore[arg-type]
    # The model pages: quality auto, aspect 1:1 (-> 1024x1024, inferred), webp, background auto, 1 image.
    assert (resolved.quality, resolved.size, resolved.output_format, resolved.background, resolved.n) == (
        "auto",
        "1024x1024",
        "webp",
        "auto",
        1,
    )
    if model == "gpt-image-1.5":
        assert (resolved.input_fidelity, resolved.moderation) == ("low", "auto")  # page default; no knob
    else:
        assert (resolved.input_fidelity, resolved.moderation) == ("high", "auto")  # "no knob"; docs default


def test_the_seed_request_reads_as_canonical() -> None:
    body = {
        "prompt": "A whimsical watercolor painting of a fox reading a book in a sunlit forest clearing",
        "model": "gpt-image-1.5",
        "gptImageParams": {"quality": "high", "aspect_ratio": "3:2", "output_format": "png"},
    }
    canonical = DIALECT.from_native(NativeRequest("apiframe", "generateImage", body))
    assert (canonical.quality, canonical.size, canonical.output_format) == ("high", "1536x1024", "png")
    assert (canonical.n, canonical.background, canonical.input_fidelity) == (None, None, None)


def test_native_names_and_aspect_ratios() -> None:
    request = CanonicalRequest(
        model="gpt-image-2",
        prompt="a fox",
        n=4,
        size="1024x1536",
        moderation="low",
        input_images=(ImageInput(url="https://example.com/in.png"),),
        extra={"webhookUrl": "https://hooks.example.com/x", "webhookEvents": ["completed"]},
    )
    body = DIALECT.to_native(request).body
    assert body["webhookUrl"] == "https://hooks.example.com/x"
    assert body["webhookEvents"] == ["completed"]
    params = body["gptImage2Params"]
    assert (params["aspect_ratio"], params["number_of_images"], params["moderation"]) == ("2:3", 4, "low")
    assert params["input_images"] == ["https://example.com/in.png"]
    assert "input_fidelity" not in params and "gptImageParams" not in body


@pytest.mark.parametrize(
    ("model", "changes", "field"),
    [
        ("gpt-image-1.5", {"size": "auto"}, "size"),
        ("gpt-image-1.5", {"size": "2048x2048"}, "size"),
        ("gpt-image-1.5", {"output_compression": 80}, "output_compression"),
        ("gpt-image-1.5", {"mask": ImageInput(url="https://example.com/m.png")}, "mask"),
        ("gpt-image-1.5", {"moderation": "low"}, "moderation"),
        ("gpt-image-1.5", {"n": 11}, "n"),
        ("gpt-image-1.5", {"n": 0}, "n"),
        ("gpt-image-1.5", {"prompt": ""}, "prompt"),
        ("gpt-image-1.5", {"prompt": "x" * 2001}, "prompt"),
        ("gpt-image-1.5", {"prompt": "🦊" * 1001}, "prompt"),  # 2002 UTF-16 units (Zod counts those)
        ("gpt-image-1.5", {"input_images": (ImageInput.from_bytes(b"\x89PNG..."),)}, "input_images"),
        ("gpt-image-1.5", {"input_images": (ImageInput(url="https://e.com/a.png"),) * 17}, "input_images"),
        ("gpt-image-2", {"background": "transparent"}, "background"),
        ("gpt-image-2", {"input_fidelity": "low"}, "input_fidelity"),
    ],
)
def test_inexpressible_values_raise(model: str, changes: dict[str, Any], field: str) -> None:
    request = CanonicalRequest(model=model, prompt="a fox").with_(**changes)  # type: ignore[arg-type]
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(request)
    assert (info.value.provider, info.value.field) == ("apiframe", field)


def test_limits_that_hold_exactly() -> None:
    for prompt in ("x" * 2000, "🦊" * 1000, "x"):
        DIALECT.to_native(CanonicalRequest(model="gpt-image-1.5", prompt=prompt))
    images = (ImageInput(url="https://e.com/a.png"),) * 16
    DIALECT.to_native(CanonicalRequest(model="gpt-image-2", prompt="x", n=10, input_images=images))


def test_from_native_rejects_what_it_does_not_understand() -> None:
    bodies: list[Any] = [
        [],
        {"model": "midjourney", "prompt": "x"},
        {"model": "gpt-image-2", "gptImage2Params": 3},
    ]
    for body in bodies:
        with pytest.raises(ValueError):
            DIALECT.from_native(NativeRequest("apiframe", "generateImage", body))
    with pytest.raises(ValueError):
        DIALECT.from_native(NativeRequest("apiframe", "getJob", {}))
