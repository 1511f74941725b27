"""Apiframe v2 flow: submit, then poll the job (contracts/openapi/apiframe.yaml).

``POST /v2/images/generate`` answers 202 ``{"jobId", "status"}``; the contract's ``links`` on that answer
name the poll (``getJob`` with ``id = $response.body#/jobId``), which the client follows with the
``PollPolicy`` backoff, honouring ``Retry-After``, until the job is COMPLETED (``result.images``, one URL
per image; ``creditCost`` is the reported cost in credits) or FAILED / CANCELLED (an error carrying the
job id; a "content policy violation" is a ``ContentPolicyError``). Each submission carries a fresh
``Idempotency-Key`` (a contract header), so resending it after a lost answer cannot create a second job.

Errors are ``{"error": str}`` (plus ``details`` on 400, ``creditsRequired`` / ``creditsAvailable`` on 402).
"""

from __future__ import annotations

import datetime as dt
import uuid
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
    native_call,
    obj,
    operation_call,
    requested_size,
)
from pixelmock.client.errors import (
    ContentPolicyError,
    ImageClientError,
    InsufficientCreditsError,
    ProviderError,
    kind_for_status,
    mentions_content_policy,
)
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.openapi import inlined, operation

PROVIDER = "apiframe"
SUBMIT = "generateImage"


@cache
def job_statuses() -> tuple[str, ...]:
    """The job status names of the contract (``Job.status``)."""
    return tuple(inlined(PROVIDER)["components"]["schemas"]["Job"]["properties"]["status"]["enum"])


def _status(name: str) -> str:
    if name not in job_statuses():
        raise LookupError(f"{PROVIDER}: job status {name!r} is not in the contract")
    return name


COMPLETED, FAILED, CANCELLED = (_status(s) for s in ("COMPLETED", "FAILED", "CANCELLED"))


@cache
def idempotency_header() -> str:
    """The name of the submission's idempotency header (contract ``parameters.IdempotencyKey``)."""
    return str(inlined(PROVIDER)["components"]["parameters"]["IdempotencyKey"]["name"])


@cache
def poll_link() -> tuple[str, str, str]:
    """``(operationId, path parameter, JSON pointer into the 202 body)`` of the submission's first link."""
    links: dict[str, Any] = operation(PROVIDER, SUBMIT)[2]["responses"]["202"]["links"]
    link = next(iter(links.values()))
    param, expression = next(iter(link["parameters"].items()))
    return str(link["operationId"]), str(param), str(expression).removeprefix("$response.body#")


def _pointer(body: Any, pointer: str) -> Any:
    node = body
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


class ApiframeFlow(Flow):
    """See the module docstring."""

    provider = PROVIDER

    def first_call(self, native: NativeRequest, target: Provider) -> HttpCall:
        """The JSON submission with a fresh Idempotency-Key (so it is safe to resend)."""
        return native_call(native, idempotent=True, headers={idempotency_header(): str(uuid.uuid4())})

    def poll_call(self, job_id: str) -> HttpCall:
        """``getJob`` for ``job_id`` (the operation the submission's link names)."""
        operation_id, param, _ = poll_link()
        return operation_call(PROVIDER, operation_id, path_params={param: job_id})

    def read(self, request: CanonicalRequest, answer: Answer, on: dt.date | None) -> Step:
        """The 202 acceptance (follow the link) or a job (done, failed, or still running)."""
        body = obj(answer.body)
        if answer.status == 202:
            _, _, pointer = poll_link()
            job_id = str(_pointer(body, pointer))
            return Pending(job_id, str(body.get("status")), self.poll_call(job_id))
        job_id, status = str(body.get("id")), str(body.get("status"))
        if status == COMPLETED:
            return Finished(self._images(request, body.get("result")), job_id, self._cost(body), status)
        if status in (FAILED, CANCELLED):
            message = str(body.get("error") or f"job {status}")
            kind = ContentPolicyError.kind if mentions_content_policy(message) else ProviderError.kind
            raise self.make(kind, answer, message, code=status, job_id=job_id)
        return Pending(job_id, status, self.poll_call(job_id))

    @staticmethod
    def _images(request: CanonicalRequest, result: Any) -> tuple[Any, ...]:
        # ``{"images": [url, ...]}``; older docs show a plain URL string (contract Job.result).
        refs = (
            result.get("images", [])
            if isinstance(result, dict)
            else [result]
            if isinstance(result, str)
            else []
        )
        fmt, size = str(request.output_format or "webp"), requested_size(request)
        return tuple(image_from_reference(str(ref), fmt, size) for ref in refs)

    @staticmethod
    def _cost(body: dict[str, Any]) -> ReportedCost | None:
        credits = body.get("creditCost")
        return ReportedCost(credits=int(credits)) if isinstance(credits, int) else None

    def error(self, answer: Answer) -> ImageClientError:
        """``{"error"}`` answers, classified by status; 402 keeps the credits required and available."""
        body = obj(answer.body)
        message = str(body.get("error") or answer.text or f"HTTP {answer.status}")
        kind = kind_for_status(answer.status)
        if kind == InsufficientCreditsError.kind:
            required, available = body.get("creditsRequired"), body.get("creditsAvailable")
            return self.make(kind, answer, message, required=required, available=available)
        return self.make(kind, answer, message)


FLOW = ApiframeFlow()
