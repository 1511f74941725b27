"""Drift report: each difference between a recorded real answer and the emulator's answer to the same
request (``pixelmock verify --drift``).

The cassettes are grouped into sessions (``sessions``: the cassettes one ``pixelmock proxy --record`` run
wrote, in the order it wrote them; any other cassette on its own) and each session's requests are sent
in order to one fresh in-process emulator (``create_app``; open accounts accept the scrubbed ``REDACTED``
credentials) whose clock starts on the day the session was recorded (``recorded_on``), so a model shut
down since is not drift. Ids the provider answered with (``id``, ``taskUUID``, ``request_id``... any
string field whose name ends in ``id``/``uuid``) are mapped to the ids the emulator answered with at the
same JSON path, as are file URLs (an image's ``imageURL``...), so a later poll of a recorded job polls the
emulator's job. Runware WebSocket sessions (``x-websocket`` interactions, one per message, the frames
answered to it one per line; ``proxy.Proxy.relay`` records them) are replayed over a real WebSocket to
the emulator served on 127.0.0.1, message by message in order, each answered frame compared with the
recorded one at ``$[<frame>]`` as an HTTP body is (a missing or extra frame is ``drift:body`` at ``$``;
a different error ``code`` in an ``errors`` frame is ``drift:status``, the WebSocket having no HTTP
status). Each interaction's recorded answer is compared with the emulator's:

- ``drift:status``: a different status code;
- ``drift:body``: the body's shape (``body_shape``: object keys and JSON types, arrays by their first
  item): a field only one of them has, or a field of a different type (``null`` against a value is not
  one: nullable fields differ with a job's progress);
- ``drift:cost``: a different value of a field naming the cost (a path through ``cost``, ``usage``,
  ``credits`` or ``price``: OpenAI's ``usage`` tokens, Runware's ``cost``...).

A poll the session repeats later (the same request answered 2xx again) is compared on its status only:
the emulators finish jobs on their first poll (latency profile ``instant``), so polling that finished at
another poll count is not drift; the last poll is compared whole. Not replayed, and listed as
acknowledged ``drift:skipped``: a poll of a job no earlier answer of the session named (a documented
example of a job's states), and the interactions a cassette's ``x-drift-skip`` names with a reason.
``x-known-drift`` notes whose ``where`` is a ``drift:`` kind acknowledge a difference with a reason.

Each difference is a ``contracts.verify.Disagreement`` whose ``expected`` is what the provider answered
and ``found`` what the emulator answered. Files the recording fetched (``x-fetched``) requests under no
provider's base URL (``pixelmock verify`` reports them) and recorded refusals of the credential (401, 403:
the scrubbed cassette no longer holds the key that was refused) are skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email.utils
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml
from simple_websocket import Client as WebSocketClient  # type: ignore[import-untyped]
from simple_websocket import ConnectionClosed

from pixelmock.contracts.verify import (
    ACK_KEY,
    FETCHED_KEY,
    WEBSOCKET_KEY,
    Disagreement,
    Report,
    cassette_files,
    match,
    path_parameters,
    split_uri,
    verify_paths,
    websocket_operation,
)
from pixelmock.emulators.app import create_app, mounted_providers
from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.tools.cassettes import (
    LOADER,
    RECORDED_AT_KEY,
    SKIP_KEY,
    STAMP,
    body_bytes,
    header_pairs,
    json_leaves,
)
from pixelmock.emulators.tools.server import running
from pixelmock.emulators.tools.verify import print_report

_COST = re.compile(r"cost|usage|credit|price", re.I)
_ID = re.compile(r"(id|uuid)$", re.I)
#: A recorded refusal of the credential (401, 403) is not compared: the cassette no longer holds it.
CREDENTIAL_STATUSES = frozenset({401, 403})
_SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection"})
#: Real seconds to wait for each frame the recording says a WebSocket message was answered with (a
#: missing frame is drift; this bounds the wait for it, it never decides a verdict that arrives).
FRAME_TIMEOUT = 10.0


def body_shape(value: Any) -> Any:
    """The shape of a JSON value: objects keep their keys (each with its shape), an array is the shape of
    its first item (``[]`` when empty), anything else the name of its JSON type (``string``, ``number``,
    ``boolean``, ``null``)."""
    if isinstance(value, dict):
        return {str(k): body_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [body_shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def shape_differences(recorded: Any, emulated: Any, path: str = "$") -> Iterator[tuple[str, str, str]]:
    """``(JSON path, recorded, emulated)`` of each place two shapes (``body_shape``) differ."""
    if isinstance(recorded, dict) and isinstance(emulated, dict):
        for key in recorded:
            if key not in emulated:
                yield f"{path}.{key}", "present", "absent"
            else:
                yield from shape_differences(recorded[key], emulated[key], f"{path}.{key}")
        for key in emulated:
            if key not in recorded:
                yield f"{path}.{key}", "absent", "present"
    elif isinstance(recorded, list) and isinstance(emulated, list):
        if recorded and emulated:
            yield from shape_differences(recorded[0], emulated[0], f"{path}[0]")
    elif recorded != emulated and "null" not in (recorded, emulated):
        yield path, _kind(recorded), _kind(emulated)


def _kind(shape: Any) -> str:
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, list):
        return "array"
    return str(shape)


def _json(data: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return False, None


class _Session:
    """One session (a cassette, or the cassettes one proxy run wrote) replayed in order against one fresh
    emulator, with recorded ids mapped to the emulator's. HTTP requests go through the app's test
    client; WebSocket messages (``x-websocket`` interactions) through a real WebSocket to the app served
    on 127.0.0.1 (started on the first such message, stopped by ``close``), one connection per run of
    consecutive messages of one cassette."""

    def __init__(self, config: EmulatorConfig | None) -> None:
        self.app = create_app(config or EmulatorConfig())
        self.prefixes = {p.name: p.prefix for p in mounted_providers(self.app)}
        self.ids: dict[str, str] = {}
        #: Every string the recorded answers so far held: a path naming none of them polls a job this
        #: session did not create.
        self.seen: set[str] = set()
        self._served = contextlib.ExitStack()
        self._root: str | None = None
        self._socket: Any = None
        self._socket_cassette = ""

    def close(self) -> None:
        """Close the WebSocket connection and stop the served app, if any."""
        self._hang_up()
        self._served.close()

    def foreign_job(self, method: str, uri: str) -> str | None:
        """The path parameter (a job or request id) of the request that no earlier recorded answer of
        the session named, or ``None``: such a poll asks about state the recording did not create."""
        if method.upper() != "GET":
            return None
        values = path_parameters(method, uri)
        return next((v for v in values if v not in self.seen and v not in self.ids), None)

    def _mapped(self, text: str) -> str:
        for old in sorted(self.ids, key=len, reverse=True):
            text = text.replace(old, self.ids[old])
        return text

    def compare(
        self, cassette: str, index: int, interaction: dict[str, Any], intermediate: bool = False
    ) -> list[Disagreement]:
        """The drift of one interaction; ``intermediate``: a request the session repeats later (a poll),
        compared on its status only."""
        if interaction.get(WEBSOCKET_KEY):
            return self._compare_message(cassette, index, interaction, intermediate)
        self._hang_up()
        request = interaction.get("request") or {}
        response = interaction.get("response") or {}
        method, uri = str(request.get("method", "")), str(request.get("uri", ""))
        where = split_uri(uri)
        recorded_status = int((response.get("status") or {}).get("code", 0))
        if where is None or recorded_status in CREDENTIAL_STATUSES:
            return []
        provider, path, query = where
        found = match(method, uri)
        operation = found[1] if found else None
        body = body_bytes(request.get("body"))
        with self.app.test_client() as client:
            answer = client.open(
                self._mapped(self.prefixes[provider] + path),
                method=method,
                query_string=self._mapped(query),
                headers=[
                    (k, v)
                    for k, v in header_pairs(request.get("headers"))
                    if k.lower() not in _SKIPPED_HEADERS
                ],
                data=self._mapped(body.decode("utf-8")).encode("utf-8") if _json(body)[0] else body,
            )
            emulated_body = answer.get_data()
        out: list[Disagreement] = []

        def add(kind: str, at: str, expected: str, found_: str) -> None:
            out.append(
                Disagreement(cassette, index, provider, operation, f"drift:{kind}", at, expected, found_)
            )

        if answer.status_code != recorded_status:
            add("status", "$", f"the provider's {recorded_status}", f"the emulator's {answer.status_code}")
        parsed, recorded = _json(body_bytes(response.get("body")))
        emulated_ok, emulated = _json(emulated_body)
        if parsed and emulated_ok:
            for item in self._answer_drift(recorded, emulated, "$", intermediate):
                add(*item)
        elif parsed:
            self.seen.update(v for _, _, v in json_leaves(recorded) if isinstance(v, str))
        return out

    def _answer_drift(
        self, recorded: Any, emulated: Any, path: str, intermediate: bool
    ) -> Iterator[tuple[str, str, str, str]]:
        """``(kind, JSON path, recorded, emulated)`` of each difference of two JSON answers (``path``:
        where the answer sits), after learning the ids the emulator answered with; an ``intermediate``
        answer (a poll repeated later) only teaches ids."""
        self.seen.update(v for _, _, v in json_leaves(recorded) if isinstance(v, str))
        self._learn_ids(recorded, emulated)
        if intermediate:  # a poll repeated later: the job may finish at another poll count
            return
        for at, mine, theirs in shape_differences(body_shape(recorded), body_shape(emulated), path):
            yield "body", at, mine, theirs
        emulated_leaves = {at: value for at, _, value in json_leaves(emulated, path)}
        for at, _, value in json_leaves(recorded, path):
            if _COST.search(at) and at in emulated_leaves and emulated_leaves[at] != value:
                yield "cost", at, json.dumps(value), json.dumps(emulated_leaves[at])

    def _compare_message(
        self, cassette: str, index: int, interaction: dict[str, Any], intermediate: bool
    ) -> list[Disagreement]:
        """The drift of one recorded WebSocket message: sent (ids mapped) on the session's connection,
        the frames answered to it read (as many as were recorded, each waited for at most
        ``FRAME_TIMEOUT``) and compared in order with the recorded ones, each like an HTTP answer, at
        the path ``$[<frame>]``: a different number of frames (``drift:body`` at ``$``), a different
        error code (``drift:status`` at ``$[i].errors[j].code``: the WebSocket has no HTTP status; also
        compared for an ``intermediate`` message), shape and cost as for HTTP."""
        request = interaction.get("request") or {}
        found = websocket_operation(str(request.get("uri", "")))
        if found is None:
            return []
        provider, operation, _ = found
        answered = body_bytes((interaction.get("response") or {}).get("body")).decode("utf-8")
        recorded = [line for line in answered.splitlines() if line.strip()]
        emulated = self._exchange(
            cassette, provider, self._mapped(body_bytes(request.get("body")).decode("utf-8")), len(recorded)
        )
        return [
            Disagreement(cassette, index, provider, operation, f"drift:{kind}", at, expected, found_)
            for kind, at, expected, found_ in self._frames_drift(recorded, emulated, intermediate)
        ]

    def _frames_drift(
        self, recorded: list[str], emulated: list[str], intermediate: bool
    ) -> Iterator[tuple[str, str, str, str]]:
        if len(recorded) != len(emulated):
            yield "body", "$", f"{len(recorded)} frame(s)", f"{len(emulated)} frame(s)"
        for position, (mine, theirs) in enumerate(zip(recorded, emulated, strict=False)):
            (mine_ok, mine_value), (theirs_ok, theirs_value) = _json(mine.encode()), _json(theirs.encode())
            if not (mine_ok and theirs_ok):
                if mine != theirs:
                    yield "body", f"$[{position}]", "a JSON frame" if mine_ok else mine, theirs
                continue
            for at, code in _error_codes(mine_value, f"$[{position}]").items():
                other = _error_codes(theirs_value, f"$[{position}]").get(at)
                if other != code:
                    yield "status", at, f"the provider's {code}", f"the emulator's {other or 'none'}"
            yield from self._answer_drift(mine_value, theirs_value, f"$[{position}]", intermediate)

    def _exchange(self, cassette: str, provider: str, message: str, count: int) -> list[str]:
        """Send ``message`` on the session's connection to ``provider``'s WebSocket API (a new one for a
        new cassette) and return the first ``count`` frames answered (fewer when one does not come
        within ``FRAME_TIMEOUT`` or the connection closes)."""
        if self._socket is None or self._socket_cassette != cassette:
            self._hang_up()
            if self._root is None:
                self._root = self._served.enter_context(running(self.app))
            url = "ws" + self._root.removeprefix("http") + self.prefixes[provider]
            self._socket, self._socket_cassette = WebSocketClient.connect(url), cassette
        frames: list[str] = []
        try:
            self._socket.send(message)
            while len(frames) < count:
                frame = self._socket.receive(timeout=FRAME_TIMEOUT)
                if frame is None:
                    break
                frames.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))
        except ConnectionClosed:
            self._hang_up()
        return frames

    def _hang_up(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(ConnectionClosed, OSError):
                self._socket.close()
            self._socket = None

    def _learn_ids(self, recorded: Any, emulated: Any) -> None:
        """Map each id (a string field named ``*id``/``*uuid``) and each file URL of ``recorded`` to the
        emulator's value at the same JSON path."""
        emulated_leaves = {at: value for at, _, value in json_leaves(emulated)}
        for at, key, value in json_leaves(recorded):
            other = emulated_leaves.get(at)
            if (
                isinstance(value, str)
                and isinstance(other, str)
                and (_ID.search(key) or value.startswith(("http://", "https://")))
                and value
                and value != other
            ):
                self.ids[value] = other


