"""OpenAI Images API dialect: ``POST /images/generations`` (JSON) and ``POST /images/edits`` (multipart).

The canonical vocabulary *is* the Images API's, so the mapping is mostly one to one. What this module
adds is OpenAI's own rules, all read from ``contracts/openapi/openai.yaml``:

- per-model enums and defaults (``default:``), gpt-image-2's flexible sizes (``x-size-rules``);
- gpt-image-2 rejects ``background=transparent`` and any ``input_fidelity``;
- ``output_compression`` below 100 only with webp/jpeg, and ``transparent`` never with jpeg;
- edits have no ``moderation`` parameter (openai-python 3.54.0), so only ``auto`` (what OpenAI does
  anyway) can be expressed there;
- input images are uploaded as files (bytes), up to ``x-max-input-images``; a URL-only input cannot be sent.

Native ids: the snapshot ids (``gpt-image-1.5-2025-12-16``, ``gpt-image-2-2026-04-21``) parse to their
canonical model; the native id, ``user``, ``safety_identifier``, ``stream``, ``partial_images`` and the
multipart field name used for a single image travel in ``CanonicalRequest.extra`` so that
native -> canonical -> native is stable.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any, ClassVar, cast

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, parse_size
from pixelmock.contracts.data import model_facts
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import discriminator_values, model_branch, request_schema
from pixelmock.contracts.sizes import GIF_FRAMES, SizeRules, gif_auto_frame, gif_sheet

PROVIDER = "openai"
GENERATE = "createImage"
EDIT = "createImageEdit"
JSON = "application/json"
MULTIPART = "multipart/form-data"
#: Canonical fields that map one to one onto body fields of both operations (moderation: generations only).
SCALAR_FIELDS = ("n", "size", "quality", "background", "output_format", "output_compression")
#: Native body fields with no canonical counterpart; they are kept in ``CanonicalRequest.extra``.
EXTRA_FIELDS = (
    "user",
    "safety_identifier",
    "stream",
    "partial_images",
    "complexity",
    "frame_count",
    "frame_duration_ms",
    "svg",
)


def _content_type(operation_id: str) -> str:
    return MULTIPART if operation_id == EDIT else JSON


@cache
def operation_schema(operation_id: str) -> dict[str, Any]:
    """The (inlined) request-body schema of ``createImage`` or ``createImageEdit``."""
    return request_schema(PROVIDER, operation_id, _content_type(operation_id))


def native_models(operation_id: str = GENERATE) -> tuple[str, ...]:
    """Native model ids (canonical ids and snapshots) the operation accepts, from its discriminator."""
    return tuple(discriminator_values(operation_schema(operation_id)))


def branch(operation_id: str, native_model: object) -> dict[str, Any] | None:
    """The request schema branch of one native model id, or ``None`` for a model the contract lacks."""
    return model_branch(PROVIDER, operation_schema(operation_id), native_model)


def canonical_model(native_model: object) -> str | None:
    """The canonical model a native id means (``x-canonical-model``), or ``None`` when unknown."""
    found = branch(GENERATE, native_model)
    return None if found is None else str(found["x-canonical-model"])


def _properties(operation_id: str, model: str) -> dict[str, Any]:
    found = branch(operation_id, model)
    if found is None:
        raise UnsupportedValue(PROVIDER, "model", model, "not a model of OpenAI's Images API contract")
    return cast(dict[str, Any], found["properties"])


def _values(prop: dict[str, Any]) -> tuple[str, ...]:
    """Enum values of a property minus ``null`` and minus the values excluded by ``not: {const: ...}`` or
    ``not: {enum: [...]}``."""
    refused = prop.get("not", {})
    excluded = {refused["const"]} if "const" in refused else set(refused.get("enum", ()))
    return tuple(v for v in prop.get("enum", ()) if v is not None and v not in excluded)


def size_rules(
    model: str, max_edge_inclusive: bool | None = None, output_format: str | None = None
) -> SizeRules | None:
    """gpt-image-2's flexible-size rules (``x-size-rules``), ``None`` for a model with fixed sizes.

    ``max_edge_inclusive`` overrides the document's choice between the two conflicting sources
    (SDK: 3840 allowed; openai/codex: below 3840). For ``gif`` output the size is a frame's: the sheet
    of frames has the pixel limits (``_check_gif_sheet``), so no minimum applies to a frame (the measured
    cap of 16 frames is 720x720, below the 655,360-pixel minimum of an image).
    """
    block = _properties(GENERATE, model)["size"].get("x-size-rules")
    if block is None:
        return None
    rules = SizeRules.from_extension(block)
    if max_edge_inclusive is not None:
        rules = replace(rules, max_edge_inclusive=max_edge_inclusive)
    if output_format == "gif":
        rules = replace(rules, min_pixels=None, max_pixels=None)
    return rules


def default(operation_id: str, model: str, field: str) -> Any:
    """The document's ``default:`` of a body field for one model (``None`` when it has none)."""
    return _properties(operation_id, model).get(field, {}).get("default")


