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
disagreement does (so stale notes do not pile up). The report prints as text, JSON or JUnit XML (one
test case per interaction, for CI); ``run`` exits 0 when all is fine, 1 for drift, 2 for an unreadable
file or when nothing was checked. Pure: reads files, no network, no Flask, no httpx.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, TextIO

import yaml

from pixelmock.contracts.openapi import (
    PROVIDERS,
    Violation,
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
                "[^/]+" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", path)
            )
            out.append(
                (method.upper(), re.compile(f"^{pattern}$"), str(op["operationId"]), op, path.count("{"))
            )
    out.sort(key=lambda entry: entry[4])
    return [entry[:4] for entry in out]


def match(method: str, uri: str) -> tuple[str, str, dict[str, Any]] | None:
    """``(provider, operationId, inlined operation)`` for a request, or ``None`` when no provider's base
    URL and operation fit. A bare base URL is the ``/`` path."""
    for provider in PROVIDERS:
        base = real_base_url(provider).rstrip("/")
        head = uri.split("?", 1)[0]
        if head != base and not head.startswith(base + "/"):
            continue
        path = head[len(base) :] or "/"
        for op_method, pattern, operation_id, op in _templates(provider):
            if op_method == method.upper() and pattern.match(path):
                return provider, operation_id, op
    return None


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


def check_interaction(interaction: dict[str, Any], cassette: str = "", index: int = 0) -> list[Disagreement]:
    """Every disagreement of one vcrpy interaction with its provider's contract (see the module docs)."""
    request = interaction.get("request") or {}
    response = interaction.get("response") or {}
    method, uri = str(request.get("method", "")), str(request.get("uri", ""))
    found = match(method, uri)
    if found is None:
        bases = ", ".join(real_base_url(p) for p in PROVIDERS)
        expected = f"a documented operation under one of {bases}"
        return [Disagreement(cassette, index, None, None, "uri", "$", expected, f"{method} {uri}")]
    provider, operation_id, op = found
    out: list[Disagreement] = []

    def add(where: str, violations: list[Violation]) -> None:
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

    status = int((response.get("status") or {}).get("code", 0))
    declared = _declared_response(provider, op, status)
    if declared is None:
        expected = f"one of {sorted(op.get('responses', {}))}"
        out.append(
            Disagreement(
                cassette, index, provider, operation_id, "status", "$", expected, str(status), status
            )
        )
    else:
        media = _media_type(_header(response.get("headers"), "content-type")) or "application/json"
        content = declared.get("content", {})
        schema = (content.get(media) or {}).get("schema")
        if schema is not None and media.endswith("json"):
            parsed, body = _json(_text(response.get("body")))
            if not parsed:
                found_text = _shown(_text(response.get("body")))
                out.append(
                    Disagreement(cassette, index, provider, operation_id, "response", "$", "JSON", found_text)
                )
            else:
                add("response", validate(provider, resolve(provider, schema), body))
        elif content and media not in content:
            expected = f"a content type of {sorted(content)}"
            out.append(
                Disagreement(cassette, index, provider, operation_id, "response", "$", expected, media, media)
            )
    if 200 <= status < 300:
        content_type = _header(request.get("headers"), "content-type")
        request_media = _media_type(content_type) or "application/json"
        body_schema = op.get("requestBody", {}).get("content", {}).get(request_media, {}).get("schema")
        if body_schema is not None and request_media.endswith("json"):
            parsed, body = _json(_text(request.get("body")))
            if parsed:
                add("request", validate(provider, resolve(provider, body_schema), body))
        elif body_schema is not None and request_media == "multipart/form-data":
            schema = resolve(provider, body_schema)
            form = _form(content_type or "", request.get("body"))
            if form is not None:
                add("request", validate(provider, schema, form_instance(schema, *form)))
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
    notes = data.get(ACK_KEY) or []
    return [n for n in notes if isinstance(n, dict)]


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
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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


FORMATS = ("text", "json", "junit")


