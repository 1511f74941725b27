"""Deterministic image rendering: real PNG/JPEG/WebP/GIF bytes (or an SVG document) of an exact size,
showing what produced them.

The same ``ImageSpec`` always gives the same bytes. Transparent backgrounds get an alpha channel (PNG and
WebP; JPEG has none, so it is flattened on white). The provider, model, size, quality, seed and the start
of the prompt are drawn on the image so a person can tell images apart.

Speed (benchmarks/, BENCHMARKS.md): Pillow encodes everything; PNG at zlib level 1 and WebP with libwebp's
fastest method (0, about 2.5x faster than its default at the same quality setting).
"""

from __future__ import annotations

import colorsys
import hashlib
import html
import io
import sys
import textwrap
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from pixelmock.contracts.canonical import CanonicalRequest, dimensions_of
from pixelmock.contracts.sizes import GIF_FRAMES

#: Pillow's encoder name for each canonical output format (SVG is written as text).
PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
MIME_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}
#: GIF frame delays: rounded to 10 ms and capped (openai==3.63.0 ``frame_duration_ms``), default 200 ms.
FRAME_MS_DEFAULT, FRAME_MS_STEP, FRAME_MS_MAX = 200, 10, 655_350


@dataclass(frozen=True)
class ImageSpec:
    """What to draw. ``width``/``height`` in pixels; ``output_format`` png|jpeg|webp|gif|svg;
    ``background`` transparent|opaque|auto (auto renders opaque); ``compression`` 0-100 for jpeg/webp
    (``None``: encoder default); ``seed`` varies the colours between images of one request; ``frames`` and
    ``frame_ms`` (milliseconds a frame) for a GIF."""

    provider: str
    model: str
    width: int
    height: int
    output_format: str
    background: str = "opaque"
    quality: str = "auto"
    prompt: str = ""
    seed: int = 0
    compression: int | None = None
    frames: int = 1
    frame_ms: int = FRAME_MS_DEFAULT


def spec_for(
    provider: str,
    resolved: CanonicalRequest,
    index: int = 0,
    *,
    size: str | None = None,
    quality: str | None = None,
    model: str | None = None,
) -> ImageSpec:
    """The ``index``-th image a resolved request renders (``index`` seeds its colours).

    ``size`` (``WxH``) and ``quality`` replace the request's own, e.g. a quote's ``billed_size`` and
    ``billed_quality`` where the request says ``auto``; ``model`` replaces the label drawn (a provider's own
    model id). Compression applies to jpeg and webp only. Raises ``ValueError`` if no ``WxH`` size results.
    """
    width, height = dimensions_of(size or resolved.size)
    output_format = resolved.output_format or "png"
    gif = output_format == "gif"
    delay = int(resolved.extra.get("frame_duration_ms") or FRAME_MS_DEFAULT)
    return ImageSpec(
        provider=provider,
        model=model or resolved.model,
        width=width,
        height=height,
        output_format=output_format,
        background=resolved.background or "auto",
        quality=quality or resolved.quality or "auto",
        prompt=resolved.prompt,
        seed=index,
        compression=resolved.output_compression if output_format in ("jpeg", "webp") else None,
        frames=int(resolved.extra.get("frame_count") or GIF_FRAMES) if gif else 1,
        frame_ms=min(FRAME_MS_MAX, round(delay / FRAME_MS_STEP) * FRAME_MS_STEP),
    )


def _colour(spec: ImageSpec) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{spec.prompt}\0{spec.seed}".encode()).digest()
    r, g, b = colorsys.hsv_to_rgb(digest[0] / 255, 0.45, 0.85)
    return int(r * 255), int(g * 255), int(b * 255)


def _lines(spec: ImageSpec) -> list[str]:
    head = [
        f"pixelmock · {spec.provider}",
        spec.model,
        f"{spec.width}x{spec.height} · {spec.quality} · {spec.output_format} · {spec.background}",
        f"seed {spec.seed}",
    ]
    return head + textwrap.wrap(spec.prompt[:160], width=40)[:4]


