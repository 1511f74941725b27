"""Token counts of an image job: prompt (text) tokens, image input tokens, image output tokens.

Every number comes from ``contracts/data/models.yaml``; this module only applies the rules recorded there.
Prompt tokens are exact o200k_base counts, computed offline by ``bpe-openai`` (its wheel ships the
vocabulary, so nothing is downloaded at run time). Only its compiled tokenizer is loaded: the package's
Python wrapper builds Python dictionaries of three vocabularies when imported (about 0.4 s and 65 MB) that a
count does not need. The tokenizer itself is loaded on the first count (about 50 ms and 65 MB), so importing
this module, and starting a server, does not pay for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from importlib import machinery, util
from typing import Any

from pixelmock.contracts.canonical import ImageInput
from pixelmock.contracts.data import load, model_facts


@cache
def _tokenizer() -> Any:
    """bpe-openai's compiled tokenizer (``bpe_openai._bindings.PyTokenizer``, typed in the wheel's
    ``_bindings.pyi``) of models.yaml's ``prompt_tokens.encoding``, loaded from the installed package's
    folder without running its ``__init__``. Raises ``ModuleNotFoundError`` if bpe-openai is missing."""
    package = util.find_spec("bpe_openai")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("bpe-openai is not installed", name="bpe_openai")
    loader = (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES)
    finder = machinery.FileFinder(package.submodule_search_locations[0], loader)
    spec = finder.find_spec("bpe_openai._bindings")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("bpe-openai has no compiled tokenizer", name="bpe_openai._bindings")
    bindings = util.module_from_spec(spec)
    spec.loader.exec_module(bindings)
    return bindings.tokenizer_for_encoding(load("models")["prompt_tokens"]["encoding"])


def prompt_tokens(text: str) -> int:
    """Exact o200k_base token count of ``text`` (no overhead added).

    The prompt is counted as ordinary text: a special token's spelling such as ``<|endoftext|>`` counts
    as its characters (models.yaml ``prompt_tokens``, a recorded choice).
    """
    return int(_tokenizer().count(text))


def text_input_tokens(model: str, prompt: str, input_images: Sequence[tuple[int, int]] = ()) -> int:
    """Billed text input tokens: o200k prompt tokens + the fixed overhead + the edit surcharge of each
    input image (``input_images``: their ``(width, height)`` in pixels).

    Source: models.yaml ``text_overhead_tokens`` (recorded) and ``edit_text_tokens`` (reported: text tokens
    per 512-px tile of each input, tiled as the model's low-fidelity image-input rule tiles it).
    """
    facts = model_facts(model)
    overhead = int(facts["text_overhead_tokens"]["value"])
    per_tile = int(facts["edit_text_tokens"]["tokens_per_tile"])
    geometry = facts["image_input_tokens"]["low"]
    surcharge = sum(per_tile * _tiles(geometry, w, h) for w, h in input_images) if per_tile else 0
    return prompt_tokens(prompt) + overhead + surcharge


def text_output_tokens(model: str, quality: str) -> int:
    """Text output ("reasoning") tokens billed per image at a concrete quality (models.yaml
    ``text_output_tokens``, recorded for gpt-image-1.5 high; 0 for gpt-image-2)."""
    return int(model_facts(model)["text_output_tokens"]["per_image"][quality])


def output_image_tokens(model: str, quality: str, width: int, height: int) -> int:
    """Image output tokens for one image of ``width`` x ``height`` pixels at a concrete quality.

    gpt-image-1.5 uses OpenAI's table (sizes outside it raise ``KeyError``); gpt-image-2 uses the
    calculator formula. ``quality`` must be ``low``, ``medium`` or ``high`` (resolve ``auto`` first).
    """
    rule = model_facts(model)["output_tokens"]
    if rule["rule"] == "table":
        return int(rule["table"][quality][f"{width}x{height}"])
    q = int(rule["quality_factor"][quality])
    long_edge, short_edge = max(width, height), min(width, height)
    short_axis = (2 * q * short_edge + long_edge) // (2 * long_edge)
    divisor = int(rule["divisor"])
    return (q * short_axis * (int(rule["pixel_offset"]) + width * height) + divisor - 1) // divisor


def _tiles(rule: dict[str, Any], width: int, height: int) -> int:
    """Tiles of a ``tiles`` rule: the image scaled to fit ``fit_within``, then so that its shortest side
    is ``shortest_side``, cut in ``tile``-px tiles. A ``patches`` rule (gpt-image-2) has no tiles: 0."""
    if rule["rule"] != "tiles":
        return 0
    fit = int(rule["fit_within"])
    scale = min(1.0, fit / width, fit / height)
    w, h = width * scale, height * scale
    shortest = int(rule["shortest_side"])
    scale = shortest / min(w, h)
    w, h = w * scale, h * scale
    tile = int(rule["tile"])
    return math.ceil(w / tile) * math.ceil(h / tile)


def _tile_tokens(rule: dict[str, Any], width: int, height: int) -> int:
    return int(rule["base_tokens"]) + int(rule["tokens_per_tile"]) * _tiles(rule, width, height)


def _patch_tokens(rule: dict[str, Any], width: int, height: int) -> int:
    """``patch``-px patches of the billing canvas, scaled down (aspect kept) when there are more than
    ``max_patches``, times ``tokens_per_patch``.

    The canvas is the image magnified toward a ``magnify_to``-px longest side (at most
    ``max_magnification`` times) when it is smaller, with its short side widened so that long / short is
    at most ``max_ratio`` (models.yaml, reported)."""
    longest = max(width, height)
    scale = max(1.0, min(float(rule["max_magnification"]), int(rule["magnify_to"]) / longest))
    w, h = width * scale, height * scale
    ratio = int(rule["max_ratio"])
    w, h = max(w, h / ratio), max(h, w / ratio)
    patch, budget = int(rule["patch"]), int(rule["max_patches"])
    width, height = round(w), round(h)
    patches = math.ceil(width / patch) * math.ceil(height / patch)
    if patches > budget:
        shrink = math.sqrt(budget * patch * patch / (width * height))
        patches = math.floor(width * shrink / patch) * math.floor(height * shrink / patch)
    return patches * int(rule["tokens_per_patch"])


def image_input_tokens(model: str, fidelity: str, image: ImageInput, index: int = 0) -> int | None:
    """Image input tokens for one input image (the ``index``-th of the request), or ``None`` if its size
    is unknown (a URL given without width/height).

    Rules from models.yaml ``image_input_tokens``: 512-px tiles (65 + 129 per tile) for low fidelity;
    high fidelity adds a surcharge to the first few images (third-party, uncertain); gpt-image-2 counts
    32-px patches (reported, an estimate).
    """
    if image.width is None or image.height is None:
        return None
    rules = model_facts(model)["image_input_tokens"]
    rule = rules[fidelity]
    if rule["rule"] == "patches":
        return _patch_tokens(rule, image.width, image.height)
    # The surcharge rule adds to the low-fidelity tiles, whose geometry the ``low`` rule holds.
    tokens = _tile_tokens(
        rules["low"] if rule["rule"] == "tiles_plus_surcharge" else rule, image.width, image.height
    )
    if rule["rule"] == "tiles_plus_surcharge" and index < int(rule["high_fidelity_images"]):
        ratio = Decimal(max(image.width, image.height)) / Decimal(min(image.width, image.height))
        square = ratio <= Decimal(str(rule["square_ratio_max"]))
        tokens += int(rule["surcharge_square"] if square else rule["surcharge_other"])
    return tokens


def input_rule_note(model: str, fidelity: str) -> str | None:
    """A sentence for the quote when the image-input rule used is uncertain, else ``None``."""
    rule = model_facts(model)["image_input_tokens"][fidelity]
    certainty = rule.get("certainty")
    if certainty is None:
        return None
    return f"image input tokens for {model} ({fidelity} fidelity) are {certainty}: {rule['source']}"
