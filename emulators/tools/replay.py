"""``pixelmock serve --replay DIR``: answer recorded requests from cassettes, everything else from the
emulators, so a recorded session (``pixelmock proxy --record``) is a fixture any client can use.

``replaying(app, directory, mode)`` wraps an app built by ``create_app`` (WSGI middleware). A request
under a provider's prefix is matched to the interactions of every cassette under ``directory`` whose
URI lies under that provider's real base URL (its contract's ``servers[0]``) on method, path under the
base URL, query (order aside) and, for JSON bodies, the body with credential fields scrubbed (as the
cassette holds it) and the fields its clients mint per request left out (the contract's ``x-volatile``:
Runware's ``taskUUID``); other bodies (multipart) are not compared. Interactions matching the same
request are answered in recorded order, and the last one again once they are used up (a job polled more
often than recorded stays in its last state). A replayed answer carries ``X-Pixelmock-Replayed:
<cassette>#<index>``, names the caller's values of the volatile fields where the recording named its
own, and is sent by a hook of the app: journaled (``answered_by: cassette``) and access-logged like any
other answer. A request no recording matches but one differing in a single JSON field (WireMock's near
miss) is answered by the emulators, with a warning (logger ``pixelmock.replay``) and a journal note
``replay_near_miss: {cassette, field}`` naming the recording and the field.

Runware's WebSocket API is replayed message by message when the cassettes hold recorded messages of it
(``proxy.Proxy.relay``'s ``x-websocket`` interactions): the upgrade is served by ``_messages`` instead of
the emulator, and each message is matched as a request is (method ``WEBSOCKET``, credential fields
scrubbed, ``taskUUID`` ignored) and answered with the recorded frames under the caller's ``taskUUID``s,
journaled and logged per message (``answered_by: cassette``); a message no recording matches is answered
by ``unmatched_frames`` (the contract's ``x-websocket.replay``: an error frame per task, a choice) and
journaled ``answered_by: replay``. The record modes do not record WebSocket messages (the proxy does).

Files the recording fetched (``x-fetched`` interactions: images answers named by URL) are served at
``/__replay/files/<token>``, and replayed answers name them there instead of their recorded URL, so a
client downloading the images stays offline.

Record modes, as vcrpy's (https://vcrpy.readthedocs.io/en/latest/usage.html#record-modes):
``none`` replays and never writes; ``once`` records (the emulators' answers to every request, as
cassettes under ``directory``) only when ``directory`` holds no cassette yet, else behaves as ``none``;
``new_episodes`` replays what matches and records every other exchange. Unmatched requests are always
answered by the emulators (unlike vcrpy's ``none``, which raises).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

from flask import Flask
from flask import request as flask_request
from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from pixelmock.contracts.openapi import document, real_base_url, volatile_fields
from pixelmock.contracts.secrets import scrub_json
from pixelmock.contracts.verify import FETCHED_KEY, WEBSOCKET_KEY, match, split_uri, websocket_operation
from pixelmock.emulators.app import mounted_providers
from pixelmock.emulators.config.settings import RECORD_MODES
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.logs import loggable
from pixelmock.emulators.tools.cassettes import (
    CassetteWriter,
    Exchange,
    body_bytes,
    header_pairs,
    interactions,
    json_leaves,
    read_interactions,
)
from pixelmock.emulators.web.context import runtime
from pixelmock.emulators.web.journal import journal_message
from pixelmock.emulators.web.sockets import SockView

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Where the files a recording fetched are served.
FILES_PREFIX = "/__replay/files/"
REPLAYED_HEADER = "X-Pixelmock-Replayed"
#: The WSGI environ key holding the recorded answer a request matched, for the app's hook to send.
_FOUND = "pixelmock.replay.found"
#: The WSGI environ key holding the near miss of a request no recording matched.
_NEAR = "pixelmock.replay.near_miss"
log = logging.getLogger("pixelmock.replay")
#: Headers describing the recorded transfer rather than the answer; recomputed when replaying.
_TRANSFER = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})

Key = tuple[str, str, str, str, str]
#: The method a WebSocket message is matched under (``proxy.Proxy.relay`` records each message so).
WEBSOCKET = "WEBSOCKET"


def request_key(provider: str, method: str, path: str, query: str, body: bytes) -> Key:
    """What a request is matched on: ``(provider, METHOD, path under the base URL, sorted query, body)``;
    ``body`` is the JSON with credential fields scrubbed and the provider's volatile fields
    (``contracts.openapi.volatile_fields``: Runware's ``taskUUID``) left out, keys sorted, or ``""`` for
    any other body."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    parsed = _parsed(body)
    text = (
        ""
        if parsed is None
        else json.dumps(_without(scrub_json(parsed), volatile_fields(provider)), sort_keys=True)
    )
    return provider, method.upper(), path.rstrip("/") or "/", json.dumps(pairs), text


def volatile_values(provider: str, body: bytes) -> list[str]:
    """The values of the provider's volatile fields in a JSON body, in document order (``[]`` for any
    other body)."""
    names = volatile_fields(provider)
    parsed = _parsed(body) if names else None
    return [] if parsed is None else list(_values(parsed, names))


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except (UnicodeDecodeError, ValueError):
        return None


def _without(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_without(v, names) for v in value]
    return value


def _values(value: Any, names: frozenset[str]) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in names and isinstance(item, str):
                yield item
            else:
                yield from _values(item, names)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item, names)


