"""GMI Cloud dialect: defaults, round trips, refusals and quotes.

Oracles: the OpenAPI contract (validation), the defaults table of https://docs.gmicloud.ai/model-quickstarts/image/gpt-image-1-5,
GMI's gpt-image-2 prices as a third-party client read them (2026-09) and OpenAI's published gpt-image-1.5
output-token table and $32/M output price (contracts/data/models.yaml sources), typed in below.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.dialects.gmicloud import GmiCloudDialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import request_schema, validate

DIALECT = get_dialect("gmicloud")
MODELS = ("gpt-image-1.5", "gpt-image-2")


def _png(width: int = 32, height: int = 32, colour: tuple[int, int, int] = (10, 120, 200)) -> ImageInput:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return ImageInput.from_bytes(buf.getvalue(), "image/png")


def _valid(body: Any) -> bool:
    return validate("gmicloud", request_schema("gmicloud", "submitRequest"), body) == []


@st.composite
def requests(draw: st.DrawFn) -> CanonicalRequest:
    """Canonical requests using only values the capabilities offer (and no transparent jpeg)."""
    model = draw(st.sampled_from(MODELS))
    caps = DIALECT.capabilities(model)

    def maybe(values: tuple[Any, ...]) -> Any:
        return draw(st.none() | st.sampled_from(values)) if values else None

    fmt = maybe(caps.output_formats)
    backgrounds = tuple(b for b in caps.backgrounds if not (b == "transparent" and fmt == "jpeg"))
    edit = draw(st.booleans())
    image = _png() if edit else None
    return CanonicalRequest(
        model=model,  # type: ignore[arg-type]
        prompt=draw(st.text(min_size=1, max_size=80)),
        n=draw(st.none() | st.integers(1, caps.max_n)),
        size=maybe(caps.sizes),
        quality=maybe(caps.qualities),
        background=maybe(backgrounds),
        output_format=fmt,
        output_compression=draw(st.none() | st.integers(0, 100)) if caps.output_compression else None,
        moderation=maybe(caps.moderations),
        input_fidelity=maybe(caps.input_fidelities),
        input_images=(image,) if image else (),
        mask=_png(colour=(255, 255, 255)) if edit and draw(st.booleans()) else None,
    )


@settings(max_examples=60, deadline=None)
@given(requests())
def test_native_requests_validate(request: CanonicalRequest) -> None:
    native = DIALECT.to_native(request)
    assert (native.method, native.path) == ("POST", "/requests")
    assert _valid(native.body)


@settings(max_examples=60, deadline=None)
@given(requests())
def test_native_canonical_native_is_stable(request: CanonicalRequest) -> None:
    native = DIALECT.to_native(request)
    assert DIALECT.to_native(DIALECT.from_native(native)).body == native.body


@settings(max_examples=60, deadline=None)
@given(requests())
def test_resolve_is_idempotent(request: CanonicalRequest) -> None:
    resolved = DIALECT.resolve(request)
    assert DIALECT.resolve(resolved) == resolved


def test_resolve_fills_the_seed_defaults_for_gpt_image_15() -> None:
    resolved = DIALECT.resolve(CanonicalRequest(model="gpt-image-1.5", prompt="a fox"))
    # The quickstart's table: size 1024x1024, quality medium, n 1, png, compression 100, background auto.
    assert (resolved.size, resolved.quality, resolved.n) == ("1024x1024", "medium", 1)
    assert (resolved.output_format, resolved.output_compression, resolved.background) == ("png", 100, "auto")


def test_resolve_fills_the_documented_defaults_for_gpt_image_2() -> None:
    resolved = DIALECT.resolve(CanonicalRequest(model="gpt-image-2", prompt="a fox"))
    assert (resolved.size, resolved.quality, resolved.n, resolved.output_format) == (
        "1024x1024",
        "medium",
        1,
        "png",
    )
    assert resolved.background is None and resolved.output_compression is None


def test_to_native_writes_quality_explicitly() -> None:
    # GMI reportedly bills an absent quality at the top tier (third-party live tests): always send it.
    body = DIALECT.to_native(CanonicalRequest(model="gpt-image-2", prompt="a fox")).body
    assert body == {
        "model": "gpt-image-2",
        "payload": {
            "prompt": "a fox",
            "size": "1024x1024",
            "quality": "medium",
            "n": 1,
            "output_format": "png",
        },
    }


def test_from_native_parses_the_seed_table_request() -> None:
    body = {
        "model": "gpt-image-1.5",
        "payload": {
            "prompt": "A watercolor painting of a lighthouse at dawn",
            "size": "1536x1024",
            "quality": "high",
            "n": 3,
            "output_format": "webp",
            "output_compression": 80,
            "background": "opaque",
        },
    }
    canonical = DIALECT.from_native(NativeRequest("gmicloud", "submitRequest", body))
    assert canonical == CanonicalRequest(
        model="gpt-image-1.5",
        prompt="A watercolor painting of a lighthouse at dawn",
        size="1536x1024",
        quality="high",
        n=3,
        output_format="webp",
        output_compression=80,
        background="opaque",
    )


def test_from_native_leaves_absent_fields_unset() -> None:
    native = NativeRequest("gmicloud", "submitRequest", {"model": "gpt-image-2", "payload": {"prompt": "p"}})
    assert DIALECT.from_native(native) == CanonicalRequest(model="gpt-image-2", prompt="p")


def test_edit_request_carries_bare_base64() -> None:
    image, mask = _png(), _png(colour=(255, 255, 255))
    native = DIALECT.to_native(CanonicalRequest("gpt-image-1.5", "edit", input_images=(image,), mask=mask))
    assert native.body["payload"]["image"] == image.as_base64()
    assert native.body["payload"]["mask"] == mask.as_base64()
    parsed = DIALECT.from_native(native)
    assert (
        parsed.input_images[0].data == image.data
        and parsed.mask is not None
        and parsed.mask.data == mask.data
    )


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-image-3", "payload": {"prompt": "p"}},
        {"model": "gpt-image-2", "payload": {"prompt": "p", "background": "auto"}},
        {"model": "gpt-image-2"},
        {"model": "gpt-image-1.5", "payload": {}},
        ["not", "an", "object"],
    ],
)
def test_from_native_refuses_what_it_does_not_understand(body: Any) -> None:
    with pytest.raises(ValueError):
        DIALECT.from_native(NativeRequest("gmicloud", "submitRequest", body))


URL_IMAGE = ImageInput(url="https://example.com/a.png")

REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("gpt-image-2", {"output_format": "webp"}, "output_format"),
    ("gpt-image-1.5", {"size": "auto"}, "size"),
    ("gpt-image-2", {"size": "auto"}, "size"),
    ("gpt-image-2", {"size": "2048x2048"}, "size"),
    ("gpt-image-1.5", {"n": 11}, "n"),
    ("gpt-image-1.5", {"n": 0}, "n"),
    ("gpt-image-1.5", {"output_compression": 101}, "output_compression"),
    ("gpt-image-2", {"output_compression": 50}, "output_compression"),
    ("gpt-image-2", {"background": "opaque"}, "background"),
    ("gpt-image-2", {"background": "transparent"}, "background"),
    ("gpt-image-1.5", {"background": "transparent", "output_format": "jpeg"}, "output_format"),
    ("gpt-image-1.5", {"moderation": "low"}, "moderation"),
    ("gpt-image-2", {"moderation": "low"}, "moderation"),
    ("gpt-image-1.5", {"input_fidelity": "high"}, "input_fidelity"),
    ("gpt-image-2", {"input_fidelity": "low"}, "input_fidelity"),
    ("gpt-image-1.5", {"input_images": (_png(), _png())}, "input_images"),
    ("gpt-image-1.5", {"input_images": (URL_IMAGE,)}, "input_images"),
    ("gpt-image-2", {"input_images": (URL_IMAGE,), "output_format": "jpeg"}, "output_format"),  # -edit: png
    ("gpt-image-2", {"input_images": (URL_IMAGE,), "mask": URL_IMAGE}, "mask"),
    ("gpt-image-2", {"size": "2048x2048"}, "size"),  # documented sizes only (DIALECT)
    ("gpt-image-2", {"mask": _png()}, "mask"),
    ("gpt-image-2", {"input_images": (_png(32, 32),), "mask": _png(64, 32)}, "mask"),
    ("gpt-image-1.5", {"prompt": ""}, "prompt"),
    ("gpt-image-1.5", {"prompt": "x" * 32001}, "prompt"),
    ("gpt-image-1.5", {"extra": {"seed": 7}}, "seed"),
]


@pytest.mark.parametrize(("model", "fields", "field"), REFUSALS)
def test_inexpressible_values_raise_naming_provider_and_field(
    model: str, fields: dict[str, Any], field: str
) -> None:
    request = CanonicalRequest(**{"model": model, "prompt": "a fox", **fields})
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(request)
    assert (info.value.provider, info.value.field) == ("gmicloud", field)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("gpt-image-2", {"background": "auto", "output_compression": 100, "input_fidelity": "high"}),
        ("gpt-image-1.5", {"moderation": "auto", "input_fidelity": "low"}),
    ],
)
def test_values_equal_to_what_gmi_does_anyway_are_accepted(model: str, fields: dict[str, Any]) -> None:
    native = DIALECT.to_native(CanonicalRequest(**{"model": model, "prompt": "a fox", **fields}))
    assert _valid(native.body)


# GMI gpt-image-2 USD per image (GMI model detail as read by a third-party client, 2026-09).
GPT_IMAGE_2_PRICES = {
    ("low", "1024x1024"): "0.010",
    ("medium", "1024x1024"): "0.060",
    ("high", "1024x1024"): "0.220",
    ("low", "1024x1536"): "0.020",
    ("medium", "1536x1024"): "0.120",
    ("high", "1024x1536"): "0.440",
}


@pytest.mark.parametrize(("quality", "size"), list(GPT_IMAGE_2_PRICES))
def test_gpt_image_2_quotes_equal_the_published_prices(quality: str, size: str) -> None:
    for n in (1, 3):
        request = CanonicalRequest(model="gpt-image-2", prompt="a fox", quality=quality, size=size, n=n)  # type: ignore[arg-type]
        assert DIALECT.quote(request).usd == Decimal(GPT_IMAGE_2_PRICES[(quality, size)]) * n


@pytest.mark.parametrize("size", ["1024x1024", "1024x1536", "1536x1024"])
@pytest.mark.parametrize("quality", ["low", "medium", "high"])
def test_gpt_image_15_is_billed_per_image_too(quality: str, size: str) -> None:
    """GMI Cloud prices per image (its published tables): n images of gpt-image-1.5 cost n times one."""
    one = DIALECT.quote(CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality=quality, size=size))  # type: ignore[arg-type]
    for n in (2, 4):
        request = CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality=quality, size=size, n=n)  # type: ignore[arg-type]
        assert one.usd is not None and DIALECT.quote(request).usd == n * one.usd


def test_default_quality_is_quoted_as_medium_not_top_tier() -> None:
    # The documented default (medium) is what resolve fills in and therefore what is quoted and sent.
    assert DIALECT.quote(CanonicalRequest(model="gpt-image-2", prompt="a fox")).usd == Decimal("0.060")


def test_auto_quality_is_billed_as_high() -> None:
    # Reported by a third-party client: quality "auto" was billed at the top tier.
    request = CanonicalRequest(model="gpt-image-2", prompt="a fox", quality="auto")
    assert DIALECT.quote(request).usd == Decimal("0.220")


def test_gpt_image_15_quote_is_openai_output_token_price() -> None:
    # No GMI price is published for gpt-image-1.5; the data file's choice is OpenAI's list price per image:
    # 1056 output tokens (medium 1024x1024) x $32 / 1M = $0.033792 (contracts/data/models.yaml).
    assert DIALECT.quote(CanonicalRequest(model="gpt-image-1.5", prompt="a fox")).usd == Decimal("0.033792")
    high = CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality="high", size="1024x1536", n=2)
    assert DIALECT.quote(high).usd == Decimal(6240 * 32 * 2) / 1_000_000


# -- GMI's documented slugs gpt-image-2-generate / gpt-image-2-edit (docs.gmicloud.ai quickstarts) ------


@pytest.mark.parametrize("slug", ["gpt-image-2-generate", "gpt-image-2-edit", "gpt-image-2"])
def test_documented_slugs_mean_gpt_image_2(slug: str) -> None:
    payload: dict[str, Any] = {"prompt": "a fox", "size": "1536x1024", "quality": "low", "n": 2}
    if slug == "gpt-image-2-edit":
        payload["image"] = "https://example.com/photo.png"  # "base64 string or public URL"
    canonical = DIALECT.from_native(
        NativeRequest("gmicloud", "submitRequest", {"model": slug, "payload": payload})
    )
    assert (canonical.model, canonical.size, canonical.quality, canonical.n) == (
        "gpt-image-2",
        "1536x1024",
        "low",
        2,
    )


def test_a_url_image_is_sent_to_the_edit_slug() -> None:
    # Only gpt-image-2-edit documents URL images; it has no output_format (the upstream's png applies).
    request = CanonicalRequest(model="gpt-image-2", prompt="a fox", input_images=(URL_IMAGE,), quality="high")
    body = DIALECT.to_native(request).body
    assert body == {
        "model": "gpt-image-2-edit",
        "payload": {
            "prompt": "a fox",
            "size": "1024x1024",
            "quality": "high",
            "n": 1,
            "image": URL_IMAGE.url,
        },
    }
    assert _valid(body)
    assert DIALECT.to_native(DIALECT.from_native(DIALECT.to_native(request))).body == body


def test_flexible_sizes_follow_the_live_rules_only_when_asked() -> None:
    flexible = GmiCloudDialect(flexible_sizes=True)
    wide = CanonicalRequest(model="gpt-image-2", prompt="a fox", size="2048x2048")
    assert flexible.resolve(wide).size == "2048x2048"
    assert flexible.capabilities("gpt-image-2").flexible_sizes
    assert not DIALECT.capabilities("gpt-image-2").flexible_sizes
    assert not flexible.capabilities("gpt-image-1.5").flexible_sizes
    for size in ("auto", "1000x1000", "3840x1024", "2048x4096"):  # auto, step 16, ratio 3, 8,294,400 px
        with pytest.raises(UnsupportedValue):
            flexible.resolve(wide.with_(size=size))
    with pytest.raises(UnsupportedValue):
        flexible.resolve(CanonicalRequest(model="gpt-image-1.5", prompt="a fox", size="2048x2048"))


def test_quotes_label_what_rests_on_third_party_evidence() -> None:
    medium = DIALECT.quote(CanonicalRequest(model="gpt-image-2", prompt="a fox"))
    assert [n for n in medium.notes if n.startswith("estimate")] == [
        "estimate: GMI's gpt-image-2 price rests on reported evidence (GMI model detail pricing_details as "
        "read by a third-party client (image_models.py, 2026-09; public copy, repository not identified))"
    ]
    auto = DIALECT.quote(CanonicalRequest(model="gpt-image-2", prompt="a fox", quality="auto"))
    assert any(n.startswith("estimate: quality auto billed as high rests on reported") for n in auto.notes)
    one_five = DIALECT.quote(CanonicalRequest(model="gpt-image-1.5", prompt="a fox"))
    assert len([n for n in one_five.notes if n.startswith("estimate")]) == 1  # the cost engine's own label
