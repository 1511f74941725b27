"""GMI Cloud request queue: ``{"model": <slug>, "payload": {...}}`` <-> the canonical request.

Every enum, range and default comes from ``contracts/openapi/gmicloud.yaml`` (the ``GptImage15Payload`` and
``GptImage2Payload`` schemas). Facts GMI has no knob for but the model applies anyway (gpt-image-2's
``auto`` background, OpenAI's ``auto`` moderation, ...) come from each payload schema's
``x-upstream-defaults``: a canonical request may carry exactly those values, which are then left out of the
native payload; any other value raises ``UnsupportedValue``.

Shape of the native request (``operation_id="submitRequest"``)::

    {"model": "gpt-image-1.5", "payload": {"prompt": "...", "size": "1024x1024", "quality": "medium",
     "n": 1, "output_format": "png", "output_compression": 100, "background": "auto",
     "image": "<base64>", "mask": "<base64>"}}

``to_native`` always writes every payload field the model documents, resolved: GMI is reported to bill an
absent ``quality`` at the top tier (third-party live tests, 2026-09), so sending the documented default
explicitly keeps what is billed equal to what is quoted.

Model slugs are read from the contract's discriminator (``slugs``): ``gpt-image-1.5`` and ``gpt-image-2``
equal the canonical ids; GMI also documents ``gpt-image-2-generate`` and ``gpt-image-2-edit``, and a third
party's live tests show GPT Image 2.5 sold only as ``gpt-image-2.5-{flare,sunburst}-{generate,edit}`` (each
submit branch's ``x-canonical-model`` says which canonical model a slug means). ``to_native`` sends the first
slug that fits the request's images: the canonical id where GMI has it, else the generate slug without
images and the edit slug with them; a gpt-image-2 edit whose image is a URL goes to ``gpt-image-2-edit``
(its payload's ``image.x-image-forms``). The 2.5 edit slugs take up to 16 images (an array).

``GmiCloudDialect(flexible_sizes=True)`` also accepts gpt-image-2 sizes outside the documented enum that
satisfy the payload's ``size.x-size-rules`` (a third party's live tests; the emulator's option
``gmicloud.gpt_image_2_sizes``). ``DIALECT`` keeps to the documented sizes; the 2.5 slugs, whose only source
is those live tests, always accept sizes within their rules (``size.x-size-rules-apply: always``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache
from typing import Any, ClassVar

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, parse_size
from pixelmock.contracts.data import effective, load
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest, offered_values
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.evidence import TRUSTED
from pixelmock.contracts.openapi import (
    Violation,
    discriminator_values,
    model_branch,
    request_schema,
    validate,
)
from pixelmock.contracts.pricing import LIKELY, Billing, Quote
from pixelmock.contracts.sizes import SizeRules

PROVIDER = "gmicloud"
SUBMIT = "submitRequest"

#: Canonical request fields that map one-to-one onto a payload property of the same name.
_DIRECT = ("size", "quality", "n", "output_format", "output_compression", "background", "moderation")
#: Native payload property -> canonical field, where the names differ.
_CANONICAL_NAME = {"image": "input_images"}


@cache
def _branch(slug: str) -> dict[str, Any]:
    """The inlined submit branch of one model slug. Raises ``UnsupportedValue`` for a slug GMI lacks."""
    branch = model_branch(PROVIDER, request_schema(PROVIDER, SUBMIT), slug)
    if branch is None:
        raise UnsupportedValue(PROVIDER, "model", slug, "GMI Cloud does not serve this model")
    return branch


def _payload_schema(slug: str) -> dict[str, Any]:
    """The payload schema of one model slug (the discriminator branch's ``payload``)."""
    payload: dict[str, Any] = _branch(slug)["properties"]["payload"]
    return payload


def _props(slug: str) -> dict[str, Any]:
    props: dict[str, Any] = _payload_schema(slug)["properties"]
    return props


def _upstream_defaults(slug: str) -> dict[str, Any]:
    block = _payload_schema(slug).get("x-upstream-defaults", {})
    return {k: v for k, v in block.items() if not k.startswith("x-")}


def canonical_model(slug: str) -> str:
    """The canonical model a GMI slug means (``gpt-image-2-edit`` -> ``gpt-image-2``; the contract's
    ``x-canonical-model``, else the slug itself). Raises ``UnsupportedValue`` for a slug GMI lacks."""
    return str(_branch(slug).get("x-canonical-model", slug))


def image_forms(prop: dict[str, Any] | None) -> tuple[str, ...]:
    """The string forms an image property takes (its ``x-image-forms``; bare ``base64`` by default,
    ``url`` for a public http(s) URL); empty for a slug without that property."""
    if prop is None:
        return ()
    return tuple(prop.get("x-image-forms", ("base64",)))


def max_images(prop: dict[str, Any] | None) -> int:
    """How many images an image property takes: its array form's ``maxItems``, else 1 (0 without one)."""
    if prop is None:
        return 0
    counts = [int(b.get("maxItems", 1)) if b.get("type") == "array" else 1 for b in prop.get("oneOf", [prop])]
    return max(counts)


def slugs(model: str) -> tuple[str, ...]:
    """The slugs GMI sells canonical ``model`` under (read from the contract's discriminator), the one
    equal to the model id first: ``gpt-image-2`` -> gpt-image-2, -generate, -edit;
    ``gpt-image-2.5-flare`` -> gpt-image-2.5-flare-generate, -edit. Empty for a model GMI lacks."""
    found = [s for s in discriminator_values(request_schema(PROVIDER, SUBMIT)) if canonical_model(s) == model]
    return tuple(sorted(found, key=lambda slug: slug != model))


def _fits(slug: str, request: CanonicalRequest) -> bool:
    """Whether ``slug`` can carry the request's images (forms and count), or needs none it lacks."""
    schema = _payload_schema(slug)
    prop = schema["properties"].get("image")
    if not request.input_images:
        return "image" not in schema.get("required", ())
    url = any(image.data is None for image in request.input_images)
    forms_ok = not url or "url" in image_forms(prop)
    return prop is not None and forms_ok and len(request.input_images) <= max_images(prop)


def _slug(request: CanonicalRequest) -> str:
    """The slug a canonical request is sent as: the first of ``slugs(model)`` that fits its images (the
    model id itself where GMI has that slug; the edit slug for images it alone takes, URLs or several;
    the generate slug without images); where none fits, the first with an image property (or the first),
    whose rules then say why. Raises ``UnsupportedValue`` for a model GMI lacks."""
    candidates = slugs(request.model)
    if not candidates:
        raise UnsupportedValue(PROVIDER, "model", request.model, "GMI Cloud does not serve this model")
    for slug in candidates:
        if _fits(slug, request):
            return slug
    with_image = [slug for slug in candidates if "image" in _props(slug)]
    return (with_image if request.input_images and with_image else candidates)[0]


def size_rules(slug: str) -> SizeRules | None:
    """The wider sizes a slug was seen to accept (``size.x-size-rules``), ``None`` where none were."""
    block = _props(slug)["size"].get("x-size-rules")
    return None if block is None else SizeRules.from_extension(block)


def always_flexible(slug: str) -> bool:
    """Whether the slug's size rules apply whatever ``flexible_sizes`` says (``size.x-size-rules-apply``
    ``always``: GPT Image 2.5, whose only source is the live tests that saw the rules)."""
    return bool(_props(slug)["size"].get("x-size-rules-apply") == "always")


def _flexible_size(slug: str, value: Any, flexible_sizes: bool) -> bool:
    """Whether ``value`` is a ``WxH`` outside the enum that the slug's ``x-size-rules`` allow (with
    ``flexible_sizes``, or always where the slug says so)."""
    rules = size_rules(slug)
    dims = parse_size(value) if isinstance(value, str) else None
    applies = flexible_sizes or always_flexible(slug)
    return applies and rules is not None and dims is not None and rules.allows(*dims)


def violations(body: Any, flexible_sizes: bool = False) -> list[Violation]:
    """Contract violations of a ``submitRequest`` body; a ``payload.size`` outside the enum but within the
    slug's ``x-size-rules`` is not one with ``flexible_sizes`` (or on a slug whose rules always apply)."""
    found = validate(PROVIDER, request_schema(PROVIDER, SUBMIT), body)
    if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
        return found
    slug, size = body.get("model"), body["payload"].get("size")
    if not isinstance(slug, str) or model_branch(PROVIDER, request_schema(PROVIDER, SUBMIT), slug) is None:
        return found
    keep = not _flexible_size(slug, size, flexible_sizes)
    return [v for v in found if keep or not (v.param == "payload.size" and v.keyword == "enum")]


class GmiCloudDialect(Dialect):
    """GMI Cloud's request-queue dialect for the models its contract sells (gpt-image-1.5, gpt-image-2,
    gpt-image-2.5-flare and -sunburst; see the module docstring for slugs and ``flexible_sizes``).
    Sources: https://docs.gmicloud.ai/model-quickstarts/image/gpt-image-1-5 and the other GMI quickstarts
    (read 2026-11-21); a third-party client's live tests for 2.5 (2026-09)."""

    provider: ClassVar[str] = PROVIDER

    def __init__(self, flexible_sizes: bool = False) -> None:
        self.flexible_sizes = flexible_sizes

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the payload schema of the model's text-to-image slug (its first, ``slugs``), images
        and masks from any of its slugs. Raises ``UnsupportedValue`` for a model GMI lacks."""
        native = _slug(CanonicalRequest(model=model, prompt="-"))
        props = _props(native)
        implicit = _upstream_defaults(native)
        every = [_props(slug) for slug in slugs(model)]

        def values(name: str) -> tuple[str, ...]:
            return offered_values(props.get(name), implicit, name)

        rules = size_rules(native) is not None
        return ModelCapabilities(
            model=model,
            native_model=native,
            sizes=tuple(props["size"]["enum"]),
            flexible_sizes=rules and (self.flexible_sizes or always_flexible(native)),
            qualities=values("quality"),
            backgrounds=values("background"),
            output_formats=values("output_format"),
            moderations=values("moderation"),
            input_fidelities=values("input_fidelity"),
            max_n=int(props["n"]["maximum"]),
            max_input_images=max(max_images(p.get("image")) for p in every),
            mask=any("mask" in p for p in every),
            output_compression="output_compression" in props,
        )

    def quote(self, request: CanonicalRequest, on: dt.date | None = None, billing: Billing = LIKELY) -> Quote:
        """The cost engine's quote (USD), with notes labelling what rests below the ``recorded`` rung
        (see ``labelled``). Raises ``UnsupportedValue`` as ``resolve`` does; ``KeyError`` for a size GMI
        publishes no price for (flexible sizes)."""
        return labelled(super().quote(request, on, billing), on)

    # -- canonical -> resolved -------------------------------------------------------------------------

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Fill GMI's documented defaults (size 1024x1024, quality medium, n 1, png, compression 100 and
        background auto for gpt-image-1.5) from the document's ``default:`` values.

        A gpt-image-2 request with a URL image is resolved against ``gpt-image-2-edit`` (which has no
        ``output_format``: the upstream's png applies).

        Raises ``UnsupportedValue`` (provider ``gmicloud``) for: a model GMI lacks; ``size="auto"`` or a
        size outside the enum (and, with ``flexible_sizes``, outside ``x-size-rules``); any enum value or
        range the payload schema refuses (webp on gpt-image-2, ``n`` > 10, ...); a value for a field
        without a knob other than ``x-upstream-defaults``; more than one input image; a URL image where
        no slug takes URLs; a URL mask; a mask without an image; a transparent background with jpeg;
        anything in ``extra``.
        """
        slug = _slug(request)
        props = _props(slug)
        implicit = _upstream_defaults(slug)
        if request.extra:
            key = sorted(request.extra)[0]
            reason = "GMI rejects fields it does not document"
            raise UnsupportedValue(PROVIDER, key, request.extra[key], reason)
        low, high = props["prompt"].get("minLength", 0), props["prompt"].get("maxLength")
        if len(request.prompt) < low or (high is not None and len(request.prompt) > high):
            reason = f"the prompt must have {low} to {high} characters"
            raise UnsupportedValue(PROVIDER, "prompt", len(request.prompt), reason)
        changes: dict[str, Any] = {}
        for name in _DIRECT:
            value = getattr(request, name)
            if name in props:
                if value is None:
                    value = props[name]["default"]
                if not (name == "size" and _flexible_size(slug, value, self.flexible_sizes)):
                    _check(name, value, props[name])
                changes[name] = value
            elif value is not None and value != implicit.get(name):
                reason = f"{request.model} on GMI has no {name} parameter (it uses {implicit.get(name)!r})"
                raise UnsupportedValue(PROVIDER, name, value, reason)
        for name in ("input_fidelity",):
            value = getattr(request, name)
            if value is not None and value != implicit.get(name):
                expected = implicit.get(name)
                reason = f"GMI has no {name} parameter; {request.model} always uses {expected!r}"
                raise UnsupportedValue(PROVIDER, name, value, reason)
        _check_images(request, props, slug)
        resolved = request.with_(**changes)
        if resolved.background == "transparent" and resolved.output_format == "jpeg":
            reason = "a transparent background needs png or webp output"
            raise UnsupportedValue(PROVIDER, "output_format", "jpeg", reason)
        return resolved

    # -- canonical -> native ---------------------------------------------------------------------------

    def to_native(self, request: CanonicalRequest) -> NativeRequest:
        """``submitRequest`` with every documented payload field of the model written out (resolved).

        Raises ``UnsupportedValue`` as ``resolve`` does.
        """
        resolved = self.resolve(request)
        slug = _slug(resolved)
        props = _props(slug)
        payload: dict[str, Any] = {"prompt": resolved.prompt}
        for name in _DIRECT:
            if name in props:
                payload[name] = getattr(resolved, name)
        if resolved.input_images:
            sent = [image.url if image.data is None else image.as_base64() for image in resolved.input_images]
            payload["image"] = sent[0] if len(sent) == 1 else sent
        if resolved.mask is not None:
            payload["mask"] = resolved.mask.as_base64()
        body = {"model": slug, "payload": payload}
        found = violations(body, self.flexible_sizes)
        if found:  # resolve() checks everything the schema says; this is a guard
            first = found[0]
            name = first.param.removeprefix("payload.")
            raise UnsupportedValue(PROVIDER, _CANONICAL_NAME.get(name, name), first.value, first.message)
        return NativeRequest(PROVIDER, SUBMIT, body)

    # -- native -> canonical ---------------------------------------------------------------------------

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """Parse a ``submitRequest`` body. Fields absent from the payload stay ``None``.

        The slug maps to its canonical model (``gpt-image-2-edit`` -> ``gpt-image-2``).

        Raises ``ValueError`` for another operation, an envelope that is not ``{"model", "payload"}``, a
        model slug GMI does not serve for GPT Image, a missing prompt, an unknown payload field, or an
        ``image``/``mask`` that is not base64 (or a data URI / URL).
        """
        if native.provider != PROVIDER or native.operation_id != SUBMIT:
            raise ValueError(f"not a {PROVIDER} {SUBMIT} request: {native.provider}/{native.operation_id}")
        body = native.body
        if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
            raise ValueError("the body must be an object with a 'payload' object")
        model = body.get("model")
        schema = request_schema(PROVIDER, SUBMIT)
        if not isinstance(model, str) or model_branch(PROVIDER, schema, model) is None:
            raise ValueError(f"{PROVIDER}: unknown model {model!r}")
        payload: dict[str, Any] = body["payload"]
        props = _props(model)
        canonical = canonical_model(model)
        unknown = sorted(set(payload) - set(props))
        if unknown:
            raise ValueError(f"{PROVIDER}: {model} has no payload field {unknown[0]!r}")
        prompt = payload.get("prompt")
        if not isinstance(prompt, str):
            raise ValueError(f"{PROVIDER}: payload.prompt must be a string")
        fields: dict[str, Any] = {name: payload.get(name) for name in _DIRECT}
        raw = payload.get("image", [])
        images = tuple(ImageInput.from_string(item) for item in (raw if isinstance(raw, list) else [raw]))
        mask = ImageInput.from_string(payload["mask"]) if "mask" in payload else None
        return CanonicalRequest(model=canonical, prompt=prompt, input_images=images, mask=mask, **fields)


def labelled(quote: Quote, on: dt.date | None = None) -> Quote:
    """``quote`` with notes saying which parts of GMI's price are estimates (contracts/data/pricing.yaml
    ``gmicloud``): a price table in force on ``on`` (default today) whose evidence is below ``recorded``
    (gpt-image-2's and 2.5's prices are a third party's reading; gpt-image-1.5's a choice, which the cost
    engine already notes), and the top-tier billing of quality ``auto`` (a third party's report; the rate
    entry's ``auto_billed_as`` where it has one, max for 2.5)."""
    rule = load("pricing")[PROVIDER]
    entry = effective(rule["rates"][quote.model], on or dt.date.today())
    notes = list(quote.notes)
    if entry["evidence"] not in TRUSTED and not any(note.startswith("estimate") for note in notes):
        notes.append(
            f"estimate: GMI's {quote.model} price rests on {entry['evidence']} evidence ({entry['source']})"
        )
    auto = entry.get("auto_billing", rule["auto_billing"])
    if quote.resolved.quality == "auto" and auto["evidence"] not in TRUSTED:
        rung, billed = auto["evidence"], entry.get("auto_billed_as", rule["auto_billed_as"])
        notes.append(f"estimate: quality auto billed as {billed} rests on {rung} evidence ({auto['source']})")
    return dataclasses.replace(quote, notes=tuple(notes))


def _check(name: str, value: Any, schema: dict[str, Any]) -> None:
    """Raise ``UnsupportedValue`` when ``value`` breaks the property's enum or range."""
    if "enum" in schema and value not in schema["enum"]:
        raise UnsupportedValue(PROVIDER, name, value, f"must be one of {schema['enum']}")
    if schema.get("type") == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UnsupportedValue(PROVIDER, name, value, "must be an integer")
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            raise UnsupportedValue(PROVIDER, name, value, f"must be between {low} and {high}")


def _check_images(request: CanonicalRequest, props: dict[str, Any], slug: str) -> None:
    if request.input_images and "image" not in props:
        raise UnsupportedValue(PROVIDER, "input_images", len(request.input_images), "no image input")
    most = max_images(props.get("image"))
    if len(request.input_images) > max(most, 1):
        reason = f"GMI's {slug} takes at most {most} image(s) per request"
        raise UnsupportedValue(PROVIDER, "input_images", len(request.input_images), reason)
    for image in request.input_images:
        if image.data is None and "url" not in image_forms(props["image"]):
            raise UnsupportedValue(PROVIDER, "input_images", image.url, "GMI takes base64 images, not URLs")
    if request.mask is not None:
        if "mask" not in props:
            raise UnsupportedValue(PROVIDER, "mask", "mask", f"GMI's {slug} takes no mask")
        if not request.input_images:
            raise UnsupportedValue(PROVIDER, "mask", "mask", "a mask needs an input image to edit")
        if request.mask.data is None:
            raise UnsupportedValue(PROVIDER, "mask", request.mask.url, "GMI takes base64 masks")
        image = request.input_images[0]
        known = None not in (image.width, image.height, request.mask.width, request.mask.height)
        if known and (image.width, image.height) != (request.mask.width, request.mask.height):
            size = f"{request.mask.width}x{request.mask.height}"
            raise UnsupportedValue(PROVIDER, "mask", size, "the mask must have the same size as the image")


DIALECT = GmiCloudDialect()
