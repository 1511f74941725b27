"""Runware emulator: ``POST /runware/v1`` (and ``/runware/v1/``) takes a JSON array of tasks (REST), and
a WebSocket upgrade on the same path speaks the WebSocket API (``wss://ws-api.runware.ai/v1``).

Contract: ``contracts/openapi/runware.yaml`` (request schemas per task type and per model, the error
catalogue ``x-errors``, size rules, the WebSocket protocol ``x-websocket``); dialect:
``pixelmock.contracts.dialects.runware``. Sources: https://runware.ai/docs/models/openai-gpt-image-1-5
and Runware's platform docs (authentication, errors, task-polling, webhooks; read 2026-11-21).

Flow of one request: parse the JSON array, authenticate (an ``authentication`` task first in the array,
else ``Authorization: Bearer``), then run each task on its own: an error is scoped to its task and the
other tasks still run. The answer is ``{"data": [...]}``; with failures ``{"data": [...], "errors":
[...]}``, HTTP 200 when any task produced data, else the first error's status (a contract choice).

Task handling lives in functions that take a task dict and a ``TaskContext`` and return a ``TaskResult``
(items or one error); both transports run every task through ``run_task``, so validation, costs, images,
ledger and errors are the same. Over WebSocket (see ``websocket``) the connection authenticates once
with an authentication task, each finished image of a sync imageInference task is pushed as its own
frame (``TaskContext.on_item``), and sessions survive drops (``emulators/providers/runware/sessions.py``).

Emulator options (``EmulatorConfig.options``):
- ``runware.transparent_jpg``: ``"flatten"`` (default; the model page's sticker-sheet example) or ``"reject"``
  (400 ``incompatibleParameters``) for background transparent with outputFormat JPG.
- ``runware.gpt_image_2_parameters``: ``"providerSettings"`` (default; the docs page), ``"settings"``
  (runware-sdk 1.8.0's schema) or ``"both"``: the settings block openai:gpt-image@2 takes; the other
  answers 400 ``unsupportedParameter``.
- ``runware.gpt_image_2_dimensions``: ``"required"`` (default; the docs page: 400 ``missingWidth`` /
  ``missingHeight`` without them) or ``"optional"`` (the newest SDK schema: both left out = size auto).
- ``runware.processing_polls``: how many ``getResponse`` polls of an async task answer ``processing``
  before ``success`` (default 0: success on the first poll).
- ``runware.image_seconds``: real seconds each image of a sync imageInference task takes (default: the
  latency profile's share, 0 unless ``realistic``). A REST answer waits for all of them; over WebSocket
  each image's frame is pushed when it is done, so a client can see results arrive one by one, or drop
  the connection in between.

Time (``emulators/core/latency.py``): an async task's images finish one by one over the latency
profile's duration on the virtual clock (all at once under ``instant``); ``getResponse`` shows each as
``processing`` until then. Outbound (``emulators/core/webhooks.py``): with ``webhookURL`` each
finished image is POSTed as ``{"data": [item]}`` when it finishes (a failed task as ``{"errors":
[item]}``), retried until a 2xx; with ``uploadEndpoint`` each image's bytes are PUT there. Injected
faults (contract ``x-faults``): 429/500/503/504 answers, and per imageInference task
``providerBadRequest`` (content policy), ``timeoutProvider`` and ``insufficientCredits``, not charged. On
the WebSocket, fault rules apply per message (``_fault_answered``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import quote as quote_url
from urllib.parse import urlparse

from flask import Blueprint, Response, current_app, has_request_context, jsonify, request
from flask_sock import Sock  # type: ignore[import-untyped]

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.contracts.dialects.runware import (
    RUN,
    TASK_TYPE,
    Choices,
    RunwareDialect,
    allowed_sizes,
    branch,
    native_models,
    reference_image,
    size_problem,
    task_schema,
    task_type_schema,
    variant,
    variant_options,
)
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import Violation, discriminator_values, document, validate
from pixelmock.contracts.pricing import Quote, quote
from pixelmock.emulators.core.accounts import Account, Charge
from pixelmock.emulators.core.bodies import BodyRefused
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.faults import Fault, contract_answers
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import ImageSpec, spec_for
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.providers.runware.sessions import Connection, Frame, Sessions
from pixelmock.emulators.web.context import choice, parse_client_json, read_json, runtime, shut_down_upstream
from pixelmock.emulators.web.faults import active, message_fault
from pixelmock.emulators.web.journal import journal_message
from pixelmock.emulators.web.provider import ProviderEmulator

log = logging.getLogger("pixelmock")

PREFIX = "/runware/v1"
TASKS = "runware.tasks"
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
#: Longest ttl honoured (Runware documents only ttl >= 60); longer ones are kept this long (10 years).
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600
JSON_TYPES = {"integer": "integer", "number": "float", "string": "string", "boolean": "boolean"}


# -- the error catalogue (contract x-errors) --------------------------------------------------------------


@cache
def catalogue() -> dict[str, Any]:
    """The contract's ``x-errors`` block (codes, statuses, message templates, documentation links)."""
    block: dict[str, Any] = document(NAME)["x-errors"]
    return block


