"""Runware REST: one ``imageInference`` task in a JSON array <-> the canonical request.

Every enum, range, default and canonical spelling comes from ``contracts/openapi/runware.yaml`` (the
``ImageInferenceGptImage15`` and ``ImageInferenceGptImage2`` schemas): ``default:`` values, the
``x-canonical-model`` and ``x-canonical-values`` names, ``x-allowed-sizes`` / ``x-size-rules`` and
``x-upstream-defaults`` (values the model applies where Runware has no knob).

Shape of the native request (``operation_id="runTasks"``, ``POST /`` relative to https://api.runware.ai/v1)::

    [{"taskType": "imageInference", "taskUUID": "<uuid>", "model": "openai:4@1",
      "positivePrompt": "...", "width": 1536, "height": 1024, "numberResults": 1,
      "outputFormat": "JPG", "outputQuality": 95,
      "providerSettings": {"openai": {"quality": "high", "background": "opaque"}},
      "inputs": {"referenceImages": ["https://...", "data:image/png;base64,..."]}}]

Mapping: prompt <-> positivePrompt; n <-> numberResults; size ``WxH`` <-> width/height (``auto`` <-> both
left out, where the model allows it); quality/background/moderation <-> providerSettings.openai (or
``settings``, where the model's schema has it); output_format png/jpeg/webp <-> outputFormat
PNG/JPG/WEBP; output_compression <-> outputQuality (20-99); input_images <-> inputs.referenceImages (read
from the top-level ``referenceImages`` too, where the model's schema has it). A Runware image UUID given
as a reference image is kept verbatim in ``ImageInput.url``.

Options: a model's schema may list ``x-variants``, the schema under each value of a contract option
(``x-options``, e.g. ``runware.gpt_image_2_parameters``). ``DIALECT`` speaks the schema of the default
values; ``RunwareDialect(choices)`` the one of other values (``variant``), as the emulator does with the
values in force.

Runware-only task fields (``taskUUID``, ``outputType``, ``deliveryMethod``, ``webhookURL``,
``uploadEndpoint``, ``safety``, ``ttl``, ``includeCost``) travel in ``CanonicalRequest.extra["runware"]``:
``from_native`` puts them there and ``to_native`` writes them back, so native -> canonical -> native is
stable. Without a ``taskUUID`` there, ``to_native`` draws a fresh UUID4 (Runware requires a unique one per
task).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, format_size, parse_size
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest, offered_values
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import discriminator_values, model_branch, request_schema, validate
from pixelmock.contracts.sizes import SizeRules

PROVIDER = "runware"
RUN = "runTasks"
TASK_TYPE = "imageInference"
EXTRA_KEY = "runware"

#: Native task fields with no canonical counterpart; they travel in ``extra["runware"]``.
TRANSPORT_FIELDS = (
    "taskUUID",
    "outputType",
    "deliveryMethod",
    "webhookURL",
    "uploadEndpoint",
    "safety",
    "ttl",
    "includeCost",
)
#: Provider settings (``providerSettings.openai`` or ``settings``) that are canonical fields of the same name.
_SETTINGS = ("quality", "background", "moderation")
#: Where a model's settings live, in the order ``to_native`` prefers: the documented
#: ``providerSettings.openai``, then ``settings`` (runware-sdk 1.8.0's form for openai:gpt-image@2).
_SETTINGS_BLOCKS: tuple[tuple[str, ...], ...] = (("providerSettings", "openai"), ("settings",))
#: Option values for ``variant``: ``(option name, value)`` pairs, sorted by name.
Choices = tuple[tuple[str, Any], ...]
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@cache
def task_schema() -> dict[str, Any]:
    """The inlined ``Task`` schema (``oneOf`` discriminated by ``taskType``)."""
    items: dict[str, Any] = request_schema(PROVIDER, RUN)["items"]
    return items


def task_type_schema(task_type: object) -> dict[str, Any] | None:
    """The inlined schema of one task type (``imageInference`` is itself discriminated by ``model``),
    or ``None`` for a task type the contract does not describe."""
    return model_branch(PROVIDER, task_schema(), task_type)


@cache
def inference_schema() -> dict[str, Any]:
    """The inlined ``ImageInferenceTask`` schema (``oneOf`` discriminated by ``model``)."""
    schema = task_type_schema(TASK_TYPE)
    assert schema is not None, "runware.yaml lacks the imageInference task"
    return schema


def native_models() -> list[str]:
    """The model AIRs the contract describes (``openai:4@1``, ``openai:gpt-image@2``)."""
    return discriminator_values(inference_schema())


def branch(native_model: object) -> dict[str, Any] | None:
    """The inlined request schema of one model AIR, or ``None`` for an unknown one."""
    return model_branch(PROVIDER, inference_schema(), native_model)


def variant(native: object, choices: Choices = ()) -> dict[str, Any] | None:
    """The inlined request schema of model AIR ``native`` under the option values ``choices`` (options
    left out keep their default): the schema with the patches its ``x-variants`` give for those values
    (keys set; ``properties`` merged, ``null`` removing one). Options the model has no variants for are
    ignored. ``None`` for an unknown AIR; raises ``ValueError`` for a value the contract does not list."""
    return _variant(native, choices) if isinstance(native, str) else None


@cache
def _variant(native: str, choices: Choices) -> dict[str, Any] | None:
    schema = branch(native)
    if schema is None:
        return None
    patched = dict(schema)
    for name, value in choices:
        patches: dict[Any, Any] = schema.get("x-variants", {}).get(name, {})
        if not patches:
            continue
        if value not in patches:
            raise ValueError(f"option {name}: {value!r} is not one of {', '.join(map(str, patches))}")
        for key, change in patches[value].items():
            if key != "properties":
                patched[key] = change
                continue
            props = dict(patched["properties"])
            for prop, spec in change.items():
                if spec is None:
                    props.pop(prop, None)
                else:
                    props[prop] = spec
            patched["properties"] = props
    return patched


def variant_options(native: object) -> tuple[str, ...]:
    """The options that change model AIR ``native``'s schema (its ``x-variants``)."""
    return tuple((branch(native) or {}).get("x-variants", {}))


