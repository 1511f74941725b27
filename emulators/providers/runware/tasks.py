"""The Runware task engine, shared by both transports (``rest``, ``websocket``): an array's key checked
(``authenticate``), then each task validated (``validation.check_task``) and run by its handler
(``HANDLERS``: imageInference, getResponse, ping) into a ``TaskResult`` (items, or one error item);
accepted imageInference tasks are kept as ``TaskRecord``s (store namespace ``TASKS``) for
``getResponse``, charged to the account's USD ledger and refunded when they fail.

Emulator options (``EmulatorConfig.options``):
- ``runware.transparent_jpg``: ``"flatten"`` (default; the model page's sticker-sheet example) or ``"reject"``
  (400 ``incompatibleParameters``) for background transparent with outputFormat JPG.
- ``runware.gpt_image_2_parameters``: ``"both"`` (default: the docs page's ``providerSettings.openai`` and
  runware-sdk 1.8.0's newer ``settings``), ``"providerSettings"`` or ``"settings"``: the settings block
  openai:gpt-image@2 takes; a block the value does not take answers 400 ``unsupportedParameter``.
- ``runware.gpt_image_2_dimensions``: ``"optional"`` (default; runware-sdk 1.8.0's newer schema: both left
  out = size auto) or ``"required"`` (the docs page: 400 ``missingWidth`` / ``missingHeight`` without them).
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
faults (contract ``x-faults``): per imageInference task ``providerBadRequest`` (content policy),
``timeoutProvider`` and ``insufficientCredits``, not charged.
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

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.contracts.dialects.runware import RUN, TASK_TYPE, Choices, RunwareDialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import document
from pixelmock.contracts.pricing import Quote, quote
from pixelmock.emulators.core.accounts import Account, Charge
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import ImageSpec, spec_for
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.store import Claimed, Put, StoreUnavailable
from pixelmock.emulators.providers.runware.errors import (
    RunwareError,
    TaskFailed,
    catalogue,
    error,
    internal_error,
)
from pixelmock.emulators.providers.runware.validation import capitalized, check_task, docs_link
from pixelmock.emulators.web.faults import active

log = logging.getLogger("pixelmock")

TASKS = "runware.tasks"
MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
#: Longest ttl honoured (Runware documents only ttl >= 60); longer ones are kept this long (10 years).
MAX_TTL_SECONDS = 10 * 365 * 24 * 3600


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


def authenticate(rt: Runtime, key: str | None) -> tuple[Account | None, RunwareError | None]:
    """The account of a key, or the error: 401 missingApiKey / invalidApiKey, 403 inactiveApiKey."""
    result = rt.accounts.authenticate(NAME, key)
    if result.status == "ok" and result.account is not None:
        return result.account, None
    code = {"missing": "missingApiKey", "invalid": "invalidApiKey", "inactive": "inactiveApiKey"}[
        result.status
    ]
    return None, error(code, taskType="authentication")


def run_task(task: Any, ctx: TaskContext) -> TaskResult:
    """Validate and run one task; every failure becomes the task's error (never an exception). An
    unexpected one (a bug) becomes the catalogue's internal error scoped to the task (status 500), so
    the array's other tasks keep their answers ("errors are scoped to the specific task that failed",
    https://runware.ai/docs/platform/errors); a task that fails so is not charged (``image_inference``
    refunds it)."""
    try:
        task_type, _, choices = check_task(task)
        return HANDLERS[task_type](task, replace(ctx, choices=choices))
    except TaskFailed as failed:
        return TaskResult(error=failed.failure)
    except StoreUnavailable:
        raise  # the whole request is answered as Runware answers an outage
    except Exception:
        log.exception("unexpected error in Runware task %d", ctx.index)
        return TaskResult(error=internal_error(task))


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
        failure = internal_error(task)
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
        code = catalogue()["rules"]["invalid_parameter"].format(Parameter=capitalized(field_name))
        return TaskResult(error=error(code, message=str(exc), parameter=field_name, **common))
    journal_note(canonical=resolved, cost=priced, taskUUID=task_uuid)
    asynchronous = task.get("deliveryMethod", "sync") == "async" or "webhookURL" in task
    failure = _flow_failure(common)
    if failure is not None and (not asynchronous or failure.body["code"] == "insufficientCredits"):
        existing: TaskRecord | None = rt.store.get(TASKS, task_uuid)
        return TaskResult(
            error=_conflict(existing, common) if existing is not None else failure
        )  # not charged
    charge = Charge.of(NAME, resolved, task_uuid)
    polls = int(str(rt.config.option("runware.processing_polls", 0))) if asynchronous else 0
    n = resolved.n or 1
    image_uuids = [str(new_uuid()) for _ in range(n)]
    delivery = task.get("deliveryMethod", "sync")
    now = rt.clock.now()
    duration = rt.latency.job_seconds(NAME, priced.billed_quality) if asynchronous else 0.0
    finish_at = [now + dt.timedelta(seconds=duration * (i + 1) / n) for i in range(n)]
    record = TaskRecord(task_uuid, ctx.account.id, TASK_TYPE, delivery, [], polls, image_uuids, finish_at)
    try:
        if failure is not None:  # an async task that fails later: claimed, not charged
            record = replace(record, image_uuids=[], finish_at=[], failure=failure, fail_at=finish_at[-1])
            rt.store.update(TASKS, task_uuid, lambda old: _unclaimed(old, record))
        else:  # the task id is claimed with the debit that pays for it: one atomic step
            memo, usd = f"runware imageInference {task_uuid}", priced.usd or Decimal(0)
            claim = Put(TASKS, task_uuid, record)
            if not rt.accounts.debit(ctx.account, "USD", usd, memo, charge, claim):
                rt.store.delete(TASKS, task_uuid)  # claimed with the step that found the balance short
                return TaskResult(error=error("insufficientCredits", parameter=None, **common))
    except Claimed as taken:
        return TaskResult(error=_conflict(taken.existing, common))
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
            # This request claimed the task: nobody else writes it; held to the request's end on Redis.
            rt.store.write_many([Put(TASKS, task_uuid, replace(record, items=list(items)))])
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
    ``x-faults``), or ``None`` (also outside any exchange: ``active`` finds none)."""
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


def _unclaimed(old: TaskRecord | None, record: TaskRecord) -> TaskRecord:
    """``record``, for a store update claiming its task id; raises ``Claimed`` (as the debit's claim
    does) when the id is taken."""
    if old is not None:
        raise Claimed(old)
    return record


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
    ``RUNWARE_VIDEO_INITIAL_TIMEOUT`` (30 s) per poll (runware==0.5.24:runware/utils.py); ``runware-sdk``
    keys in-flight items by imageUUID and counts only ``success`` ones as results.
    """
    task_uuid = str(task["taskUUID"])
    record: TaskRecord | None = ctx.rt.store.get(TASKS, task_uuid)
    if record is None or record.account_id != ctx.account.id:
        docs = docs_link("getResponse", None, None)
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
