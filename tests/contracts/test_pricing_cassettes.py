"""Runware's published per-request costs (transcribed in cassettes/documented/runware) are the
oracle for the token pass-through rule: each example's ``cost`` is reproduced exactly.

The one image-to-image example is priced with Runware's own reference-image rule (pricing.yaml
``runware.reference_images``, fitted to its documented image-to-image costs), so the quote says that part
is an estimate.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import yaml
from paths import DOCUMENTED

from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.pricing import quote

CASSETTES = DOCUMENTED / "runware"


def _examples() -> list[tuple[str, dict[str, Any], Decimal]]:
    cases = []
    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            tasks = json.loads(interaction["request"]["body"])
            items = json.loads(interaction["response"]["body"]["string"]).get("data", [])
            for task in tasks:
                if task.get("taskType") != "imageInference":
                    continue
                costs = [
                    item["cost"]
                    for item in items
                    if item.get("taskUUID") == task["taskUUID"] and "cost" in item
                ]
                cases.extend((path.name, task, Decimal(str(cost))) for cost in costs)
    return cases


EXAMPLES = _examples()


def test_all_four_published_costs_are_transcribed() -> None:
    assert len(EXAMPLES) == 4


@pytest.mark.parametrize(("name", "task", "cost"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_runware_published_cost(name: str, task: dict[str, Any], cost: Decimal) -> None:
    dialect = get_dialect("runware")
    request = dialect.resolve(dialect.from_native(NativeRequest("runware", "runTasks", [task])))
    priced = quote("runware", request)
    assert priced.per_result_usd == cost
    estimate = any(note.startswith("reference images: estimate") for note in priced.notes)
    assert estimate == bool(request.input_images)
