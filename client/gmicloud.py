"""GMI Cloud request-queue flow: submit a request, read its record (contracts/openapi/gmicloud.yaml).

``POST /requests`` answers the request record. GPT Image is synchronous at GMI, so the record is normally
already terminal (``RequestStatus`` with ``x-terminal``): ``success`` with ``outcome.media_urls[].url``,
or ``failed`` with ``outcome.error``. A record that is not terminal yet is polled with ``GET
/requests/{request_id}`` under the ``PollPolicy``. GMI reports no cost; the job id is ``request_id``.

Errors are ``{"error": str}``, with ``request_id`` when a failed record was kept (a rejected generation,
400). The submission is never resent after a lost answer: GMI pre-charges at creation
(reported by third-party GMI clients, 2026-09).
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from pixelmock.client.base import (
    Answer,
    Finished,
    Flow,
    HttpCall,
    Pending,
    Step,
    image_from_reference,
    obj,
    operation_call,
    requested_size,
)
from pixelmock.client.errors import (
    ContentPolicyError,
    ImageClientError,
    ProviderError,
    ValidationError,
    kind_for_status,
    mentions_content_policy,
)
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.openapi import inlined

PROVIDER = "gmicloud"
POLL = "getRequest"


@cache
def _status_schema() -> dict[str, Any]:
    schema: dict[str, Any] = inlined(PROVIDER)["components"]["schemas"]["RequestStatus"]
    return schema


def terminal_statuses() -> frozenset[str]:
    """Statuses after which a record no longer changes (contract ``RequestStatus.x-terminal``)."""
    return frozenset(_status_schema()["x-terminal"])


def _status(name: str) -> str:
    if name not in _status_schema()["enum"]:
        raise LookupError(f"{PROVIDER}: request status {name!r} is not in the contract")
    return name


SUCCESS, FAILED = _status("success"), _status("failed")


class GmiCloudFlow(Flow):
    """See the module docstring."""

    provider = PROVIDER

    def poll_call(self, job_id: str) -> HttpCall:
        """``GET /requests/{request_id}``."""
        return operation_call(PROVIDER, POLL, path_params={"request_id": job_id})

    def read(self, request: CanonicalRequest, answer: Answer, on: dt.date | None) -> Step:
        """A terminal record (images, or the record's error) or one to poll again."""
        record = obj(answer.body)
        job_id, status = str(record.get("request_id")), str(record.get("status"))
        if status not in terminal_statuses():
            return Pending(job_id, status, self.poll_call(job_id))
        outcome = obj(record.get("outcome"))
        if status != SUCCESS:
            error = obj(outcome.get("error"))
            message = str(error.get("message") or f"request {status}")
            kind = ProviderError.kind
            if mentions_content_policy(message, error.get("status")):
                kind = ContentPolicyError.kind
            elif status == FAILED and isinstance(error.get("code"), int) and 400 <= error["code"] < 500:
                kind = ValidationError.kind
            raise self.make(kind, answer, message, code=error.get("status"), job_id=job_id)
        fmt, size = str(request.output_format), requested_size(request)
        media = [m for m in outcome.get("media_urls") or [] if isinstance(m, dict) and "url" in m]
        images = tuple(image_from_reference(str(m["url"]), fmt, size) for m in media)
        return Finished(images, job_id, None, status)

    def error(self, answer: Answer) -> ImageClientError:
        """``{"error"[, "request_id"]}``, classified by status (content-policy texts as such)."""
        body = obj(answer.body)
        message = str(body.get("error") or answer.text or f"HTTP {answer.status}")
        kind = kind_for_status(answer.status)
        if kind == ValidationError.kind and mentions_content_policy(message):
            kind = ContentPolicyError.kind
        job_id = body.get("request_id")
        return self.make(kind, answer, message, job_id=str(job_id) if job_id is not None else None)


FLOW = GmiCloudFlow()
