"""Flexible-size rules (gpt-image-2), read from an ``x-size-rules`` block of an OpenAPI document.

The block's keys (all optional): ``multiple_of`` (pixels), ``min_edge``/``max_edge`` (pixels),
``max_edge_inclusive`` (bool), ``min_pixels``/``max_pixels`` (W*H), ``max_ratio`` (long:short), and
``x-source``. The numbers live in the documents; this module only applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SizeRules:
    """Constraints on a ``W x H`` size in pixels (``None`` = unconstrained)."""

    multiple_of: int | None = None
    min_edge: int | None = None
    max_edge: int | None = None
    max_edge_inclusive: bool = True
    min_pixels: int | None = None
    max_pixels: int | None = None
    max_ratio: float | None = None

    @classmethod
    def from_extension(cls, block: dict[str, Any]) -> SizeRules:
        """Build from an ``x-size-rules`` mapping (unknown keys such as ``x-source`` are ignored)."""
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in block.items() if k in names})

    def violation(self, width: int, height: int) -> str | None:
        """Why ``width`` x ``height`` breaks the rules, or ``None`` when it is allowed."""
        long_edge, short_edge = max(width, height), min(width, height)
        if self.multiple_of and (width % self.multiple_of or height % self.multiple_of):
            return f"both edges must be multiples of {self.multiple_of}px"
        if self.min_edge is not None and short_edge < self.min_edge:
            return f"edges must be at least {self.min_edge}px"
        if self.max_edge is not None and (
            long_edge > self.max_edge or (not self.max_edge_inclusive and long_edge == self.max_edge)
        ):
            bound = "at most" if self.max_edge_inclusive else "less than"
            return f"the longest edge must be {bound} {self.max_edge}px"
        if self.max_ratio is not None and long_edge > self.max_ratio * short_edge:
            return f"the aspect ratio (long:short) must not exceed {self.max_ratio:g}:1"
        pixels = width * height
        if self.min_pixels is not None and pixels < self.min_pixels:
            return f"the total pixel count must be at least {self.min_pixels:,}"
        if self.max_pixels is not None and pixels > self.max_pixels:
            return f"the total pixel count must be at most {self.max_pixels:,}"
        return None

    def allows(self, width: int, height: int) -> bool:
        """True when ``width`` x ``height`` breaks none of the rules."""
        return self.violation(width, height) is None


#: How many frames a GIF has when the request does not say (openai==3.63.0 ``frame_count``: "Defaults to 9").
GIF_FRAMES = 9


def gif_sheet(width: int, height: int, frames: int) -> tuple[int, int]:
    """The sheet a GIF's ``frames`` of ``width`` x ``height`` pixels are laid out on, in pixels: a 3 x 3
    grid for up to 9 frames, 4 columns and as many rows as needed above. Its pixel and edge limits bound
    the frame size (models.yaml ``parameters.gif_sheet``): this reading reproduces the measured caps of
    square frames, 960 px for 2-9 frames, 816 for 10-12 and 720 for 13-16, from 8,294,400 pixels."""
    columns = 3 if frames <= 9 else 4
    rows = 3 if frames <= 9 else -(-frames // columns)
    return width * columns, height * rows


def gif_auto_frame(frames: int, max_pixels: int, max_edge: int, step: int = 16) -> int:
    """The side, in pixels, of the largest square frame (a multiple of ``step``) whose sheet of ``frames``
    (``gif_sheet``) stays within ``max_pixels`` and ``max_edge``: 960 for 2-9 frames, 816 for 10-12, 720
    for 13-16 at the 2.6 models' limits."""
    side = max_edge
    while side > step:
        width, height = gif_sheet(side, side, frames)
        if width * height <= max_pixels and max(width, height) <= max_edge:
            return side
        side -= step
    return step