@dataclass(frozen=True)
class RunwareError:
    """One error item (``body``) and the HTTP status it carries when it is the first of a failed answer."""

    status: int
    body: dict[str, Any]


def error(code: str, *, message: str | None = None, status: int | None = None, **fields: Any) -> RunwareError:
    """An error item for ``code``: status and message template from the catalogue (``fields`` fill the
    template; those named like item fields, e.g. ``parameter``, ``taskType``, also become item fields).

    Item field order follows real bodies: code, message, parameter, type, min/max/multiplier,
    documentation, taskType, taskUUID, context.
    """
    entry = catalogue()["codes"].get(code, {})
    template = message if message is not None else str(entry.get("message", "{detail}"))
    values = {"parameter": entry.get("parameter"), **fields}
    try:
        text = template.format_map(_Blank(values))
    except (ValueError, IndexError, AttributeError):  # a literal message with braces in it
        text = template
    body: dict[str, Any] = {"code": code, "message": text}
    for key in ("parameter", "type", "min", "max", "multiplier", "documentation", "taskType", "taskUUID"):
        if key in values and (values[key] is not None or (key in ("parameter", "type") and key in fields)):
            body[key] = values[key]
    if "context" in fields:
        body["context"] = fields["context"]
    return RunwareError(int(status or entry.get("status", 400)), body)


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def error_response(status: int, kind: str, message: str) -> Response:
    """Framework-level failures under ``/runware/v1`` (unknown route, wrong method, body too large or
    not JSON, unexpected exception): ``{"errors": [{code, message}]}`` with the code from the catalogue."""
    entry = catalogue()["framework"].get(kind, catalogue()["framework"]["internal"])
    item = {"code": entry["code"], "message": entry["message"]}
    return _json({"errors": [item]}, status)


