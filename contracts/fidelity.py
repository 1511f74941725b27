"""The fidelity table: every contract fact with its evidence rung and source, per provider, so users can
see how far to trust each assertion they make against pixelmock.

Facts are read where they live: each ``x-source`` block of a provider's OpenAPI document (with its
``x-choice`` where pixelmock chose), each block with ``evidence`` in ``contracts/data/*.yaml`` (a data
file's top-level key, or its ``providers`` key, names the provider; the rest are OpenAI's model facts,
shared by every provider), and the named options of ``x-options`` (``pixelmock.contracts.options``).

``python -m pixelmock.contracts.fidelity`` prints ``FIDELITY.md``; a test keeps that file in step and
fails when a fact lacks its source or rung.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pixelmock.contracts.data import load
from pixelmock.contracts.evidence import CONFLICT_RULE, RUNGS, TRUSTED
from pixelmock.contracts.openapi import PROVIDERS, written
from pixelmock.contracts.options import options

__all__ = ["DATA_FILES", "SHARED", "Fact", "facts", "fidelity_markdown"]

#: The data files with sourced facts (``contracts/data/<name>.yaml``).
DATA_FILES = ("models", "pricing", "latency", "webhooks", "providers")
#: The section of facts no single provider owns (OpenAI's model facts every seller's cost rests on).
SHARED = "models"
#: Path segments that only say where a schema sits, dropped from a fact's ``where``.
_NOISE = frozenset({"paths", "content", "schema", "properties", "components", "schemas", "x-source"})


@dataclass(frozen=True)
class Fact:
    """One sourced fact: ``section`` (a provider, or ``SHARED``), ``where`` (the file and the path of the
    fact in it), ``evidence`` (its rung, ``None`` if missing), ``source`` (``""`` if missing) and
    ``choice`` (why pixelmock chose, ``""`` where it did not)."""

    section: str
    where: str
    evidence: str | None
    source: str
    choice: str


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, str(i)))


def _shown(part: str) -> bool:
    """Whether a path segment says something about the fact: not a structural key, not a media type
    (``application/json``); URL paths (``/images/generations``) stay."""
    return part.startswith("/") or (part not in _NOISE and "/" not in part)


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def _document_facts(provider: str) -> Iterator[Fact]:
    for path, node in _walk(written(provider), ()):
        source = node.get("x-source")
        if source is None or (path and path[0] == "x-options"):
            continue
        where = ".".join(part for part in path if _shown(part))
        ref = source.get("ref", "") if isinstance(source, dict) else ""
        rung = source.get("evidence") if isinstance(source, dict) else None
        yield Fact(
            provider,
            f"openapi/{provider}.yaml {where}",
            rung,
            _one_line(ref),
            _one_line(node.get("x-choice")),
        )


def _data_facts(name: str) -> Iterator[Fact]:
    data = load(name)
    for path, node in _walk(data, ()):
        if "evidence" not in node:
            continue
        keys = path[1:] if path and path[0] == "providers" else path
        section = keys[0] if keys and keys[0] in PROVIDERS else SHARED
        where = f"data/{name}.yaml {'.'.join(path)}"
        yield Fact(section, where, node.get("evidence"), _one_line(node.get("source")), "")


def facts() -> list[Fact]:
    """Every sourced fact of every contract document and data file, in file order."""
    found: list[Fact] = []
    for provider in PROVIDERS:
        found.extend(_document_facts(provider))
    for name in DATA_FILES:
        found.extend(_data_facts(name))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def fidelity_markdown() -> str:
    """``FIDELITY.md``: per section, the count of facts on each rung, the named options, and every fact
    below the ``recorded`` rung with its source and (for choices) why."""
    everything = facts()
    rungs = ", ".join(f"`{rung}`" for rung in RUNGS)
    lines = [
        "# Fidelity: how far each behaviour can be trusted",
        "",
        "Generated from the contracts by `python -m pixelmock.contracts.fidelity`; do not edit by hand",
        "(`tests/contracts/test_fidelity.py` keeps it in step).",
        "",
        f"Rungs, highest first: {rungs} (`pixelmock/contracts/evidence.py` says what each means). A",
        "behaviour on `documented`, `sdk` or `recorded` is the provider's own answer; one below is",
        "pixelmock's inference or choice, and where the sources allow another answer it is a named option",
        "you can switch (`EmulatorConfig(options={...})`, `@pytest.mark.pixelmock(options={...})`); the",
        "journal notes each answer that depended on one. Below: per provider, the facts on each rung, the",
        "options, and every fact below `recorded` with its source.",
        "",
        f"Conflicting sources: {CONFLICT_RULE}",
    ]
    for section in (*PROVIDERS, SHARED):
        mine = [fact for fact in everything if fact.section == section]
        counts = Counter(fact.evidence for fact in mine)
        title = "OpenAI's model facts (every provider's cost)" if section == SHARED else section
        lines += ["", f"## {title}", ""]
        lines.append("Facts per rung: " + ", ".join(f"{rung} {counts[rung]}" for rung in RUNGS) + ".")
        mine_options = [o for o in options().values() if o.provider == section]
        if mine_options:
            lines += [
                "",
                "| option | default | evidence of the default | alternatives |",
                "|---|---|---|---|",
            ]
            for o in mine_options:
                alternatives = "; ".join(f"`{value}`: {means}" for value, means in o.alternatives.items())
                lines.append(f"| `{o.name}` | `{o.default}` | {o.evidence} | {_cell(alternatives)} |")
        below = [fact for fact in mine if fact.evidence not in TRUSTED]
        if below:
            lines += ["", "| fact | evidence | source | why (where pixelmock chose) |", "|---|---|---|---|"]
            for fact in below:
                row = (fact.where, str(fact.evidence), fact.source, fact.choice)
                lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m pixelmock.contracts.fidelity > FIDELITY.md
    print(fidelity_markdown(), end="")
