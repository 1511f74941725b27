"""Cloudflare Workers AI dialect: the ``openai/*`` GPT Image models of its contract on ``/ai/run``.

The models are the branches of the contract's universal request (contracts/openapi/cloudflare.yaml:
``openai/gpt-image-1.5``, ``openai/gpt-image-2``, ``openai/gpt-image-2.5-sunburst``); a canonical model with
no branch is not sold (``UnsupportedValue``). Native requests:

- universal endpoint, operation ``aiRun``: ``{"model": "openai/gpt-image-2", "input": {...}}``;
- classic route, one operation per model (``runGptImage2``...): the model input is the whole body.

Each model input is the catalog page's schema. gpt-image-2 has ``prompt``, ``images`` (base64 strings or
``data:image/...;base64,`` URIs), ``quality``, ``size`` (three fixed sizes or ``auto``), ``background`` and
``output_format``; gpt-image-2.5-sunburst the same fields, with the qualities ``xhigh`` and ``max`` and
transparent backgrounds. gpt-image-1.5 has ``prompt``, ``images``, ``quality``, ``size`` in the published
DALL-E-like enum (``256x256`` ... ``1024x1792``) and ``style``; the option ``cloudflare.gpt_image_15_schema``
can put OpenAI's own field set in force instead (``CloudflareDialect(schema="effective")``).

Canonical fields without a Cloudflare knob (``n``, ``moderation``, ``output_compression``,
``input_fidelity``, ``mask``; on gpt-image-1.5 also ``background`` and ``output_format``) are accepted only
with the value the upstream applies anyway (``x-upstream-fixed``). A knob the page gives no default for
takes the upstream's (``x-upstream-default``, e.g. size ``auto``), expressed by leaving the field out;
where the enum lacks that default (gpt-image-1.5 size ``auto``), a caller who sets it gets
``UnsupportedValue``, as Cloudflare answers the value 400 / 7003 (the emulator, ``pixelmock cost``).
Values Cloudflare's schema lets through but OpenAI rejects (``x-upstream-rejects``, e.g. a transparent
background on gpt-image-2, or with jpeg output on gpt-image-2.5-sunburst) raise ``UnsupportedValue`` too.
``style`` has no canonical counterpart: it travels in ``CanonicalRequest.extra["cloudflare"]``
(``x-native-only``). A canonical size is the native size as
sent; where OpenAI cannot render a published size (``1792x1024``), the quote bills the size OpenAI renders
instead (``x-upstream-sizes``, inferred) and says so.

``to_native`` resolves the request (to check it) but sends only the fields the caller set: an unset field
takes the same provider default on the wire, and the body stays as small as the documented examples.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, decode_image
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import (
    discriminator_values,
    inlined,
    model_branch,
    operation,
    request_schema,
    resolve,
)
from pixelmock.contracts.options import option
from pixelmock.contracts.pricing import LIKELY, Billing, Quote, quote

PROVIDER = "cloudflare"
#: operationId of the universal endpoint (``{"model", "input"}``).
UNIVERSAL_OPERATION = "aiRun"
#: Written into ``path_params`` when the canonical request carries no ``extra["account_id"]``, so that
#: ``NativeRequest.path`` shows the unfilled template (``/accounts/{account_id}/ai/run``).
ACCOUNT_PLACEHOLDER = "{account_id}"
#: Canonical fields whose native (model input) name differs.
NATIVE_NAMES = {"input_images": "images"}
#: Canonical fields that are plain input properties of the same name where the model has that knob.
SCALAR_FIELDS = ("quality", "size", "background", "output_format")
#: Canonical fields Cloudflare never has a knob for (values in the document's ``x-upstream-fixed``).
FIXED_FIELDS = ("n", "moderation", "output_compression", "input_fidelity", "mask")
#: Key of ``CanonicalRequest.extra`` holding native-only fields (``{"style": "vivid"}``).
EXTRA_KEY = PROVIDER
#: Key of ``CanonicalRequest.extra`` where ``resolve`` lists the fields it set to an upstream default the
#: model's enum lacks (gpt-image-1.5 ``size`` ``auto``): such a value is accepted only when ``resolve`` put it
#: there (the field was left out), never when the caller sets it, since Cloudflare refuses it as sent.
DEFAULTED_KEY = "cloudflare_upstream_defaults"

Route = Literal["universal", "classic"]


@dataclass(frozen=True)
class ModelContract:
    """One model as the document describes it: canonical and native ids, the classic-route operation, the
    (inlined) input schema in force, and the option that can swap that schema (``schema_option``, from
    ``x-alternative-schemas``; ``None`` where the model has one schema)."""

    canonical: str
    native: str
    classic_operation: str
    input_schema: dict[str, Any]
    schema_option: str | None = None

    @property
    def properties(self) -> dict[str, Any]:
        """The input schema's ``properties``."""
        props: dict[str, Any] = self.input_schema["properties"]
        return props

    @property
    def knobs(self) -> tuple[str, ...]:
        """The canonical scalar fields (``SCALAR_FIELDS``) the input has a property for."""
        return tuple(name for name in SCALAR_FIELDS if name in self.properties)

    @property
    def fixed_fields(self) -> tuple[str, ...]:
        """The canonical fields without a knob, whose value the upstream applies (``x-upstream-fixed``)."""
        return tuple(self.input_schema["x-upstream-fixed"])

    @property
    def native_only(self) -> tuple[str, ...]:
        """Native input properties with no canonical counterpart (``x-native-only``, e.g. ``style``)."""
        return tuple(name for name in self.input_schema.get("x-native-only", {}) if name != "x-source")

    def fixed(self, field: str) -> Any:
        """The value the upstream applies to a canonical field Cloudflare cannot set (x-upstream-fixed)."""
        return self.input_schema["x-upstream-fixed"][field]["value"]

    def default(self, field: str) -> Any:
        """The value an unset canonical field takes: the property's ``default``, else the upstream's
        (``x-upstream-default``), else the fixed value (``x-upstream-fixed``)."""
        if field in self.properties and "default" in self.properties[field]:
            return self.properties[field]["default"]
        upstream = self.input_schema.get("x-upstream-default", {})
        if field in upstream:
            return upstream[field]["value"]
        return self.fixed(field)

    def offered(self, field: str) -> tuple[Any, ...]:
        """The canonical values of a scalar field a caller may set: its enum minus the values OpenAI rejects;
        the fixed value for a field without a knob. An upstream default the enum lacks (gpt-image-1.5 size
        ``auto``) is not offered: Cloudflare answers it 400 / 7003 when sent; leaving the field out gets
        it."""
        if field not in self.properties:
            return (self.fixed(field),)
        rejected = self.rejected_values(field)
        return tuple(v for v in self.properties[field]["enum"] if v not in rejected)

    def unlisted_default(self, field: str) -> bool:
        """Whether the field's default (``x-upstream-default``) is a value its enum lacks."""
        return field in self.properties and self.default(field) not in self.properties[field]["enum"]

    def upstream_size(self, size: str) -> str | None:
        """The size OpenAI renders for a native ``size`` it cannot produce (``x-upstream-sizes``, an
        inference), or ``None`` where the size is rendered as sent."""
        mapped = self.input_schema.get("x-upstream-sizes", {}).get("map", {}).get(size)
        return None if mapped in (None, size) else str(mapped)

    def rejected_values(self, param: str) -> tuple[Any, ...]:
        """Values of a native input property that the upstream always rejects (``x-upstream-rejects`` rules
        without ``when``)."""
        return tuple(
            value
            for rule in self.input_schema.get("x-upstream-rejects", [])
            if rule["param"] == param and "when" not in rule
            for value in rule.get("values", [])
        )

    def combination_rejected(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """The first ``x-upstream-rejects`` rule with ``when`` (a value rejected only together with others,
        e.g. a transparent background with jpeg output) that ``values`` break, or ``None``. ``values``:
        native input properties; one left out takes its ``default``."""
        return next(
            (
                rule
                for rule in self.input_schema.get("x-upstream-rejects", [])
                if "when" in rule and _breaks(self.input_schema, rule, values)
            ),
            None,
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


def _breaks(schema: dict[str, Any], rule: dict[str, Any], native_input: dict[str, Any]) -> bool:
    """Whether a ``values`` rule of ``x-upstream-rejects`` holds for ``native_input``: the property holds one
    of ``values`` and each property of ``when`` one of its values (a property left out takes its
    ``default``)."""

    def value(name: str) -> Any:
        return native_input.get(name, schema["properties"].get(name, {}).get("default"))

    if rule["param"] not in native_input or value(rule["param"]) not in rule["values"]:
        return False
    return all(value(name) in allowed for name, allowed in rule.get("when", {}).items())


def default_schema(schema_option: str) -> str:
    """The default value of the contract option that picks a model's input schema (``published``)."""
    return str(option(schema_option).default)


@cache
def models(schema: str | None = None) -> dict[str, ModelContract]:
    """Every model of the document, keyed by canonical id (``gpt-image-2``), with the input schema named
    ``schema`` in force where the model has alternatives (``x-alternative-schemas``; ``None``: the option's
    default, which is the schema the paths reference). Raises ``ValueError`` for a schema name that is
    neither the default nor an alternative."""
    universal = request_schema(PROVIDER, UNIVERSAL_OPERATION)
    classic = classic_operations()
    out: dict[str, ModelContract] = {}
    for native in discriminator_values(universal):
        branch = model_branch(PROVIDER, universal, native)
        assert branch is not None
        input_schema: dict[str, Any] = branch["properties"]["input"]
        alternatives = input_schema.get("x-alternative-schemas")
        schema_option = None if alternatives is None else str(alternatives["option"])
        if alternatives is not None and schema is not None and schema != default_schema(str(schema_option)):
            if schema not in alternatives["schemas"]:
                raise ValueError(f"{native}: no input schema {schema!r}")
            input_schema = resolve(PROVIDER, {"$ref": alternatives["schemas"][schema]})
        canonical = str(input_schema["x-canonical-model"])
        out[canonical] = ModelContract(canonical, native, classic[native], input_schema, schema_option)
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


def model_by_native(native: str, schema: str | None = None) -> ModelContract | None:
    """The model whose native id is ``native`` (``openai/gpt-image-2``), or ``None`` (``schema``: as in
    ``models``)."""
    return next((m for m in models(schema).values() if m.native == native), None)


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
    """The MIME type Pillow reads from image bytes (``image/png``...), or ``None`` when they do not decode
    in full within the pixel budget (``pixelmock.contracts.canonical.decode_image``)."""
    decoded = decode_image(data)
    return None if decoded is None else decoded.mime


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
    """A rule of ``x-upstream-rejects`` that a native input breaks, with the values for its upstream error's
    placeholders (``value``; ``length`` and ``limit``; ``index``, 1-based, and ``position``, 0-based)."""

    rule: dict[str, Any]
    params: dict[str, Any]


def upstream_rejection(schema: dict[str, Any], native_input: dict[str, Any]) -> UpstreamRejection | None:
    """The first ``x-upstream-rejects`` rule of an input schema that ``native_input`` breaks, or ``None``.

    Rule kinds: ``values`` (the property holds one of them; with ``when``, only while each property named
    there holds one of its values, a property left out taking its ``default``), ``max_length`` (a longer
    string), and ``invalid_image`` (an ``images`` entry that is not base64 of an accepted image; ``index``
    is 1-based, ``position`` 0-based). The answer is the rule's ``upstream-error``
    (``pixelmock.contracts.upstream``).
    """
    accepted = tuple(
        schema["properties"].get("images", {}).get("items", {}).get("x-accepted-media-types", ())
    )
    for rule in schema.get("x-upstream-rejects", []):
        param = rule["param"]
        if param not in native_input:
            continue
        value = native_input[param]
        if "values" in rule and _breaks(schema, rule, native_input):
            return UpstreamRejection(rule, {"value": value})
        if "max_length" in rule and isinstance(value, str) and len(value) > int(rule["max_length"]):
            return UpstreamRejection(rule, {"length": len(value), "limit": int(rule["max_length"])})
        if rule.get("invalid_image") and isinstance(value, list):
            for index, entry in enumerate(value, start=1):
                if not isinstance(entry, str) or not image_entry_ok(entry, accepted):
                    return UpstreamRejection(rule, {"index": index, "position": index - 1})
    return None


# --- the dialect ---------------------------------------------------------------------------------------


class CloudflareDialect(Dialect):
    """Canonical <-> Cloudflare Workers AI (see the module docstring). ``schema`` names the gpt-image-1.5
    input schema in force (an alternative of ``cloudflare.gpt_image_15_schema``; ``None``: its default)."""

    provider = PROVIDER

    def __init__(self, schema: str | None = None) -> None:
        self.schema = schema

    def model(self, model: str) -> ModelContract:
        """The contract of a canonical model. Raises ``UnsupportedValue`` for one Cloudflare does not sell."""
        contract = models(self.schema).get(model)
        if contract is None:
            offered = ", ".join(sorted(models(self.schema)))
            reason = f"not sold by Cloudflare Workers AI (no catalog page found); it sells {offered}"
            raise UnsupportedValue(PROVIDER, "model", model, reason)
        return contract

    def upstream_shutdown(self, model: str) -> dict[str, Any] | None:
        """The model's input schema's ``x-upstream-shutdown`` (OpenAI's date, which Cloudflare's proxy
        follows), or ``None``. Raises ``UnsupportedValue`` for a model Cloudflare does not sell."""
        rule: dict[str, Any] | None = self.model(model).input_schema.get("x-upstream-shutdown")
        return rule

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the model's input schema; ``UnsupportedValue`` for a model Cloudflare does not sell."""
        c = self.model(model)
        return ModelCapabilities(
            model=model,
            native_model=c.native,
            sizes=c.offered("size"),
            flexible_sizes=False,
            qualities=c.offered("quality"),
            backgrounds=c.offered("background"),
            output_formats=c.offered("output_format"),
            moderations=(c.fixed("moderation"),),
            input_fidelities=(c.fixed("input_fidelity"),),
            max_n=int(c.fixed("n")),
            max_input_images=int(c.properties["images"]["maxItems"]),
            mask=c.fixed("mask") is not None,
            output_compression=False,
        )

    def _check(self, request: CanonicalRequest, c: ModelContract) -> None:
        limit = c.max_length("prompt")
        if limit is not None and len(request.prompt) > limit:
            reason = f"OpenAI accepts at most {limit} characters"
            raise UnsupportedValue(PROVIDER, "prompt", f"<{len(request.prompt)} characters>", reason)
        defaulted = request.extra.get(DEFAULTED_KEY, ())
        for name in c.knobs:
            value = getattr(request, name)
            allowed = c.offered(name)
            if value is None or value in allowed:
                continue
            if name in defaulted and value == c.default(name):
                continue  # set by resolve for a field left out: the upstream's own default
            listed = ", ".join(str(v) for v in allowed)
            reason = f"{c.native} accepts {listed}"
            if c.unlisted_default(name) and value == c.default(name):
                reason = (
                    f"{c.native} accepts {listed} (Cloudflare answers {value} 400 / 7003); leave {name} out "
                    f"for the upstream default ({value})"
                )
            elif value in c.rejected_values(name):
                reason = f"{c.native} rejects it upstream (OpenAI, behind Cloudflare); use one of {listed}"
            raise UnsupportedValue(PROVIDER, name, value, reason)
        set_values = {name: getattr(request, name) for name in c.knobs if getattr(request, name) is not None}
        rule = c.combination_rejected(set_values)
        if rule is not None:
            together = ", ".join(f"{name} {set_values.get(name, c.default(name))}" for name in rule["when"])
            reason = f"{c.native} rejects it upstream with {together} (OpenAI, behind Cloudflare): "
            reason += str(rule["reason"])
            raise UnsupportedValue(PROVIDER, rule["param"], set_values[rule["param"]], reason)
        for name in c.fixed_fields:
            value, fixed = getattr(request, name), c.fixed(name)
            if value is not None and value != fixed:
                reason = f"{c.native} has no `{name}` input; the upstream always applies {fixed}"
                raise UnsupportedValue(PROVIDER, name, value, reason)
        self._check_native_only(request, c)
        self._check_images(request.input_images, c)

    def _check_native_only(self, request: CanonicalRequest, c: ModelContract) -> None:
        extra = request.extra.get(EXTRA_KEY, {})
        if not isinstance(extra, dict):
            raise UnsupportedValue(PROVIDER, f"extra.{EXTRA_KEY}", extra, "must be a dict of native fields")
        for name, value in extra.items():
            field = f"extra.{EXTRA_KEY}.{name}"
            if name not in c.native_only:
                native_only = ", ".join(c.native_only) or "none"
                raise UnsupportedValue(
                    PROVIDER, field, value, f"{c.native} has native-only fields: {native_only}"
                )
            allowed = c.properties[name]["enum"]
            if value not in allowed:
                listed = ", ".join(str(v) for v in allowed)
                raise UnsupportedValue(PROVIDER, field, value, f"{c.native} accepts {listed}")

    def _check_images(self, images: tuple[ImageInput, ...], c: ModelContract) -> None:
        limit = int(c.properties["images"]["maxItems"])
        if len(images) > limit:
            raise UnsupportedValue(PROVIDER, "input_images", len(images), f"at most {limit} images")
        for index, image in enumerate(images, start=1):
            if image.data is None:
                reason = f"image {index} is a URL; Cloudflare takes base64 images only"
                raise UnsupportedValue(PROVIDER, "input_images", image.url, reason)
            if image.mime is not None and image.mime not in c.accepted_media_types:
                reason = (
                    f"image {index} is {image.mime}; Cloudflare takes {', '.join(c.accepted_media_types)}"
                )
                raise UnsupportedValue(PROVIDER, "input_images", image.mime, reason)
            if image.width is None:
                raise UnsupportedValue(PROVIDER, "input_images", index, "the bytes are not a decodable image")

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Every unset field replaced by Cloudflare's default (``ModelContract.default``: the input schema's
        ``default``, ``x-upstream-default``, ``x-upstream-fixed``). A default the enum lacks (gpt-image-1.5
        size ``auto``) is noted in ``extra[DEFAULTED_KEY]``, so that resolving again accepts it while a caller
        who sets it gets ``UnsupportedValue``, as Cloudflare answers it 400 / 7003. Raises
        ``UnsupportedValue``."""
        c = self.model(request.model)
        self._check(request, c)
        unset = [name for name in (*c.knobs, *c.fixed_fields) if getattr(request, name) is None]
        changes: dict[str, Any] = {name: c.default(name) for name in unset}
        defaulted = tuple(name for name in unset if c.unlisted_default(name))
        if defaulted:
            before = tuple(request.extra.get(DEFAULTED_KEY, ()))
            changes["extra"] = {**request.extra, DEFAULTED_KEY: (*before, *defaulted)}
        return request.with_(**changes)

    def quote(self, request: CanonicalRequest, on: dt.date | None = None, billing: Billing = LIKELY) -> Quote:
        """Resolve, then price. A published size OpenAI cannot render (gpt-image-1.5 ``1792x1024``) is billed
        as the size OpenAI renders for it (``x-upstream-sizes``, inferred); the quote keeps the resolved
        request as sent and notes the estimate. Raises ``UnsupportedValue``."""
        resolved = self.resolve(request)
        upstream = self.model(resolved.model).upstream_size(str(resolved.size))
        if upstream is None:
            return quote(PROVIDER, resolved, on, billing)
        priced = quote(PROVIDER, resolved.with_(size=upstream), on, billing)
        note = (
            f"size {resolved.size} quoted as {upstream}, the gpt-image-1.5 size of the same orientation "
            "(estimate: what Cloudflare sends upstream is not published)"
        )
        return replace(priced, resolved=resolved, notes=(*priced.notes, note))

    def to_native(self, request: CanonicalRequest, route: Route = "universal") -> NativeRequest:
        """The native request (universal endpoint by default, or the classic ``/ai/run/{model}`` route).

        Only the fields the caller set are sent (see the module docstring); a knob ``resolve`` set to the
        upstream default its enum lacks (size ``auto`` on gpt-image-1.5, ``DEFAULTED_KEY``) is left out, and
        the caller setting it gets ``UnsupportedValue``. The account id comes from
        ``request.extra["account_id"]`` (placeholder ``{account_id}`` otherwise). Raises ``UnsupportedValue``.
        """
        c = self.model(request.model)
        self.resolve(request)
        native_input: dict[str, Any] = {"prompt": request.prompt}
        for name in c.knobs:
            value = getattr(request, name)
            if value is not None and value in c.properties[name]["enum"]:
                native_input[name] = value
        native_input.update(request.extra.get(EXTRA_KEY, {}))
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
        extra: dict[str, Any] = {}
        if "account_id" in native.path_params:
            extra["account_id"] = native.path_params["account_id"]
        native_only = {name: native_input[name] for name in contract.native_only if name in native_input}
        if native_only:
            extra[EXTRA_KEY] = native_only
        return CanonicalRequest(
            model=contract.canonical,
            prompt=prompt,
            input_images=tuple(parse_image(e) for e in entries),
            extra=extra,
            **{name: native_input.get(name) for name in contract.knobs},
        )

    def _model_and_input(self, native: NativeRequest) -> tuple[ModelContract, Any]:
        if native.operation_id == UNIVERSAL_OPERATION:
            body = native.body
            if not isinstance(body, dict):
                raise ValueError("the universal body must be a JSON object")
            contract = model_by_native(str(body.get("model")), self.schema)
            if contract is None:
                raise ValueError(f"unknown model {body.get('model')!r}")
            return contract, body.get("input")
        for contract in models(self.schema).values():
            if contract.classic_operation == native.operation_id:
                return contract, native.body
        raise ValueError(f"unknown operation {native.operation_id!r}")


@cache
def dialect_for(schema: str | None) -> CloudflareDialect:
    """The dialect with the gpt-image-1.5 input schema ``schema`` in force (``None``: the default)."""
    return CloudflareDialect(schema)


DIALECT = dialect_for(None)
