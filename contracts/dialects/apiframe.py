"""Apiframe v2 dialect: ``POST /v2/images/generate`` with ``gptImageParams`` / ``gptImage2Params``.

Native shape (contracts/openapi/apiframe.yaml, operation ``generateImage``)::

    {"prompt": str, "model": "gpt-image-1.5" | "gpt-image-2",
     "webhookUrl"?: uri, "webhookEvents"?: [...],
     "<params key>": {"quality", "aspect_ratio", "output_format", "background", "input_images",
                      "number_of_images", "input_fidelity" (1.5 only), "moderation" (2 only)}}

Canonical <-> native: ``n`` is ``number_of_images``; ``size`` is one of the pixel sizes the contract maps
the aspect ratios to (``x-pixel-sizes``: 1:1 -> 1024x1024, 3:2 -> 1536x1024, 2:3 -> 1024x1536, inferred);
input images are URLs only. Apiframe has no knob for ``output_compression`` or ``mask`` (any value is an
error), nor for gpt-image-1.5 ``moderation`` or gpt-image-2 ``input_fidelity``: the behaviour the contract
records in ``x-fixed`` (``auto`` / ``high``) is accepted and filled in by ``resolve``, anything else is an
error. The native ``webhookUrl`` / ``webhookEvents`` ride in ``CanonicalRequest.extra`` under those names.
Every enum, range and default is read from the contract.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest, offered_values
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import discriminator_values, model_branch, request_schema

PROVIDER = "apiframe"
OPERATION = "generateImage"

#: Canonical field -> native key inside the params block (names only; values come from the contract).
PARAM_NAMES: dict[str, str] = {
    "quality": "quality",
    "background": "background",
    "output_format": "output_format",
    "moderation": "moderation",
    "input_fidelity": "input_fidelity",
    "n": "number_of_images",
    "size": "aspect_ratio",
    "input_images": "input_images",
}
#: Canonical fields that map to a native enum of the same values.
ENUM_FIELDS = ("quality", "background", "output_format", "moderation", "input_fidelity")
#: Top-level native fields that are neither the prompt, the model nor the params block.
BODY_FIELDS = ("prompt", "model")


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (how Zod, and so Apiframe, counts string lengths)."""
    return len(text.encode("utf-16-le")) // 2


@cache
def generate_schema() -> dict[str, Any]:
    """The inlined request schema of ``generateImage`` (the discriminated ``oneOf``)."""
    return request_schema(PROVIDER, OPERATION)


def branch(model: str) -> dict[str, Any]:
    """The request schema of one native model id. Raises ``KeyError`` for a model outside the contract."""
    found = model_branch(PROVIDER, generate_schema(), model)
    if found is None:
        raise KeyError(model)
    return found


def params_key(model: str) -> str:
    """Name of the model's parameter block (``gptImageParams`` / ``gptImage2Params``), read from the
    contract: the branch's only object-typed property."""
    props: dict[str, Any] = branch(model)["properties"]
    return next(name for name, schema in props.items() if schema.get("type") == "object")


def params_schema(model: str) -> dict[str, Any]:
    """The inlined schema of the model's parameter block."""
    return cast(dict[str, Any], branch(model)["properties"][params_key(model)])


def pixel_sizes(model: str) -> dict[str, str]:
    """Aspect ratio -> ``WxH`` pixel size (contract ``x-pixel-sizes``), in the contract's enum order."""
    prop = params_schema(model)["properties"]["aspect_ratio"]
    return {ratio: str(prop["x-pixel-sizes"][ratio]) for ratio in prop["enum"]}


def fixed(model: str) -> dict[str, Any]:
    """Behaviour without a knob, in canonical terms (contract ``x-fixed``; ``x-`` keys dropped)."""
    block = params_schema(model).get("x-fixed", {})
    return {k: v for k, v in block.items() if not k.startswith("x-")}


