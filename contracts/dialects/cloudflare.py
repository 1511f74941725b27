"""Cloudflare Workers AI dialect: ``openai/gpt-image-1.5`` and ``openai/gpt-image-2`` on ``/ai/run``.

Native requests (contracts/openapi/cloudflare.yaml):

- universal endpoint, operation ``aiRun``: ``{"model": "openai/gpt-image-2", "input": {...}}``;
- classic route, operations ``runGptImage15`` / ``runGptImage2``: the model input is the whole body.

The model input has ``prompt``, ``images`` (base64 strings or ``data:image/...;base64,`` URIs), ``quality``,
``size`` (three fixed sizes or ``auto``), ``background`` and ``output_format``. Canonical fields Cloudflare
has no knob for (``n``, ``moderation``, ``output_compression``, ``input_fidelity``, ``mask``) are accepted
only with the value the upstream applies anyway (the document's ``x-upstream-fixed``); values Cloudflare's
schema lets through but OpenAI rejects (``x-upstream-rejects``, e.g. a transparent background on
gpt-image-2) raise ``UnsupportedValue`` too.

``to_native`` resolves the request (to check it) but sends only the fields the caller set: an unset field
takes the same provider default on the wire, and the body stays as small as the documented examples
(which matters for gpt-image-1.5, whose published schema is uncertain).
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import discriminator_values, inlined, model_branch, operation, request_schema

PROVIDER = "cloudflare"
#: operationId of the universal endpoint (``{"model", "input"}``).
UNIVERSAL_OPERATION = "aiRun"
#: Written into ``path_params`` when the canonical request carries no ``extra["account_id"]``, so that
#: ``NativeRequest.path`` shows the unfilled template (``/accounts/{account_id}/ai/run``).
ACCOUNT_PLACEHOLDER = "{account_id}"
#: Canonical fields whose native (model input) name differs.
NATIVE_NAMES = {"input_images": "images"}
#: Canonical fields that are plain input properties of the same name.
SCALAR_FIELDS = ("quality", "size", "background", "output_format")
#: Canonical fields without a Cloudflare knob (values in the document's ``x-upstream-fixed``).
FIXED_FIELDS = ("n", "moderation", "output_compression", "input_fidelity", "mask")

Route = Literal["universal", "classic"]


@dataclass(frozen=True)
class ModelContract:
    """One model as the document describes it: canonical and native ids, the classic-route operation and
    the (inlined) input schema that pixelmock enforces."""

    canonical: str
    native: str
    classic_operation: str
    input_schema: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        """The input schema's ``properties``."""
        props: dict[str, Any] = self.input_schema["properties"]
        return props

    def fixed(self, field: str) -> Any:
        """The value the upstream applies to a canonical field Cloudflare cannot set (x-upstream-fixed)."""
        return self.input_schema["x-upstream-fixed"][field]["value"]

    def rejected_values(self, param: str) -> tuple[Any, ...]:
        """Values of a native input property that the upstream rejects (``x-upstream-rejects``)."""
        return tuple(
            value
            for rule in self.input_schema.get("x-upstream-rejects", [])
            if rule["param"] == param
            for value in rule.get("values", [])
        )

    def max_length(self, param: str) -> int | None:
        """The upstream's maximum length of a string property (``x-upstream-rejects``), if any."""
        for rule in self.input_schema.get("x-upstream-rejects", []):
            if rule["param"] == param and "max_length" in rule:
                return int(rule["max_length"])
        return None

    @property
    def accepted_media_types(self) -> tuple[str, ...]:
        """MIME types an ``images`` entry may hold (``x-accepted-media-types``)."""
        return tuple(self.properties["images"]["items"].get("x-accepted-media-types", ()))


@cache
def models() -> dict[str, ModelContract]:
    """Every model of the document, keyed by canonical id (``gpt-image-2``)."""
    universal = request_schema(PROVIDER, UNIVERSAL_OPERATION)
    classic = classic_operations()
    out: dict[str, ModelContract] = {}
    for native in discriminator_values(universal):
        branch = model_branch(PROVIDER, universal, native)
        assert branch is not None
        schema: dict[str, Any] = branch["properties"]["input"]
        canonical = str(schema["x-canonical-model"])
        out[canonical] = ModelContract(canonical, native, classic[native], schema)
    return out


@cache
def classic_operations() -> dict[str, str]:
    """``{native model id: operationId}`` of the classic ``/ai/run/{model}`` routes in the document."""
    prefix = operation(PROVIDER, UNIVERSAL_OPERATION)[1] + "/"
    out: dict[str, str] = {}
    for path, item in inlined(PROVIDER)["paths"].items():
        if path.startswith(prefix):
            out[path.removeprefix(prefix)] = str(item["post"]["operationId"])
    return out


def model_by_native(native: str) -> ModelContract | None:
    """The model whose native id is ``native`` (``openai/gpt-image-2``), or ``None``."""
    return next((m for m in models().values() if m.native == native), None)