def _json(body: dict[str, Any], status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


# -- task context and results ------------------------------------------------------------------------------


@dataclass
class TaskContext:
    """What a task handler needs: the runtime, the authenticated account, and the task's position.

    ``on_item``, when set (the WebSocket transport), is called with each result item of a sync
    imageInference task as soon as that image is finished; the handler's ``TaskResult`` then says
    ``delivered``.
    """

    rt: Runtime
    account: Account
    index: int = 0
    on_item: Callable[[dict[str, Any]], None] | None = None
    #: The option values the task was validated under (``check_task``), for its dialect.
    choices: Choices = ()


@dataclass
class TaskResult:
    """A task's outcome: data items, or one error. ``delivered``: the items already went out one by one
    through ``TaskContext.on_item``."""

    items: list[dict[str, Any]] = field(default_factory=list)
    error: RunwareError | None = None
    delivered: bool = False


@dataclass
class TaskRecord:
    """An accepted imageInference task, kept for ``getResponse`` and ``conflictTaskUUID``.

    ``image_uuids`` are assigned when the task is accepted (one per result); ``items`` are the finished
    result items, in that order; ``polls_left`` counts the polls still answered with ``processing``.
    """

    task_uuid: str
    account_id: str
    task_type: str
    delivery_method: str
    items: list[dict[str, Any]]
    polls_left: int
    image_uuids: list[str] = field(default_factory=list)
    finish_at: list[dt.datetime] = field(default_factory=list)
    failure: RunwareError | None = None
    fail_at: dt.datetime | None = None


class _TaskFailed(Exception):
    def __init__(self, failure: RunwareError) -> None:
        super().__init__(failure.body.get("message"))
        self.failure = failure


# -- validation: contract violations -> Runware errors -----------------------------------------------------


def _cap(name: str) -> str:
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


def _docs(task_type: str, parameter: str | None, model_schema: dict[str, Any] | None) -> str:
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
        docs = _docs(task_type, parameter, model_schema)
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
        code = str(prop.get("x-error-code") or rules["missing_parameter"].format(Parameter=_cap(missing)))
        detail = f"{' and '.join(deps)} must be used together"
        return error(
            code,
            parameter=missing,
            type=JSON_TYPES.get(str(prop.get("type"))),
            detail=detail,
            model=task.get("model"),
            documentation=_docs(task_type, missing, model_schema),
            **common,
        )
    path = tuple(p for p in violation.path if isinstance(p, str))
    parameter = ".".join(path) or violation.param
    prop = _property(schema, violation.path) or {}
    if violation.keyword == "required":
        parameter = violation.param
        prop = _property(schema, tuple(parameter.split("."))) or {}
        code = rules["missing_parameter"].format(Parameter=_cap(parameter.rsplit(".", 1)[-1]))
        message = catalogue()["messages"]["missing"]
        return error(
            code,
            message=message,
            parameter=parameter,
            type=JSON_TYPES.get(str(prop.get("type"))),
            documentation=_docs(task_type, parameter, model_schema),
            **common,
        )
    code = str(prop.get("x-error-code") or rules["invalid_parameter"].format(Parameter=_cap(path[-1])))
    leaf = _schema_at(schema, violation.path) or prop
    template, values = _detail(violation, leaf)
    if code == "unsupportedDimensions":
        values["detail"] = _dimension_detail(task, violation)
    fields: dict[str, Any] = {
        "parameter": parameter,
        "type": JSON_TYPES.get(str(prop.get("type")), prop.get("type")),
        **_limits(leaf),
        **values,
        "documentation": _docs(task_type, parameter, model_schema),
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
    ``choice``); raises ``_TaskFailed``.

    Order: shape and taskType, the contract schema (per model and options for imageInference), then
    what JSON Schema cannot say (size pairs, URIs, incompatible parameters, reference images).
    """
    if not isinstance(task, dict):
        raise _TaskFailed(error("invalidPayload", message="Each task must be a JSON object."))
    task_type = task.get("taskType")
    schema = task_type_schema(task_type)
    if schema is None:
        allowed = ", ".join(discriminator_values(task_schema()))
        code = "missingTaskType" if task_type is None else "invalidTaskType"
        raise _TaskFailed(
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
        raise _TaskFailed(error("invalidTaskType", message=message, taskType=task_type))
    choices: Choices = ()
    if task_type == TASK_TYPE:
        model_schema = branch(task.get("model"))
        canonical = None if model_schema is None else str(model_schema["x-canonical-model"])
        if model_schema is None or (canonical and shut_down_upstream(NAME, canonical) is not None):
            allowed = ", ".join(native_models())
            code = "missingModel" if "model" not in task else "invalidModel"
            docs = _docs("errors", None, None)
            raise _TaskFailed(
                error(
                    code, allowed=allowed, taskType=task_type, taskUUID=_task_uuid(task), documentation=docs
                )
            )
        choices = tuple((name, choice(name)) for name in variant_options(task["model"]))
        schema = variant(task["model"], choices) or model_schema
    violations = validate(NAME, schema, task)
    if violations:
        raise _TaskFailed(_violation_error(_most_useful(violations, schema), task, schema, task_type))
    if task_type == TASK_TYPE:
        _check_inference_extras(task, schema)
    return task_type, schema, choices


def _check_inference_extras(task: dict[str, Any], schema: dict[str, Any]) -> None:
    common: dict[str, Any] = {"taskType": TASK_TYPE, "taskUUID": task["taskUUID"]}
    width, height = task.get("width"), task.get("height")
    if width is not None and height is not None and size_problem(task["model"], int(width), int(height)):
        raise _TaskFailed(
            error(
                "unsupportedDimensions",
                parameter="width",
                type="integer",
                model=task["model"],
                detail=_dimension_detail(task),
                documentation=_docs(TASK_TYPE, "width", schema),
                **common,
            )
        )
    for name, prop in schema["properties"].items():
        if prop.get("format") == "uri" and name in task and not _is_url(task[name]):
            message = catalogue()["messages"]["format"]
            code = catalogue()["rules"]["invalid_parameter"].format(Parameter=_cap(name))
            docs = _docs(TASK_TYPE, name, schema)
            raise _TaskFailed(
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
        raise _TaskFailed(  # one form per task: the contract's choice on referenceImages
            error(
                catalogue()["rules"]["unknown_parameter"],
                message=catalogue()["messages"]["unsupportedParameter"],
                parameter="referenceImages",
                type=None,
                documentation=_docs(TASK_TYPE, "referenceImages", schema),
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
                docs = _docs(TASK_TYPE, parameter, schema)
                raise _TaskFailed(
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
        raise _TaskFailed(
            error(
                str(rule["code"]),
                parameter=parameter,
                type="string",
                value=value,
                documentation=_docs(TASK_TYPE, parameter, schema),
                taskType=TASK_TYPE,
                taskUUID=task["taskUUID"],
            )
        )


def _is_url(value: Any) -> bool:
    parsed = urlparse(value) if isinstance(value, str) else None
    return parsed is not None and parsed.scheme in ("http", "https") and bool(parsed.netloc)


# -- task handlers (shared by REST and WebSocket) ----------------------------------------------------------


def run_task(task: Any, ctx: TaskContext) -> TaskResult:
    """Validate and run one task; every failure becomes the task's error (never an exception). An
    unexpected one (a bug) becomes the catalogue's internal error scoped to the task (status 500), so
    the array's other tasks keep their answers ("errors are scoped to the specific task that failed",
    https://runware.ai/docs/platform/errors); a task that fails so is not charged (``image_inference``
    refunds it)."""
    try:
        task_type, _, choices = check_task(task)
        return HANDLERS[task_type](task, replace(ctx, choices=choices))
    except _TaskFailed as failed:
        return TaskResult(error=failed.failure)
    except Exception:
        log.exception("unexpected error in Runware task %d", ctx.index)
        return TaskResult(error=_internal_error(task))


def _internal_error(task: Any) -> RunwareError:
    """The catalogue's internal error as one task's error item (with its taskType and taskUUID)."""
    entry = catalogue()["framework"]["internal"]
    scope = {key: task[key] for key in ("taskType", "taskUUID") if isinstance(task, dict) and key in task}
    return RunwareError(500, {"code": entry["code"], "message": entry["message"], **scope})


@contextlib.contextmanager
def _refunded_on_error(
    rt: Runtime, account: Account, amount: Decimal, task: dict[str, Any], record: TaskRecord, charge: Charge
) -> Iterator[None]:
    """Charged work on the task of ``record``: should it raise, ``amount`` (USD) goes back to
    ``account`` and the task's record (``getResponse``) holds the internal error instead of results,
    then the exception goes on."""
    try:
        yield
    except Exception:
        if amount:
            rt.accounts.credit(account, "USD", amount, f"runware refund {record.task_uuid}", charge.refund())
        failure = _internal_error(task)
        rt.store.update(
            TASKS,
            record.task_uuid,
            lambda old: replace(old or record, image_uuids=[], finish_at=[], failure=failure, fail_at=None),
        )
        raise


def image_inference(task: dict[str, Any], ctx: TaskContext) -> TaskResult:
    """Price, debit, render and store one validated imageInference task.

    Sync: the finished items (each also passed to ``ctx.on_item`` as soon as it is rendered, when set).
    Async (``deliveryMethod: async``) or with ``webhookURL``: the acknowledgement ``{taskType,
    taskUUID}``; ``getResponse`` returns the items. Cost (USD, 5 decimals) is
    ``pixelmock.contracts.pricing.quote(...).per_result_usd`` of the resolved canonical request, on each item
    only with ``includeCost``; the whole quote (``usd``) is debited from the account's USD balance first.
    """
    rt = ctx.rt
    task_uuid = str(task["taskUUID"])
    common: dict[str, Any] = {"taskType": TASK_TYPE, "taskUUID": task_uuid}
    try:
        dialect = dialect_for(ctx.choices)
        resolved = dialect.resolve(dialect.from_native(NativeRequest(NAME, RUN, [task])))
        priced = quote(NAME, resolved, rt.clock.today())
    except (UnsupportedValue, ValueError, KeyError) as exc:
        # The contract checks above should make this unreachable; still a 400, never a 500.
        field_name = str(getattr(exc, "field", "model"))
        code = catalogue()["rules"]["invalid_parameter"].format(Parameter=_cap(field_name))
        return TaskResult(error=error(code, message=str(exc), parameter=field_name, **common))
    journal_note(canonical=resolved, cost=priced, taskUUID=task_uuid)
    existing: TaskRecord | None = rt.store.get(TASKS, task_uuid)
    if existing is not None:
        return TaskResult(error=_conflict(existing, common))
    asynchronous = task.get("deliveryMethod", "sync") == "async" or "webhookURL" in task
    failure = _flow_failure(common)
    if failure is not None and (not asynchronous or failure.body["code"] == "insufficientCredits"):
        return TaskResult(error=failure)  # not charged
    charge = Charge.of(NAME, resolved, task_uuid)
    if failure is None and not rt.accounts.debit(
        ctx.account, "USD", priced.usd or Decimal(0), f"runware imageInference {task_uuid}", charge
    ):
        return TaskResult(error=error("insufficientCredits", parameter=None, **common))
    polls = int(str(rt.config.option("runware.processing_polls", 0))) if asynchronous else 0
    n = resolved.n or 1
    image_uuids = [str(new_uuid()) for _ in range(n)]
    delivery = task.get("deliveryMethod", "sync")
    now = rt.clock.now()
    duration = rt.latency.job_seconds(NAME, priced.billed_quality) if asynchronous else 0.0
    finish_at = [now + dt.timedelta(seconds=duration * (i + 1) / n) for i in range(n)]
    record = TaskRecord(task_uuid, ctx.account.id, TASK_TYPE, delivery, [], polls, image_uuids, finish_at)
    if failure is not None:
        record = replace(record, image_uuids=[], finish_at=[], failure=failure, fail_at=finish_at[-1])

    def claim(old: TaskRecord | None) -> TaskRecord:
        if old is not None:
            raise _TaskFailed(_conflict(old, common))
        return record

    try:
        rt.store.update(TASKS, task_uuid, claim)
    except _TaskFailed as failed:
        if failure is None:
            refund = charge.refund()
            rt.accounts.credit(
                ctx.account, "USD", priced.usd or Decimal(0), f"runware refund {task_uuid}", refund
            )
        return TaskResult(error=failed.failure)
    charged = Decimal(0) if failure is not None else priced.usd or Decimal(0)
    with _refunded_on_error(rt, ctx.account, charged, task, record, charge):
        if failure is not None:
            _send_webhook(rt, task, {"errors": [failure.body]}, record.fail_at)
            return TaskResult(items=[dict(common)])
        seconds = 0.0 if asynchronous else _image_seconds(rt, priced.billed_quality, n)
        push = None if asynchronous else ctx.on_item
        items: list[dict[str, Any]] = []
        for index, image_uuid in enumerate(image_uuids):
            if seconds > 0:
                time.sleep(seconds)
            items.append(_result_item(task, rt, resolved, priced, index, image_uuid))
            rt.store.update(TASKS, task_uuid, _with_items(record, list(items)))
            _send_webhook(rt, task, {"data": [items[-1]]}, finish_at[index])
            _upload(rt, task, resolved, priced, index, finish_at[index])
            if push is not None:
                push(items[-1])
        if asynchronous:
            return TaskResult(items=[dict(common)])
        return TaskResult(items=items, delivered=push is not None)


@cache
def dialect_for(choices: Choices) -> RunwareDialect:
    """The dialect of the schema the option values ``choices`` give (``RunwareDialect(choices)``)."""
    return RunwareDialect(dict(choices))


def _image_seconds(rt: Runtime, quality: str, n: int) -> float:
    """Real seconds each image of a sync task takes: ``runware.image_seconds``, else the latency
    profile's share (0 unless ``realistic``)."""
    option = rt.config.option("runware.image_seconds", None)
    if option is not None:
        return float(str(option))
    return rt.latency.sync_seconds(NAME, quality) / n


