"""Runware REST flow: one ``imageInference`` task per call, sync or async (contracts/openapi/runware.yaml).

The task array goes to ``POST https://api.runware.ai/v1`` (the contract's ``/`` path is the base URL
itself). The client asks for ``includeCost`` unless the request's ``extra["runware"]`` says otherwise, so
each result item reports its ``cost`` (USD, 5 decimals); the reported cost is their sum.

- ``deliveryMethod: sync`` (default): the answer carries the finished items (``imageURL``,
  ``imageBase64Data`` or ``imageDataURI`` as ``outputType`` asked).
- ``deliveryMethod: async`` (set ``extra={"runware": {"deliveryMethod": "async"}}``) or a ``webhookURL``:
  the answer is an acknowledgement ``{taskType, taskUUID}``; the client then polls with a ``getResponse``
  task until every item's ``status`` (contract enum) is ``success`` and ``numberResults`` items are there.

Errors are ``{"errors": [{"code", "message", "parameter", ...}]}``, also inside a 200 for a task that
failed. Codes are classified by the status the contract's ``x-errors`` gives them, then by the categories
of Runware's own SDK (runware-sdk==1.8.0:runware/errors.py), then by the HTTP status.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from typing import Any

from pixelmock.client.base import (
    Answer,
    Finished,
    Flow,
    HttpCall,
    Pending,
    Provider,
    ReportedCost,
    Step,
    image_from_reference,
    obj,
    operation_call,
    requested_size,
)
from pixelmock.client.errors import (
    AuthenticationError,
    ContentPolicyError,
    ImageClientError,
    InsufficientCreditsError,
    ProviderError,
    RateLimitedError,
    RequestTimeoutError,
    kind_for_status,
    mentions_content_policy,
)
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects.runware import EXTRA_KEY, RUN, TASK_TYPE, task_type_schema
from pixelmock.contracts.openapi import document, inlined

PROVIDER = "runware"
#: Result item fields that hold the image, by ``outputType`` (contract ``ImageInferenceResult``).
IMAGE_FIELDS = ("imageURL", "imageBase64Data", "imageDataURI")
#: Safety refusal codes of Runware's SDK (runware-sdk==1.8.0:runware/errors.py).
SAFETY_CODES = frozenset(
    {
        "contentPolicyViolation",
        "providerContentPolicyViolation",
        "nsfwContentDetected",
        "sensitiveContentDetected",
        "promptBlocked",
        "imageBlocked",
    }
)
#: Substrings of codes and the error kind Runware's SDK derives from them (``derive_code``, same source),
#: checked in this order after the safety set.
CODE_CATEGORIES = (
    ("ApiKey", AuthenticationError.kind),
    ("Credits", InsufficientCreditsError.kind),
    ("Quota", InsufficientCreditsError.kind),
    ("Balance", InsufficientCreditsError.kind),
    ("RateLimit", RateLimitedError.kind),
    ("Timeout", RequestTimeoutError.kind),
    ("timeout", RequestTimeoutError.kind),
    ("provider", ProviderError.kind),
)


@cache
def get_response_type() -> str:
    """The ``taskType`` of the polling task (contract ``GetResponseTask``)."""
    schema = task_type_schema("getResponse")
    assert schema is not None, "runware.yaml lacks the getResponse task"
    return str(schema["properties"]["taskType"]["const"])


@cache
def success_status() -> str:
    """The item ``status`` of a finished image in getResponse answers (contract enum, last value)."""
    statuses = inlined(PROVIDER)["components"]["schemas"]["ImageInferenceResult"]["properties"]["status"][
        "enum"
    ]
    return str(statuses[-1])


@cache
def code_statuses() -> dict[str, int]:
    """HTTP status of each error code of the contract's ``x-errors`` catalogue."""
    codes: dict[str, Any] = document(PROVIDER)["x-errors"]["codes"]
    return {code: int(entry["status"]) for code, entry in codes.items() if isinstance(entry, dict)}


def error_kind(code: str, message: str, status: int) -> str:
    """The client error kind of a Runware error item (see the module docstring)."""
    if code in SAFETY_CODES or mentions_content_policy(message):
        return ContentPolicyError.kind
    if code in code_statuses():
        return kind_for_status(code_statuses()[code])
    for marker, kind in CODE_CATEGORIES:
        if marker in code:
            return kind
    return kind_for_status(status)


class RunwareFlow(Flow):
    """See the module docstring."""

    provider = PROVIDER

    def prepare(self, request: CanonicalRequest, target: Provider) -> CanonicalRequest:
        """Ask for ``includeCost`` unless ``extra["runware"]`` sets it."""
        transport = dict(request.extra.get(EXTRA_KEY, {}))
        transport.setdefault("includeCost", True)
        return request.with_(extra={**request.extra, EXTRA_KEY: transport})

    def poll_call(self, job_id: str) -> HttpCall:
        """A ``getResponse`` task for ``job_id`` (a read: safe to resend)."""
        task = {"taskType": get_response_type(), "taskUUID": job_id}
        return operation_call(PROVIDER, RUN, json_body=[task], idempotent=True)

    def read(self, request: CanonicalRequest, answer: Answer, on: dt.date | None) -> Step:
        """Finished items, an acknowledgement or processing items (poll), or the task's error."""
        body = obj(answer.body)
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        if errors:
            raise self._error_item(answer, errors[0])
        items = [i for i in body.get("data") or [] if isinstance(i, dict) and i.get("taskType") == TASK_TYPE]
        if not items:
            raise self.make(ProviderError.kind, answer, "the answer carries no imageInference item")
        job_id = str(items[0].get("taskUUID"))
        done = [
            i
            for i in items
            if any(f in i for f in IMAGE_FIELDS) and i.get("status", success_status()) == success_status()
        ]
        if len(done) < (request.n or 1) or len(done) < len(items):
            status = str(items[0].get("status", "async"))
            return Pending(job_id, status, self.poll_call(job_id))
        fmt, size = str(request.output_format), requested_size(request)
        images = tuple(
            image_from_reference(next(str(i[f]) for f in IMAGE_FIELDS if f in i), fmt, size) for i in done
        )
        costs = [Decimal(str(i["cost"])) for i in done if isinstance(i.get("cost"), int | float)]
        cost = ReportedCost(usd=sum(costs, Decimal(0))) if costs else None
        return Finished(images, job_id, cost, str(done[0].get("status", "sync")))

    def _error_item(self, answer: Answer, item: dict[str, Any]) -> ImageClientError:
        code, message = str(item.get("code", "")), str(item.get("message") or f"HTTP {answer.status}")
        kind = error_kind(code, message, answer.status)
        job_id = item.get("taskUUID")
        return self.make(kind, answer, message, code=code, param=item.get("parameter"), job_id=job_id)

    def error(self, answer: Answer) -> ImageClientError:
        """The first error item of the answer, classified (see ``error_kind``)."""
        body = obj(answer.body)
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        if errors:
            return self._error_item(answer, errors[0])
        return self.make(kind_for_status(answer.status), answer, answer.text or f"HTTP {answer.status}")


FLOW = RunwareFlow()
