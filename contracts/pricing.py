"""The cost engine: a resolved canonical request in, a quote out. Pure: no I/O beyond reading the data files.

Each seller's billing rule is named in ``contracts/data/pricing.yaml`` (``tokens``, ``tokens_per_result``,
``credits_per_image``, ``usd_per_image``) and implemented once here; token prices and token rules come
from ``contracts/data/models.yaml``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, format_size, parse_size
from pixelmock.contracts.data import effective, load, model_facts
from pixelmock.contracts.errors import UnknownProvider
from pixelmock.contracts.openapi import document
from pixelmock.contracts.sizes import GIF_FRAMES, gif_sheet
from pixelmock.contracts.tokens import (
    image_input_tokens,
    input_rule_note,
    output_image_tokens,
    text_input_tokens,
    text_output_tokens,
)

MILLION = Decimal(1_000_000)
#: Size assumed for an input image whose size is unknown (a URL without width/height), in pixels.
UNKNOWN_INPUT_SIZE = (1024, 1024)


@dataclass(frozen=True)
class TokenBreakdown:
    """Tokens of a whole request: text input, image input, image output and text output (all images)."""

    text_input: int
    image_input: int
    image_output: int
    text_output: int = 0

    def as_dict(self) -> dict[str, int]:
        """``{"text_input": .., "image_input": .., "image_output": .., "text_output": ..}``."""
        return {
            "text_input": self.text_input,
            "image_input": self.image_input,
            "image_output": self.image_output,
            "text_output": self.text_output,
        }


@dataclass(frozen=True)
class Quote:
    """What one provider would charge for one resolved request.

    ``usd`` is a ``Decimal`` in US dollars (``None`` where the seller bills in credits); ``credits`` is an
    integer (``None`` where it bills in USD); ``per_result_usd`` is the ``cost`` each Runware result item
    carries. ``billed_quality`` and ``billed_size`` are what the price was computed on (``auto`` replaced
    by the billing rule); ``notes`` say where an estimate or an upper bound was used.
    """

    provider: str
    model: str
    usd: Decimal | None
    credits: int | None
    tokens: TokenBreakdown
    resolved: CanonicalRequest
    billed_quality: str
    billed_size: str
    notes: tuple[str, ...] = ()
    per_result_usd: Decimal | None = None


AutoResolution = Literal["likely", "upper_bound"]


@dataclass(frozen=True)
class Billing:
    """What a quote assumes where the request leaves the answer open.

    ``auto``: how ``auto`` quality and size (the defaults) are answered where the seller does not document
    its billing: ``"likely"`` (what the model is known to answer, models.yaml ``auto.likely``, with its
    evidence in the notes) or ``"upper_bound"`` (the costliest answer, for budgets). ``edit_aspect``: an
    edit's ``auto`` size follows its first input's aspect ratio (models.yaml ``auto.likely.edit_size``);
    ``False`` answers the likely size whatever the input. ``partial_images``: images streamed before each
    final one (OpenAI's ``partial_images``), each billed ``streaming.partial_image_output_tokens`` more
    image output tokens (models.yaml). ``text_output``: bill the model's text output ("reasoning") tokens
    (models.yaml ``text_output_tokens``); ``False`` leaves them out.
    """

    auto: AutoResolution = "likely"
    partial_images: int = 0
    edit_aspect: bool = True
    text_output: bool = True


#: The default ``Billing``: ``auto`` answered as the model is known to answer, no partial images.
LIKELY = Billing()
#: ``auto`` billed as the costliest answer (budgets; ``pixelmock cost`` shows it beside the likely figure).
UPPER_BOUND = Billing(auto="upper_bound")


@dataclass(frozen=True)
class BilledJob:
    """A resolved request made concrete for billing: quality and size without ``auto``."""

    quality: str
    width: int
    height: int
    n: int
    notes: tuple[str, ...]
    partial_image_tokens: int = 0  # image output tokens each image's streamed partial images add
    text_output: bool = True  # whether the model's text output tokens are billed


def edit_auto_size(request: CanonicalRequest) -> str | None:
    """The size an edit with ``size`` ``auto`` is answered at, following its first input's aspect ratio
    (models.yaml ``auto.likely.edit_size``, inferred): the nearest of the model's fixed ``sizes``, or, for
    flexible sizes, the likely size's area at the input's ratio (capped to ``max_ratio``, edges rounded to
    whole pixels: the recorded 1254x1254 shows that an auto answer need not keep the explicit sizes'
    multiple of 16). ``None`` for a generation or a first input of unknown size."""
    first = request.input_images[0] if request.input_images else None
    if first is None or first.width is None or first.height is None:
        return None
    auto = model_facts(request.model)["auto"]["likely"]
    rule = auto["edit_size"]
    ratio = first.width / first.height
    if "sizes" in rule:
        sizes = [parse_size(str(size)) for size in rule["sizes"]]
        return format_size(*min((d for d in sizes if d), key=lambda d: abs(math.log(d[0] / d[1] / ratio))))
    cap = float(rule["max_ratio"])
    ratio = min(max(ratio, 1 / cap), cap)
    likely = parse_size(str(auto["size"]))
    assert likely is not None
    area = likely[0] * likely[1]
    return format_size(round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio)))


def _upper_bound_size(request: CanonicalRequest, quality: str, likely_size: str) -> str:
    """The costliest of models.yaml ``auto.upper_bound.sizes`` and the likely answer, at ``quality``."""
    candidates = [*model_facts(request.model)["auto"]["upper_bound"]["sizes"], likely_size]

    def cost(size: str) -> int:
        dims = parse_size(str(size))
        assert dims is not None
        return output_image_tokens(request.model, quality, *dims)

    return str(max(candidates, key=cost))


def concrete(
    request: CanonicalRequest, quality_auto: str | None = None, billing: Billing = LIKELY
) -> BilledJob:
    """Replace ``auto`` quality and size by what is billed (and rendered).

    ``quality_auto`` is the seller's documented billing of ``auto`` (Apiframe, GMI: ``high``); without one,
    ``auto`` is answered as ``billing.auto`` says (models.yaml ``auto``) and a note says so, with the rung.
    An edit's ``auto`` size follows its first input's aspect (``edit_auto_size``) unless
    ``billing.edit_aspect`` is false. Raises ``ValueError`` for a request whose size is neither ``auto``
    nor ``WxH``.
    """
    facts = model_facts(request.model)["auto"]
    auto = facts[billing.auto]
    how = (
        "the upper bound"
        if billing.auto == "upper_bound"
        else f"the likely answer ({auto['evidence']}; the model picks)"
    )
    notes: list[str] = []
    quality: str = request.quality or "auto"
    if quality == "auto":
        if quality_auto is not None:
            quality = quality_auto
            notes.append(f"quality auto is billed as {quality_auto}")
        else:
            quality = str(auto["quality"])
            notes.append(f"quality auto quoted as {quality}, {how}")
    size = request.size or "auto"
    if size == "auto":
        edit_size = edit_auto_size(request) if billing.edit_aspect else None
        likely_size = edit_size or str(facts["likely"]["size"])
        if billing.auto == "upper_bound":
            size = _upper_bound_size(request, quality, likely_size)
        else:
            size = likely_size
            if edit_size is not None:
                how = f"the first input's aspect ratio ({facts['likely']['edit_size']['evidence']})"
        notes.append(f"size auto quoted as {size}, {how}")
    extra = billing.partial_images * int(load("models")["streaming"]["partial_image_output_tokens"])
    if extra:
        notes.append(f"{billing.partial_images} partial images: {extra} more image output tokens per image")
    dims = parse_size(size)
    if dims is None:
        raise ValueError(f"size {size!r} is not WxH")
    return BilledJob(quality, dims[0], dims[1], request.n or 1, tuple(notes), extra, billing.text_output)


def _token_prices(model: str, on: dt.date) -> dict[str, Decimal]:
    entry = effective(model_facts(model)["token_prices"], on)
    keys = ("text_input", "image_input", "image_output", "text_output")
    return {key: Decimal(str(entry[key])) for key in keys}


def token_cost(model: str, tokens: TokenBreakdown, on: dt.date) -> Decimal:
    """USD of ``tokens`` at ``model``'s list prices in force on ``on`` (models.yaml ``token_prices``, USD
    per million tokens). Raises ``KeyError`` for an unknown model."""
    return _usd(tokens, _token_prices(model, on))


def usage_tokens(usage: dict[str, Any]) -> TokenBreakdown:
    """The text input, image input, image output and text output tokens of a ``usage`` block (OpenAI's
    answers). Without ``*_details`` every input token counts as text and every output token as image."""
    inputs = usage.get("input_tokens_details") or {}
    outputs = usage.get("output_tokens_details") or {}
    text_in = int(inputs.get("text_tokens", usage.get("input_tokens", 0)))
    image_in = int(inputs.get("image_tokens", 0))
    image_out = int(outputs.get("image_tokens", usage.get("output_tokens", 0)))
    return TokenBreakdown(text_in, image_in, image_out, int(outputs.get("text_tokens", 0)))


def reported_costs(provider: str, request: Any, answer: Any, on: dt.date) -> dict[str, Decimal]:
    """What an answer of ``provider`` says it cost, per currency, read as its contract's
    ``x-reported-cost`` says: ``fields`` (answer field name -> currency: every such number at any depth,
    summed: Runware's ``cost`` in USD, Apiframe's ``creditCost`` in credits), ``usage`` (the name of a
    tokens block priced at the list prices of the request's ``model`` on ``on``: OpenAI's ``usage``) and
    ``tool_usage`` (``{usage: dotted path, tool: type}``: a tool's tokens block priced at the model the
    answer's ``tools`` entry of that type names: the Responses API's ``tool_usage.image_gen``).
    ``request``/``answer``: parsed JSON. ``{}`` when the answer reports nothing (Cloudflare's and GMI's
    answers: ``reports: nothing``), and no USD for a tokens block of a model without token prices."""
    block = document(provider).get("x-reported-cost") or {}
    out: dict[str, Decimal] = {}
    for name, value in _named_values(answer, set(block.get("fields", {}))):
        if isinstance(value, int | float) and not isinstance(value, bool):
            currency = str(block["fields"][name])
            out[currency] = out.get(currency, Decimal(0)) + Decimal(str(value))
    priced: list[tuple[Any, Any]] = []
    if block.get("usage") and isinstance(answer, dict) and isinstance(request, dict):
        priced.append((request.get("model"), answer.get(block["usage"])))
    tool = block.get("tool_usage")
    if tool and isinstance(answer, dict):
        listed = answer.get("tools")
        tools = listed if isinstance(listed, list) else []
        model = next(
            (t.get("model") for t in tools if isinstance(t, dict) and t.get("type") == tool["tool"]), None
        )
        priced.append((model, _dotted(answer, str(tool["usage"]))))
    for model, tokens in priced:
        if not (isinstance(tokens, dict) and isinstance(model, str) and model):
            continue
        try:
            usd = token_cost(model, usage_tokens(tokens), on)
        except KeyError:  # a model without token prices (a mainline model's own usage)
            continue
        out["USD"] = out.get("USD", Decimal(0)) + usd
    return out


def reported_stream_costs(provider: str, request: Any, events: list[Any], on: dt.date) -> dict[str, Decimal]:
    """What a streamed (SSE) answer says it cost: ``reported_costs`` of each event the contract's
    ``x-reported-cost.stream.events`` names by ``type`` (event type -> the event field holding the
    answer, ``""`` for the event itself: OpenAI's ``image_generation.completed`` and
    ``image_edit.completed``, each with its image's ``usage``, and ``response.completed``'s
    ``response``), summed per currency. ``events``: each event's parsed JSON data."""
    stream = ((document(provider).get("x-reported-cost") or {}).get("stream") or {}).get("events") or {}
    out: dict[str, Decimal] = {}
    for event in events:
        kind = event.get("type") if isinstance(event, dict) else None
        if kind not in stream:
            continue
        answer = event.get(stream[kind]) if stream[kind] else event
        for currency, amount in reported_costs(provider, request, answer, on).items():
            out[currency] = out.get(currency, Decimal(0)) + amount
    return out