class OpenAIDialect(Dialect):
    """OpenAI Images API: canonical <-> ``createImage`` / ``createImageEdit`` bodies."""

    provider: ClassVar[str] = PROVIDER

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the document: enums of the model's generations and edits branches, n's maximum,
        ``x-max-input-images``, and whether sizes are flexible (``x-size-rules``)."""
        gen = _properties(GENERATE, model)
        edit = _properties(EDIT, model)
        edit_branch = cast(dict[str, Any], branch(EDIT, model))
        rules = size_rules(model)
        if rules is None:
            sizes = _values(gen["size"])
        else:
            # The standard sizes of the fixed-size model are "supported by the GPT image models" (SDK).
            standard = _values(_properties(GENERATE, "gpt-image-1.5")["size"])
            fixed = tuple(s for s in standard if (d := parse_size(s)) is None or rules.allows(*d))
            sizes = ("auto", *(s for s in fixed if s != "auto"))
        return ModelCapabilities(
            model=model,
            native_model=str(gen["model"]["const"]),
            sizes=sizes,
            flexible_sizes=rules is not None,
            qualities=_values(gen["quality"]),
            backgrounds=_values(gen["background"]),
            output_formats=_values(gen["output_format"]),
            moderations=_values(gen["moderation"]),
            input_fidelities=_values(edit["input_fidelity"]),
            max_n=int(gen["n"]["maximum"]),
            max_input_images=int(edit_branch["x-max-input-images"]),
            mask="mask" in edit,
            output_compression="output_compression" in gen,
        )

    # ------------------------------------------------------------------ resolve
    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Fill OpenAI's documented defaults and reject what OpenAI cannot accept.

        Raises ``UnsupportedValue`` (provider ``openai``) naming the field: an unknown model, n outside
        1..10, a size outside the model's sizes or gpt-image-2's size rules, a value outside an enum,
        transparent on gpt-image-2, compression < 100 with png, transparent with jpeg, input_fidelity on a
        generation or ``low`` on gpt-image-2, moderation ``low`` on an edit, more than 16 input images,
        URL-only images, a mask without input images.
        """
        model = request.model
        caps = self.capabilities(model)
        op = EDIT if request.is_edit else GENERATE

        def pick(field: str, value: Any) -> Any:
            return default(op, model, field) if value is None else value

        n = int(pick("n", request.n))
        if not 1 <= n <= caps.max_n:
            raise UnsupportedValue(PROVIDER, "n", n, f"OpenAI accepts 1 to {caps.max_n} images per request")
        size = str(pick("size", request.size))
        if size == "auto" and request.output_format == "gif":
            size = _gif_auto_size(model, request.extra.get("frame_count")) or size
        self._check_size(model, caps, size, request.output_format)
        quality = self._member("quality", pick("quality", request.quality), caps.qualities)
        background = pick("background", request.background)
        if background == "transparent" and "transparent" not in caps.backgrounds:
            raise UnsupportedValue(
                PROVIDER, "background", background, "Transparent background is not supported for this model."
            )
        background = self._member("background", background, caps.backgrounds)
        output_format = pick("output_format", request.output_format)
        output_format = self._member("output_format", output_format, caps.output_formats)
        compression = int(pick("output_compression", request.output_compression))
        if not 0 <= compression <= 100:
            raise UnsupportedValue(PROVIDER, "output_compression", compression, "must be between 0 and 100")
        if output_format == "png" and compression != 100:
            raise UnsupportedValue(
                PROVIDER, "output_compression", compression, "compression below 100 needs webp or jpeg output"
            )
        if background == "transparent" and output_format == "jpeg":
            raise UnsupportedValue(
                PROVIDER, "output_format", output_format, "a transparent background needs png or webp output"
            )
        moderation = self._resolve_moderation(request, caps)
        input_fidelity = self._resolve_fidelity(request, caps)
        self._check_images(request, caps)
        _check_animation(request, str(output_format), n, compression, size)
        return request.with_(
            n=n,
            size=size,
            quality=quality,
            background=background,
            output_format=output_format,
            output_compression=compression,
            moderation=moderation,
            input_fidelity=input_fidelity,
        )

    @staticmethod
    def _member(field: str, value: Any, allowed: tuple[str, ...]) -> Any:
        if value not in allowed:
            raise UnsupportedValue(PROVIDER, field, value, f"OpenAI accepts {', '.join(allowed)}")
        return value

    @staticmethod
    def _check_size(model: str, caps: ModelCapabilities, size: str, output_format: str | None) -> None:
        rules = size_rules(model, output_format=output_format)
        if rules is None or size == "auto":
            if size not in caps.sizes:
                raise UnsupportedValue(PROVIDER, "size", size, f"{model} accepts {', '.join(caps.sizes)}")
            return
        dims = parse_size(size)
        if dims is None:
            raise UnsupportedValue(PROVIDER, "size", size, "size must be 'auto' or WIDTHxHEIGHT")
        reason = rules.violation(*dims)
        if reason is not None:
            raise UnsupportedValue(PROVIDER, "size", size, reason)

    def _resolve_moderation(self, request: CanonicalRequest, caps: ModelCapabilities) -> str:
        documented = str(default(GENERATE, request.model, "moderation"))
        value = documented if request.moderation is None else request.moderation
        value = self._member("moderation", value, caps.moderations)
        if request.is_edit and value != documented:
            raise UnsupportedValue(
                PROVIDER, "moderation", value, "the edits endpoint has no moderation parameter"
            )
        return str(value)

    def _resolve_fidelity(self, request: CanonicalRequest, caps: ModelCapabilities) -> str | None:
        value = request.input_fidelity
        if not request.is_edit:
            if value is not None:
                raise UnsupportedValue(PROVIDER, "input_fidelity", value, "applies to edits only")
            return None
        if not caps.input_fidelities:
            # gpt-image-2: the parameter must be omitted; it "always uses high fidelity for image inputs".
            if value not in (None, "high"):
                raise UnsupportedValue(
                    PROVIDER, "input_fidelity", value, f"{request.model} always uses high input fidelity"
                )
            return value
        value = pick_default(request, "input_fidelity")
        return str(self._member("input_fidelity", value, caps.input_fidelities))

    @staticmethod
    def _check_images(request: CanonicalRequest, caps: ModelCapabilities) -> None:
        rules = cast(dict[str, Any], branch(EDIT, request.model))["x-file-rules"]
        if len(request.input_images) > caps.max_input_images:
            raise UnsupportedValue(
                PROVIDER, "input_images", len(request.input_images), f"at most {caps.max_input_images} images"
            )
        for image in request.input_images:
            _check_file("input_images", image, rules["image"]["mime_types"])
        if request.mask is not None:
            if not request.is_edit:
                raise UnsupportedValue(PROVIDER, "mask", "mask", "a mask needs input images (edits)")
            _check_file("mask", request.mask, rules["mask"]["mime_types"])

    # ------------------------------------------------------------------ to / from native
    def to_native(self, request: CanonicalRequest) -> NativeRequest:
        """Resolve, then build the JSON body (generations) or the multipart text fields and files (edits).

        One input image goes as the ``image`` part, several as repeated ``image[]`` parts (as the SDK sends
        them); the mask as ``mask``. Raises ``UnsupportedValue``.
        """
        r = self.resolve(request)
        op = EDIT if r.is_edit else GENERATE
        native_model = r.extra.get("model")
        if canonical_model(native_model) != r.model:
            native_model = r.model
        body: dict[str, Any] = {"model": native_model, "prompt": r.prompt}
        for name in SCALAR_FIELDS:
            body[name] = getattr(r, name)
        if op == GENERATE:
            body["moderation"] = r.moderation
        elif _values(_properties(EDIT, r.model).get("input_fidelity", {})):
            body["input_fidelity"] = r.input_fidelity
        for name in EXTRA_FIELDS:
            if r.extra.get(name) is not None:
                body[name] = r.extra[name]
        files: list[tuple[str, ImageInput]] = []
        if r.is_edit:
            single = len(r.input_images) == 1 and r.extra.get("image_field") != "image[]"
            files = [("image" if single else "image[]", image) for image in r.input_images]
            if r.mask is not None:
                files.append(("mask", r.mask))
        return NativeRequest(PROVIDER, op, body, tuple(files))

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """Parse a ``createImage`` / ``createImageEdit`` request (typed body values; files as parts named
        ``image``, ``image[]`` and ``mask``). Absent or null fields stay ``None``.

        Raises ``ValueError`` for another provider or operation, a body that is not an object, or a model
        the contract does not know.
        """
        if native.provider != PROVIDER or native.operation_id not in (GENERATE, EDIT):
            raise ValueError(f"not an OpenAI Images request: {native.provider}/{native.operation_id}")
        body = native.body
        if not isinstance(body, dict):
            raise ValueError("the request body must be an object")
        model = canonical_model(body.get("model"))
        if model is None:
            raise ValueError(f"unknown OpenAI image model {body.get('model')!r}")
        extra: dict[str, Any] = {"model": body["model"]}
        extra.update({name: body[name] for name in EXTRA_FIELDS if body.get(name) is not None})
        images = tuple(image for name, image in native.files if name in ("image", "image[]"))
        mask = next((image for name, image in native.files if name == "mask"), None)
        if len(images) == 1 and any(name == "image[]" for name, _ in native.files):
            extra["image_field"] = "image[]"
        fields = {name: body.get(name) for name in SCALAR_FIELDS}
        return CanonicalRequest(
            model=model,
            prompt=str(body.get("prompt", "")),
            moderation=body.get("moderation"),
            input_images=images,
            mask=mask,
            input_fidelity=body.get("input_fidelity"),
            extra=extra,
            **fields,
        )


