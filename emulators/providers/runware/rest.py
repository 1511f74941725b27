"""Runware's REST API: ``POST /runware/v1`` (and ``/runware/v1/``) takes a JSON array of tasks.

Flow of one request: parse the JSON array, authenticate (an ``authentication`` task first in the array,
else ``Authorization: Bearer``), then run each task on its own (``tasks.run_task``): an error is scoped to
its task and the other tasks still run. The answer is ``{"data": [...]}``; with failures ``{"data":
[...], "errors": [...]}``, HTTP 200 when any task produced data, else the first error's status (a
contract choice, ``x-status-of-mixed-arrays``). ``bp`` is the provider's blueprint; the WebSocket API
shares its paths (``websocket``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.emulators.core.accounts import Account
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.providers.base import json_response, provider_blueprint
from pixelmock.emulators.providers.runware.errors import error
from pixelmock.emulators.providers.runware.tasks import TaskContext, TaskResult, authenticate, run_task
from pixelmock.emulators.providers.runware.validation import authentication_task_error
from pixelmock.emulators.web.context import read_json, runtime

bp = provider_blueprint(NAME, __name__)


def _credential(tasks: list[Any], authorization: str | None) -> tuple[str | None, bool]:
    """The API key of a request and whether it came from an authentication task (element 0, which then
    takes precedence over the header). The header must be ``Bearer <key>``."""
    first = tasks[0] if tasks else None
    if isinstance(first, dict) and first.get("taskType") == "authentication":
        key = first.get("apiKey")
        return (key if isinstance(key, str) else None), True
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip(), False
    return None, False


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


@bp.post("")
@bp.post("/")
def run() -> Response:
    """``POST /runware/v1``: a JSON array of tasks."""
    body = read_json(require_content_type=True)
    if not isinstance(body, list) or not body:
        return json_response({"errors": [error("invalidPayload").body]}, 400)
    rt = runtime()
    key, from_task = _credential(body, request.headers.get("Authorization"))
    account, failure = authenticate(rt, key)
    if account is None:
        failure = failure or error("invalidApiKey", taskType="authentication")
        return json_response({"errors": [failure.body]}, failure.status)
    if from_task and (failure := authentication_task_error(body[0])) is not None:
        return json_response({"errors": [failure.body]}, failure.status)
    payload, status = answer(run_tasks(body, account, rt, skip_first=from_task))
    return json_response(payload, status)