def _error_codes(frame: Any, path: str) -> dict[str, str]:
    """JSON path -> ``code`` of each item of a frame's ``errors`` array (Runware's error frames)."""
    errors = frame.get("errors") if isinstance(frame, dict) else None
    if not isinstance(errors, list):
        return {}
    return {
        f"{path}.errors[{i}].code": str(item.get("code"))
        for i, item in enumerate(errors)
        if isinstance(item, dict)
    }


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)  # a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("interactions"), list) else None


def sessions(paths: Iterable[str | Path]) -> list[list[Path]]:
    """The cassettes under ``paths`` grouped into sessions, each in recorded order: the cassettes one
    ``CassetteWriter`` wrote (one proxy run or replaying server: same stamp, under one folder's provider
    folders; ordered by sequence number) are one session, any other cassette a session of its own."""
    out: list[list[Path]] = []
    groups: dict[tuple[Path, str], list[Path]] = {}
    for path in cassette_files(paths):
        stamp = STAMP.match(path.name)
        if stamp is None:
            out.append([path])
            continue
        key = (path.parent.parent, stamp.group(1))
        if key not in groups:
            groups[key] = []
            out.append(groups[key])
        groups[key].append(path)
    for group in out:
        group.sort(key=_sequence)
    return out


def _sequence(path: Path) -> int:
    stamp = STAMP.match(path.name)
    return int(stamp.group(2)) if stamp else 0