def _dotted(value: Any, path: str) -> Any:
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _named_values(value: Any, names: set[str]) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [
            pair
            for key, item in value.items()
            for pair in ([(key, item)] if key in names else _named_values(item, names))
        ]
    if isinstance(value, list):
        return [pair for item in value for pair in _named_values(item, names)]
    return []


def _tokens(request: CanonicalRequest, job: BilledJob) -> tuple[TokenBreakdown, int, list[str]]:
    """Request totals, plus the image output tokens of one image, plus notes."""
    notes: list[str] = []
    fidelity = request.input_fidelity or "low"
    image_in = 0
    sizes: list[tuple[int, int]] = []
    for index, image in enumerate(request.input_images):
        if image.width is None or image.height is None:
            sizes.append(UNKNOWN_INPUT_SIZE)
            image = ImageInput(width=UNKNOWN_INPUT_SIZE[0], height=UNKNOWN_INPUT_SIZE[1])
            notes.append(f"input image {index + 1} has no known size; assumed {format_size(*sizes[-1])}")
        else:
            sizes.append((image.width, image.height))
        image_in += image_input_tokens(request.model, fidelity, image, index) or 0
    if request.input_images:
        note = input_rule_note(request.model, fidelity)
        if note:
            notes.append(note)
    if request.mask is not None:
        notes.append("mask billing is undocumented; the mask is not counted")
    width, height = job.width, job.height
    if request.output_format == "gif":
        frames = int(request.extra.get("frame_count") or GIF_FRAMES)
        width, height = gif_sheet(width, height, frames)
        notes.append(f"gif: {frames} frames billed as their {width}x{height} sheet (an estimate)")
    per_image = output_image_tokens(request.model, job.quality, width, height)
    per_image += job.partial_image_tokens
    text = text_input_tokens(request.model, request.prompt, sizes)
    text_out = text_output_tokens(request.model, job.quality) * job.n if job.text_output else 0
    return TokenBreakdown(text, image_in, per_image * job.n, text_out), per_image, notes