def render_text(report: Report) -> str:
    """Each disagreement and acknowledged drift on a line, then a summary."""
    lines = [str(item) for item in report.disagreements]
    lines += [f"{item} (acknowledged: {item.reason})" for item in report.acknowledged]
    verdict = "ok" if report.ok else f"{len(report.disagreements)} disagreement(s)"
    if not report.interactions and report.ok:
        verdict = "nothing checked"
    summary = f"{report.cassettes} cassette(s), {report.interactions} interaction(s): {verdict}"
    if report.acknowledged:
        summary += f", {len(report.acknowledged)} acknowledged"
    return "\n".join([*lines, summary])


def _item_json(item: Disagreement) -> dict[str, Any]:
    fields_ = ("cassette", "interaction", "provider", "operation", "where", "path", "expected", "found")
    out = {name: getattr(item, name) for name in fields_}
    if item.reason:
        out["reason"] = item.reason
    return out


def render_json(report: Report) -> str:
    """``{"cassettes", "interactions", "exit_status", "ok", "disagreements", "acknowledged",
    "unreadable"}``; each item ``{"cassette", "interaction", "provider", "operation", "where", "path",
    "expected", "found"}`` (``reason`` when acknowledged)."""
    return json.dumps(
        {
            "cassettes": report.cassettes,
            "interactions": report.interactions,
            "exit_status": report.exit_status,
            "ok": report.exit_status == 0,
            "disagreements": [_item_json(d) for d in report.disagreements if d.where != "file"],
            "acknowledged": [_item_json(d) for d in report.acknowledged],
            "unreadable": [_item_json(d) for d in report.unreadable],
        },
        indent=2,
    )


def render_junit(report: Report) -> str:
    """JUnit XML (the format CI systems read): one ``testsuite``, one ``testcase`` per interaction checked
    (``classname`` the cassette, ``name`` ``#<index> METHOD uri``) with a ``failure`` per disagreement
    (acknowledged drift in ``system-out``), and one ``testcase`` with an ``error`` per unreadable file."""
    from xml.etree import ElementTree as ET

    failures: dict[tuple[str, int], list[Disagreement]] = {}
    for item in report.disagreements:
        failures.setdefault((item.cassette, item.interaction), []).append(item)
    notes: dict[tuple[str, int], list[Disagreement]] = {}
    for item in report.acknowledged:
        notes.setdefault((item.cassette, item.interaction), []).append(item)
    cases: list[ET.Element] = []
    for cassette, index, label in report.checked:
        case = ET.Element("testcase", classname=cassette, name=f"#{index} {label}")
        for item in failures.pop((cassette, index), []):
            failure = ET.SubElement(case, "failure", message=f"{item.where} {item.path}", type="drift")
            failure.text = str(item)
        if (cassette, index) in notes:
            out = ET.SubElement(case, "system-out")
            out.text = "\n".join(f"acknowledged: {n} ({n.reason})" for n in notes[(cassette, index)])
        cases.append(case)
    for (cassette, index), items in failures.items():  # unreadable files, stale acknowledgements
        case = ET.Element("testcase", classname=cassette, name=f"#{index} {items[0].where}")
        for item in items:
            kind = "error" if item.where == "file" else "failure"
            element = ET.SubElement(case, kind, message=f"{item.where} {item.path}", type=item.where)
            element.text = str(item)
        cases.append(case)
    errors = sum(1 for c in cases if c.find("error") is not None)
    failed = sum(1 for c in cases if c.find("failure") is not None)
    suite = ET.Element(
        "testsuite",
        name="pixelmock verify",
        tests=str(len(cases)),
        failures=str(failed),
        errors=str(errors),
        skipped="0",
    )
    suite.extend(cases)
    root = ET.Element("testsuites", name="pixelmock verify", tests=str(len(cases)))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


RENDERERS = {"text": render_text, "json": render_json, "junit": render_junit}


def run(paths: Iterable[str | Path], out: TextIO | None = None, form: str = "text") -> int:
    """``pixelmock verify``: print the report in format ``form`` (``text``, ``json`` or ``junit``) to
    ``out`` (default stdout); returns ``Report.exit_status`` (0 fine, 1 drift, 2 unreadable input or
    nothing checked). Raises ``KeyError`` for an unknown format."""
    report = verify_paths(paths)
    print(RENDERERS[form](report), file=out or sys.stdout)
    return report.exit_status
