"""``pixelmock verify``'s reports: a ``pixelmock.contracts.verify.Report`` as text, JSON or JUnit XML
(``render_text``, ``render_json``, ``render_junit``), and ``run``: verify cassettes and print the report."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from pixelmock.contracts.verify import Disagreement, Report, verify_paths

__all__ = ["FORMATS", "RENDERERS", "print_report", "render_json", "render_junit", "render_text", "run"]


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
    return print_report(verify_paths(paths), out, form)


def print_report(report: Report, out: TextIO | None = None, form: str = "text") -> int:
    """Print ``report`` in format ``form`` (``text``, ``json`` or ``junit``) to ``out`` (default stdout);
    returns ``Report.exit_status``. Raises ``KeyError`` for an unknown format."""
    print(RENDERERS[form](report), file=out or sys.stdout)
    return report.exit_status