@cache
def native_model(model: str) -> str:
    """The AIR of a canonical model. Raises ``UnsupportedValue`` if Runware's contract lacks it."""
    for air in native_models():
        schema = branch(air)
        if schema is not None and schema.get("x-canonical-model") == model:
            return air
    raise UnsupportedValue(PROVIDER, "model", model, "Runware's contract describes no such model")


def canonical_model(air: object) -> str:
    """The canonical model of an AIR. Raises ``ValueError`` for an unknown AIR."""
    schema = branch(air)
    if schema is None:
        raise ValueError(f"runware: unknown model {air!r}")
    return str(schema["x-canonical-model"])


def _schema(model: str, choices: Choices) -> dict[str, Any]:
    schema = variant(native_model(model), choices)
    assert schema is not None
    return schema


def _props(model: str, choices: Choices = ()) -> dict[str, Any]:
    props: dict[str, Any] = _schema(model, choices)["properties"]
    return props


def _settings_blocks(schema: dict[str, Any]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """``(path, properties)`` of each settings block the schema has, in ``_SETTINGS_BLOCKS`` order."""
    found = []
    for path in _SETTINGS_BLOCKS:
        node: dict[str, Any] | None = schema
        for part in path:
            node = None if node is None else node.get("properties", {}).get(part)
        if node is not None:
            found.append((path, node["properties"]))
    return found


def _setting_props(model: str, choices: Choices = ()) -> dict[str, Any]:
    """Canonical setting name -> its property schema, over every settings block of the schema."""
    merged: dict[str, Any] = {}
    for _, props in reversed(_settings_blocks(_schema(model, choices))):
        merged.update(props)
    return merged


def _upstream(model: str, choices: Choices = ()) -> dict[str, Any]:
    block = _schema(model, choices).get("x-upstream-defaults", {})
    return {k: v for k, v in block.items() if not k.startswith("x-")}


@cache
def _format_names(model: str) -> dict[str, str]:
    """Native outputFormat -> canonical output_format."""
    names: dict[str, str] = _props(model)["outputFormat"]["x-canonical-values"]
    return names


def allowed_sizes(native: object) -> tuple[str, ...] | None:
    """The fixed ``WxH`` sizes of a model AIR (``x-allowed-sizes``), or ``None`` when its sizes are
    flexible."""
    schema = branch(native) or {}
    block = schema.get("x-allowed-sizes")
    return tuple(block["sizes"]) if block else None


def size_rules(native: object) -> SizeRules | None:
    """The flexible-size rules of a model AIR (``x-size-rules``), or ``None`` for fixed sizes."""
    schema = branch(native) or {}
    block = schema.get("x-size-rules")
    return SizeRules.from_extension(block) if block else None


def size_problem(native: object, width: int, height: int) -> str | None:
    """Why ``width`` x ``height`` (pixels) is not a size model AIR ``native`` accepts, or ``None``.

    Checks the per-edge schema (enum or range and step) and the pair rules of the contract.
    """
    schema = branch(native)
    if schema is None:
        return f"unknown model {native!r}"
    fixed = allowed_sizes(native)
    if fixed is not None:
        if format_size(width, height) not in fixed:
            return f"supported sizes are {', '.join(fixed)}"
        return None
    props = schema["properties"]
    for name, value in (("width", width), ("height", height)):
        prop = props[name]
        low, high, step = prop.get("minimum"), prop.get("maximum"), prop.get("multipleOf")
        if (
            (low is not None and value < low)
            or (high is not None and value > high)
            or (step and value % step)
        ):
            return f"{name} must be between {low} and {high} in steps of {step}"
    rules = size_rules(native)
    return rules.violation(width, height) if rules else None


def reference_image(value: str) -> ImageInput:
    """A Runware reference image string as an ``ImageInput``: an image UUID (kept in ``url``), an http(s)
    URL, a data URI or bare base64. Raises ``ValueError`` for anything else."""
    if _UUID.match(value):
        return ImageInput(url=value)
    return ImageInput.from_string(value)


class RunwareDialect(Dialect):
    """Runware's REST dialect for ``openai:4@1`` (gpt-image-1.5) and ``openai:gpt-image@2`` (gpt-image-2).
    Sources: https://runware.ai/docs/models/openai-gpt-image-1-5 and /openai-gpt-image-2 (read 2026-11-21)."""

    provider: ClassVar[str] = PROVIDER

    def __init__(self, choices: Mapping[str, Any] | None = None) -> None:
        """``choices``: values of the contract options with ``x-variants`` (name -> value); the options
        left out keep their contract default."""
        self.choices: Choices = tuple(sorted((choices or {}).items(), key=lambda pair: pair[0]))

    def capabilities(self, model: str) -> ModelCapabilities:
        """Read from the model's schema. Raises ``UnsupportedValue`` for a model Runware's contract lacks."""
        air = native_model(model)
        props = _props(model, self.choices)
        settings = _setting_props(model, self.choices)
        implicit = _upstream(model, self.choices)

        def values(name: str) -> tuple[str, ...]:
            return offered_values(settings.get(name), implicit, name)

        fixed = allowed_sizes(air)
        absent = _size_absent(air, self.choices)
        sizes = (*(fixed or ()), *((str(absent),) if absent else ()))
        return ModelCapabilities(
            model=model,
            native_model=air,
            sizes=sizes,
            flexible_sizes=fixed is None,
            qualities=values("quality"),
            backgrounds=values("background"),
            output_formats=tuple(_format_names(model)[v] for v in props["outputFormat"]["enum"]),
            moderations=values("moderation"),
            input_fidelities=values("input_fidelity"),
            max_n=int(props["numberResults"]["maximum"]),
            max_input_images=int(props["inputs"]["properties"]["referenceImages"]["maxItems"]),
            mask=False,
            output_compression="outputQuality" in props,
        )

    # -- canonical -> resolved -------------------------------------------------------------------------

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """Fill Runware's documented defaults from the document (n 1, quality auto, background auto on
        gpt-image-1.5, output_format jpeg, output_compression 95, size auto = width/height left out) and
        the upstream values where Runware has no knob (moderation auto on gpt-image-1.5, background
        auto on gpt-image-2, input_fidelity low / high).

        Raises ``UnsupportedValue`` (provider ``runware``) for: a model the contract lacks; a prompt
        outside 2-32000 characters; a size the model does not offer; any enum value or range the schema
        refuses; a value for a field without a knob other than the upstream default; more than 16 input
        images, or one with neither bytes nor URL; a mask; unknown ``extra`` keys.
        """
        air = native_model(request.model)
        props = _props(request.model, self.choices)
        settings = _setting_props(request.model, self.choices)
        implicit = _upstream(request.model, self.choices)
        _check_extra(request)
        prompt = props["positivePrompt"]
        if not prompt["minLength"] <= len(request.prompt) <= prompt["maxLength"]:
            reason = f"positivePrompt must have {prompt['minLength']} to {prompt['maxLength']} characters"
            raise UnsupportedValue(PROVIDER, "prompt", len(request.prompt), reason)
        changes: dict[str, Any] = {}

        n = props["numberResults"]["default"] if request.n is None else request.n
        _check_range("n", n, props["numberResults"])
        changes["n"] = n

        for name in _SETTINGS:
            value = getattr(request, name)
            if name in settings:
                value = settings[name]["default"] if value is None else value
                _check_enum(name, value, settings[name]["enum"])
            else:
                expected = implicit.get(name)
                value = expected if value is None else value
                if value != expected:
                    reason = f"{air} on Runware has no {name} setting (the model uses {expected!r})"
                    raise UnsupportedValue(PROVIDER, name, value, reason)
            changes[name] = value

        formats = _format_names(request.model)
        output_format = request.output_format or formats[props["outputFormat"]["default"]]
        _check_enum("output_format", output_format, [formats[v] for v in props["outputFormat"]["enum"]])
        changes["output_format"] = output_format
        compression = request.output_compression
        compression = props["outputQuality"]["default"] if compression is None else compression
        _check_range("output_compression", compression, props["outputQuality"])
        changes["output_compression"] = compression

        fidelity = request.input_fidelity or implicit.get("input_fidelity")
        if fidelity != implicit.get("input_fidelity"):
            reason = f"Runware has no input_fidelity setting; {air} uses {implicit.get('input_fidelity')!r}"
            raise UnsupportedValue(PROVIDER, "input_fidelity", request.input_fidelity, reason)
        changes["input_fidelity"] = fidelity

        if request.mask is not None:
            raise UnsupportedValue(PROVIDER, "mask", "<image>", "Runware's GPT Image tasks take no mask")
        refs = props["inputs"]["properties"]["referenceImages"]
        if len(request.input_images) > refs["maxItems"]:
            reason = f"inputs.referenceImages takes at most {refs['maxItems']} images"
            raise UnsupportedValue(PROVIDER, "input_images", len(request.input_images), reason)
        for image in request.input_images:
            if image.url is None and image.data is None:
                raise UnsupportedValue(PROVIDER, "input_images", image, "an input image needs bytes or a URL")
        # last, so that a request also lacking the size a model requires names its other faults first
        changes["size"] = _resolve_size(air, request.size, _size_absent(air, self.choices))
        return request.with_(**changes)

    # -- canonical -> native ---------------------------------------------------------------------------

    def to_native(self, request: CanonicalRequest) -> NativeRequest:
        """``runTasks`` with one ``imageInference`` task: every canonical field written out resolved,
        plus the Runware-only fields of ``extra["runware"]``. Raises ``UnsupportedValue`` as ``resolve``
        does, and for ``extra`` values the contract refuses (field ``extra.runware.<name>``)."""
        resolved = self.resolve(request)
        air = native_model(resolved.model)
        schema = _schema(resolved.model, self.choices)
        transport = dict(resolved.extra.get(EXTRA_KEY, {}))
        task: dict[str, Any] = {
            "taskType": TASK_TYPE,
            "taskUUID": transport.pop("taskUUID", None) or str(uuid.uuid4()),
            "model": air,
            "positivePrompt": resolved.prompt,
        }
        if resolved.size != "auto":
            width, height = resolved.dimensions()
            task["width"], task["height"] = width, height
        task["numberResults"] = resolved.n
        natives = {v: k for k, v in _format_names(resolved.model).items()}
        task["outputFormat"] = natives[str(resolved.output_format)]
        task["outputQuality"] = resolved.output_compression
        path, block = _settings_blocks(schema)[0]
        node: dict[str, Any] = {name: getattr(resolved, name) for name in _SETTINGS if name in block}
        for part in reversed(path):
            node = {part: node}
        task.update(node)
        if resolved.input_images:
            task["inputs"] = {"referenceImages": [image.as_string() for image in resolved.input_images]}
        task.update(transport)
        for violation in validate(PROVIDER, schema, task):
            field = f"extra.{EXTRA_KEY}.{violation.param}"
            raise UnsupportedValue(PROVIDER, field, violation.value, violation.message)
        return NativeRequest(PROVIDER, RUN, [task])

    # -- native -> canonical ---------------------------------------------------------------------------

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """The canonical request of the one ``imageInference`` task in the array (authentication, ping
        and getResponse tasks are ignored). Settings are read from ``settings`` and
        ``providerSettings.openai`` (``settings`` first), reference images from the top-level
        ``referenceImages`` and ``inputs.referenceImages`` (in that order), whichever the task uses;
        which forms a model accepts is the contract's (``variant``) to say. Raises ``ValueError`` when
        there is not exactly one imageInference task, or for an unknown model, fields no variant of the
        model's schema has, a lone width or height, or a reference image that is not a UUID, URL, data
        URI or base64."""
        if native.provider != PROVIDER or native.operation_id != RUN or not isinstance(native.body, list):
            raise ValueError("runware: expected a runTasks request with a JSON array body")
        tasks = [t for t in native.body if isinstance(t, dict) and t.get("taskType") == TASK_TYPE]
        if len(tasks) != 1:
            raise ValueError(f"runware: expected one imageInference task, found {len(tasks)}")
        task = tasks[0]
        model = canonical_model(task.get("model"))
        unknown = sorted(set(task) - _known_fields(str(task.get("model"))))
        if unknown:
            raise ValueError(f"runware: unknown imageInference fields {unknown}")
        prompt = task.get("positivePrompt")
        if not isinstance(prompt, str):
            raise ValueError("runware: positivePrompt must be a string")
        width, height = task.get("width"), task.get("height")
        if (width is None) != (height is None):
            raise ValueError("runware: width and height must be used together")
        size = None if width is None or height is None else format_size(int(width), int(height))
        settings = {**task.get("providerSettings", {}).get("openai", {}), **task.get("settings", {})}
        output_format = task.get("outputFormat")
        refs = [*task.get("referenceImages", []), *task.get("inputs", {}).get("referenceImages", [])]
        transport = {name: task[name] for name in TRANSPORT_FIELDS if name in task}
        return CanonicalRequest(
            model=model,
            prompt=prompt,
            n=_integer(task.get("numberResults")),
            size=size,
            quality=settings.get("quality"),
            background=settings.get("background"),
            output_format=None if output_format is None else _format_names(model)[output_format],  # type: ignore[arg-type]
            output_compression=_integer(task.get("outputQuality")),
            moderation=settings.get("moderation"),
            input_images=tuple(reference_image(str(value)) for value in refs),
            extra={EXTRA_KEY: transport} if transport else {},
        )


def _integer(value: Any) -> Any:
    """JSON numbers such as ``17.0`` are integers to JSON Schema; keep them as ``int``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _check_extra(request: CanonicalRequest) -> None:
    for key, value in request.extra.items():
        if key != EXTRA_KEY:
            reason = f"Runware reads only extra[{EXTRA_KEY!r}]"
            raise UnsupportedValue(PROVIDER, f"extra.{key}", value, reason)
    transport = request.extra.get(EXTRA_KEY, {})
    if not isinstance(transport, dict):
        raise UnsupportedValue(PROVIDER, f"extra.{EXTRA_KEY}", transport, "must be a dict of task fields")
    for name, value in transport.items():
        if name not in TRANSPORT_FIELDS:
            reason = f"only {', '.join(TRANSPORT_FIELDS)} travel in extra; others are canonical fields"
            raise UnsupportedValue(PROVIDER, f"extra.{EXTRA_KEY}.{name}", value, reason)


@cache
def _known_fields(native: str) -> frozenset[str]:
    """Every task field some variant of model AIR ``native``'s schema has."""
    schema = branch(native) or {}
    fields = set(schema.get("properties", {}))
    for patches in schema.get("x-variants", {}).values():
        for patch in patches.values():
            fields.update(name for name, spec in patch.get("properties", {}).items() if spec is not None)
    return frozenset(fields)


def _size_absent(air: str, choices: Choices) -> str:
    """The canonical size of a task without width and height (``x-size-absent``), ``""`` when the
    model's schema (under ``choices``) requires them."""
    return str((variant(air, choices) or {}).get("x-size-absent", {}).get("canonical", ""))


def _resolve_size(air: str, size: str | None, absent: str) -> str:
    if size is None or size == absent:
        if not absent:
            raise UnsupportedValue(PROVIDER, "size", size, f"{air} needs width and height")
        return absent
    dims = parse_size(size)
    if dims is None:
        raise UnsupportedValue(PROVIDER, "size", size, "size must be WxH in pixels or auto")
    problem = size_problem(air, *dims)
    if problem:
        raise UnsupportedValue(PROVIDER, "size", size, f"{air}: {problem}")
    return size


def _check_enum(field: str, value: object, allowed: list[Any]) -> None:
    if value not in allowed:
        raise UnsupportedValue(PROVIDER, field, value, f"allowed values are {', '.join(map(str, allowed))}")


def _check_range(field: str, value: object, prop: dict[str, Any]) -> None:
    low, high = prop.get("minimum"), prop.get("maximum")
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        raise UnsupportedValue(PROVIDER, field, value, f"must be an integer from {low} to {high}")


DIALECT = RunwareDialect()
