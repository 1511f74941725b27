"""Loading of the YAML data files in ``contracts/data`` (pricing, model facts), cached per process."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml


@cache
def load(name: str) -> dict[str, Any]:
    """Parse ``contracts/data/<name>.yaml``. Raises ``FileNotFoundError`` for an unknown name."""
    text = resources.files("pixelmock.contracts").joinpath("data", f"{name}.yaml").read_text(encoding="utf-8")
    return cast(dict[str, Any], yaml.safe_load(text))


def model_facts(model: str) -> dict[str, Any]:
    """The ``models.yaml`` block of one canonical model. Raises ``KeyError`` for an unknown model."""
    return cast(dict[str, Any], load("models")["models"][model])


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