def _flow_failure(common: dict[str, Any]) -> RunwareError | None:
    """The error an injected flow fault gives this request's imageInference tasks (contract
    ``x-faults``), or ``None``."""
    if not has_request_context():
        return None
    for kind in ("insufficient_credits", "content_policy", "provider_timeout"):
        if active(kind) is not None:
            code = str(document(NAME)["x-faults"][kind]["code"])
            return error(code, parameter=None, category="sexual", **common)
    return None


def _send_webhook(rt: Runtime, task: dict[str, Any], body: dict[str, Any], due: dt.datetime | None) -> None:
    """POST ``body`` to the task's ``webhookURL`` (if any) when ``due``: one call per finished item."""
    url = task.get("webhookURL")
    if isinstance(url, str):
        data = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        rt.webhooks.send(NAME, url, data, headers=headers, group=str(task["taskUUID"]), due=due)


def _upload(
    rt: Runtime, task: dict[str, Any], resolved: CanonicalRequest, priced: Quote, index: int, due: dt.datetime
) -> None:
    """PUT image ``index``'s raw bytes to the task's ``uploadEndpoint`` (if any) when it is finished."""
    url = task.get("uploadEndpoint")
    if isinstance(url, str):
        spec = _spec(task, resolved, priced, index)
        headers = {"Content-Type": MIME[spec.output_format]}
        group = str(task["taskUUID"])
        rt.webhooks.send(
            NAME, url, rt.images.render(spec), kind="upload", headers=headers, group=group, due=due
        )


