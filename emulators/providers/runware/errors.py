"""Runware's errors: the contract's error catalogue (``x-errors``), the error items built from it
(``RunwareError``, ``error``), the exception a failing task raises (``TaskFailed``) and the answers to
framework-level failures and to injected faults (``error_response``; ``fault_response``: the 429, 500,
503 and 504 of the contract's ``x-faults``).

An error item is ``{code, message, ...}``; a failed task's answer carries it in ``errors`` (contract
``contracts/openapi/runware.yaml``, ``x-errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import Response

from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.contracts.openapi import document
from pixelmock.emulators.core.faults import Fault
from pixelmock.emulators.providers.base import json_response


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


class TaskFailed(Exception):
    """A task fails with ``failure`` (raised by validation and the task flow, turned into the task's error
    by ``tasks.run_task``)."""

    def __init__(self, failure: RunwareError) -> None:
        super().__init__(failure.body.get("message"))
        self.failure = failure


def internal_error(task: Any) -> RunwareError:
    """The catalogue's internal error as one task's error item (with its taskType and taskUUID)."""
    entry = catalogue()["framework"]["internal"]
    scope = {key: task[key] for key in ("taskType", "taskUUID") if isinstance(task, dict) and key in task}
    return RunwareError(500, {"code": entry["code"], "message": entry["message"], **scope})


def error_response(status: int, kind: str, message: str) -> Response:
    """Framework-level failures under ``/runware/v1`` (unknown route, wrong method, body too large or
    not JSON, unexpected exception): ``{"errors": [{code, message}]}`` with the code from the catalogue."""
    entry = catalogue()["framework"].get(kind, catalogue()["framework"]["internal"])
    item = {"code": entry["code"], "message": entry["message"]}
    return json_response({"errors": [item]}, status)


def fault_response(entry: dict[str, Any], fault: Fault) -> Response:
    """Runware's answer to an injected fault: ``{"errors": [item]}`` for the entry's ``code`` (from the
    catalogue's codes or its framework answers), with its status."""
    code = str(entry["code"])
    answers = catalogue()["framework"].values()
    framework = {e["code"]: e["message"] for e in answers if isinstance(e, dict) and "code" in e}
    failure = error(code, message=framework.get(code), status=entry.get("status"))
    return json_response({"errors": [failure.body]}, failure.status)