def _contract(model: str) -> ModelContract:
    contract = models().get(model)
    if contract is None:
        raise UnsupportedValue(PROVIDER, "model", model, f"Cloudflare offers {sorted(models())}")
    return contract


# --- image entries -------------------------------------------------------------------------------------


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc


def parse_image(entry: str) -> ImageInput:
    """An ``images`` entry as an ``ImageInput``. A ``data:`` URI keeps its declared MIME type; a raw base64
    string gets ``mime=None`` (so that ``to_native`` writes it back raw). Raises ``ValueError`` for a URL
    (Cloudflare takes base64 only) or text that is not base64."""
    if entry.startswith("data:"):
        return ImageInput.from_string(entry)
    if entry.startswith(("http://", "https://")):
        raise ValueError("Cloudflare takes images as base64, not URLs")
    return replace(ImageInput.from_bytes(_b64decode(entry)), mime=None)


def image_media_type(data: bytes) -> str | None:
    """The MIME type Pillow reads from image bytes (``image/png``...), or ``None`` when they do not decode."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
            return Image.MIME.get(img.format or "")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def image_entry_ok(entry: str, accepted: tuple[str, ...]) -> bool:
    """True when an ``images`` entry is base64 (raw or data URI) of an image whose real format, and
    declared format for a data URI, is one of ``accepted`` MIME types."""
    try:
        image = parse_image(entry)
    except ValueError:
        return False
    if image.data is None or (image.mime is not None and image.mime not in accepted):
        return False
    return image_media_type(image.data) in accepted


def _image_string(image: ImageInput) -> str:
    return image.as_base64() if image.mime is None else image.as_data_uri()


# --- upstream rules on native input ---------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamRejection:
    """A rule of ``x-upstream-rejects`` that a native input breaks, with the values for its message
    placeholders (``value``, ``length``, ``index``)."""

    rule: dict[str, Any]
    params: dict[str, Any]


def upstream_rejection(schema: dict[str, Any], native_input: dict[str, Any]) -> UpstreamRejection | None:
    """The first ``x-upstream-rejects`` rule of an input schema that ``native_input`` breaks, or ``None``.

    Rule kinds: ``values`` (the property holds one of them), ``max_length`` (a longer string), and
    ``invalid_image`` (an ``images`` entry that is not base64 of an accepted image; ``index`` is 1-based).
    """
    accepted = tuple(
        schema["properties"].get("images", {}).get("items", {}).get("x-accepted-media-types", ())
    )
    for rule in schema.get("x-upstream-rejects", []):
        param = rule["param"]
        if param not in native_input:
            continue
        value = native_input[param]
        if "values" in rule and value in rule["values"]:
            return UpstreamRejection(rule, {"value": value})
        if "max_length" in rule and isinstance(value, str) and len(value) > int(rule["max_length"]):
            return UpstreamRejection(rule, {"length": len(value)})
        if rule.get("invalid_image") and isinstance(value, list):
            for index, entry in enumerate(value, start=1):
                if not isinstance(entry, str) or not image_entry_ok(entry, accepted):
                    return UpstreamRejection(rule, {"index": index})
    return None


# --- the dialect ---------------------------------------------------------------------------------------


class CloudflareDialect(Dialect):
    """Canonical <-> Cloudflare Workers AI (see the module docstring)."""

    provider = PROVIDER

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the model's input schema; ``UnsupportedValue`` for a model Cloudflare does not sell."""
        c = _contract(model)
        props = c.properties
        rejected = c.rejected_values("background")
        return ModelCapabilities(
            model=model,
            native_model=c.native,
            sizes=tuple(props["size"]["enum"]),
            flexible_sizes=False,
            qualities=tuple(props["quality"]["enum"]),
            backgrounds=tuple(v for v in props["background"]["enum"] if v not in rejected),
            output_formats=tuple(props["output_format"]["enum"]),
            moderations=(c.fixed("moderation"),),
            input_fidelities=(c.fixed("input_fidelity"),),
            max_n=int(c.fixed("n")),
            max_input_images=int(props["images"]["maxItems"]),
            mask=c.fixed("mask") is not None,
            output_compression=False,
        )

    def _check(self, request: CanonicalRequest, c: ModelContract) -> None:
        limit = c.max_length("prompt")
        if limit is not None and len(request.prompt) > limit:
            reason = f"OpenAI accepts at most {limit} characters"
            raise UnsupportedValue(PROVIDER, "prompt", f"<{len(request.prompt)} characters>", reason)
        for name in SCALAR_FIELDS:
            value = getattr(request, name)
            if value is None:
                continue
            allowed = [v for v in c.properties[name]["enum"] if v not in c.rejected_values(name)]
            if value not in allowed:
                reason = f"{c.native} accepts {allowed}"
                if value in c.rejected_values(name):
                    reason = (
                        f"{c.native} rejects it upstream (OpenAI, behind Cloudflare); use one of {allowed}"
                    )
                raise UnsupportedValue(PROVIDER, name, value, reason)
        for name in FIXED_FIELDS:
            value, fixed = getattr(request, name), c.fixed(name)
            if value is not None and value != fixed:
                reason = f"Cloudflare's input has no `{name}`; the upstream always applies {fixed!r}"
                raise UnsupportedValue(PROVIDER, name, value, reason)
        self._check_images(request.input_images, c)

    def _check_images(self, images: tuple[ImageInput, ...], c: ModelContract) -> None:
        limit = int(c.properties["images"]["maxItems"])
        if len(images) > limit:
            raise UnsupportedValue(PROVIDER, "input_images", len(images), f"at most {limit} images")
        for index, image in enumerate(images, start=1):
            if image.data is None:
                reason = f"image {index} is a URL; Cloudflare takes base64 images only"
                raise UnsupportedValue(PROVIDER, "input_images", image.url, reason)
            if image.mime is not None and image.mime not in c.accepted_media_types:
                reason = f"image {index} is {image.mime}; Cloudflare takes {list(c.accepted_media_types)}"
                raise UnsupportedValue(PROVIDER, "input_images", image.mime, reason)
            if image.width is None:
                raise UnsupportedValue(PROVIDER, "input_images", index, "the bytes are not a decodable image")

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Every unset field replaced by Cloudflare's default (the input schema's ``default`` for knobs,
        ``x-upstream-fixed`` for the rest). Raises ``UnsupportedValue``."""
        c = _contract(request.model)
        self._check(request, c)
        changes: dict[str, Any] = {}
        for name in SCALAR_FIELDS:
            if getattr(request, name) is None:
                changes[name] = c.properties[name]["default"]
        for name in FIXED_FIELDS:
            if getattr(request, name) is None:
                changes[name] = c.fixed(name)
        return request.with_(**changes)

    def to_native(self, request: CanonicalRequest, route: Route = "universal") -> NativeRequest:
        """The native request (universal endpoint by default, or the classic ``/ai/run/{model}`` route).

        Only the fields the caller set are sent (see the module docstring). The account id comes from
        ``request.extra["account_id"]`` (placeholder ``{account_id}`` otherwise). Raises ``UnsupportedValue``.
        """
        c = _contract(request.model)
        self.resolve(request)
        native_input: dict[str, Any] = {"prompt": request.prompt}
        for name in SCALAR_FIELDS:
            value = getattr(request, name)
            if value is not None:
                native_input[name] = value
        if request.input_images:
            native_input[NATIVE_NAMES["input_images"]] = [_image_string(i) for i in request.input_images]
        path_params = {"account_id": str(request.extra.get("account_id", ACCOUNT_PLACEHOLDER))}
        if route == "classic":
            return NativeRequest(PROVIDER, c.classic_operation, native_input, path_params=path_params)
        body = {"model": c.native, "input": native_input}
        return NativeRequest(PROVIDER, UNIVERSAL_OPERATION, body, path_params=path_params)

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """Parse either route's body. Raises ``ValueError`` for another provider or operation, an unknown
        model, a missing prompt, unknown input keys or an ``images`` entry that is not base64."""
        if native.provider != PROVIDER:
            raise ValueError(f"not a {PROVIDER} request: {native.provider}")
        contract, native_input = self._model_and_input(native)
        if not isinstance(native_input, dict):
            raise ValueError("the model input must be a JSON object")
        unknown = sorted(set(native_input) - set(contract.properties))
        if unknown:
            raise ValueError(f"unknown input keys {unknown}")
        prompt = native_input.get("prompt")
        if not isinstance(prompt, str):
            raise ValueError("prompt must be a string")
        entries = native_input.get(NATIVE_NAMES["input_images"], [])
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise ValueError("images must be a list of strings")
        extra = {"account_id": native.path_params["account_id"]} if "account_id" in native.path_params else {}
        return CanonicalRequest(
            model=contract.canonical,  # type: ignore[arg-type]
            prompt=prompt,
            quality=native_input.get("quality"),
            size=native_input.get("size"),
            background=native_input.get("background"),
            output_format=native_input.get("output_format"),
            input_images=tuple(parse_image(e) for e in entries),
            extra=extra,
        )

    @staticmethod
    def _model_and_input(native: NativeRequest) -> tuple[ModelContract, Any]:
        if native.operation_id == UNIVERSAL_OPERATION:
            body = native.body
            if not isinstance(body, dict):
                raise ValueError("the universal body must be a JSON object")
            contract = model_by_native(str(body.get("model")))
            if contract is None:
                raise ValueError(f"unknown model {body.get('model')!r}")
            return contract, body.get("input")
        for contract in models().values():
            if contract.classic_operation == native.operation_id:
                return contract, native.body
        raise ValueError(f"unknown operation {native.operation_id!r}")


DIALECT = CloudflareDialect()