def pick_default(request: CanonicalRequest, field: str) -> Any:
    """The request's value of an edits field, or the document's default for its model."""
    value = getattr(request, field)
    return default(EDIT, request.model, field) if value is None else value


def _check_animation(
    request: CanonicalRequest, output_format: str, n: int, compression: int, size: str
) -> None:
    """GIF and SVG output (openai==3.63.0 ``image_generate_params.py``): ``frame_count`` and
    ``frame_duration_ms`` only with gif, ``svg`` only with svg; GIF "does not support streaming, partial
    images, masks, or custom output compression" and must fit the model's GIF sheet (``gif_sheet``); "SVG
    generation requires n=1 and does not support streaming, partial images ... or output_compression".
    Raises ``UnsupportedValue``."""
    extra = request.extra
    if output_format != "gif":
        for name in ("frame_count", "frame_duration_ms"):
            if extra.get(name) is not None:
                raise UnsupportedValue(PROVIDER, name, extra[name], "only supported with output_format=gif")
    if output_format != "svg" and extra.get("svg") is not None:
        raise UnsupportedValue(PROVIDER, "svg", "svg", "requires output_format=svg")
    if output_format not in ("gif", "svg"):
        return
    if extra.get("stream") or extra.get("partial_images"):
        field = "stream" if extra.get("stream") else "partial_images"
        reason = f"{output_format.upper()} output does not support streaming or partial images"
        raise UnsupportedValue(PROVIDER, field, extra[field], reason)
    if compression != 100:
        reason = f"{output_format.upper()} output does not support output_compression"
        raise UnsupportedValue(PROVIDER, "output_compression", compression, reason)
    if output_format == "svg" and n != 1:
        raise UnsupportedValue(PROVIDER, "n", n, "SVG generation requires n=1")
    if output_format == "gif":
        if request.mask is not None:
            raise UnsupportedValue(PROVIDER, "mask", "mask", "GIF output does not support masks")
        _check_gif_sheet(request.model, size, int(extra.get("frame_count") or GIF_FRAMES))


