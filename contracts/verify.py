"""Cassettes against the contracts: find where recorded traffic and the OpenAPI documents disagree.

A cassette is vcrpy YAML (``interactions: [{request: {method, uri, body, headers}, response: {status,
headers, body}}]``). Each interaction is matched to a provider by its URI (under the provider's real base
URL, the document's ``servers[0]``) and to an operation by method and path template. Then:

- the response status must be one the operation declares;
- a JSON response body must validate against the declared schema for that status;
- a JSON or multipart/form-data request body that got a 2xx answer must validate against the operation's
  request schema (a request the provider accepted but the contract refuses is drift too; form fields are
  read with the types the schema gives them, files stand as placeholders). Requests answered with an
  error are not checked: documented error examples are meant to be invalid.

Each disagreement names the provider, the interaction, where (``request``/``response``/``status``/
``uri``), the JSON path, what the contract expects and what the cassette holds.

Known drift can be acknowledged in the cassette itself, under a top-level key vcrpy ignores::

    x-known-drift:
      - interaction: 2            # 0-based index
        path: $.webhookStatus     # as verify prints it
        found: sent               # the value in the cassette
        reason: older docs say "sent"; the spec (and the contract) say pending|delivered|failed

An acknowledged disagreement is listed but does not fail; an acknowledgement that no longer matches any
disagreement does (so stale notes do not pile up). ``pixelmock verify`` prints the ``Report`` as text,
JSON or JUnit XML (``pixelmock.emulators.tools.verify``). Pure: reads files, no network, no Flask, no
httpx.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pixelmock.contracts.data import parse_yaml
from pixelmock.contracts.openapi import (
    PROVIDERS,
    Violation,
    document,
    form_instance,
    inlined,
    real_base_url,
    resolve,
    validate,
)

SUFFIXES = (".yaml", ".yml")
ACK_KEY = "x-known-drift"
#: Transcriptions of published examples keep the sources' elisions ("https://storage.googleapis.com/…");
#: a ``format`` violation of a value containing one is acknowledged, not a disagreement.
ELLIPSIS = "\u2026"
ELIDED = "an elided value of a published example"


@dataclass(frozen=True)
class Disagreement:
    """One place where a cassette and a contract disagree.

    ``cassette`` is the file, ``interaction`` the 0-based index, ``provider`` and ``operation`` what the
    interaction was matched to (``None`` when it matched none), ``where`` one of ``uri``, ``status``,
    ``request``, ``response``; ``path`` a JSON path (``$.data[0].cost``); ``expected`` / ``found`` text.
    """

    cassette: str
    interaction: int
    provider: str | None
    operation: str | None
    where: str
    path: str
    expected: str
    found: str
    found_value: Any = field(default=None, compare=False)
    reason: str = field(default="", compare=False)

    def __str__(self) -> str:
        op = f" {self.operation}" if self.operation else ""
        head = f"{self.cassette} #{self.interaction} [{self.provider or '?'}{op}]"
        return f"{head} {self.where} {self.path}: expected {self.expected}, found {self.found}"


@dataclass
class Report:
    """What ``verify_paths`` found: counts, failing ``disagreements``, ``acknowledged`` drift, and each
    interaction checked (``checked``: ``(cassette, index, "METHOD uri")``)."""

    cassettes: int = 0
    interactions: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)
    acknowledged: list[Disagreement] = field(default_factory=list)
    checked: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing disagrees (acknowledged drift aside)."""
        return not self.disagreements

    @property
    def unreadable(self) -> list[Disagreement]:
        """The files that could not be read as cassettes."""
        return [d for d in self.disagreements if d.where == "file"]

    @property
    def exit_status(self) -> int:
        """``pixelmock verify``'s: 2 for an unreadable file or when no interaction was checked, else 1 for
        drift, else 0."""
        if self.unreadable or not self.interactions:
            return 2
        return 0 if self.ok else 1


# -- matching an interaction to an operation -------------------------------------------------------------