def _with_items(record: TaskRecord, items: list[dict[str, Any]]) -> Callable[[Any], TaskRecord]:
    """A store update that sets a task's finished items."""

    def update(old: TaskRecord | None) -> TaskRecord:
        return replace(old or record, items=items)

    return update


def _conflict(existing: TaskRecord, common: dict[str, Any]) -> RunwareError:
    context = {"taskType": existing.task_type, "deliveryMethod": existing.delivery_method}
    return error("conflictTaskUUID", parameter="taskUUID", type="string", context=context, **common)


def _spec(task: dict[str, Any], resolved: CanonicalRequest, priced: Quote, index: int) -> ImageSpec:
    return spec_for(
        NAME,
        resolved,
        index,
        size=priced.billed_size,
        quality=priced.billed_quality,
        model=str(task["model"]),
    )


def _result_item(
    task: dict[str, Any],
    rt: Runtime,
    resolved: CanonicalRequest,
    priced: Quote,
    index: int,
    image_uuid: str,
) -> dict[str, Any]:
    spec = _spec(task, resolved, priced, index)
    output_format = spec.output_format
    item: dict[str, Any] = {
        "taskType": TASK_TYPE,
        "taskUUID": task["taskUUID"],
        "imageUUID": image_uuid,
    }
    output_type = task.get("outputType", "URL")
    if output_type == "URL":
        ttl = task.get("ttl", rt.config.file_ttl_seconds)
        ttl = None if ttl is None else min(int(ttl), MAX_TTL_SECONDS)
        item["imageURL"] = rt.files.put_image(spec, ttl_seconds=ttl).url  # rendered when fetched
    else:
        encoded = base64.b64encode(rt.images.render(spec)).decode("ascii")
        if output_type == "base64Data":
            item["imageBase64Data"] = encoded
        else:
            item["imageDataURI"] = f"data:{MIME[output_format]};base64,{encoded}"
    safety = task.get("safety", {})
    if safety.get("checkContent") or safety.get("mode", "none") != "none":
        item["NSFWContent"] = False
    if task.get("includeCost"):
        item["cost"] = float(priced.per_result_usd or 0)
    return item