def _usd(tokens: TokenBreakdown, prices: dict[str, Decimal]) -> Decimal:
    return (
        tokens.text_input * prices["text_input"]
        + tokens.image_input * prices["image_input"]
        + tokens.image_output * prices["image_output"]
        + tokens.text_output * prices["text_output"]
    ) / MILLION


Rule = Callable[[str, CanonicalRequest, dict[str, Any], dt.date, Billing], Quote]


def _quote_tokens(
    provider: str, request: CanonicalRequest, rule: dict[str, Any], on: dt.date, billing: Billing
) -> Quote:
    job = concrete(request, billing=billing)
    tokens, _, notes = _tokens(request, job)
    usd = _usd(tokens, _token_prices(request.model, on))
    fee = Decimal(str(rule.get("fee_percent", "0")))
    usd = usd * (1 + fee / 100)
    return _make(provider, request, job, tokens, notes, usd=usd)


def _reference_tokens(
    request: CanonicalRequest, job: BilledJob, references: dict[str, Any]
) -> tuple[TokenBreakdown, int, list[str]]:
    """Tokens of a request with reference images as a seller counts them itself (pricing.yaml
    ``<seller>.reference_images``, rule ``flat_per_reference``; Runware's): the request's tokens without its
    input images, plus ``tokens_per_reference[model]`` image-input and text-input tokens per reference,
    whatever its size. Returns what ``_tokens`` returns, with the rule's estimate note. Raises ``KeyError``
    for a model the rule has no figures for, ``ValueError`` for an unknown rule."""
    if references["rule"] != "flat_per_reference":
        raise ValueError(f"unknown reference-image rule {references['rule']!r}")
    bare, per_image, notes = _tokens(request.with_(input_images=()), job)
    each = references["tokens_per_reference"][request.model]
    count = len(request.input_images)
    tokens = replace(
        bare,
        text_input=bare.text_input + int(each["text_input"]) * count,
        image_input=bare.image_input + int(each["image_input"]) * count,
    )
    notes.append(" ".join(str(references["note"]).split()))
    if "source" in each:  # a model's figures with a source of their own (borrowed from another model's)
        notes.append(f"{request.model}'s per-reference figures: {each['source']} [{each['evidence']}]")
    return tokens, per_image, notes


