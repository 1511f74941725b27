"""Cloudflare dialect: native requests validate against the contract, round trips are stable, resolve is
idempotent, values Cloudflare cannot express raise UnsupportedValue, and quotes use the published prices."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import DOCUMENTED
from PIL import Image

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.dialects.cloudflare import DIALECT, Route, dialect_for, parse_image
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import inlined, request_schema, validate

PROVIDER = "cloudflare"
CASSETTES = sorted((DOCUMENTED / "cloudflare").glob("*.yaml"))
MILLION = Decimal(1_000_000)
SCHEMAS = inlined(PROVIDER)["components"]["schemas"]


def documented_body(path: Path) -> dict[str, Any]:
    interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]
    return dict(json.loads(interaction["request"]["body"]))


def make_image(fmt: str, size: tuple[int, int] = (24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, fmt)
    return out.getvalue()


IMAGES = [ImageInput.from_bytes(make_image(fmt)) for fmt in ("PNG", "JPEG", "WEBP")]
# The documented edit example's 32x32 PNG, as a raw base64 string (no data: prefix).
RAW_IMAGE = parse_image(
    documented_body(next(p for p in CASSETTES if p.stem == "gpt-image-2-image-edit"))["input"]["images"][
        0
    ].split(",")[1]
)


def requests_for(model: str) -> st.SearchStrategy[CanonicalRequest]:
    caps = DIALECT.capabilities(model)

    def maybe(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
        return st.none() | st.sampled_from(values)

    return st.builds(
        CanonicalRequest,
        model=st.just(model),
        prompt=st.text(min_size=1, max_size=60),
        n=maybe(tuple(range(1, caps.max_n + 1))),
        size=maybe(caps.sizes),
        quality=maybe(caps.qualities),
        background=maybe(caps.backgrounds),
        output_format=maybe(caps.output_formats),
        moderation=maybe(caps.moderations),
        input_fidelity=maybe(caps.input_fidelities),
        input_images=st.lists(st.sampled_from([*IMAGES, RAW_IMAGE]), max_size=3).map(tuple),
    )


ANY_REQUEST = st.sampled_from(["gpt-image-1.5", "gpt-image-2"]).flatmap(requests_for)
ROUTES: tuple[Route, ...] = ("universal", "classic")


def test_registered_as_the_cloudflare_dialect() -> None:
    assert get_dialect(PROVIDER) is DIALECT


@settings(max_examples=60, deadline=None)
@given(ANY_REQUEST, st.sampled_from(ROUTES))
def test_every_native_request_validates_against_the_contract(request: CanonicalRequest, route: Route) -> None:
    native = DIALECT.to_native(request, route=route)
    schema = request_schema(PROVIDER, native.operation_id)
    assert validate(PROVIDER, schema, native.body) == []


@settings(max_examples=60, deadline=None)
@given(ANY_REQUEST, st.sampled_from(ROUTES))
def test_native_canonical_native_is_stable(request: CanonicalRequest, route: Route) -> None:
    native = DIALECT.to_native(request, route=route)
    again = DIALECT.to_native(DIALECT.from_native(native), route=route)
    assert again == native


@settings(max_examples=60, deadline=None)
@given(ANY_REQUEST)
def test_resolve_is_idempotent_and_survives_the_wire(request: CanonicalRequest) -> None:
    resolved = DIALECT.resolve(request)
    assert DIALECT.resolve(resolved) == resolved
    assert DIALECT.resolve(DIALECT.from_native(DIALECT.to_native(request))) == resolved
    assert None not in (
        resolved.n,
        resolved.size,
        resolved.quality,
        resolved.background,
        resolved.output_format,
    )


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.stem)
def test_documented_examples_round_trip_exactly(path: Path) -> None:
    body = documented_body(path)
    native = NativeRequest(PROVIDER, "aiRun", body, path_params={"account_id": "$CLOUDFLARE_ACCOUNT_ID"})
    canonical = DIALECT.from_native(native)
    assert DIALECT.to_native(canonical) == native
    assert DIALECT.to_native(canonical, route="classic").body == body["input"]
    assert (
        DIALECT.to_native(canonical, route="classic").path
        == f"/accounts/$CLOUDFLARE_ACCOUNT_ID/ai/run/{body['model']}"
    )


def test_documented_edit_example_parses_its_images() -> None:
    body = documented_body(next(p for p in CASSETTES if p.stem == "gpt-image-2-multi-image-edit"))
    canonical = DIALECT.from_native(NativeRequest(PROVIDER, "aiRun", body))
    assert [(i.mime, i.width, i.height) for i in canonical.input_images] == [("image/png", 32, 32)] * 2


def test_defaults_are_the_upstream_defaults() -> None:
    # OpenAI Images API defaults (quality auto, size auto, background auto, png), one image, no knobs.
    resolved = DIALECT.resolve(CanonicalRequest(model="gpt-image-2", prompt="a fox"))
    assert (resolved.quality, resolved.size, resolved.background, resolved.output_format) == (
        "auto",
        "auto",
        "auto",
        "png",
    )
    assert (resolved.n, resolved.moderation, resolved.output_compression) == (1, "auto", 100)


def test_capabilities_are_the_documented_ones() -> None:
    two = DIALECT.capabilities("gpt-image-2")
    assert two.native_model == "openai/gpt-image-2"
    assert two.sizes == ("1024x1024", "1024x1536", "1536x1024", "auto")
    assert "transparent" not in two.backgrounds  # "transparent backgrounds are not supported" (catalog page)
    assert (two.max_n, two.max_input_images, two.mask, two.flexible_sizes) == (1, 16, False, False)
    # The catalog page's Parameters: the published sizes only; `auto` is the upstream default, reached by
    # leaving size out (sent, it answers 400 / 7003).
    one_five = DIALECT.capabilities("gpt-image-1.5")
    assert one_five.sizes == ("256x256", "512x512", "1024x1024", "1792x1024", "1024x1792")
    assert one_five.qualities == ("low", "medium", "high", "auto")
    # No background or output_format in the published schema: only what OpenAI does by default.
    assert (one_five.backgrounds, one_five.output_formats) == (("auto",), ("png",))
    assert (one_five.max_n, one_five.max_input_images, one_five.mask) == (1, 16, False)


def test_effective_schema_is_openais_gpt_image_15_field_set() -> None:
    # The alternative of cloudflare.gpt_image_15_schema: OpenAI's gpt-image-1.5 sizes, backgrounds, formats.
    effective = dialect_for("effective").capabilities("gpt-image-1.5")
    assert effective.sizes == ("1024x1024", "1024x1536", "1536x1024", "auto")
    assert "transparent" in effective.backgrounds  # "use openai/gpt-image-1.5 for transparent PNGs"
    request = CanonicalRequest(
        model="gpt-image-1.5", prompt="a fox", background="transparent", size="1536x1024"
    )
    body = dialect_for("effective").to_native(request).body
    assert body["input"] == {"prompt": "a fox", "size": "1536x1024", "background": "transparent"}
    assert validate(PROVIDER, SCHEMAS["GptImage15EffectiveInput"], body["input"]) == []
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(request)
    assert (info.value.provider, info.value.field) == (PROVIDER, "size")


@pytest.mark.parametrize(
    ("size", "style"),
    [
        ("1792x1024", None),
        ("1024x1024", "natural"),
        (None, "vivid"),
        ("256x256", None),
        ("1024x1792", "vivid"),
    ],
)
def test_published_gpt_image_15_fields_round_trip(size: str | None, style: str | None) -> None:
    # The page's own examples: size 1792x1024, style vivid / natural (earlier page version, public copies).
    native_input: dict[str, Any] = {"prompt": "A quiet Japanese garden"}
    if size is not None:
        native_input["size"] = size
    if style is not None:
        native_input["style"] = style
    body = {"model": "openai/gpt-image-1.5", "input": native_input}
    assert validate(PROVIDER, request_schema(PROVIDER, "aiRun"), body) == []
    canonical = DIALECT.from_native(NativeRequest(PROVIDER, "aiRun", body))
    assert canonical.size == size
    assert canonical.extra.get("cloudflare") == ({"style": style} if style else None)
    assert DIALECT.to_native(canonical).body == body


def test_size_left_out_resolves_to_the_upstream_auto_and_is_not_sent() -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality="auto")
    resolved = DIALECT.resolve(request)
    assert resolved.size == "auto"  # OpenAI's default (x-upstream-default), priced as its likely answer
    assert DIALECT.resolve(resolved) == resolved
    assert DIALECT.quote(resolved, dt.date(2026, 11, 30)).billed_size == "1024x1024"
    for sent in (request, resolved):
        assert DIALECT.to_native(sent).body == {
            "model": "openai/gpt-image-1.5",
            "input": {"prompt": "a fox", "quality": "auto"},
        }


def test_size_auto_set_on_gpt_image_15_is_refused_as_the_emulator_refuses_it() -> None:
    # The catalog page's published size enum has no `auto` (256x256 ... 1024x1792): the emulator answers
    # {"size": "auto"} 400 / 7003, so resolve, quote and to_native refuse the value set by the caller.
    body = {"model": "openai/gpt-image-1.5", "input": {"prompt": "a fox", "size": "auto"}}
    assert validate(PROVIDER, request_schema(PROVIDER, "aiRun"), body) != []
    request = CanonicalRequest(model="gpt-image-1.5", prompt="a fox", size="auto")
    for call in (DIALECT.resolve, DIALECT.to_native, DIALECT.quote):
        with pytest.raises(UnsupportedValue) as info:
            call(request)
        assert (info.value.provider, info.value.field, info.value.value) == (PROVIDER, "size", "auto")
        assert "leave size out" in info.value.reason
    # gpt-image-2's enum lists auto; the effective gpt-image-1.5 schema (OpenAI's sizes) does too.
    assert DIALECT.resolve(CanonicalRequest(model="gpt-image-2", prompt="a fox", size="auto")).size == "auto"
    assert dialect_for("effective").resolve(request).size == "auto"


@pytest.mark.parametrize(
    ("model", "changes", "field"),
    [
        ("gpt-image-2", {"n": 2}, "n"),
        ("gpt-image-2", {"background": "transparent"}, "background"),
        ("gpt-image-2", {"size": "2048x2048"}, "size"),
        ("gpt-image-2", {"input_fidelity": "low"}, "input_fidelity"),
        ("gpt-image-1.5", {"input_fidelity": "high"}, "input_fidelity"),
        ("gpt-image-1.5", {"size": "1536x1024"}, "size"),
        ("gpt-image-1.5", {"size": "1024x1536"}, "size"),
        ("gpt-image-1.5", {"background": "transparent"}, "background"),
        ("gpt-image-1.5", {"output_format": "webp"}, "output_format"),
        ("gpt-image-1.5", {"extra": {"cloudflare": {"style": "dramatic"}}}, "extra.cloudflare.style"),
        ("gpt-image-2", {"extra": {"cloudflare": {"style": "vivid"}}}, "extra.cloudflare.style"),
        ("gpt-image-1.5", {"moderation": "low"}, "moderation"),
        ("gpt-image-1.5", {"output_compression": 50}, "output_compression"),
        ("gpt-image-1.5", {"mask": IMAGES[0], "input_images": (IMAGES[0],)}, "mask"),
        ("gpt-image-1.5", {"input_images": (ImageInput(url="https://example.com/a.png"),)}, "input_images"),
        ("gpt-image-1.5", {"input_images": (IMAGES[0],) * 17}, "input_images"),
        ("gpt-image-1.5", {"input_images": (ImageInput.from_bytes(make_image("GIF")),)}, "input_images"),
        ("gpt-image-1.5", {"prompt": "x" * 32001}, "prompt"),
    ],
)
def test_unexpressible_values_raise(model: str, changes: dict[str, Any], field: str) -> None:
    request = CanonicalRequest(model=model, prompt="a fox").with_(**changes)  # type: ignore[arg-type]
    for call in (DIALECT.resolve, DIALECT.to_native):
        with pytest.raises(UnsupportedValue) as info:
            call(request)
        assert (info.value.provider, info.value.field) == (PROVIDER, field)


def test_values_equal_to_what_cloudflare_does_anyway_are_accepted() -> None:
    request = CanonicalRequest(
        model="gpt-image-1.5",
        prompt="a fox",
        n=1,
        moderation="auto",
        output_compression=100,
        input_fidelity="low",
    )
    assert DIALECT.to_native(request).body == {"model": "openai/gpt-image-1.5", "input": {"prompt": "a fox"}}


@pytest.mark.parametrize(
    "body",
    [
        {"model": "openai/gpt-image-9", "input": {"prompt": "x"}},
        {"model": "openai/gpt-image-2", "input": {"prompt": "x", "style": "vivid"}},
        {"model": "openai/gpt-image-2", "input": {"size": "auto"}},
        {"model": "openai/gpt-image-2", "input": {"prompt": "x", "images": ["https://example.com/a.png"]}},
    ],
)
def test_from_native_rejects_what_it_does_not_understand(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        DIALECT.from_native(NativeRequest(PROVIDER, "aiRun", body))


# --- cost: the published unit prices and OpenAI's token table ------------------------------------------
# Cloudflare catalog "Unit pricing" (USD per 1M tokens): input 5; output image 32 (1.5) / 30 (2).
# OpenAI's gpt-image-1.5 output-token table: low 1024x1024 272, medium 1024x1536 1584, high 1536x1024 6208,
# high 1024x1024 4160 (contracts/data/models.yaml, contracts/data/pricing.yaml). Cloudflare also lists
# "Output tokens (per 1M): 10": gpt-image-1.5's text output tokens (recorded 420 at high, reported 209 at
# low).
TEXT_OUTPUT = {"low": 209, "high": 420}


@pytest.mark.parametrize(
    ("quality", "size", "tokens"),
    [
        ("low", "1024x1024", 272),
        ("high", "1024x1024", 4160),
    ],
)
def test_gpt_image_15_quote_uses_the_published_table_and_prices(quality: str, size: str, tokens: int) -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="A golden retriever puppy", size=size)
    request = request.with_(quality=quality)
    quote = DIALECT.quote(request)
    assert quote.tokens.image_output == tokens
    assert quote.tokens.text_output == TEXT_OUTPUT[quality]
    expected = (
        tokens * Decimal(32) + quote.tokens.text_input * Decimal(5) + TEXT_OUTPUT[quality] * Decimal(10)
    )
    assert quote.usd == expected / MILLION
    assert quote.notes == ()


@pytest.mark.parametrize(
    ("size", "billed", "tokens"),
    [("1792x1024", "1536x1024", 6208), ("1024x1792", "1024x1536", 6240), ("512x512", "1024x1024", 4160)],
)
def test_published_sizes_openai_cannot_render_are_quoted_as_an_estimate(
    size: str, billed: str, tokens: int
) -> None:
    # OpenAI's gpt-image-1.5 table has no 1792x1024 or 512x512 (high: 1536x1024 6208, 1024x1536 6240,
    # 1024x1024 4160 tokens; contracts/data/models.yaml); the quote bills the same-orientation size and says
    # so.
    request = CanonicalRequest(
        model="gpt-image-1.5", prompt="A golden retriever puppy", size=size, quality="high"
    )
    quote = DIALECT.quote(request)
    assert (quote.resolved.size, quote.billed_size, quote.tokens.image_output) == (size, billed, tokens)
    expected = tokens * Decimal(32) + quote.tokens.text_input * Decimal(5) + TEXT_OUTPUT["high"] * Decimal(10)
    assert quote.usd == expected / MILLION
    assert any("estimate" in note and billed in note for note in quote.notes)


def test_gpt_image_2_quote_uses_the_published_output_price() -> None:
    request = CanonicalRequest(
        model="gpt-image-2", prompt="A golden retriever puppy", quality="low", size="1024x1024"
    )
    quote = DIALECT.quote(request)
    assert (
        quote.usd
        == (quote.tokens.image_output * Decimal(30) + quote.tokens.text_input * Decimal(5)) / MILLION
    )
