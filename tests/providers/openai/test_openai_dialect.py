"""The OpenAI dialect: round trips and contract validity (hypothesis), defaults, and refusals.

Oracle: the OpenAPI document (``pixelmock.contracts.openapi.validate``) and OpenAI's published rules, never
the dialect itself.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.openai import DIALECT
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import request_schema, validate

MODELS = ("gpt-image-1.5", "gpt-image-2")
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _png(width: int = 32, height: int = 32, mode: str = "RGB") -> ImageInput:
    buf = io.BytesIO()
    Image.new(mode, (width, height)).save(buf, "PNG")
    return ImageInput.from_bytes(buf.getvalue(), "image/png")


PNG = _png()


def _schema(operation_id: str) -> dict[str, Any]:
    content = "multipart/form-data" if operation_id == "createImageEdit" else "application/json"
    return request_schema("openai", operation_id, content)


@st.composite
def flexible_sizes(draw: st.DrawFn) -> str:
    """WxH sizes inside gpt-image-2's published rules (SDK, codex): /16, ratio <= 3, 655,360-8,294,400 px."""
    width = draw(st.integers(16, 240)) * 16
    height = draw(st.integers(16, 240)) * 16
    long_edge, short_edge = max(width, height), min(width, height)
    ok = long_edge <= 3 * short_edge and 655_360 <= width * height <= 8_294_400 and long_edge <= 3840
    assume(ok)
    return f"{width}x{height}"


@st.composite
def requests(draw: st.DrawFn, model: str, edit: bool = False) -> CanonicalRequest:
    caps = DIALECT.capabilities(model)
    size = draw(
        st.none() | st.sampled_from(caps.sizes) | (flexible_sizes() if caps.flexible_sizes else st.nothing())
    )
    background = draw(st.none() | st.sampled_from(caps.backgrounds))
    formats = ("png", "webp") if background == "transparent" else caps.output_formats
    output_format = draw(st.none() | st.sampled_from(formats))
    compression = draw(st.none() | st.integers(0, 100)) if output_format in ("jpeg", "webp") else None
    images = tuple(draw(st.lists(st.just(PNG), min_size=1, max_size=4))) if edit else ()
    return CanonicalRequest(
        model=model,  # type: ignore[arg-type]
        prompt=draw(st.text("abcdef xyz", min_size=1, max_size=40).filter(str.strip)),
        n=draw(st.none() | st.integers(1, caps.max_n)),
        size=size,
        quality=draw(st.none() | st.sampled_from(caps.qualities)),
        background=background,
        output_format=output_format,
        output_compression=compression,
        moderation=None if edit else draw(st.none() | st.sampled_from(caps.moderations)),
        input_images=images,
        mask=draw(st.none() | st.just(PNG)) if edit else None,
        input_fidelity=draw(st.none() | st.sampled_from(caps.input_fidelities))
        if edit and caps.input_fidelities
        else None,
        extra=draw(st.fixed_dictionaries({}, optional={"user": st.just("user-1"), "stream": st.booleans()})),
    )


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("edit", [False, True], ids=["generation", "edit"])
@SETTINGS
@given(data=st.data())
def test_native_requests_validate_and_round_trip(model: str, edit: bool, data: st.DataObject) -> None:
    request = data.draw(requests(model, edit))
    native = DIALECT.to_native(request)
    assert native.operation_id == ("createImageEdit" if edit else "createImage")
    assert validate("openai", _schema(native.operation_id), native.body) == []
    again = DIALECT.to_native(DIALECT.from_native(native))
    assert (again.operation_id, again.body, again.files) == (native.operation_id, native.body, native.files)
    resolved = DIALECT.resolve(request)
    assert DIALECT.resolve(resolved) == resolved


@pytest.mark.parametrize("model", MODELS)
def test_defaults_are_openais(model: str) -> None:
    """SDK defaults: size auto, quality auto, background auto, png, compression 100, moderation auto, n 1;
    SDK: input_fidelity low on gpt-image-1.5 edits."""
    resolved = DIALECT.resolve(CanonicalRequest(model=model, prompt="a fox"))  # type: ignore[arg-type]
    assert (resolved.n, resolved.size, resolved.quality, resolved.background) == (1, "auto", "auto", "auto")
    assert (resolved.output_format, resolved.output_compression, resolved.moderation) == ("png", 100, "auto")
    edit = DIALECT.resolve(CanonicalRequest(model=model, prompt="a fox", input_images=(PNG,)))  # type: ignore[arg-type]
    assert edit.input_fidelity == ("low" if model == "gpt-image-1.5" else None)


