"""The cases the dialect properties are checked on (``tests/contracts/test_dialects.py``), shared with the
reference client's tests and the live recordings: every (provider, model) a dialect offers, canonical
text-to-image requests drawn from a model's capabilities, and the canonical values a provider cannot
express."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from PIL import Image

from pixelmock.contracts.canonical import (
    BACKGROUNDS,
    MODELS,
    MODERATIONS,
    OUTPUT_FORMATS,
    QUALITIES,
    CanonicalRequest,
    ImageInput,
)
from pixelmock.contracts.dialects import ModelCapabilities, get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import PROVIDERS


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
    one combination OpenAI forbids everywhere (a transparent background needs png or webp) and the 2.6
    models' GIF and SVG output, whose own rules (n=1, GIF frame-sheet limits) their own tests cover."""
    request = CanonicalRequest(
        model=caps.model,  # type: ignore[arg-type]
        prompt=draw(st.text("abcdefghij klmnop", min_size=3, max_size=60).filter(str.strip)),
        n=draw(st.none() | st.integers(1, caps.max_n)),
        size=draw(_sizes(caps)),
        quality=draw(_maybe(caps.qualities)),
        background=draw(_maybe(caps.backgrounds)),
        output_format=draw(_maybe(tuple(f for f in caps.output_formats if f not in ("gif", "svg")))),
        moderation=draw(_maybe(caps.moderations)),
    )
    assume(not (request.background == "transparent" and request.output_format == "jpeg"))
    return request


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