@cache
def _templates(provider: str) -> list[tuple[str, re.Pattern[str], str, dict[str, Any]]]:
    """``(method, path regex, operationId, operation)`` of a document, most literal paths first."""
    out = []
    for path, item in inlined(provider)["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            pattern = "".join(
                "([^/]+)" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", path)
            )
            out.append(
                (method.upper(), re.compile(f"^{pattern}$"), str(op["operationId"]), op, path.count("{"))
            )
    out.sort(key=lambda entry: entry[4])
    return [entry[:4] for entry in out]


def split_uri(uri: str) -> tuple[str, str, str] | None:
    """``(provider, path under its real base URL, query)`` of an absolute URI (a bare base URL is the
    ``/`` path), or ``None`` when it lies under no provider's real base URL."""
    head, _, query = uri.partition("?")
    for provider in PROVIDERS:
        base = real_base_url(provider).rstrip("/")
        if head == base or head.startswith(base + "/"):
            return provider, head[len(base) :] or "/", query
    return None


def match(method: str, uri: str) -> tuple[str, str, dict[str, Any]] | None:
    """``(provider, operationId, inlined operation)`` for a request, or ``None`` when no provider's base
    URL and operation fit. A bare base URL is the ``/`` path."""
    where = split_uri(uri)
    if where is None:
        return None
    provider, path, _ = where
    for op_method, pattern, operation_id, op in _templates(provider):
        if op_method == method.upper() and pattern.match(path):
            return provider, operation_id, op
    return None


def path_parameters(method: str, uri: str) -> list[str]:
    """The values of the path parameters (``{jobId}``, ``{request_id}``...) of the operation a request
    matches, in path order (``[]`` when it matches none or has none)."""
    where = split_uri(uri)
    if where is None:
        return []
    for op_method, pattern, _, _ in _templates(where[0]):
        found = pattern.match(where[1]) if op_method == method.upper() else None
        if found is not None:
            return list(found.groups())
    return []


# -- reading cassette bodies -----------------------------------------------------------------------------


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) and value else value)
    return None


def _text(body: Any) -> str | None:
    """The text of a cassette body (request: a string or bytes; response: ``{"string": ...}``)."""
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return body if isinstance(body, str) else None


def _json(text: str | None) -> tuple[bool, Any]:
    if text is None or not text.strip():
        return False, None
    try:
        return True, json.loads(text)
    except ValueError:
        return False, None


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


# -- wording ---------------------------------------------------------------------------------------------