def _gif_auto_size(model: str, frame_count: object) -> str | None:
    """A GIF's ``auto`` size: the largest square frame its sheet allows (models.yaml
    ``parameters.gif_sheet``; inferred: the measured caps are what a GIF of that many frames can be);
    ``None`` for a model without GIF output."""
    limits = model_facts(model).get("parameters", {}).get("gif_sheet")
    if limits is None:
        return None
    frames = int(frame_count) if isinstance(frame_count, int) else GIF_FRAMES
    side = gif_auto_frame(frames, int(limits["max_pixels"]), int(limits["max_edge"]))
    return f"{side}x{side}"


def _check_gif_sheet(model: str, size: str, frames: int) -> None:
    """The GIF's frames must fit the model's sheet (models.yaml ``parameters.gif_sheet``)."""
    dims = parse_size(size)
    limits = model_facts(model).get("parameters", {}).get("gif_sheet")
    if dims is None or limits is None:
        return
    width, height = gif_sheet(*dims, frames)
    pixels = width * height
    fits = int(limits["min_pixels"]) <= pixels <= int(limits["max_pixels"])
    if not fits or max(width, height) > int(limits["max_edge"]):
        reason = (
            f"{frames} frames of {size} do not fit the model's GIF size limits (a {width}x{height} sheet; "
            f"{limits['min_pixels']}-{limits['max_pixels']} pixels, at most {limits['max_edge']} px a side)"
        )
        raise UnsupportedValue(PROVIDER, "size", size, reason)


def _check_file(field: str, image: ImageInput, mime_types: list[str]) -> None:
    if image.data is None:
        raise UnsupportedValue(PROVIDER, field, image.url, "OpenAI edits take uploaded files, not URLs")
    if image.mime is not None and image.mime not in mime_types:
        raise UnsupportedValue(PROVIDER, field, image.mime, f"accepted file types: {', '.join(mime_types)}")


DIALECT = OpenAIDialect()
