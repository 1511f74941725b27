"""Runware's WebSocket API (``wss://ws-api.runware.ai/v1``) on ``/runware/v1``: the message glue between
a connection (``sessions``: connections, sessions, buffered delivery, resume, idle timeout) and the task
engine (``tasks``).

The connection authenticates once with an authentication task; every other task runs through
``tasks.run_task`` as on REST, each finished image of a sync imageInference task pushed as its own frame
(``TaskContext.on_item``). Fault rules apply per message (``_fault_answered``). Contract:
``contracts/openapi/runware.yaml``, ``x-websocket``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from flask import current_app

from pixelmock.contracts.dialects.runware import PROVIDER as NAME
from pixelmock.contracts.dialects.runware import RUN
from pixelmock.contracts.openapi import document
from pixelmock.emulators.core.accounts import Account
from pixelmock.emulators.core.bodies import BodyRefused
from pixelmock.emulators.core.faults import Fault
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.providers.runware.errors import RunwareError, catalogue, error
from pixelmock.emulators.providers.runware.sessions import Connection, Frame, Sessions
from pixelmock.emulators.providers.runware.tasks import TaskContext, authenticate, run_task
from pixelmock.emulators.providers.runware.validation import authentication_task_error
from pixelmock.emulators.web.context import parse_client_json, runtime
from pixelmock.emulators.web.faults import after_answer, before_answer, message_fault
from pixelmock.emulators.web.journal import journal_message
from pixelmock.emulators.web.provider import ProviderEmulator
from pixelmock.emulators.web.sockets import SockView

log = logging.getLogger("pixelmock")


def mount(provider: ProviderEmulator) -> None:
    """Serve the WebSocket API on ``provider``'s blueprint: the upgrade is a GET, so it shares both REST
    paths (``""`` and ``"/"``); a plain GET still gets 405. Call once, before the blueprint is
    registered on an app."""
    upgrade = SockView(partial(websocket, provider=provider))
    for path, endpoint in (("", "websocket"), ("/", "websocket_slash")):
        provider.blueprint.route(path, endpoint=endpoint, websocket=True)(upgrade)


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


def websocket(ws: Any, provider: ProviderEmulator) -> None:
    """``/runware/v1`` with ``Upgrade: websocket`` (flask-sock hands over ``ws``; ``provider``: the
    Runware emulator, whose fault answers apply): the WebSocket API.

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
                    _on_message(message, link, rt, provider)
                except Exception:
                    log.exception("unexpected error on the Runware WebSocket")
                    internal = catalogue()["framework"]["internal"]
                    _send(link, {"errors": [{"code": internal["code"], "message": internal["message"]}]})
    finally:
        link.sessions.disconnect(link.connection, link.session)


def _on_message(message: str | bytes, link: _Link, rt: Runtime, provider: ProviderEmulator) -> None:
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
    with message_fault(rt.faults, provider, RUN, model) as fault:
        if fault is not None and _fault_answered(fault, link, provider):
            return

        def push(item: dict[str, Any]) -> None:
            link.deliver({"data": [item]})

        for index, task in enumerate(tasks[offset:], start=offset):
            result = run_task(task, TaskContext(rt, account, index, on_item=push))
            if result.error is not None:
                link.deliver({"errors": [result.error.body]})
            elif result.items and not result.delivered:
                link.deliver({"data": result.items})
        if fault is not None:
            after_answer(fault, link.connection)  # drop with after=true: the tasks ran, answers lost


def _fault_answered(fault: Fault, link: _Link, provider: ProviderEmulator) -> bool:
    """Apply a fault fired on a WebSocket message before its tasks run; whether it answered the message
    (the tasks are then not run). The generic kinds act on the connection as on an HTTP request
    (``web.faults.before_answer``: ``slow`` waits, ``drop`` ends the connection without a close frame,
    ``malformed`` cuts the first frame sent in half); a fault with an answer (rate limit, outage...) sends
    the REST answer's ``errors`` as one frame (the contract's ``x-websocket.faults``, a recorded choice:
    Runware documents no WebSocket form); flow faults are applied by the task flow (``active``)."""
    if before_answer(fault, link.connection):
        return True
    answer = provider.faults.get(fault.kind)
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
