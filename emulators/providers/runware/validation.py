"""Runware task validation: a task against the contract (per task type, and per model and options for
imageInference), its violations turned into Runware's error items.

``check_task`` raises ``TaskFailed`` with the error of the most useful violation; the order of checks
and the wording of errors come from the contract (``contracts/openapi/runware.yaml``: the request
schemas, ``x-errors`` rules and messages, ``x-incompatible-parameters``, size rules).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as quote_url
from urllib.parse import urlparse

from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.contracts.dialects.runware import (
    TASK_TYPE,
    Choices,
    allowed_sizes,
    branch,
    reference_image,
    size_problem,
    task_schema,
    task_type_schema,
    variant,
    variant_options,
)
from pixelmock.contracts.openapi import Violation, discriminator_values, validate
from pixelmock.emulators.providers.runware.errors import RunwareError, TaskFailed, catalogue, error
from pixelmock.emulators.web.context import choice, shut_down_upstream

JSON_TYPES = {"integer": "integer", "number": "float", "string": "string", "boolean": "boolean"}


def capitalized(name: str) -> str:
    """``name`` with its first letter in upper case (``width`` -> ``Width``), as error codes spell it."""
    return name[:1].upper() + name[1:]


def _property(schema: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any] | None:
    node: dict[str, Any] | None = schema
    for part in path:
        if node is None:
            return None
        if isinstance(part, int):
            continue
        node = node.get("properties", {}).get(part)
    return node


def _schema_at(schema: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    """The schema a violation's path points at (array indices descend into ``items``)."""
    node: dict[str, Any] = schema
    for part in path:
        child = node.get("items") if isinstance(part, int) else node.get("properties", {}).get(part)
        if not isinstance(child, dict):
            return {}
        node = child
    return node


def docs_link(task_type: str, parameter: str | None, model_schema: dict[str, Any] | None) -> str:
    """The ``documentation`` URL of an error item: the model page's anchor for ``parameter`` of an
    imageInference task (``model_schema`` given), else the page of ``task_type`` or the errors page."""
    links = catalogue()["documentation"]
    if task_type == TASK_TYPE and model_schema is not None:
        anchor = quote_url((parameter or "model").lower().replace(".", "-"), safe="-_")
        return str(links["imageInference"]).format(slug=model_schema["x-docs-slug"], anchor=anchor)
    return str(links.get(task_type, links["errors"]))


def _limits(prop: dict[str, Any]) -> dict[str, Any]:
    if prop.get("type") not in ("integer", "number") or "minimum" not in prop:
        return {}
    limits = {"min": prop["minimum"], "max": prop.get("maximum")}
    if "maximum" in prop or "multipleOf" in prop:
        limits["multiplier"] = prop.get("multipleOf", 1)
    return {k: v for k, v in limits.items() if v is not None}