def render(spec: ImageSpec) -> bytes:
    """Encode the image for ``spec``. Raises ``KeyError`` for an unknown output format.

    Under gevent (``pixelmock serve``'s worker) the drawing and encoding run on gevent's pool of native
    threads: Pillow releases the GIL while it encodes, so renders use every core while the event loop
    goes on answering other requests (BENCHMARKS.md, "Held connections": openai_png_b64)."""
    pool = _native_threads()
    if pool is None:
        return _render(spec)
    return bytes(pool.apply(_render, (spec,)))


def _native_threads() -> Any:
    """gevent's thread pool when gevent has patched ``threading`` in this process, else ``None``."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return None
    from gevent import get_hub

    return get_hub().threadpool


@lru_cache(maxsize=64)
def _render(spec: ImageSpec) -> bytes:
    if spec.output_format == "svg":
        return _svg(spec)
    if spec.output_format == "gif":
        return _gif(spec)
    return _encode(_canvas(spec), spec)


def _canvas(spec: ImageSpec) -> Image.Image:
    """The drawn image of ``spec`` (RGBA for a transparent background outside JPEG)."""
    transparent = spec.background == "transparent" and spec.output_format != "jpeg"
    mode = "RGBA" if transparent else "RGB"
    colour = _colour(spec)
    canvas = Image.new(mode, (spec.width, spec.height), (0, 0, 0, 0) if transparent else colour)
    draw = ImageDraw.Draw(canvas)
    unit = max(8, min(spec.width, spec.height) // 24)
    margin = unit
    card = (margin, margin, spec.width - margin, spec.height - margin)
    # An opaque canvas already has the card's colour: only its outline needs drawing.
    draw.rectangle(card, fill=(*colour, 255) if transparent else None, outline=(20, 20, 20), width=2)
    font = ImageFont.load_default(size=unit)
    y = margin * 2
    for line in _lines(spec):
        draw.text((margin * 2, y), line, fill=(20, 20, 20), font=font)
        y += int(unit * 1.4)
    return canvas


def _encode(canvas: Image.Image, spec: ImageSpec) -> bytes:
    encoder = PIL_FORMATS[spec.output_format]
    out = io.BytesIO()
    if encoder == "PNG":
        canvas.save(out, encoder, compress_level=1)
        return out.getvalue()
    quality = 90 if spec.compression is None else max(1, min(100, spec.compression))
    if encoder == "WEBP":
        canvas.save(out, encoder, quality=quality, method=0)
    else:
        canvas.save(out, encoder, quality=quality)
    return out.getvalue()


def _gif(spec: ImageSpec) -> bytes:
    """An animated GIF of ``spec.frames`` frames (each drawn with its own seed), ``spec.frame_ms`` each,
    looping; a transparent background keeps GIF's one transparent colour."""
    frames = [
        _canvas(replace(spec, seed=spec.seed * 100 + i, output_format="png")) for i in range(spec.frames)
    ]
    out = io.BytesIO()
    first, *rest = frames
    options: dict[str, Any] = {"save_all": True, "append_images": rest, "duration": spec.frame_ms, "loop": 0}
    if spec.background == "transparent":
        options["disposal"] = 2
    first.save(out, "GIF", **options)
    return out.getvalue()


def _svg(spec: ImageSpec) -> bytes:
    """A valid SVG document of ``spec.width`` x ``spec.height`` showing the same lines as the raster
    images (text escaped)."""
    r, g, b = _colour(spec)
    unit = max(8, min(spec.width, spec.height) // 24)
    fill = "none" if spec.background == "transparent" else f"rgb({r},{g},{b})"
    texts = "".join(
        f'<text x="{unit * 2}" y="{unit * 2 + int(unit * 1.4) * (i + 1)}" font-size="{unit}" '
        f'font-family="sans-serif" fill="#141414">{html.escape(line)}</text>'
        for i, line in enumerate(_lines(spec))
    )
    document = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{spec.width}" height="{spec.height}" '
        f'viewBox="0 0 {spec.width} {spec.height}"><rect width="100%" height="100%" fill="{fill}"/>'
        f'<rect x="{unit}" y="{unit}" width="{spec.width - 2 * unit}" height="{spec.height - 2 * unit}" '
        f'fill="rgb({r},{g},{b})" stroke="#141414" stroke-width="2"/>{texts}</svg>'
    )
    return document.encode("utf-8")
