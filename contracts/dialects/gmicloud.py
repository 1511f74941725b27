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
absent ``quality`` at the top tier (research/apiframe_gmi.md §B.7), so sending the documented default
explicitly keeps what is billed equal to what is quoted.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest, offered_values
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import model_branch, request_schema, validate

PROVIDER = "gmicloud"
SUBMIT = "submitRequest"

#: Canonical request fields that map one-to-one onto a payload property of the same name.
_DIRECT = ("size", "quality", "n", "output_format", "output_compression", "background")
#: Native payload property -> canonical field, where the names differ.
_CANONICAL_NAME = {"image": "input_images"}


@cache
def _payload_schema(model: str) -> dict[str, Any]:
    """The inlined payload schema of one canonical model (the discriminator branch's ``payload``)."""
    branch = model_branch(PROVIDER, request_schema(PROVIDER, SUBMIT), model)
    if branch is None:
        raise UnsupportedValue(PROVIDER, "model", model, "GMI Cloud does not serve this model")
    payload: dict[str, Any] = branch["properties"]["payload"]
    return payload


def _props(model: str) -> dict[str, Any]:
    props: dict[str, Any] = _payload_schema(model)["properties"]
    return props


def _upstream_defaults(model: str) -> dict[str, Any]:
    block = _payload_schema(model).get("x-upstream-defaults", {})
    return {k: v for k, v in block.items() if not k.startswith("x-")}


class GmiCloudDialect(Dialect):
    """GMI Cloud's request-queue dialect for gpt-image-1.5 and gpt-image-2 (model slugs equal the
    canonical ids). Sources: seeds/004_ce248181afd351d1.txt, research/apiframe_gmi.md part B."""

    provider: ClassVar[str] = PROVIDER

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the model's payload schema. Raises ``UnsupportedValue`` for a model GMI lacks."""
        props = _props(model)
        implicit = _upstream_defaults(model)

        def values(name: str) -> tuple[str, ...]:
            return offered_values(props.get(name), implicit, name)

        return ModelCapabilities(
            model=model,
            native_model=model,
            sizes=tuple(props["size"]["enum"]),
            flexible_sizes=False,
            qualities=values("quality"),
            backgrounds=values("background"),
            output_formats=values("output_format"),
            moderations=values("moderation"),
            input_fidelities=values("input_fidelity"),
            max_n=int(props["n"]["maximum"]),
            max_input_images=1 if "image" in props else 0,
            mask="mask" in props,
            output_compression="output_compression" in props,
        )

    # -- canonical -> resolved -------------------------------------------------------------------------

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Fill GMI's documented defaults (size 1024x1024, quality medium, n 1, png, compression 100 and
        background auto for gpt-image-1.5) from the document's ``default:`` values.

        Raises ``UnsupportedValue`` (provider ``gmicloud``) for: a model GMI lacks; ``size="auto"`` or a
        size outside the enum; any enum value or range the payload schema refuses (webp on gpt-image-2,
        ``n`` > 10, ...); a value for a field without a knob other than ``x-upstream-defaults``; more than
        one input image; URL-only images (GMI takes base64); a mask without an image; a transparent
        background with jpeg; anything in ``extra``.
        """
        props = _props(request.model)
        implicit = _upstream_defaults(request.model)
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
                _check(name, value, props[name])
                changes[name] = value
            elif value is not None and value != implicit.get(name):
                reason = f"{request.model} on GMI has no {name} parameter (it uses {implicit.get(name)!r})"
                raise UnsupportedValue(PROVIDER, name, value, reason)
        for name in ("moderation", "input_fidelity"):
            value = getattr(request, name)
            if value is not None and value != implicit.get(name):
                expected = implicit.get(name)
                reason = f"GMI has no {name} parameter; {request.model} always uses {expected!r}"
                raise UnsupportedValue(PROVIDER, name, value, reason)
        _check_images(request, props)
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
        props = _props(resolved.model)
        payload: dict[str, Any] = {"prompt": resolved.prompt}
        for name in _DIRECT:
            if name in props:
                payload[name] = getattr(resolved, name)
        if resolved.input_images:
            payload["image"] = resolved.input_images[0].as_base64()
        if resolved.mask is not None:
            payload["mask"] = resolved.mask.as_base64()
        body = {"model": resolved.model, "payload": payload}
        violations = validate(PROVIDER, request_schema(PROVIDER, SUBMIT), body)
        if violations:  # resolve() checks everything the schema says; this is a guard
            first = violations[0]
            name = first.param.removeprefix("payload.")
            raise UnsupportedValue(PROVIDER, _CANONICAL_NAME.get(name, name), first.value, first.message)
        return NativeRequest(PROVIDER, SUBMIT, body)

    # -- native -> canonical ---------------------------------------------------------------------------

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """Parse a ``submitRequest`` body. Fields absent from the payload stay ``None``.

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
        unknown = sorted(set(payload) - set(props))
        if unknown:
            raise ValueError(f"{PROVIDER}: {model} has no payload field {unknown[0]!r}")
        prompt = payload.get("prompt")
        if not isinstance(prompt, str):
            raise ValueError(f"{PROVIDER}: payload.prompt must be a string")
        fields: dict[str, Any] = {name: payload.get(name) for name in _DIRECT}
        images = (ImageInput.from_string(payload["image"]),) if "image" in payload else ()
        mask = ImageInput.from_string(payload["mask"]) if "mask" in payload else None
        return CanonicalRequest(model=model, prompt=prompt, input_images=images, mask=mask, **fields)  # type: ignore[arg-type]


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


def _check_images(request: CanonicalRequest, props: dict[str, Any]) -> None:
    if request.input_images and "image" not in props:
        raise UnsupportedValue(PROVIDER, "input_images", len(request.input_images), "no image input")
    if len(request.input_images) > 1:
        reason = "GMI takes one base64 `image` per request"
        raise UnsupportedValue(PROVIDER, "input_images", len(request.input_images), reason)
    if request.input_images and request.input_images[0].data is None:
        url = request.input_images[0].url
        raise UnsupportedValue(PROVIDER, "input_images", url, "GMI takes base64 images, not URLs")
    if request.mask is not None:
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