def file_token(url: str) -> str:
    """The name under ``/__replay/files/`` of a fetched file's URL."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


@dataclass
class _Recorded:
    cassette: str
    index: int
    interaction: dict[str, Any]


@dataclass
class Cassettes:
    """Every interaction under a folder, indexed for replay (``load``)."""

    answers: dict[Key, list[_Recorded]] = field(default_factory=dict)
    used: dict[Key, int] = field(default_factory=dict)
    files: dict[str, tuple[list[tuple[str, str]], bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, directory: str | Path) -> Cassettes:
        """Read every cassette under ``directory`` (a missing folder holds none)."""
        found = cls()
        if not Path(directory).is_dir():
            return found
        for path, index, interaction in read_interactions(directory):
            found.add(str(path), index, interaction)
        return found

    def add(self, cassette: str, index: int, interaction: dict[str, Any]) -> None:
        """Index one interaction: a fetched file by its URL's token, a provider's exchange by its key (a
        WebSocket message under method ``WEBSOCKET``, path ``/``); anything else (a foreign URI) is
        counted but not replayed."""
        with self.lock:
            self.count += 1
            request = interaction.get("request") or {}
            response = interaction.get("response") or {}
            uri = str(request.get("uri", ""))
            if interaction.get(FETCHED_KEY):
                token = file_token(uri)
                self.urls[uri] = token
                self.files[token] = (header_pairs(response.get("headers")), body_bytes(response.get("body")))
                return
            body = body_bytes(request.get("body"))
            if interaction.get(WEBSOCKET_KEY):
                found = websocket_operation(uri)
                if found is None:
                    return
                key = request_key(found[0], WEBSOCKET, "/", "", body)
            else:
                where = split_uri(uri)
                if where is None:
                    return
                key = request_key(where[0], str(request.get("method", "")), where[1], where[2], body)
            self.answers.setdefault(key, []).append(_Recorded(cassette, index, interaction))

    def near_miss(self, key: Key) -> tuple[_Recorded, str] | None:
        """A recording of the same provider, method, path and query whose JSON body differs from the
        request's (``key``) in exactly one field, with that field's JSON path, or ``None`` (WireMock's
        near miss: the request was probably meant to match it)."""
        mine = _leaf_map(key[4])
        if mine is None:
            return None
        for other, recorded in self.answers.items():
            theirs = _leaf_map(other[4]) if other[:4] == key[:4] and recorded else None
            if theirs is None:
                continue
            differing = sorted(
                p for p in mine.keys() | theirs.keys() if mine.get(p, _ABSENT) != theirs.get(p, _ABSENT)
            )
            if len(differing) == 1:
                return recorded[0], differing[0]
        return None

    def has_messages(self, provider: str) -> bool:
        """Whether any recorded WebSocket message of ``provider`` is indexed."""
        return any(key[:2] == (provider, WEBSOCKET) for key in self.answers)

    def next(self, key: Key) -> _Recorded | None:
        """The next recorded answer to ``key`` (the last one again once used up), or ``None``."""
        recorded = self.answers.get(key)
        if not recorded:
            return None
        with self.lock:
            position = self.used.get(key, 0)
            self.used[key] = position + 1
        return recorded[min(position, len(recorded) - 1)]


class Replaying:
    """The WSGI middleware ``replaying`` installs (see the module docs)."""

    def __init__(
        self, inner: WSGIApplication, prefixes: dict[str, str], directory: str | Path, mode: str
    ) -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"record mode {mode!r} is not one of {list(RECORD_MODES)}")
        self.inner = inner
        self.prefixes = prefixes
        self.cassettes = Cassettes.load(directory)
        records = mode == "new_episodes" or (mode == "once" and self.cassettes.count == 0)
        self.writer = CassetteWriter(directory) if records else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(FILES_PREFIX):
            return self._file(path[len(FILES_PREFIX) :], environ, start_response)
        provider = next(
            (
                name
                for name, prefix in self.prefixes.items()
                if path == prefix or path.startswith(prefix + "/")
            ),
            None,
        )
        if provider is None or str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket":
            return self.inner(environ, start_response)  # a WebSocket's messages: ``_messages``
        request = Request(environ)
        body = request.get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        rest = path[len(self.prefixes[provider]) :]
        query = str(environ.get("QUERY_STRING", ""))
        key = request_key(provider, request.method, rest, query, body)
        found = self.cassettes.next(key)
        if found is not None:  # answered by the app's hook (``replaying``): journaled and logged
            environ[_FOUND] = (found, self._replay(found, provider, body, request.host_url.rstrip("/")))
            return self.inner(environ, start_response)
        near = self._nearest(key, f"{request.method} {loggable(path)}")
        if near is not None:
            environ[_NEAR] = near
        if self.writer is None:
            return self.inner(environ, start_response)
        return self._record(provider, rest, query, request, body, environ, start_response)

    def _replay(self, found: _Recorded, provider: str, body: bytes, root: str) -> Response:
        """The recorded answer, with the files it names served under ``FILES_PREFIX`` and the recorded
        values of the provider's volatile fields (``volatile_values``) replaced by the caller's."""
        response = found.interaction.get("response") or {}
        data = self._rewritten(found, provider, body, root)
        headers = Headers(
            [(k, v) for k, v in header_pairs(response.get("headers")) if k.lower() not in _TRANSFER]
        )
        headers[REPLAYED_HEADER] = f"{Path(found.cassette).name}#{found.index}"
        status = int((response.get("status") or {}).get("code", 200))
        return Response(data, status=status, headers=headers)

    def _rewritten(self, found: _Recorded, provider: str, body: bytes, root: str) -> bytes:
        """The recorded answer's body with the files it names at ``root`` + ``FILES_PREFIX`` and the
        recorded values of the provider's volatile fields (``volatile_values`` of the recorded request)
        replaced by the caller's (those of ``body``, in the same order)."""
        data = body_bytes((found.interaction.get("response") or {}).get("body"))
        urls = {url: f"{root}{FILES_PREFIX}{t}" for url, t in self.cassettes.urls.items()}
        recorded = volatile_values(provider, body_bytes((found.interaction.get("request") or {}).get("body")))
        urls.update(
            (old, new)
            for old, new in zip(recorded, volatile_values(provider, body), strict=False)
            if old != new
        )
        return _rewrite(data, urls) if urls else data

    def answer_message(self, provider: str, message: bytes, root: str) -> list[Any]:
        """The frames (JSON values) answering one message on ``provider``'s WebSocket API: the recorded
        frames of the next recorded message matching it (``request_key`` with method ``WEBSOCKET``:
        credential fields scrubbed, volatile ``taskUUID`` ignored), rewritten as ``_rewritten`` does
        (journal note ``answered_by: cassette``, ``replayed``); else ``unmatched_frames`` (journal notes
        ``answered_by: replay``, and ``replay_near_miss`` when one recorded message differs from it in a
        single field). Call inside the message's ``journal_message`` block."""
        key = request_key(provider, WEBSOCKET, "/", "", message)
        found = self.cassettes.next(key)
        if found is not None:
            journal_note(answered_by="cassette", replayed=f"{Path(found.cassette).name}#{found.index}")
            lines = self._rewritten(found, provider, message, root).decode("utf-8", "replace").splitlines()
            return [_frame(line) for line in lines if line.strip()]
        near = self._nearest(key, f"a {provider} WebSocket message")
        if near is not None:
            journal_note(replay_near_miss=near)
        journal_note(answered_by="replay")
        return unmatched_frames(provider, message)

    def _nearest(self, key: Key, what: str) -> dict[str, str] | None:
        """The near miss of a request no recording matches (``Cassettes.near_miss``) as its journal note
        ``{cassette: "<file>#<index>", field}``, logged as a warning (``what``: the request, for the log),
        or ``None``."""
        near = self.cassettes.near_miss(key)
        if near is None:
            return None
        miss = {"cassette": f"{Path(near[0].cassette).name}#{near[0].index}", "field": near[1]}
        log.warning("no recording matches %s; nearest: %s (differs in %s)", what, *miss.values())
        return miss

    def _file(self, token: str, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        stored = self.cassettes.files.get(token)
        if stored is None:
            return Response("Not Found", status=404, mimetype="text/plain")(environ, start_response)
        headers = Headers([(k, v) for k, v in stored[0] if k.lower() not in _TRANSFER])
        return Response(stored[1], headers=headers)(environ, start_response)

    def _record(
        self,
        provider: str,
        rest: str,
        query: str,
        request: Request,
        body: bytes,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        """Answer from the emulator and write the exchange as a cassette."""
        captured: dict[str, Any] = {}

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.inner(environ, capture)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        code, _, reason = str(captured.get("status", "500")).partition(" ")
        uri = real_base_url(provider).rstrip("/") + rest + (f"?{query}" if query else "")
        found = match(request.method, uri)
        exchange = Exchange(
            request.method,
            uri,
            tuple((k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")),
            body,
            int(code),
            reason,
            tuple(captured.get("headers", [])),
            data,
        )
        assert self.writer is not None
        path = self.writer.write(provider, found[1] if found else "undocumented", [exchange])
        self.cassettes.add(str(path), 0, interactions([exchange])[0])  # replayed from now on, as in vcrpy
        return [data]


_ABSENT = object()


def unmatched_frames(provider: str, message: bytes) -> list[Any]:
    """The frames answering a WebSocket message no recording matches (the contract's
    ``x-websocket.replay``, a choice): per task, an authentication task gets the protocol's
    ``authentication.reply`` with a fresh ``connectionSessionUUID``, a ping ``keepalive.reply``, any other
    task one ``{"errors": [{code, message, taskType, taskUUID}]}`` frame with ``replay.unmatched``'s code
    and message (one such frame without task fields when the message is not a task array)."""
    block = document(provider)["x-websocket"]
    refusal = block["replay"]["unmatched"]
    tasks = _parsed(message)
    if not isinstance(tasks, list) or not tasks:
        return [{"errors": [{"code": refusal["code"], "message": refusal["message"]}]}]
    frames: list[Any] = []
    for task in tasks:
        kind = task.get("taskType") if isinstance(task, dict) else None
        if kind == "authentication":
            reply = json.loads(json.dumps(block["authentication"]["reply"]))
            reply["data"][0]["connectionSessionUUID"] = str(new_uuid())
            frames.append(reply)
        elif kind == "ping":
            frames.append(block["keepalive"]["reply"])
        else:
            item = {"code": refusal["code"], "message": refusal["message"]}
            for name in ("taskType", "taskUUID"):
                if isinstance(task, dict) and isinstance(task.get(name), str):
                    item[name] = task[name]
            frames.append({"errors": [item]})
    return frames


def _frame(line: str) -> Any:
    """One recorded frame line as JSON (``proxy._one_line``: compact JSON, or a JSON string)."""
    try:
        return json.loads(line)
    except ValueError:
        return line


def _messages(ws: Any, replay: Replaying, provider: str) -> None:
    """Answer every message of one WebSocket connection from the recordings (``answer_message``), each
    journaled and access-logged as a message of its own (``journal_message``), until the client
    closes."""
    rt = runtime()
    root = flask_request.host_url.rstrip("/")
    while True:
        message = ws.receive()
        if message is None:
            continue
        raw = message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message
        with journal_message(rt, provider, message) as frames:
            for frame in replay.answer_message(provider, raw, root):
                ws.send(frame if isinstance(frame, str) else json.dumps(frame, separators=(",", ":")))
                frames.append(frame)


def _leaf_map(text: str) -> dict[str, Any] | None:
    """JSON path -> scalar of a key's body text, or ``None`` when it has no JSON body."""
    return {path: value for path, _, value in json_leaves(json.loads(text))} if text else None


def _rewrite(data: bytes, urls: dict[str, str]) -> bytes:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    for old in sorted(urls, key=len, reverse=True):
        text = text.replace(old, urls[old])
    return text.encode("utf-8")


def replaying(app: Flask, directory: str | Path, mode: str = "none") -> Flask:
    """Make ``app`` (built by ``create_app``) answer from the cassettes under ``directory`` first (see the
    module docs); returns ``app``. A replayed answer is sent by a ``before_request`` hook of ``app``
    (after its fault hook: an injected fault still fires), so it is journaled (note ``{"answered_by":
    "cassette", "replayed": "<cassette>#<index>"}``) and access-logged like any other. Raises
    ``ValueError`` for a mode not in ``settings.RECORD_MODES``."""
    prefixes = {p.name: p.prefix for p in mounted_providers(app)}
    replay = Replaying(app.wsgi_app, prefixes, directory, mode)
    app.wsgi_app = replay  # type: ignore[method-assign]
    for rule in app.url_map.iter_rules():
        provider = next((n for n, p in prefixes.items() if rule.websocket and rule.rule.startswith(p)), None)
        if provider is not None and replay.cassettes.has_messages(provider):
            app.view_functions[rule.endpoint] = SockView(partial(_messages, replay=replay, provider=provider))

    @app.before_request
    def _replayed() -> Response | None:
        found = flask_request.environ.get(_FOUND)
        if found is None:
            near = flask_request.environ.get(_NEAR)
            if near is not None:
                journal_note(replay_near_miss=near)
            return None
        recorded, answer = found
        journal_note(answered_by="cassette", replayed=f"{Path(recorded.cassette).name}#{recorded.index}")
        return cast(Response, answer)

    return app
