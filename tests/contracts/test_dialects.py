"""Properties every dialect must keep, checked against the providers' OpenAPI documents (the oracle).

- every native request a dialect builds validates against that provider's contract;
- native -> canonical -> native is stable;
- resolve is idempotent and leaves nothing unset that the provider has a default for;
- a canonical value a provider cannot express raises ``UnsupportedValue`` naming provider and field,
  before any request exists.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from pixelmock.contracts.canonical import (
    BACKGROUNDS,
    INPUT_FIDELITIES,
    MODELS,
    MODERATIONS,
    OUTPUT_FORMATS,
    QUALITIES,
    CanonicalRequest,
    ImageInput,
)
from pixelmock.contracts.dialects import ModelCapabilities, get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import PROVIDERS, operation, request_schema, validate


def _offered(provider: str) -> list[tuple[str, str]]:
    pairs = []
    for model in MODELS:
        try:
            get_dialect(provider).capabilities(model)
        except UnsupportedValue:
            continue
        pairs.append((provider, model))
    return pairs


OFFERED = [pair for provider in PROVIDERS for pair in _offered(provider)]
#: A size every gpt-image-2 size rule accepts (multiples of 16, ratio 1, 1,048,576 pixels).
ANY_SIZE = "1024x1024"


def _png(width: int = 64, height: int = 64) -> ImageInput:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "PNG")
    return ImageInput.from_bytes(buf.getvalue(), "image/png")


def _maybe(values: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.none() | st.sampled_from(values) if values else st.none()


def _default_size(caps: ModelCapabilities) -> str | None:
    """``None`` (the provider's default size), except for a model that takes any size within its rules
    but has no default (Runware's gpt-image@2: width and height required): then ANY_SIZE."""
    return ANY_SIZE if caps.flexible_sizes and not caps.sizes else None


def _sizes(caps: ModelCapabilities) -> st.SearchStrategy[Any]:
    return st.just(ANY_SIZE) if _default_size(caps) else _maybe(caps.sizes)


@st.composite
def text_requests(draw: st.DrawFn, caps: ModelCapabilities) -> CanonicalRequest:
    """Text-to-image canonical requests using only values the provider's capabilities offer, minus the
    one combination OpenAI forbids everywhere (a transparent background needs png or webp)."""
    request = CanonicalRequest(
        model=caps.model,  # type: ignore[arg-type]
        prompt=draw(st.text("abcdefghij klmnop", min_size=3, max_size=60).filter(str.strip)),
        n=draw(st.none() | st.integers(1, caps.max_n)),
        size=draw(_sizes(caps)),
        quality=draw(_maybe(caps.qualities)),
        background=draw(_maybe(caps.backgrounds)),
        output_format=draw(_maybe(caps.output_formats)),
        moderation=draw(_maybe(caps.moderations)),
    )
    assume(not (request.background == "transparent" and request.output_format == "jpeg"))
    return request


def _schema_content_types(provider: str, operation_id: str) -> list[str]:
    return list(operation(provider, operation_id)[2]["requestBody"]["content"])


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_requests_validate_against_the_contract(
    provider: str, model: str, data: st.DataObject
) -> None:
    dialect = get_dialect(provider)
    request = data.draw(text_requests(dialect.capabilities(model)))
    native = dialect.to_native(request)
    content_type = _schema_content_types(provider, native.operation_id)[0]
    schema = request_schema(provider, native.operation_id, content_type)
    assert validate(provider, schema, native.body) == []


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_canonical_native_is_stable(provider: str, model: str, data: st.DataObject) -> None:
    dialect = get_dialect(provider)
    request = data.draw(text_requests(dialect.capabilities(model)))
    native = dialect.to_native(request)
    again = dialect.to_native(dialect.from_native(native))
    assert (again.operation_id, again.body, again.path_params) == (
        native.operation_id,
        native.body,
        native.path_params,
    )


@pytest.mark.parametrize(("provider", "model"), OFFERED)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_resolve_is_idempotent_and_complete(provider: str, model: str, data: st.DataObject) -> None:
    dialect = get_dialect(provider)
    request = data.draw(text_requests(dialect.capabilities(model)))
    resolved = dialect.resolve(request)
    assert dialect.resolve(resolved) == resolved
    assert resolved.n is not None and resolved.quality is not None and resolved.size is not None


@pytest.mark.parametrize(("provider", "model"), OFFERED)
def test_edit_requests_validate_or_are_refused_by_field(provider: str, model: str) -> None:
    dialect = get_dialect(provider)
    caps = dialect.capabilities(model)
    if caps.max_input_images == 0:
        pytest.skip(f"{provider} {model} takes no input images")
    for image in (_png(), ImageInput(url="https://example.com/input.png")):
        request = CanonicalRequest(
            model=model,  # type: ignore[arg-type]
            prompt="make it blue",
            size=_default_size(caps),
            input_images=(image,),
        )
        try:
            native = dialect.to_native(request)
        except UnsupportedValue as exc:
            assert exc.provider == provider and exc.field == "input_images"
            continue
        content_type = _schema_content_types(provider, native.operation_id)[0]
        if content_type == "application/json":
            assert validate(provider, request_schema(provider, native.operation_id), native.body) == []
        assert dialect.from_native(native).input_images


CANONICAL_VALUES: dict[str, tuple[Any, ...]] = {
    "quality": QUALITIES,
    "background": BACKGROUNDS,
    "output_format": OUTPUT_FORMATS,
    "moderation": MODERATIONS,
    "size": ("1024x1024", "1536x1024", "1024x1536", "auto", "256x256", "2048x2048", "1792x1024"),
}
CAPABILITY_OF = {
    "quality": "qualities",
    "background": "backgrounds",
    "output_format": "output_formats",
    "moderation": "moderations",
    "size": "sizes",
}


def _unsupported_cases() -> list[tuple[str, str, str, Any]]:
    cases = []
    for provider, model in OFFERED:
        caps = get_dialect(provider).capabilities(model)
        for field, values in CANONICAL_VALUES.items():
            offered = getattr(caps, CAPABILITY_OF[field])
            for value in values:
                flexible_ok = field == "size" and caps.flexible_sizes and value not in ("256x256", "auto")
                if value in offered or flexible_ok:
                    continue
                cases.append((provider, model, field, value))
        if caps.max_n < 10:
            cases.append((provider, model, "n", caps.max_n + 1))
    return cases


@pytest.mark.parametrize(("provider", "model", "field", "value"), _unsupported_cases())
def test_inexpressible_values_raise_naming_provider_and_field(
    provider: str, model: str, field: str, value: Any
) -> None:
    dialect = get_dialect(provider)
    request = CanonicalRequest(model=model, prompt="a red fox", **{field: value})  # type: ignore[arg-type]
    with pytest.raises(UnsupportedValue) as info:
        dialect.to_native(request)
    assert info.value.provider == provider
    assert info.value.field == field


@pytest.mark.parametrize("provider", PROVIDERS)
def test_input_fidelity_only_where_offered(provider: str) -> None:
    for model in MODELS:
        try:
            caps = get_dialect(provider).capabilities(model)
        except UnsupportedValue:
            continue
        for fidelity in INPUT_FIDELITIES:
            request = CanonicalRequest(
                model=model,  # type: ignore[arg-type]
                prompt="make it blue",
                input_images=(ImageInput(url="https://example.com/a.png"),),
                input_fidelity=fidelity,
            )
            if fidelity in caps.input_fidelities:
                continue
            with pytest.raises(UnsupportedValue) as info:
                get_dialect(provider).to_native(request)
            assert info.value.field in ("input_fidelity", "input_images")