def _quote_tokens_per_result(
    provider: str, request: CanonicalRequest, rule: dict[str, Any], on: dt.date, billing: Billing
) -> Quote:
    job = concrete(request, billing=billing)
    references = rule.get("reference_images")
    if request.input_images and references is not None:
        tokens, per_image, notes = _reference_tokens(request, job, references)
    else:
        tokens, per_image, notes = _tokens(request, job)
    prices = _token_prices(request.model, on)
    charged = bool(rule["input_charged_per_result"])
    text_out = tokens.text_output // job.n if rule["text_output_billed"] else 0
    one = TokenBreakdown(
        tokens.text_input if charged else 0, tokens.image_input if charged else 0, per_image, text_out
    )
    quantum = Decimal(1).scaleb(-int(rule["decimals"]))
    per_result = _usd(one, prices).quantize(quantum, rounding=str(rule["rounding"]))
    return _make(provider, request, job, tokens, notes, usd=per_result * job.n, per_result_usd=per_result)


def _quote_credits_per_image(
    provider: str, request: CanonicalRequest, rule: dict[str, Any], on: dt.date, billing: Billing
) -> Quote:
    table = effective(rule["rates"][request.model], on)
    job = concrete(request, quality_auto=str(rule["auto_billed_as"]), billing=billing)
    tokens, _, notes = _tokens(request, job)
    billed_key = request.quality or "auto"
    credits = int(table[billed_key]) * job.n
    return _make(provider, request, job, tokens, notes, credits=credits)


