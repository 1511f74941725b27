"""Runware's published per-request costs (transcribed in cassettes/documented/runware) are the
oracle for the token pass-through rule: each text-to-image example's ``cost`` is reproduced exactly.

The one image-to-image example depends on the reference image's size, which the page does not give; the
test checks that its published cost exceeds the text-and-output part by an amount the 512-px tile rule
allows for one input image (between 1 and 3 tiles at $8/M), and that the quote says the size was assumed.
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
    if not request.input_images:
        assert priced.per_result_usd == cost
        return
    without_input = quote("runware", request.with_(input_images=()))
    assert without_input.per_result_usd is not None
    extra_text = priced.tokens.text_input - without_input.tokens.text_input  # text tokens an edit adds
    remainder = cost - without_input.per_result_usd - Decimal(extra_text) * 5 / 1_000_000
    image_tokens = remainder * 1_000_000 / 8
    # One image fitted in 2048x2048 with its shortest side scaled to 512: 1 to 3 tiles of 129 tokens + 65.
    assert 65 + 129 <= image_tokens <= 65 + 3 * 129
    assert any("no known size" in note for note in priced.notes)
