"""The canonical request: one provider-neutral description of an image job.

The client builds native requests from it, the emulators parse native requests into it, and the cost
engine prices it. Its vocabulary is OpenAI's Images API (the API every provider here resells); provider
spellings (Apiframe's aspect ratios, Runware's ``JPG``, GMI's ``payload``) are dialect, see
``pixelmock.contracts.dialects``.

A field left as ``None`` means "the provider's default". ``Dialect.resolve`` fills the defaults in, and a
quote is always computed on the resolved request.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from pixelmock.contracts.data import catalogue

#: A canonical model id: one of ``MODELS`` (the catalogue, ``contracts/data/models.yaml``).
Model = str
Quality = Literal["low", "medium", "high", "xhigh", "max", "auto"]
Background = Literal["transparent", "opaque", "auto"]
OutputFormat = Literal["png", "jpeg", "webp", "gif", "svg"]
Moderation = Literal["auto", "low"]
InputFidelity = Literal["low", "high"]

#: Canonical vocabularies (OpenAI Images API enums; openai==3.63.0 ``image_generate_params.py``). The
#: models are the catalogue's; a model's own qualities are in its ``parameters`` (xhigh and max: 2.5, 2.6).
MODELS: tuple[Model, ...] = catalogue()
QUALITIES: tuple[Quality, ...] = ("low", "medium", "high", "xhigh", "max", "auto")
BACKGROUNDS: tuple[Background, ...] = ("transparent", "opaque", "auto")
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("png", "jpeg", "webp", "gif", "svg")
MODERATIONS: tuple[Moderation, ...] = ("auto", "low")
INPUT_FIDELITIES: tuple[InputFidelity, ...] = ("low", "high")

#: The pixel budget of an input image (width x height). Images are decoded in full before they are
#: accepted, so the budget bounds the memory one input costs (at most about 200 MB as RGBA). No provider
#: documents a pixel limit on input images; 50 megapixels is above what phones and cameras commonly produce
#: (48 MP) and below Pillow's own decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, 89 MP), which is
#: process-wide and therefore left as the host application set it. A larger image, or one whose header
#: declares a larger size (a decompression bomb: a 65-byte PNG declaring 50000x50000), is not an image here.
MAX_INPUT_PIXELS = 50_000_000

_SIZE = re.compile(r"^([1-9][0-9]{0,5})x([1-9][0-9]{0,5})$")
_DATA_URI = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.S | re.I)


def parse_size(size: str) -> tuple[int, int] | None:
    """``"1536x1024"`` -> ``(1536, 1024)`` in pixels; ``None`` for ``"auto"`` or anything malformed."""
    match = _SIZE.match(size)
    return (int(match.group(1)), int(match.group(2))) if match else None


def dimensions_of(size: str | None) -> tuple[int, int]:
    """Width and height in pixels of a resolved ``WxH`` size. Raises ``ValueError`` for ``auto``, ``None``
    or anything malformed."""
    parsed = parse_size(size or "")
    if parsed is None:
        raise ValueError(f"size {size!r} is not resolved to WxH")
    return parsed


def format_size(width: int, height: int) -> str:
    """``(1536, 1024)`` -> ``"1536x1024"``."""
    return f"{width}x{height}"


@dataclass(frozen=True)
class DecodedImage:
    """What a full decode of image bytes found: ``mime`` (``image/png``...; ``None`` for a format Pillow
    names no MIME type for), ``width``/``height`` in pixels, and whether it has an alpha channel."""

    mime: str | None
    width: int
    height: int
    alpha: bool


def decode_image(data: bytes) -> DecodedImage | None:
    """Decode image bytes in full, within ``MAX_INPUT_PIXELS``; ``None`` when they are not an image, are
    truncated or corrupt, or declare more pixels than the budget (checked from the header, before any
    pixel is decoded). The one parser of input images every provider and the client use."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > MAX_INPUT_PIXELS:
                return None
            img.load()
            alpha = "A" in img.getbands() or "transparency" in img.info
            return DecodedImage(Image.MIME.get(img.format or ""), width, height, alpha)
    # DecompressionBombError/-Warning: Pillow's own limit, hit before ours when the header declares more
    # than twice Image.MAX_IMAGE_PIXELS (or once, where warnings are errors).
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None


@dataclass(frozen=True)
class ImageInput:
    """An input image (edit source, reference, or mask): bytes, a URL, or a data URI.

    ``width``/``height`` (pixels) are read from the bytes when they decode in full (``decode_image``):
    ``None`` for bytes that do not (not an image, truncated, a decompression bomb); for a URL they are
    unknown unless given, and image-input tokens can then only be estimated (the quote says so).
    """

    data: bytes | None = None
    url: str | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_bytes(cls, data: bytes, mime: str | None = None) -> ImageInput:
        """Wrap raw image bytes; format and size are read with Pillow when the bytes decode in full
        (``decode_image``), else ``width``/``height`` are ``None``."""
        decoded = decode_image(data)
        if decoded is None:
            return cls(data=data, mime=mime)
        return cls(data=data, mime=mime or decoded.mime, width=decoded.width, height=decoded.height)

    @classmethod
    def from_path(cls, path: str | Path) -> ImageInput:
        """Read an image file from disk."""
        return cls.from_bytes(Path(path).read_bytes())

    @classmethod
    def from_string(cls, value: str) -> ImageInput:
        """Parse what providers accept as a string: a data URI, an http(s) URL, or bare base64.

        Raises ``ValueError`` when the string is none of these.
        """
        match = _DATA_URI.match(value)
        if match:
            return cls.from_bytes(_b64decode(match.group(2)), mime=match.group(1).lower())
        if value.startswith(("http://", "https://")):
            return cls(url=value)
        return cls.from_bytes(_b64decode(value))

    def as_base64(self) -> str:
        """Bare base64 of the bytes. Raises ``ValueError`` for a URL-only input."""
        if self.data is None:
            raise ValueError("image input has no bytes (URL-only)")
        return base64.b64encode(self.data).decode("ascii")

    def as_data_uri(self) -> str:
        """``data:<mime>;base64,...`` of the bytes. Raises ``ValueError`` for a URL-only input."""
        return f"data:{self.mime or 'image/png'};base64,{self.as_base64()}"

    def as_string(self) -> str:
        """The URL if there is one, else a data URI."""
        return self.url if self.url is not None else self.as_data_uri()


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a URL, data URI or base64 image") from exc


@dataclass(frozen=True)
class CanonicalRequest:
    """A provider-neutral image job (see the table in ARCHITECTURE.md).

    ``size`` is ``"WxH"`` in pixels or ``"auto"``; ``n`` is the number of images; ``output_compression``
    is 0-100. ``None`` everywhere means "the provider's default".
    """

    model: Model
    prompt: str
    n: int | None = None
    size: str | None = None
    quality: Quality | None = None
    background: Background | None = None
    output_format: OutputFormat | None = None
    output_compression: int | None = None
    moderation: Moderation | None = None
    input_images: tuple[ImageInput, ...] = ()
    mask: ImageInput | None = None
    input_fidelity: InputFidelity | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes: Any) -> CanonicalRequest:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def is_edit(self) -> bool:
        """True when input images are given (edits / references)."""
        return bool(self.input_images)

    def dimensions(self) -> tuple[int, int]:
        """Width and height in pixels of a resolved request. Raises ``ValueError`` if size is unresolved."""
        return dimensions_of(self.size)