def _detail(violation: Violation, prop: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The message template key and its values for a violation of ``prop``."""
    messages = catalogue()["messages"]
    keyword = violation.keyword
    if keyword in ("enum", "const"):
        allowed = prop.get("enum", [prop.get("const")])
        return messages[keyword], {"allowed": ", ".join(str(v) for v in allowed)}
    if keyword in ("minimum", "maximum", "multipleOf", "exclusiveMinimum", "exclusiveMaximum"):
        key = "range" if "maximum" in prop else "minimum"
        return messages[key], _limits(prop)
    for low, high, key in (("minLength", "maxLength", "length"), ("minItems", "maxItems", "items")):
        if keyword in (low, high):
            if low in prop and high in prop:
                return messages[key], {"min": prop[low], "max": prop[high]}
            return messages["other"], {}
    if keyword == "type":
        return messages["type"], {"type": JSON_TYPES.get(str(prop.get("type")), prop.get("type"))}
    if keyword == "format":
        return messages["format"], {"format": str(prop.get("format", "")).upper()}
    return messages["other"], {}


def _violation_error(
    violation: Violation, task: dict[str, Any], schema: dict[str, Any], task_type: str
) -> RunwareError:
    """The Runware error for the most useful violation of a task (rules in the catalogue)."""
    rules = catalogue()["rules"]
    model_schema = schema if task_type == TASK_TYPE else None
    common: dict[str, Any] = {"taskType": task_type, "taskUUID": _task_uuid(task)}
    if violation.keyword == "additionalProperties":
        parameter = violation.param
        docs = docs_link(task_type, parameter, model_schema)
        message = catalogue()["messages"]["unsupportedParameter"]
        return error(
            rules["unknown_parameter"],
            message=message,
            parameter=parameter,
            type=None,
            documentation=docs,
            **common,
        )
    if violation.keyword == "dependentRequired":
        present = violation.value if isinstance(violation.value, dict) else {}
        deps: dict[str, list[str]] = violation.limit or {}
        missing = next(d for name, ds in deps.items() if name in present for d in ds if d not in present)
        prop = _property(schema, (missing,)) or {}
        code = str(
            prop.get("x-error-code") or rules["missing_parameter"].format(Parameter=capitalized(missing))
        )
        detail = f"{' and '.join(deps)} must be used together"
        return error(
            code,
            parameter=missing,
            type=JSON_TYPES.get(str(prop.get("type"))),
            detail=detail,
            model=task.get("model"),
            documentation=docs_link(task_type, missing, model_schema),
            **common,
        )
    path = tuple(p for p in violation.path if isinstance(p, str))
    parameter = ".".join(path) or violation.param
    prop = _property(schema, violation.path) or {}
    if violation.keyword == "required":
        parameter = violation.param
        prop = _property(schema, tuple(parameter.split("."))) or {}
        code = rules["missing_parameter"].format(Parameter=capitalized(parameter.rsplit(".", 1)[-1]))
        message = catalogue()["messages"]["missing"]
        return error(
            code,
            message=message,
            parameter=parameter,
            type=JSON_TYPES.get(str(prop.get("type"))),
            documentation=docs_link(task_type, parameter, model_schema),
            **common,
        )
    code = str(prop.get("x-error-code") or rules["invalid_parameter"].format(Parameter=capitalized(path[-1])))
    leaf = _schema_at(schema, violation.path) or prop
    template, values = _detail(violation, leaf)
    if code == "unsupportedDimensions":
        values["detail"] = _dimension_detail(task, violation)
    fields: dict[str, Any] = {
        "parameter": parameter,
        "type": JSON_TYPES.get(str(prop.get("type")), prop.get("type")),
        **_limits(leaf),
        **values,
        "documentation": docs_link(task_type, parameter, model_schema),
        "model": task.get("model"),
        **common,
    }
    return error(code, message=None if code == "unsupportedDimensions" else template, **fields)


def _dimension_detail(task: dict[str, Any], violation: Violation | None = None) -> str:
    air = task.get("model")
    fixed = allowed_sizes(air)
    shown = f"{task.get('width')}x{task.get('height')}"
    if fixed is not None:
        return f"{shown} is not supported; supported dimensions are {', '.join(fixed)}"
    if violation is not None:
        prop = _property(branch(air) or {}, violation.path) or {}
        low, high, step = prop.get("minimum"), prop.get("maximum"), prop.get("multipleOf")
        return f"{shown} is not supported; width and height must be {low}-{high} in multiples of {step}"
    width, height = task.get("width"), task.get("height")
    problem = size_problem(air, int(width), int(height)) if width and height else None
    return f"{shown} is not supported; {problem}"


def _most_useful(violations: list[Violation], schema: dict[str, Any]) -> Violation:
    """The violation to report: the core's order (shallow first; missing, unknown, then bad values),
    ties broken by the contract's property order instead of the alphabet (width before height)."""
    order = {name: i for i, name in enumerate(schema.get("properties", {}))}
    rank = {"required": 0, "additionalProperties": 1, "type": 2}

    def key(violation: Violation) -> tuple[int, int, int]:
        head = violation.path[0] if violation.path else ""
        return (len(violation.path), rank.get(violation.keyword, 3), order.get(str(head), len(order)))

    return min(violations, key=key)


def _task_uuid(task: Any) -> str | None:
    value = task.get("taskUUID") if isinstance(task, dict) else None
    return value if isinstance(value, str) else None


def check_task(task: Any) -> tuple[str, dict[str, Any], Choices]:
    """Validate one task against the contract. Returns ``(taskType, schema, choices)``, ``choices`` being
    the values of the options that shaped an imageInference model's schema (``x-variants``, read with
    ``choice``); raises ``TaskFailed``.

    Order: shape and taskType, the contract schema (per model and options for imageInference), then
    what JSON Schema cannot say (size pairs, URIs, incompatible parameters, reference images).
    """
    if not isinstance(task, dict):
        raise TaskFailed(error("invalidPayload", message="Each task must be a JSON object."))
    task_type = task.get("taskType")
    schema = task_type_schema(task_type)
    if schema is None:
        allowed = ", ".join(discriminator_values(task_schema()))
        code = "missingTaskType" if task_type is None else "invalidTaskType"
        raise TaskFailed(
            error(
                code,
                allowed=allowed,
                taskType=task_type if isinstance(task_type, str) else None,
                taskUUID=_task_uuid(task),
                parameter="taskType",
            )
        )
    task_type = str(task_type)
    if task_type == "authentication":
        message = "The authentication task must be the first element of the request array."
        raise TaskFailed(error("invalidTaskType", message=message, taskType=task_type))
    choices: Choices = ()
    if task_type == TASK_TYPE:
        model_schema = branch(task.get("model"))
        canonical = None if model_schema is None else str(model_schema["x-canonical-model"])
        if model_schema is None or (canonical and shut_down_upstream(NAME, canonical) is not None):
            # Runware's own words, the same for an AIR it never served and one shut down upstream.
            code = "missingModel" if "model" not in task else "invalidModel"
            docs = docs_link("errors", None, None)
            raise TaskFailed(error(code, taskType=task_type, taskUUID=_task_uuid(task), documentation=docs))
        choices = tuple((name, choice(name)) for name in variant_options(task["model"]))
        schema = variant(task["model"], choices) or model_schema
    violations = validate(NAME, schema, task)
    if violations:
        raise TaskFailed(_violation_error(_most_useful(violations, schema), task, schema, task_type))
    if task_type == TASK_TYPE:
        _check_inference_extras(task, schema)
    return task_type, schema, choices


def _check_inference_extras(task: dict[str, Any], schema: dict[str, Any]) -> None:
    common: dict[str, Any] = {"taskType": TASK_TYPE, "taskUUID": task["taskUUID"]}
    width, height = task.get("width"), task.get("height")
    if width is not None and height is not None and size_problem(task["model"], int(width), int(height)):
        raise TaskFailed(
            error(
                "unsupportedDimensions",
                parameter="width",
                type="integer",
                model=task["model"],
                detail=_dimension_detail(task),
                documentation=docs_link(TASK_TYPE, "width", schema),
                **common,
            )
        )
    for name, prop in schema["properties"].items():
        if prop.get("format") == "uri" and name in task and not _is_url(task[name]):
            message = catalogue()["messages"]["format"]
            code = catalogue()["rules"]["invalid_parameter"].format(Parameter=capitalized(name))
            docs = docs_link(TASK_TYPE, name, schema)
            raise TaskFailed(
                error(
                    code,
                    message=message,
                    parameter=name,
                    type="string",
                    format="URI",
                    documentation=docs,
                    **common,
                )
            )
    for rule in schema.get("x-incompatible-parameters", []):
        _check_incompatible(task, schema, rule)
    nested = task.get("inputs", {}).get("referenceImages")
    if "referenceImages" in task and nested is not None:
        raise TaskFailed(  # one form per task: the contract's choice on referenceImages
            error(
                catalogue()["rules"]["unknown_parameter"],
                message=catalogue()["messages"]["unsupportedParameter"],
                parameter="referenceImages",
                type=None,
                documentation=docs_link(TASK_TYPE, "referenceImages", schema),
                **common,
            )
        )
    for parameter, values in (
        ("referenceImages", task.get("referenceImages")),
        ("inputs.referenceImages", nested),
    ):
        for value in values or []:
            try:
                image = reference_image(value)
            except ValueError:
                image = None
            if image is None or (image.data is not None and image.width is None):
                docs = docs_link(TASK_TYPE, parameter, schema)
                raise TaskFailed(
                    error("invalidImage", parameter=parameter, type="array", documentation=docs, **common)
                )


def _check_incompatible(task: dict[str, Any], schema: dict[str, Any], rule: dict[str, Any]) -> None:
    option = choice(str(rule["option"]))
    if option != "reject":
        return
    node: Any = task
    for part in str(rule["when"]["parameter"]).split("."):
        node = node.get(part) if isinstance(node, dict) else None
    parameter = str(rule["parameter"])
    value = task.get(parameter, schema["properties"][parameter].get("default"))
    if node == rule["when"]["equals"] and value in rule["values"]:
        raise TaskFailed(
            error(
                str(rule["code"]),
                parameter=parameter,
                type="string",
                value=value,
                documentation=docs_link(TASK_TYPE, parameter, schema),
                taskType=TASK_TYPE,
                taskUUID=task["taskUUID"],
            )
        )


def _is_url(value: Any) -> bool:
    parsed = urlparse(value) if isinstance(value, str) else None
    return parsed is not None and parsed.scheme in ("http", "https") and bool(parsed.netloc)


def authentication_task_error(task: dict[str, Any]) -> RunwareError | None:
    """What is wrong with an authentication task besides its key (which ``authenticate`` judges): unknown
    fields or wrong types, answered like any task's violation; ``None`` when it keeps the contract."""
    schema = task_type_schema("authentication")
    assert schema is not None, "the contract defines the authentication task"
    violations = [v for v in validate(NAME, schema, task) if v.param != "apiKey"]
    if not violations:
        return None
    return _violation_error(_most_useful(violations, schema), task, schema, "authentication")