def _quote_usd_per_image(
    provider: str, request: CanonicalRequest, rule: dict[str, Any], on: dt.date, billing: Billing
) -> Quote:
    """GMI's rule: a price per image by quality and size, times ``n``. A rate entry may name its own
    ``auto_billed_as`` (else the rule's); with ``scale_by_pixels`` its prices are for the ``base`` size and
    another size costs them in proportion to its pixel count (exact; a note says so)."""
    table = effective(rule["rates"][request.model], on)
    auto_as = str(table.get("auto_billed_as", rule["auto_billed_as"]))
    job = concrete(request, quality_auto=auto_as, billing=billing)
    tokens, per_image_tokens, notes = _tokens(request, job)
    size = format_size(job.width, job.height)
    scale = table.get("scale_by_pixels")
    if table.get("derive_from_tokens"):
        price = per_image_tokens * _token_prices(request.model, on)["image_output"] / MILLION
        notes.append(f"estimate: {table['source']}")
    elif scale is not None:
        base = parse_size(str(scale["base"]))
        assert base is not None
        price = Decimal(str(table["prices"][job.quality][str(scale["base"])]))
        if size != scale["base"]:
            price = price * job.width * job.height / (base[0] * base[1])
            how = f"{size} priced as {scale['base']} scaled by pixel count"
            notes.append(
                f"{scale.get('certainty', 'estimate')}: {how} ({scale['evidence']}: {scale['source']})"
            )
    else:
        price = Decimal(str(table["prices"][job.quality][size]))
    return _make(provider, request, job, tokens, notes, usd=price * job.n)


def _make(
    provider: str,
    request: CanonicalRequest,
    job: BilledJob,
    tokens: TokenBreakdown,
    notes: list[str],
    *,
    usd: Decimal | None = None,
    credits: int | None = None,
    per_result_usd: Decimal | None = None,
) -> Quote:
    return Quote(
        provider=provider,
        model=request.model,
        usd=usd,
        credits=credits,
        tokens=tokens,
        resolved=request,
        billed_quality=job.quality,
        billed_size=format_size(job.width, job.height),
        notes=job.notes + tuple(notes),
        per_result_usd=per_result_usd,
    )


RULES: dict[str, Rule] = {
    "tokens": _quote_tokens,
    "tokens_per_result": _quote_tokens_per_result,
    "credits_per_image": _quote_credits_per_image,
    "usd_per_image": _quote_usd_per_image,
}


def quote(
    provider: str, resolved: CanonicalRequest, on: dt.date | None = None, billing: Billing = LIKELY
) -> Quote:
    """Price a *resolved* request (see ``Dialect.resolve``) the way ``provider`` bills it, on date ``on``
    (default: today), with ``auto`` and streaming billed as ``billing`` says (default: the likely answer,
    no partial images). Raises ``UnknownProvider``; ``KeyError`` if a size/quality is outside the seller's
    published table.
    """
    table = load("pricing")
    if provider not in table or provider == "read":
        raise UnknownProvider(provider)
    rule = table[provider]
    return RULES[rule["rule"]](provider, resolved, rule, on or dt.date.today(), billing)