class ApiframeDialect(Dialect):
    """Canonical <-> Apiframe v2 (see the module docstring)."""

    provider = PROVIDER

    def _model(self, model: str) -> str:
        if model not in discriminator_values(generate_schema()):
            raise UnsupportedValue(self.provider, "model", model, "Apiframe v2 does not offer this model")
        return model

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the contract's branch for ``model``. Raises ``UnsupportedValue`` for another model."""
        self._model(model)
        props = params_schema(model)["properties"]
        keep = fixed(model)

        def values(field: str) -> tuple[str, ...]:
            return offered_values(props.get(PARAM_NAMES[field]), keep, field)

        return ModelCapabilities(
            model=model,
            native_model=model,
            sizes=tuple(pixel_sizes(model).values()),
            flexible_sizes=False,
            qualities=values("quality"),
            backgrounds=values("background"),
            output_formats=values("output_format"),
            moderations=values("moderation"),
            input_fidelities=values("input_fidelity"),
            max_n=int(props["number_of_images"]["maximum"]),
            max_input_images=int(props["input_images"]["x-upstream-max-items"]),
            mask=False,
            output_compression=False,
        )

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Fill Apiframe's documented defaults (contract ``default:`` and ``x-fixed``).

        Raises ``UnsupportedValue`` (field named) for: another model; a prompt outside 1-2000 UTF-16 units;
        ``n`` outside 1-10; a size other than the three aspect-ratio sizes (``auto`` included); a value
        outside a model's enum (e.g. gpt-image-2 ``transparent``); any ``output_compression`` or ``mask``;
        an input image given as bytes (Apiframe takes URLs) or more than 16 of them.
        """
        model = self._model(request.model)
        caps = self.capabilities(model)
        props = params_schema(model)["properties"]
        keep = fixed(model)
        self._check_prompt(model, request.prompt)
        changes: dict[str, Any] = {}
        for field in ENUM_FIELDS:
            native = props.get(PARAM_NAMES[field])
            value = getattr(request, field)
            if value is None:
                value = native.get("default") if native is not None else keep.get(field)
            allowed = getattr(caps, _CAPS[field])
            if value is not None and value not in allowed:
                why = f"{model} accepts {list(allowed)}"
                if native is None:
                    always = f"; it always uses {allowed[0]}" if allowed else ""
                    why = f"{model} has no {field} parameter{always}"
                raise UnsupportedValue(self.provider, field, value, why)
            changes[field] = value
        n = request.n if request.n is not None else int(props["number_of_images"]["default"])
        low, high = int(props["number_of_images"]["minimum"]), caps.max_n
        if not low <= n <= high:
            raise UnsupportedValue(self.provider, "n", n, f"number_of_images must be {low}-{high}")
        changes["n"] = n
        sizes = pixel_sizes(model)
        size = request.size or sizes[str(props["aspect_ratio"]["default"])]
        if size not in caps.sizes:
            why = f"only the aspect ratios {sizes} can be asked for"
            raise UnsupportedValue(self.provider, "size", size, why)
        changes["size"] = size
        if request.output_compression is not None:
            value = request.output_compression
            raise UnsupportedValue(self.provider, "output_compression", value, "Apiframe has no such knob")
        if request.mask is not None:
            raise UnsupportedValue(self.provider, "mask", "<image>", "Apiframe takes no mask for GPT Image")
        self._check_images(request.input_images, caps.max_input_images)
        return request.with_(**changes)

    def _check_prompt(self, model: str, prompt: str) -> None:
        prop = branch(model)["properties"]["prompt"]
        length = utf16_length(prompt)
        if not int(prop["minLength"]) <= length <= int(prop["maxLength"]):
            limits = f"{prop['minLength']}-{prop['maxLength']}"
            raise UnsupportedValue(self.provider, "prompt", f"<{length} UTF-16 units>", f"must be {limits}")

    def _check_images(self, images: tuple[ImageInput, ...], limit: int) -> None:
        for image in images:
            if image.url is None:
                why = "Apiframe takes image URLs only (upload the file first, e.g. POST /v2/uploads)"
                raise UnsupportedValue(self.provider, "input_images", "<bytes>", why)
        if len(images) > limit:
            why = f"the upstream model accepts at most {limit} input images (the job would fail)"
            raise UnsupportedValue(self.provider, "input_images", len(images), why)

    def to_native(self, request: CanonicalRequest) -> NativeRequest:
        """The ``generateImage`` body, with every parameter explicit (resolved first)."""
        resolved = self.resolve(request)
        model = resolved.model
        props = params_schema(model)["properties"]
        ratio_of = {size: ratio for ratio, size in pixel_sizes(model).items()}
        field_of = {native: field for field, native in PARAM_NAMES.items()}
        params: dict[str, Any] = {}
        for native in props:
            field = field_of[native]
            value: Any = getattr(resolved, field)
            if field == "size":
                value = ratio_of[value]
            elif field == "input_images":
                value = [image.url for image in value] or None
            if value is not None:
                params[native] = value
        body: dict[str, Any] = {"prompt": resolved.prompt, "model": model}
        for name in branch(model)["properties"]:
            if name not in BODY_FIELDS and name != params_key(model) and name in resolved.extra:
                body[name] = resolved.extra[name]
        body[params_key(model)] = params
        return NativeRequest(self.provider, OPERATION, body)

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """Parse a ``generateImage`` body; absent parameters stay ``None``.

        Raises ``ValueError`` for another operation, a body that is not an object, or an unknown model.
        """
        body = native.body
        if native.operation_id != OPERATION or not isinstance(body, dict):
            raise ValueError(f"{self.provider}: not a {OPERATION} request")
        model = body.get("model")
        if not isinstance(model, str) or model not in discriminator_values(generate_schema()):
            raise ValueError(f"{self.provider}: unknown model {model!r}")
        raw = body.get(params_key(model)) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{self.provider}: {params_key(model)} is not an object")
        fields: dict[str, Any] = {}
        for field, name in PARAM_NAMES.items():
            if raw.get(name) is None:
                continue
            value = raw[name]
            if field == "size":
                value = pixel_sizes(model).get(value, value)
            elif field == "input_images":
                value = tuple(ImageInput(url=url) for url in value)
            elif isinstance(value, float) and value.is_integer():
                value = int(value)  # JSON's 2.0 is the integer 2 (the contract's type: integer accepts it)
            fields[field] = value
        extra = {
            name: body[name]
            for name in branch(model)["properties"]
            if name not in BODY_FIELDS and name != params_key(model) and name in body
        }
        prompt = str(body.get("prompt", ""))
        return CanonicalRequest(model=model, prompt=prompt, extra=extra, **fields)


#: Canonical field -> ``ModelCapabilities`` attribute listing its accepted values.
_CAPS = {
    "quality": "qualities",
    "background": "backgrounds",
    "output_format": "output_formats",
    "moderation": "moderations",
    "input_fidelity": "input_fidelities",
}

DIALECT = ApiframeDialect()