def get_response(task: dict[str, Any], ctx: TaskContext) -> TaskResult:
    """The cumulative items of an earlier task of the same account, one per result, each with a
    ``status``: ``processing`` while ``polls_left`` lasts or while that image is not finished yet, then
    ``success`` with the whole item. Unknown task: 404 ``taskNotFound``.

    A processing item is ``{taskType, taskUUID, imageUUID, status}``: the imageUUID (assigned when the
    task was accepted, the same one the finished item will carry) is what keeps both SDKs polling
    promptly. The old ``runware`` SDK only counts poll items that carry an imageUUID and otherwise waits
    ``RUNWARE_VIDEO_INITIAL_TIMEOUT`` (30 s) per poll (runware==0.5.24:runware/utils.py); ``runware-sdk`` keys
    in-flight items by imageUUID and counts only ``success`` ones as results.
    """
    task_uuid = str(task["taskUUID"])
    record: TaskRecord | None = ctx.rt.store.get(TASKS, task_uuid)
    if record is None or record.account_id != ctx.account.id:
        docs = _docs("getResponse", None, None)
        return TaskResult(
            error=error("taskNotFound", taskUUID=task_uuid, taskType="getResponse", documentation=docs)
        )
    now = ctx.rt.clock.now()
    if record.failure is not None:
        if record.fail_at is None or record.fail_at <= now:
            body = dict(record.failure.body)
            return TaskResult(error=RunwareError(200, {"code": body.pop("code"), "status": "error", **body}))
        processing = {"taskType": record.task_type, "taskUUID": task_uuid, "status": "processing"}
        return TaskResult(items=[processing])
    done = sum(1 for moment in record.finish_at[: len(record.items)] if moment <= now)
    finished = record.items[:done] if record.finish_at else record.items
    if record.polls_left > 0:
        ctx.rt.store.update(TASKS, task_uuid, _count_poll)
        finished = []
    pending = [
        {"taskType": record.task_type, "taskUUID": task_uuid, "imageUUID": image_uuid, "status": "processing"}
        for image_uuid in record.image_uuids[len(finished) :]
    ]
    return TaskResult(items=[*(_with_status(item, "success") for item in finished), *pending])


def _count_poll(old: TaskRecord | None) -> TaskRecord | None:
    return None if old is None else replace(old, polls_left=max(0, old.polls_left - 1))


def _with_status(item: dict[str, Any], status: str) -> dict[str, Any]:
    head = {"taskType": item["taskType"], "taskUUID": item["taskUUID"], "status": status}
    return {**head, **item}


def ping(task: dict[str, Any], ctx: TaskContext) -> TaskResult:
    """``{"taskType": "ping", "pong": true}``."""
    return TaskResult(items=[{"taskType": "ping", "pong": True}])


HANDLERS: dict[str, Callable[[dict[str, Any], TaskContext], TaskResult]] = {
    TASK_TYPE: image_inference,
    "getResponse": get_response,
    "ping": ping,
}


# -- authentication and the request array ------------------------------------------------------------------


def credential(tasks: list[Any], authorization: str | None) -> tuple[str | None, bool]:
    """The API key of a request and whether it came from an authentication task (element 0, which then
    takes precedence over the header). The header must be ``Bearer <key>``."""
    first = tasks[0] if tasks else None
    if isinstance(first, dict) and first.get("taskType") == "authentication":
        key = first.get("apiKey")
        return (key if isinstance(key, str) else None), True
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip(), False
    return None, False


def authenticate(rt: Runtime, key: str | None) -> tuple[Account | None, RunwareError | None]:
    """The account of a key, or the error: 401 missingApiKey / invalidApiKey, 403 inactiveApiKey."""
    result = rt.accounts.authenticate(NAME, key)
    if result.status == "ok" and result.account is not None:
        return result.account, None
    code = {"missing": "missingApiKey", "invalid": "invalidApiKey", "inactive": "inactiveApiKey"}[
        result.status
    ]
    return None, error(code, taskType="authentication")


def authentication_task_error(task: dict[str, Any]) -> RunwareError | None:
    """What is wrong with an authentication task besides its key (which ``authenticate`` judges): unknown
    fields or wrong types, answered like any task's violation; ``None`` when it keeps the contract."""
    schema = task_type_schema("authentication")
    assert schema is not None, "the contract defines the authentication task"
    violations = [v for v in validate(NAME, schema, task) if v.param != "apiKey"]
    if not violations:
        return None
    return _violation_error(_most_useful(violations, schema), task, schema, "authentication")


def run_tasks(tasks: list[Any], account: Account, rt: Runtime, skip_first: bool) -> list[TaskResult]:
    """Run every task of an authenticated array in order (the authentication task, when first, is
    consumed by authentication)."""
    results = []
    for index, task in enumerate(tasks):
        if index == 0 and skip_first:
            continue
        results.append(run_task(task, TaskContext(rt, account, index)))
    return results


def answer(results: list[TaskResult]) -> tuple[dict[str, Any], int]:
    """Body and status of a task array's answer (see the contract's ``x-status-of-mixed-arrays``)."""
    items = [item for result in results for item in result.items]
    errors = [result.error for result in results if result.error is not None]
    if not errors:
        return {"data": items}, 200
    body = {"data": items, "errors": [e.body for e in errors]}
    return body, 200 if items else errors[0].status


