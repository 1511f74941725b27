"""Drift report: each difference between a recorded real answer and the emulator's answer to the same
request (``pixelmock verify --drift``).

For every cassette, the recorded requests are sent in order to a fresh in-process emulator
(``create_app``; open accounts accept the scrubbed ``REDACTED`` credentials). Ids the provider answered
with (``id``, ``taskUUID``, ``request_id``... any string field whose name ends in ``id``/``uuid``) are
mapped to the ids the emulator answered with at the same JSON path, so a later poll of a recorded job
polls the emulator's job. Each interaction's recorded answer is compared with the emulator's:

- ``drift:status``: a different status code;
- ``drift:body``: the body's shape (``body_shape``: object keys and JSON types, arrays by their first
  item): a field only one of them has, or a field of a different type (``null`` against a value is not
  one: nullable fields differ with a job's progress);
- ``drift:cost``: a different value of a field naming the cost (a path through ``cost``, ``usage``,
  ``credits`` or ``price``: OpenAI's ``usage`` tokens, Runware's ``cost``...).

Each difference is a ``contracts.verify.Disagreement`` whose ``expected`` is what the provider answered
and ``found`` what the emulator answered. Files the recording fetched (``x-fetched``) requests under no
provider's base URL (``pixelmock verify`` reports them) and recorded refusals of the credential (401, 403:
the scrubbed cassette no longer holds the key that was refused) are skipped. The emulators finish jobs on
their first poll (latency profile ``instant``): a recorded poll of a job still running differs in the
fields a finished job adds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from pixelmock.contracts.verify import (
    FETCHED_KEY,
    Disagreement,
    Report,
    cassette_files,
    match,
    split_uri,
    verify_paths,
)
from pixelmock.emulators.app import create_app, mounted_providers
from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.tools.cassettes import body_bytes, header_pairs
from pixelmock.emulators.tools.verify import print_report

_COST = re.compile(r"cost|usage|credit|price", re.I)
_ID = re.compile(r"(id|uuid)$", re.I)
#: A recorded refusal of the credential (401, 403) is not compared: the cassette no longer holds it.
CREDENTIAL_STATUSES = frozenset({401, 403})
_SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection"})


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


def _leaves(value: Any, path: str = "$") -> Iterator[tuple[str, str, Any]]:
    """``(JSON path, last key, value)`` of every scalar in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from (
                _leaves(item, f"{path}.{key}")
                if isinstance(item, dict | list)
                else [(f"{path}.{key}", str(key), item)]
            )
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from (
                _leaves(item, f"{path}[{index}]")
                if isinstance(item, dict | list)
                else [(f"{path}[{index}]", "", item)]
            )


def _json(data: bytes) -> tuple[bool, Any]:
    try:
        return True, json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return False, None


class _Session:
    """One cassette replayed against a fresh emulator, with recorded ids mapped to the emulator's."""

    def __init__(self, config: EmulatorConfig | None) -> None:
        self.app = create_app(config or EmulatorConfig())
        self.prefixes = {p.name: p.prefix for p in mounted_providers(self.app)}
        self.ids: dict[str, str] = {}

    def _mapped(self, text: str) -> str:
        for old in sorted(self.ids, key=len, reverse=True):
            text = text.replace(old, self.ids[old])
        return text

    def compare(self, cassette: str, index: int, interaction: dict[str, Any]) -> list[Disagreement]:
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
        if not (parsed and emulated_ok):
            return out
        self._learn_ids(recorded, emulated)
        for at, mine, theirs in shape_differences(body_shape(recorded), body_shape(emulated)):
            add("body", at, mine, theirs)
        emulated_leaves = {at: value for at, _, value in _leaves(emulated)}
        for at, _, value in _leaves(recorded):
            if _COST.search(at) and at in emulated_leaves and emulated_leaves[at] != value:
                add("cost", at, json.dumps(value), json.dumps(emulated_leaves[at]))
        return out

    def _learn_ids(self, recorded: Any, emulated: Any) -> None:
        emulated_leaves = {at: value for at, _, value in _leaves(emulated)}
        for at, key, value in _leaves(recorded):
            other = emulated_leaves.get(at)
            if (
                _ID.search(key)
                and isinstance(value, str)
                and isinstance(other, str)
                and value
                and value != other
            ):
                self.ids[value] = other


def drift_cassette(path: Path, report: Report, config: EmulatorConfig | None = None) -> None:
    """Compare every interaction of one cassette with the emulator's answers into ``report`` (an unreadable
    file adds nothing: ``verify_paths`` reports it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return
    interactions = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(interactions, list):
        return
    session = _Session(config)
    for index, interaction in enumerate(interactions):
        if isinstance(interaction, dict) and not interaction.get(FETCHED_KEY):
            report.disagreements.extend(session.compare(str(path), index, interaction))


def drift_paths(
    paths: Iterable[str | Path], report: Report | None = None, config: EmulatorConfig | None = None
) -> Report:
    """The drift of every cassette under ``paths`` (files or folders), added to ``report`` (default: a
    new one); ``config``: the emulator's (its clock decides model lifecycle and prices)."""
    report = report or Report()
    for path in cassette_files(paths):
        drift_cassette(path, report, config)
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