def _skips(data: dict[str, Any]) -> dict[int, str]:
    """``x-drift-skip`` notes: interaction index -> why it cannot be replayed."""
    notes = data.get(SKIP_KEY) or []
    return {int(n["interaction"]): str(n.get("reason", "")) for n in notes if isinstance(n, dict)}


def _acks(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The cassette's ``x-known-drift`` notes for the drift report (those whose ``where`` is a
    ``drift:`` kind)."""
    notes = data.get(ACK_KEY) or []
    return [n for n in notes if isinstance(n, dict) and str(n.get("where", "")).startswith("drift:")]


def _skipped(cassette: str, index: int, interaction: dict[str, Any], reason: str) -> Disagreement:
    request = interaction.get("request") or {}
    found = match(str(request.get("method", "")), str(request.get("uri", "")))
    return Disagreement(
        cassette,
        index,
        found[0] if found else None,
        found[1] if found else None,
        "drift:skipped",
        "$",
        "an exchange the session can replay",
        "not replayed",
        reason=reason,
    )


def _request_key(interaction: dict[str, Any]) -> tuple[str, str, bytes]:
    request = interaction.get("request") or {}
    return str(request.get("method", "")), str(request.get("uri", "")), body_bytes(request.get("body"))


def drift_session(paths: list[Path], report: Report, config: EmulatorConfig | None = None) -> None:
    """Replay one session (``sessions``) in order against one fresh emulator, on the day it was recorded
    (``recorded_on``; else ``config``'s), into ``report``. Not replayed (listed as acknowledged
    ``drift:skipped``): interactions a cassette's ``x-drift-skip`` names, and polls of a job no earlier
    answer of the session named. A request answered 2xx that the session repeats later (a poll) is
    compared on its status only: the emulator may finish the job at another poll count. ``x-known-drift``
    notes with a ``drift:`` ``where`` acknowledge drift like ``pixelmock verify``'s. Unreadable files add
    nothing (``verify_paths`` reports them)."""
    loaded = [(path, data) for path in paths if (data := _read(path)) is not None]
    if not loaded:
        return
    config = config or EmulatorConfig()
    day = recorded_on(loaded[0][0], loaded[0][1])
    session = _Session(dataclasses.replace(config, today=day) if day is not None else config)
    steps = [
        (path, data, index, interaction)
        for path, data in loaded
        for index, interaction in enumerate(data["interactions"])
        if isinstance(interaction, dict) and not interaction.get(FETCHED_KEY)
    ]
    last = {_request_key(step[3]): position for position, step in enumerate(steps)}
    try:
        _replay_steps(session, steps, last, report)
    finally:
        session.close()


def _replay_steps(
    session: _Session,
    steps: list[tuple[Path, dict[str, Any], int, dict[str, Any]]],
    last: dict[tuple[str, str, bytes], int],
    report: Report,
) -> None:
    for position, (path, data, index, interaction) in enumerate(steps):
        name = str(path)
        skip = _skips(data).get(index)
        foreign = session.foreign_job(*_request_key(interaction)[:2])
        if skip is not None or foreign is not None:
            why = skip or f"polls {foreign}, which no earlier answer of the session named"
            report.acknowledged.append(_skipped(name, index, interaction, why))
            continue
        status = int(((interaction.get("response") or {}).get("status") or {}).get("code", 0))
        answered = bool(interaction.get(WEBSOCKET_KEY)) or 200 <= status < 300
        intermediate = last[_request_key(interaction)] != position and answered
        notes = _acks(data)
        for item in session.compare(name, index, interaction, intermediate):
            note = next((n for n in notes if _acked(item, n)), None)
            if note is None:
                report.disagreements.append(item)
            else:
                report.acknowledged.append(
                    dataclasses.replace(item, reason=f"{ACK_KEY}: {note.get('reason', '')}".rstrip(": "))
                )


def _acked(item: Disagreement, note: dict[str, Any]) -> bool:
    return bool(
        note.get("interaction") == item.interaction
        and note.get("where") == item.where
        and note.get("path") == item.path
    )


def recorded_on(path: Path, data: dict[str, Any]) -> dt.date | None:
    """The day a cassette was recorded: its ``recorded_at`` (``CassetteWriter`` writes it), else the
    ``Date`` header of its first answer that has one, else the stamp of its name (``CassetteWriter``'s
    ``YYYYmmddTHHMMSS-``), else ``None``. The emulator replays it on that day: a model shut down since
    is not drift."""
    stated = data.get(RECORDED_AT_KEY)
    if isinstance(stated, dt.datetime):
        return stated.date()
    if isinstance(stated, dt.date):
        return stated
    if isinstance(stated, str):
        with contextlib.suppress(ValueError):
            return dt.datetime.fromisoformat(stated.replace("Z", "+00:00")).date()
    for interaction in data["interactions"]:
        response = interaction.get("response") if isinstance(interaction, dict) else None
        for name, value in header_pairs((response or {}).get("headers")):
            if name.lower() == "date":
                with contextlib.suppress(TypeError, ValueError):
                    return email.utils.parsedate_to_datetime(value).date()
    stamp = STAMP.match(path.name)
    return dt.datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S").date() if stamp else None


def drift_cassette(path: Path, report: Report, config: EmulatorConfig | None = None) -> None:
    """Compare every interaction of one cassette (a session of its own) with the emulator's answers into
    ``report`` (``drift_session``)."""
    drift_session([path], report, config)


def drift_paths(
    paths: Iterable[str | Path], report: Report | None = None, config: EmulatorConfig | None = None
) -> Report:
    """The drift of every session (``sessions``) under ``paths`` (files or folders), added to ``report``
    (default: a new one); ``config``: the emulator's (its clock, unless the session says when it was
    recorded, decides model lifecycle and prices)."""
    report = report or Report()
    for group in sessions(paths):
        drift_session(group, report, config)
    return report


def run(
    paths: Iterable[str | Path],
    out: TextIO | None = None,
    form: str = "text",
    config: EmulatorConfig | None = None,
) -> int:
    """``pixelmock verify --drift``: the contract checks of ``pixelmock verify`` and the drift report of
    the same cassettes, printed like ``verify``'s (format ``form``: text, json or junit); returns the
    report's exit status (0 fine, 1 drift, 2 unreadable input or nothing checked)."""
    chosen = list(paths)
    return print_report(drift_paths(chosen, verify_paths(chosen), config), out, form)