def json_path(parts: Iterable[str | int]) -> str:
    """``("data", 0, "cost")`` -> ``$.data[0].cost``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _wording(v: Violation) -> tuple[tuple[str | int, ...], str, str]:
    """``(path, expected, found)`` of a violation."""
    path: tuple[str | int, ...] = tuple(v.path)
    if v.keyword == "required":
        name = v.param.rsplit(".", 1)[-1]
        return (*path, name), "a value (required)", "nothing"
    if v.keyword == "additionalProperties":
        name = v.param.rsplit(".", 1)[-1]
        return (*path, name), "no such property", "one"
    if v.keyword == "enum":
        return path, f"one of {_shown(list(v.allowed))}", _shown(v.value)
    if v.keyword == "const":
        return path, _shown(v.limit), _shown(v.value)
    if v.keyword == "type":
        return path, f"type {_shown(v.limit)}", _shown(v.value)
    return path, f"{v.keyword} {_shown(v.limit)}", _shown(v.value)


# -- checks ----------------------------------------------------------------------------------------------


def _declared_response(provider: str, op: dict[str, Any], status: int) -> dict[str, Any] | None:
    responses: dict[str, Any] = op.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            return resolve(provider, responses[key])
    return None


#: The interaction key marking a file a recording fetched from a URL the provider returned (an image):
#: kept so the recording replays offline, not an operation of the contract, so not checked.
FETCHED_KEY = "x-fetched"
#: The interaction key marking one message on a WebSocket API (``method: WEBSOCKET``, the ``uri`` the
#: contract's ``x-websocket.url``): the request body is the message, the response body the frames the
#: server sent until the next message, one JSON text per line. The message is checked against the
#: request schema of the matching REST operation, each frame against its declared JSON answers.
WEBSOCKET_KEY = "x-websocket"


def check_interaction(interaction: dict[str, Any], cassette: str = "", index: int = 0) -> list[Disagreement]:
    """Every disagreement of one vcrpy interaction with its provider's contract (see the module docs). An
    interaction marked ``x-fetched`` (a file fetched from a URL in an answer) has none."""
    if interaction.get(FETCHED_KEY):
        return []
    request = interaction.get("request") or {}
    response = interaction.get("response") or {}
    method, uri = str(request.get("method", "")), str(request.get("uri", ""))
    if interaction.get(WEBSOCKET_KEY):
        return _check_websocket(uri, request.get("body"), _text(response.get("body")) or "", cassette, index)
    found = match(method, uri)
    if found is None:
        return [unmatched(method, uri, cassette, index)]
    status = int((response.get("status") or {}).get("code", 0))
    out = check_response(found, status, response.get("headers"), response.get("body"), cassette, index)
    if 200 <= status < 300:
        out += check_request(found, request.get("headers"), request.get("body"), cassette, index)
    return out


def websocket_operation(uri: str) -> tuple[str, str, dict[str, Any]] | None:
    """What a message on the WebSocket API at ``uri`` is (``match``'s triple): the operation of a POST to
    the base URL of the provider whose contract's ``x-websocket.url`` is ``uri`` (Runware: each message a
    task array as on REST), or ``None``."""
    for provider in PROVIDERS:
        block = document(provider).get("x-websocket") or {}
        if str(block.get("url", "")).rstrip("/") == uri.split("?", 1)[0].rstrip("/"):
            return match("POST", real_base_url(provider))
    return None


def check_frame(
    found: tuple[str, str, dict[str, Any]], text: str, cassette: str = "", index: int = 0
) -> list[Disagreement]:
    """Where a frame the server sent on the WebSocket API breaks the contract: it must be JSON that one
    of the operation's declared JSON response bodies accepts (a result frame or an error frame); when
    none does, the violations against the first 2xx body are given."""
    provider, operation_id, op = found
    parsed, value = _json(text)
    if not parsed:
        return [Disagreement(cassette, index, provider, operation_id, "response", "$", "JSON", _shown(text))]
    if _authentication_reply(provider, value):
        return []
    best: list[Violation] | None = None
    for status, declared in sorted(op.get("responses", {}).items()):
        schema = (resolve(provider, declared).get("content", {}).get("application/json") or {}).get("schema")
        if schema is None:
            continue
        violations = validate(provider, resolve(provider, schema), value)
        if not violations:
            return []
        if best is None and str(status).startswith("2"):
            best = violations
    return _disagreements(found, "response", best or [], cassette, index)


def _authentication_reply(provider: str, value: Any) -> bool:
    """Whether a frame has the shape of the WebSocket authentication reply of the contract's
    ``x-websocket.authentication.reply`` (Runware's ``{"data": [{taskType, connectionSessionUUID}]}``,
    which, unlike the REST answer, has no ``taskUUID``)."""
    reply = ((document(provider).get("x-websocket") or {}).get("authentication") or {}).get("reply")
    if not isinstance(reply, dict) or not isinstance(value, dict) or set(value) != set(reply):
        return False
    expected = {key: set(items[0]) for key, items in reply.items() if isinstance(items, list) and items}
    return all(
        isinstance(value[key], list)
        and value[key]
        and all(isinstance(item, dict) and set(item) == keys for item in value[key])
        and all(item.get("taskType") == "authentication" for item in value[key])
        for key, keys in expected.items()
    )


def _check_websocket(uri: str, message: Any, frames: str, cassette: str, index: int) -> list[Disagreement]:
    found = websocket_operation(uri)
    if found is None:
        return [unmatched("WEBSOCKET", uri, cassette, index)]
    lines = [line for line in frames.splitlines() if line.strip()]
    out: list[Disagreement] = []
    for line in lines:
        out += check_frame(found, line, cassette, index)
    if not any('"errors"' in line for line in lines):  # as for REST: refused messages are not checked
        out += check_request(found, {"content-type": "application/json"}, message, cassette, index)
    return out


def unmatched(method: str, uri: str, cassette: str = "", index: int = 0) -> Disagreement:
    """The disagreement of a request that matches no documented operation of any provider."""
    bases = ", ".join(real_base_url(p) for p in PROVIDERS)
    expected = f"a documented operation under one of {bases}"
    return Disagreement(cassette, index, None, None, "uri", "$", expected, f"{method} {uri}")


def _disagreements(
    found: tuple[str, str, dict[str, Any]], where: str, violations: list[Violation], cassette: str, index: int
) -> list[Disagreement]:
    provider, operation_id, _ = found
    out = []
    for v in violations:
        path, expected, shown = _wording(v)
        reason = ELIDED if v.keyword == "format" and ELLIPSIS in str(v.value) else ""
        out.append(
            Disagreement(
                cassette,
                index,
                provider,
                operation_id,
                where,
                json_path(path),
                expected,
                shown,
                v.value,
                reason,
            )
        )
    return out


def check_request(
    found: tuple[str, str, dict[str, Any]], headers: Any, body: Any, cassette: str = "", index: int = 0
) -> list[Disagreement]:
    """Where a request body breaks its operation's request schema. ``found``: what ``match`` returned;
    ``headers``: a mapping (values a string or a list of strings; the Content-Type picks the schema);
    ``body``: str or bytes (JSON, or multipart/form-data read with ``form_instance``). A body of another
    media type, or one that does not parse, has no disagreement here (the provider answers it)."""
    provider, _, op = found
    content_type = _header(headers, "content-type")
    request_media = _media_type(content_type) or "application/json"
    body_schema = op.get("requestBody", {}).get("content", {}).get(request_media, {}).get("schema")
    if body_schema is None:
        return []
    schema = resolve(provider, body_schema)
    if request_media.endswith("json"):
        parsed, value = _json(_text(body))
        return (
            _disagreements(found, "request", validate(provider, schema, value), cassette, index)
            if parsed
            else []
        )
    if request_media == "multipart/form-data":
        form = _form(content_type or "", body)
        if form is not None:
            violations = validate(provider, schema, form_instance(schema, *form))
            return _disagreements(found, "request", violations, cassette, index)
    return []


def check_response(
    found: tuple[str, str, dict[str, Any]],
    status: int,
    headers: Any,
    body: Any,
    cassette: str = "",
    index: int = 0,
) -> list[Disagreement]:
    """Where an answer breaks its operation's contract: a status it does not declare, a content type it
    does not declare for that status, a JSON body that does not validate. ``body``: str, bytes or vcrpy's
    ``{"string": ...}``."""
    provider, operation_id, op = found
    declared = _declared_response(provider, op, status)
    if declared is None:
        expected = f"one of {sorted(op.get('responses', {}))}"
        return [
            Disagreement(
                cassette, index, provider, operation_id, "status", "$", expected, str(status), status
            )
        ]
    media = _media_type(_header(headers, "content-type")) or "application/json"
    content = declared.get("content", {})
    schema = (content.get(media) or {}).get("schema")
    if schema is not None and media.endswith("json"):
        parsed, value = _json(_text(body))
        if not parsed:
            found_text = _shown(_text(body))
            return [
                Disagreement(cassette, index, provider, operation_id, "response", "$", "JSON", found_text)
            ]
        return _disagreements(
            found, "response", validate(provider, resolve(provider, schema), value), cassette, index
        )
    if schema is not None and media == EVENT_STREAM:
        text = _text(body) or ""
        violations = event_violations(provider, resolve(provider, schema), text)
        return _disagreements(found, "response", violations, cassette, index)
    if content and media not in content:
        expected = f"a content type of {sorted(content)}"
        return [
            Disagreement(cassette, index, provider, operation_id, "response", "$", expected, media, media)
        ]
    return []


EVENT_STREAM = "text/event-stream"


def server_sent_events(text: str) -> list[dict[str, str]]:
    """The events of a ``text/event-stream`` body (https://html.spec.whatwg.org/multipage/server-sent-events.html):
    ``{"event": name, "data": text}`` for each event with data (data lines joined by newlines; ``event``
    left out when the event names none). Comments and other fields are skipped."""
    events = []
    for block in re.split(r"\r\n\r\n|\n\n|\r\r", text):
        event: dict[str, str] = {}
        data: list[str] = []
        for line in re.split(r"\r\n|\n|\r", block):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            elif name == "event":
                event["event"] = value
        if data:
            events.append({**event, "data": "\n".join(data)})
    return events


def event_violations(provider: str, schema: dict[str, Any], text: str) -> list[Violation]:
    """Where the events of a stream break the schema of one event (OpenAPI 3.1's item schema of a
    ``text/event-stream``: ``{event, data}``, ``data`` a string whose ``contentSchema`` is checked against
    its parsed JSON). Paths start with the event's index (``$[1].data.quality``)."""
    data_schema = schema.get("properties", {}).get("data", {}).get("contentSchema")
    out: list[Violation] = []
    for i, event in enumerate(server_sent_events(text)):
        out += [replace(v, path=(i, *v.path)) for v in validate(provider, schema, event)]
        parsed, value = _json(event["data"])
        if data_schema is None:
            continue
        if not parsed:
            out.append(
                Violation((i, "data"), "contentMediaType", "not JSON", "data", event["data"], (), "JSON")
            )
        else:
            out += [replace(v, path=(i, "data", *v.path)) for v in validate(provider, data_schema, value)]
    return out


def _form(content_type: str, body: Any) -> tuple[list[tuple[str, str]], list[tuple[str, str | None]]] | None:
    """The text parts ``(name, text)`` and file parts ``(name, filename)`` of a multipart/form-data body
    (bytes or text), or ``None`` when it does not parse as one."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not isinstance(raw, bytes):
        return None
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        return None
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str | None]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        if filename is not None or part.get_content_type() != "text/plain":
            files.append((name, filename))
        else:
            payload = part.get_payload(decode=True)
            fields.append((name, payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""))
    return fields, files


def _acknowledged(data: dict[str, Any]) -> list[dict[str, Any]]:
    notes = data.get(ACK_KEY) or []  # notes whose ``where`` is a ``drift:`` kind are the drift report's
    return [n for n in notes if isinstance(n, dict) and not str(n.get("where", "")).startswith("drift:")]


def _acks(disagreement: Disagreement, note: dict[str, Any]) -> bool:
    return (
        note.get("interaction") == disagreement.interaction
        and note.get("path") == disagreement.path
        and ("found" not in note or note["found"] == disagreement.found_value)
    )


def verify_cassette(path: Path, report: Report) -> None:
    """Check one cassette file into ``report``. An unreadable file is one disagreement."""
    name = str(path)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        report.disagreements.append(Disagreement(name, 0, None, None, "file", "$", "vcrpy YAML", repr(exc)))
        return
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        found = type(data).__name__
        report.disagreements.append(
            Disagreement(name, 0, None, None, "file", "$", "an interactions list", found)
        )
        return
    report.cassettes += 1
    report.interactions += len(interactions)
    notes = _acknowledged(data)
    used: set[int] = set()
    for index, interaction in enumerate(interactions):
        report.checked.append((name, index, _label(interaction)))
        for item in check_interaction(interaction if isinstance(interaction, dict) else {}, name, index):
            match_ = next((i for i, n in enumerate(notes) if _acks(item, n)), None)
            if match_ is not None:
                used.add(match_)
                item = replace(item, reason=f"{ACK_KEY}: {notes[match_].get('reason', '')}".rstrip(": "))
            if item.reason:
                report.acknowledged.append(item)
            else:
                report.disagreements.append(item)
    for i, note in enumerate(notes):
        if i not in used:
            where = f"{note.get('path')} (found {_shown(note.get('found'))})"
            report.disagreements.append(
                Disagreement(
                    name, int(note.get("interaction", 0)), None, None, ACK_KEY, where, "this drift", "none"
                )
            )


def _label(interaction: Any) -> str:
    """``METHOD uri`` of an interaction, as far as it says."""
    request = interaction.get("request") if isinstance(interaction, dict) else None
    if not isinstance(request, dict):
        return "?"
    return f"{request.get('method', '?')} {request.get('uri', '?')}"


def cassette_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """The YAML files named, and those under the folders named, in sorted order."""
    for item in paths:
        path = Path(item)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        else:
            yield path


def verify_paths(paths: Iterable[str | Path]) -> Report:
    """Check every cassette under ``paths`` (files or folders)."""
    report = Report()
    for path in cassette_files(paths):
        verify_cassette(path, report)
    return report