bp = Blueprint(NAME, __name__)


@bp.post("")
@bp.post("/")
def run() -> Response:
    """``POST /runware/v1``: a JSON array of tasks."""
    body = read_json(require_content_type=True)
    if not isinstance(body, list) or not body:
        return _json({"errors": [error("invalidPayload").body]}, 400)
    rt = runtime()
    key, from_task = credential(body, request.headers.get("Authorization"))
    account, failure = authenticate(rt, key)
    if account is None:
        failure = failure or error("invalidApiKey", taskType="authentication")
        return _json({"errors": [failure.body]}, failure.status)
    if from_task and (failure := authentication_task_error(body[0])) is not None:
        return _json({"errors": [failure.body]}, failure.status)
    payload, status = answer(run_tasks(body, account, rt, skip_first=from_task))
    return _json(payload, status)


# -- WebSocket ---------------------------------------------------------------------------------------------


@cache
def websocket_contract() -> dict[str, Any]:
    """The contract's ``x-websocket`` block (idle timeout, resume buffer, authentication reply shape)."""
    block: dict[str, Any] = document(NAME)["x-websocket"]
    return block


@dataclass
class _Link:
    """One WebSocket connection's state: its connection, then its session (uuid) and account once
    authenticated, and this app's ``Sessions``."""

    connection: Connection
    sessions: Sessions
    session: str | None = None
    account: Account | None = None

    def deliver(self, frame: Frame) -> None:
        """A frame for the link's session (``session`` is set): sent, or buffered if the client is away."""
        assert self.session is not None
        self.sessions.deliver(self.session, frame, self.connection)

    def flush(self) -> None:
        """Send what other workers buffered for the link's session while this connection holds it."""
        if self.session is not None:
            self.sessions.flush(self.session, self.connection)


#: Where each app keeps its ``Sessions`` (``app.extensions``).
_SESSIONS_KEY = "pixelmock.runware.sessions"


def _sessions(rt: Runtime) -> Sessions:
    """This app's WebSocket sessions (made on first use)."""
    found: Sessions | None = current_app.extensions.get(_SESSIONS_KEY)
    if found is None:
        keep = float(websocket_contract()["resume_buffer_seconds"])
        found = current_app.extensions.setdefault(_SESSIONS_KEY, Sessions(rt.store, rt.clock, keep))
    return found


def websocket(ws: Any) -> None:
    """``/runware/v1`` with ``Upgrade: websocket`` (flask-sock hands over ``ws``): the WebSocket API.

    Every message is a task array. An authentication task first authenticates the connection (reply
    ``{"data": [{"taskType": "authentication", "connectionSessionUUID": ...}]}``; with the
    ``connectionSessionUUID`` of an earlier connection, made to this worker or to another sharing the
    store, it resumes that session and receives its buffered frames); every other task runs through
    ``run_task`` as on REST, its items and errors going out as ``{"data": [...]}`` / ``{"errors": [...]}``
    frames through the session (buffered while the client is away). Each message first syncs the shared
    control record (``Runtime.sync``: clock, settings, fault rules), as a request does. Idle connections
    are closed after ``idle_timeout_seconds`` of the virtual clock; a refused first authentication closes the
    connection after its error frame. An unexpected failure while handling a message is answered with
    the catalogue's internal error frame, never a broken connection.
    """
    rt = runtime()
    contract = websocket_contract()
    idle = float(contract["idle_timeout_seconds"])
    code = int(contract["idle_close"]["code"])
    reason = str(contract["idle_close"]["reason"]).format(seconds=contract["idle_timeout_seconds"])
    link = _Link(Connection(ws, rt.clock), _sessions(rt))
    link.sessions.connect(link.connection)
    try:
        while (message := link.connection.receive(idle, code, reason, link.flush)) is not None:
            rt.sync()
            with journal_message(rt, NAME, message) as frames, link.connection.logging_into(frames):
                try:
                    _on_message(message, link, rt)
                except Exception:
                    log.exception("unexpected error on the Runware WebSocket")
                    internal = catalogue()["framework"]["internal"]
                    _send(link, {"errors": [{"code": internal["code"], "message": internal["message"]}]})
    finally:
        link.sessions.disconnect(link.connection, link.session)


