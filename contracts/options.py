"""Named options: where pixelmock must choose between sources, or answer from inference, the choice is an
option in the provider's contract, with its alternatives.

Each provider's OpenAPI document lists its options under ``x-options``::

    x-options:
      openai.gpt_image_2_transparent_preview:
        default: false
        description: what the option decides
        alternatives:
          false: what the emulator does with this value (and on which evidence)
          true: ...
        x-source: {ref: where the default comes from, evidence: recorded}

``x-source.evidence`` is the rung of the default (``pixelmock.contracts.evidence``). Users switch an option
with ``EmulatorConfig(options={name: value})`` (``@pytest.mark.pixelmock(options=...)``); the emulators
read it with ``pixelmock.emulators.web.context.choice`` and the journal notes every answer that depended on
an option whose value rests below the ``recorded`` rung.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pixelmock.contracts.evidence import RUNGS, Rung
from pixelmock.contracts.openapi import PROVIDERS, document

__all__ = ["Option", "check_values", "option", "options"]


@dataclass(frozen=True)
class Option:
    """One named option: ``name`` (``<provider>.<option>``), its ``default``, what it decides
    (``description``), ``alternatives`` (value -> meaning), and the ``source`` and ``evidence`` rung of
    the default."""

    name: str
    provider: str
    default: Any
    description: str
    alternatives: dict[Any, str]
    source: str
    evidence: Rung


@cache
def options() -> dict[str, Option]:
    """Every provider's options by name. Raises ``ValueError`` for an option without a known rung, or
    whose default is not among its alternatives."""
    found: dict[str, Option] = {}
    for provider in PROVIDERS:
        for name, spec in document(provider).get("x-options", {}).items():
            source = spec["x-source"]
            if source["evidence"] not in RUNGS:
                raise ValueError(f"option {name}: unknown evidence {source['evidence']!r}")
            alternatives = dict(spec["alternatives"])
            if spec["default"] not in alternatives:
                raise ValueError(f"option {name}: default {spec['default']!r} is not an alternative")
            found[name] = Option(
                name=name,
                provider=provider,
                default=spec["default"],
                description=" ".join(str(spec["description"]).split()),
                alternatives={k: " ".join(str(v).split()) for k, v in alternatives.items()},
                source=str(source["ref"]),
                evidence=source["evidence"],
            )
    return found


def option(name: str) -> Option:
    """The option called ``name``. Raises ``KeyError`` for an unknown one."""
    return options()[name]


def check_values(values: dict[str, object]) -> None:
    """Check configured option values (``EmulatorConfig.options``): a value for a contract option must be
    one of its alternatives. Names no contract declares are the emulators' own switches (documented in
    each provider module) and pass. Raises ``ValueError`` naming the option and its alternatives."""
    for name, value in values.items():
        spec = options().get(name)
        if spec is not None and value not in spec.alternatives:
            allowed = ", ".join(repr(v) for v in spec.alternatives)
            raise ValueError(f"option {name}: {value!r} is not one of {allowed}")
