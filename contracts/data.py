"""Loading of the YAML data files in ``contracts/data`` (pricing, model facts), cached per process."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml

#: PyYAML's safe loader on libyaml where PyYAML has it (about 10x faster: the contracts load in a tenth of
#: the time at start-up), else the pure-Python one; the same documents either way.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """The value of a YAML document, read safely (``SAFE_LOADER``: no tags that build objects). Raises
    ``yaml.YAMLError``."""
    return yaml.load(text, Loader=SAFE_LOADER)


@cache
def load(name: str) -> dict[str, Any]:
    """Parse ``contracts/data/<name>.yaml``. Raises ``FileNotFoundError`` for an unknown name."""
    text = resources.files("pixelmock.contracts").joinpath("data", f"{name}.yaml").read_text(encoding="utf-8")
    return cast(dict[str, Any], parse_yaml(text))


@cache
def model_facts(model: str) -> dict[str, Any]:
    """The ``models.yaml`` block of one canonical model (shared; do not mutate). A block with ``like:
    <model>`` is that model's facts with its own keys over them, nested blocks merged key by key (a list
    or a value replaces). Raises ``KeyError`` for an unknown model, ``ValueError`` for a ``like`` circle."""
    return _facts(model, ())


def _facts(model: str, seen: tuple[str, ...]) -> dict[str, Any]:
    if model in seen:
        raise ValueError(f"models.yaml: like circle {' -> '.join((*seen, model))}")
    block = cast(dict[str, Any], load("models")["models"][model])
    like = block.get("like")
    if like is None:
        return block
    return _merged(_facts(str(like), (*seen, model)), {k: v for k, v in block.items() if k != "like"})


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = _merged(base[key], value) if both else value
    return out


def catalogue() -> tuple[str, ...]:
    """Every canonical model of ``models.yaml``, in its order."""
    return tuple(load("models")["models"])


def effective(entries: list[dict[str, Any]], on: dt.date) -> dict[str, Any]:
    """The entry of a dated list in force on ``on``: the last one whose ``effective_from`` is not later.

    Entries are in date order; ``effective_from: null`` means "since before the next entry".
    Raises ``LookupError`` when none is in force.
    """
    chosen: dict[str, Any] | None = None
    for entry in entries:
        start = entry.get("effective_from")
        if start is None or dt.date.fromisoformat(str(start)) <= on:
            chosen = entry
    if chosen is None:
        raise LookupError(f"no entry in force on {on.isoformat()}")
    return chosen