def test_published_capability_matrix() -> None:
    """codex image-api.md: per-model enums as OpenAI documents them."""
    old, new = DIALECT.capabilities("gpt-image-1.5"), DIALECT.capabilities("gpt-image-2")
    assert set(old.sizes) == {"1024x1024", "1536x1024", "1024x1536", "auto"} and not old.flexible_sizes
    assert new.flexible_sizes and "auto" in new.sizes
    assert set(old.backgrounds) == {"transparent", "opaque", "auto"}
    assert set(new.backgrounds) == {"opaque", "auto"}
    assert set(old.input_fidelities) == {"low", "high"} and new.input_fidelities == ()
    for caps in (old, new):
        assert caps.max_n == 10 and caps.max_input_images == 16 and caps.mask
        assert set(caps.qualities) == {"low", "medium", "high", "auto"}
        assert set(caps.output_formats) == {"png", "webp", "jpeg"}


def test_single_image_goes_as_image_and_several_as_image_brackets() -> None:
    """openai-python: the SDK sends one image as `image` and a list as repeated `image[]` parts."""
    one = DIALECT.to_native(CanonicalRequest(model="gpt-image-1.5", prompt="x", input_images=(PNG,)))
    two = DIALECT.to_native(
        CanonicalRequest(model="gpt-image-1.5", prompt="x", input_images=(PNG, PNG), mask=PNG)
    )
    assert [name for name, _ in one.files] == ["image"]
    assert [name for name, _ in two.files] == ["image[]", "image[]", "mask"]
    listed = NativeRequest(
        "openai", "createImageEdit", {"model": "gpt-image-1.5", "prompt": "x"}, (("image[]", PNG),)
    )
    assert [name for name, _ in DIALECT.to_native(DIALECT.from_native(listed)).files] == ["image[]"]


def test_snapshot_ids_parse_to_their_model_and_survive_the_round_trip() -> None:
    native = NativeRequest("openai", "createImage", {"model": "gpt-image-2-2026-04-21", "prompt": "x"})
    canonical = DIALECT.from_native(native)
    assert canonical.model == "gpt-image-2" and canonical.size is None and canonical.n is None
    assert DIALECT.to_native(canonical).body["model"] == "gpt-image-2-2026-04-21"


def test_unknown_native_model_is_not_understood() -> None:
    with pytest.raises(ValueError):
        DIALECT.from_native(NativeRequest("openai", "createImage", {"model": "gpt-9", "prompt": "x"}))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"model": "gpt-image-2", "background": "transparent"}, "background"),
        (
            {"model": "gpt-image-2", "size": "1792x936"},
            "size",
        ),  # not divisible by 16 (jezweb/claude-skills#91)
        ({"model": "gpt-image-2", "size": "3072x1008"}, "size"),  # ratio above 3:1
        ({"model": "gpt-image-2", "size": "768x768"}, "size"),  # below 655,360 pixels
        ({"model": "gpt-image-2", "size": "3856x2160"}, "size"),  # edge above 3840
        ({"model": "gpt-image-1.5", "size": "512x512"}, "size"),
        ({"model": "gpt-image-1.5", "n": 11}, "n"),
        ({"model": "gpt-image-1.5", "n": 0}, "n"),
        ({"model": "gpt-image-1.5", "output_compression": 80}, "output_compression"),  # png only takes 100
        ({"model": "gpt-image-1.5", "background": "transparent", "output_format": "jpeg"}, "output_format"),
        ({"model": "gpt-image-1.5", "input_fidelity": "high"}, "input_fidelity"),  # generations have none
        ({"model": "gpt-image-1.5", "mask": PNG}, "mask"),
        ({"model": "gpt-image-1.5", "input_images": (PNG,) * 17}, "input_images"),
        (
            {"model": "gpt-image-1.5", "input_images": (ImageInput(url="https://example.com/a.png"),)},
            "input_images",
        ),
        ({"model": "gpt-image-1.5", "input_images": (PNG,), "moderation": "low"}, "moderation"),
        ({"model": "gpt-image-2", "input_images": (PNG,), "input_fidelity": "low"}, "input_fidelity"),
    ],
)
def test_inexpressible_requests_raise_naming_openai_and_the_field(
    changes: dict[str, Any], field: str
) -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="a fox").with_(**changes)
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(request)
    assert (info.value.provider, info.value.field) == ("openai", field)


def test_sdk_edge_reading_allows_3840x2160() -> None:
    """The document chooses the SDK docstring ("maximum supported resolution is 3840x2160")."""
    native = DIALECT.to_native(CanonicalRequest(model="gpt-image-2", prompt="x", size="3840x2160"))
    assert native.body["size"] == "3840x2160"
