"""Runware's reference-image billing against its documented image-to-image costs (the oracles, quoted
below): the three gpt-image@2 examples of https://runware.ai/docs/models/openai-gpt-image-2 (read
2026-11-21) and the openai:4@1 example 'Bioluminescent Art Nouveau Portrait' of
https://runware.ai/docs/models/openai-gpt-image-1-5 (cassettes/documented/runware). Runware publishes no
rule; contracts/data/pricing.yaml ``runware.reference_images`` holds the fitted one, an estimate.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import yaml
from paths import DOCUMENTED

from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.runware import DIALECT

ASSETS = "https://assets.runware.ai/assets/inputs/"
HIGH = {"openai": {"quality": "high", "moderation": "auto"}}

#: The GPT Image 2 page's image-to-image requests, verbatim, with the `cost` of their documented responses.
GPT_IMAGE_2_EXAMPLES: dict[str, tuple[dict[str, Any], str]] = {
    "Cabinet of Culinary Specimens": (
        {
            "taskType": "imageInference",
            "taskUUID": "62ce7879-8da3-4cdd-9a31-f18a61e278c6",
            "referenceImages": [
                ASSETS + "10501302-c696-4b56-829f-d7caf6a3d37a.jpg",
                ASSETS + "28d238c0-3e25-4e40-bf94-41318abff219.jpg",
                ASSETS + "c5764021-5e4e-4ee3-b431-66541b885c1a.jpg",
                ASSETS + "e896c420-8684-4819-985e-3adcd51bf50d.jpg",
                ASSETS + "d515bc77-a09a-4fb9-b556-ccd461791cc9.jpg",
                ASSETS + "cc29a13b-910d-422e-ac37-bbe0bd471a8d.jpg",
            ],
            "model": "openai:gpt-image@2",
            "positivePrompt": (
                "Using all 6 reference images as source inspiration, create a refined overhead composition "
                "of an eccentric culinary research archive arranged inside a shallow wooden specimen "
                "drawer. Include cut fruit studies, ceramic sample bowls, brass measuring instruments, "
                "smoky glass containers, annotated index cards, and carefully ordered ingredient fragments. "
                "The scene should feel like a hybrid of gastronomy, taxonomy, and design documentation, "
                "with strong spatial organization and clear separations between objects. Add several small "
                "readable paper labels in neat serif typography, such as 'FIG SECTION', 'ARIL COUNT', 'PEAR "
                "SLICE', 'GLAZE SAMPLE', and 'VOLUME TEST'. Emphasize realistic materials, tactile "
                "surfaces, subtle dust, precise shadows, premium editorial lighting, and immaculate detail. "
                "Rich but restrained palette: garnet, olive, cream, brass, walnut, and ash gray. "
                "Photorealistic, elegant, highly controlled composition, no people, no background clutter."
            ),
            "width": 1536,
            "height": 1024,
            "providerSettings": HIGH,
        },
        "0.16468",
    ),
    "Maximalist Curiosity Cabinet Collage": (
        {
            "taskType": "imageInference",
            "taskUUID": "5eac448a-60b8-4be2-8de6-9a5c0031d527",
            "referenceImages": [
                ASSETS + "5f88168e-166c-4933-b6e3-b48ca142ea9a.jpg",
                ASSETS + "73b3797f-af09-4bb9-bf6c-257fcbb74167.jpg",
                ASSETS + "cf3e9af6-5b8a-4ae9-a155-9d11233f0ca1.jpg",
            ],
            "model": "openai:gpt-image@2",
            "positivePrompt": (
                "Create an intricate frontal view of a maximalist curiosity cabinet assembled from three "
                "reference images. Blend the antique drawer cabinet structure with the natural specimens "
                "and scientific tabletop objects into a single meticulously organized scene. Some drawers "
                "are open, revealing shells, minerals, feathers, seed pods, pinned insects, tiny labeled "
                "vials, folded maps, calipers, and handwritten inventory cards. Include crisp readable "
                "drawer labels such as 'Specimen 07', 'River Stones', 'Wing Study', and 'Archive B'. Warm "
                "museum lighting, tactile wood grain, brass hardware, paper textures, realistic shadows, "
                "elegant composition, highly detailed, photorealistic but slightly whimsical, no people."
            ),
            "width": 1024,
            "height": 768,
            "providerSettings": HIGH,
        },
        "0.16359",
    ),
    "Floating Herbarium Reading Nook": (
        {
            "taskType": "imageInference",
            "taskUUID": "6f8a3211-45bf-4dee-ae55-02dc5233b21d",
            "referenceImages": [ASSETS + "37730e56-2ff2-402b-91d0-1f9a37fdf50e.jpg"],
            "model": "openai:gpt-image@2",
            "positivePrompt": (
                "Transform the single reference image into an imaginative suspended herbarium reading nook "
                "inside a vast airy atrium. Preserve the general room layout and furniture placement from "
                "the reference, but reimagine the scene with curved wooden shelving, hundreds of neatly "
                "mounted dried plants in glass frames, labeled specimen drawers, dangling paper tags, brass "
                "stair rails, a deep moss-green armchair, a tiny writing desk with open field journals, and "
                "thin bridges connecting to neighboring alcoves in the distance. Soft afternoon sunlight "
                "pours through the window and catches floating dust motes. Include crisp readable drawer "
                "labels such as 'FERNS', 'SEEDS', and 'ALPINE CUTTINGS'. Photorealistic materials, elegant "
                "spatial depth, meticulous textures, calm scholarly mood, natural color palette with "
                "touches of amber and green, highly coherent composition."
            ),
            "width": 1024,
            "height": 768,
            "providerSettings": HIGH,
        },
        "0.15143",
    ),
}
#: Reproduced to the last digit by the fitted rule.
EXACT = ("Maximalist Curiosity Cabinet Collage", "Floating Herbarium Reading Nook")
#: The 6-reference example: its documented cost is the output tokens alone (5488 x $30/M = 0.16464) plus
#: 0.00004, below the price of its prompt without any reference; no additive rule reproduces it.
ANOMALY = "Cabinet of Culinary Specimens"


def _quote(task: dict[str, Any]) -> Any:
    return DIALECT.quote(DIALECT.from_native(NativeRequest("runware", "runTasks", [task])))


def _estimate_noted(quote: Any) -> bool:
    return any(note.startswith("reference images: estimate") for note in quote.notes)


@pytest.mark.parametrize("name", EXACT)
def test_gpt_image_2_reference_examples_cost_what_runware_documents(name: str) -> None:
    task, cost = GPT_IMAGE_2_EXAMPLES[name]
    quote = _quote(task)
    assert quote.per_result_usd == Decimal(cost)
    assert _estimate_noted(quote)


def test_the_six_reference_example_is_an_estimate_with_its_known_error() -> None:
    task, cost = GPT_IMAGE_2_EXAMPLES[ANOMALY]
    quote = _quote(task)
    assert quote.per_result_usd == Decimal("0.20249")  # +23.0 % over the documented 0.16468
    assert abs(quote.per_result_usd / Decimal(cost) - 1) < Decimal("0.231")
    assert _estimate_noted(quote)


def test_openai_4_1_reference_example_costs_what_runware_documents() -> None:
    # 'Bioluminescent Art Nouveau Portrait': one URL reference, 1024x1536 high, "cost": 0.20312
    path = DOCUMENTED / "runware" / "openai-4-1-bioluminescent-art-nouveau-portrait.yaml"
    interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]
    [task] = json.loads(interaction["request"]["body"])
    quote = _quote(task)
    assert quote.per_result_usd == Decimal("0.20312")
    assert _estimate_noted(quote)


def test_each_reference_adds_the_same_tokens_whatever_its_count() -> None:
    task, _ = GPT_IMAGE_2_EXAMPLES["Floating Herbarium Reading Nook"]
    bare = _quote({k: v for k, v in task.items() if k != "referenceImages"})
    one, three = (_quote(dict(task, referenceImages=task["referenceImages"] * n)) for n in (1, 3))
    assert one.tokens.image_input - bare.tokens.image_input == 768
    assert three.tokens.image_input == 3 * one.tokens.image_input
    per_reference_text = one.tokens.text_input - bare.tokens.text_input
    assert three.tokens.text_input - one.tokens.text_input == 2 * per_reference_text
    assert not _estimate_noted(bare)