def _on_message(message: str | bytes, link: _Link, rt: Runtime) -> None:
    raw = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
    try:
        tasks = parse_client_json(raw, NAME)
    except BodyRefused:
        tasks = None
    if not isinstance(tasks, list) or not tasks:
        _send(link, {"errors": [error("invalidPayload").body]})
        return
    first = tasks[0]
    offset = 0
    if isinstance(first, dict) and first.get("taskType") == "authentication":
        if not _authenticate_ws(first, link, rt):
            return
        offset = 1
    elif link.session is None:
        _send(link, {"errors": [_ws_auth_error("missingApiKey").body]})
        return
    account = link.account
    assert link.session is not None and account is not None
    if len(tasks) == offset:
        return
    model = next((t["model"] for t in tasks if isinstance(t, dict) and isinstance(t.get("model"), str)), None)
    with message_fault(rt.faults, PROVIDER, RUN, model) as fault:
        if fault is not None and _fault_answered(fault, link):
            return

        def push(item: dict[str, Any]) -> None:
            link.deliver({"data": [item]})

        for index, task in enumerate(tasks[offset:], start=offset):
            result = run_task(task, TaskContext(rt, account, index, on_item=push))
            if result.error is not None:
                link.deliver({"errors": [result.error.body]})
            elif result.items and not result.delivered:
                link.deliver({"data": result.items})
        if fault is not None and fault.kind == "drop":
            link.connection.drop()  # drop with after=true: the tasks ran, their answers are lost


def _fault_answered(fault: Fault, link: _Link) -> bool:
    """Apply a fault fired on a WebSocket message before its tasks run; whether it answered the message
    (the tasks are then not run). ``slow`` waits, then the tasks run; ``drop`` ends the connection
    without a close frame (after the tasks with ``after=true``); ``malformed`` cuts the first frame
    sent in half; a fault with an answer (rate limit, outage...) sends the REST answer's ``errors`` as one
    frame (the contract's ``x-websocket.faults``, a recorded choice: Runware documents no WebSocket form);
    flow faults are applied by the task flow (``active``)."""
    if fault.kind == "slow":
        time.sleep(fault.slow_seconds())
        return False
    if fault.kind == "drop":
        if fault.param("after", False):
            return False
        link.connection.drop()
        return True
    if fault.kind == "malformed":
        link.connection.cut_next()
        return False
    answer = PROVIDER.faults.get(fault.kind)
    if answer is None or answer.respond is None:
        return False
    body = answer.respond(fault).get_json()
    link.deliver({"errors": body["errors"]})
    return True


def _authenticate_ws(task: dict[str, Any], link: _Link, rt: Runtime) -> bool:
    """Authenticate (or resume) the connection with an authentication task; ``False`` when refused: the
    error frame is sent, then a connection without a session is closed (``refused_close``), while an
    already authenticated one keeps its session."""
    key = task.get("apiKey")
    account, failure = authenticate(rt, key if isinstance(key, str) else None)
    if account is None:
        code = str((failure or error("invalidApiKey")).body["code"])
        refusal = _ws_auth_error(code)
        _send(link, {"errors": [refusal.body]})
        if link.session is None:
            close = websocket_contract()["authentication"]["refused_close"]
            link.connection.close(int(close["code"]), str(refusal.body["message"]))
        return False
    invalid = authentication_task_error(task)
    if invalid is not None:
        _send(link, {"errors": [invalid.body]})
        return False
    resume = task.get("connectionSessionUUID")
    current = link.session
    same_account = link.account is not None and link.account.id == account.id
    if current is not None and same_account and resume in (None, current):
        link.connection.send(_auth_reply(current))
        return True
    if current is not None:
        link.sessions.detach(current, link.connection)
    wanted = resume if isinstance(resume, str) else None
    link.session = link.sessions.authenticate(link.connection, account.id, _auth_reply, wanted)
    link.account = account
    return True


def _auth_reply(session: str) -> Frame:
    return {"data": [{"taskType": "authentication", "connectionSessionUUID": session}]}


def _ws_auth_error(code: str) -> RunwareError:
    """An authentication error as the WebSocket API sends it (the documented extra fields)."""
    extra: dict[str, Any] = dict(websocket_contract()["authentication"]["error_fields"])
    return error(code, taskType="authentication", **extra)


def _send(link: _Link, frame: Frame) -> None:
    """A frame for this connection: through the session once authenticated (buffered if the client is
    gone), straight to the connection before."""
    if link.session is not None:
        link.deliver(frame)
    else:
        link.connection.send(frame)


#: flask-sock routes: the upgrade is a GET, so it shares both REST paths; a plain GET still gets 405.
sock = Sock()
for _path, _endpoint in (("", "websocket"), ("/", "websocket_slash")):
    sock.route(_path, bp=bp, endpoint=_endpoint)(websocket)


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """Runware's answer to an injected fault: ``{"errors": [item]}`` for the entry's ``code`` (from the
    catalogue's codes or its framework answers), with its status."""
    code = str(entry["code"])
    answers = catalogue()["framework"].values()
    framework = {e["code"]: e["message"] for e in answers if isinstance(e, dict) and "code" in e}
    failure = error(code, message=framework.get(code), status=entry.get("status"))
    return _json({"errors": [failure.body]}, failure.status)


PROVIDER = ProviderEmulator(
    name=NAME,
    prefix=PREFIX,
    blueprint=bp,
    error_response=error_response,
    faults=contract_answers(NAME, fault_response),
    budgets={TASKS: "results"},  # EmulatorConfig.results_max_bytes
)
