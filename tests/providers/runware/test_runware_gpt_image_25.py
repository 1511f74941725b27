"""Runware's GPT Image 2.5 AIRs (``openai:gpt-image@2.5-flare``, ``openai:gpt-image@2.5-sunburst``) over REST
(in-process WSGI), against their oracles: runware-sdk 1.8.0's params (``settings``, no
``providerSettings``), the quality-levels guide's six ``settings.quality`` positions, the cost ``pixelmock
cost`` quotes, and the lifecycle table. GPT Image 2.6 is not sold at Runware here (its request schema is
unread).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from runware_tasks import image_task

from pixelmock.contracts.lifecycle import lifecycle_table
from pixelmock.emulators.tools.cli import main

EMULATED_PROVIDERS = ["runware"]
BASE = "/runware/v1"
KEY = {"Authorization": "Bearer test-key"}
PROMPT = "a lighthouse at dusk, watercolor"
REFERENCE_URL = "https://assets.runware.ai/assets/inputs/2c91d5eb-995a-4a87-a20b-1270e1b1891e.jpg"


def _task(model: str, **changes: Any) -> dict[str, Any]:
    task = image_task(**{"model": model, "positivePrompt": PROMPT, "includeCost": True, **changes})
    return {k: v for k, v in task.items() if v is not None}


def _post(client: httpx.Client, task: dict[str, Any]) -> httpx.Response:
    return client.post(BASE, json=[task], headers=KEY)


def _error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    first: dict[str, Any] = response.json()["errors"][0]
    return first


def cli_cost(capsys: pytest.CaptureFixture[str], model: str, *args: str) -> float:
    """The per-result USD ``pixelmock cost --provider runware --model <model> ... --json`` quotes."""
    capsys.readouterr()
    main(["cost", "--provider", "runware", "--model", model, "--prompt", PROMPT, *args, "--json"])
    (row,) = json.loads(capsys.readouterr().out)
    assert "error" not in row, row
    return float(row["usd"]) / row["resolved"]["n"]


@pytest.mark.parametrize(
    ("air", "model"),
    [
        ("openai:gpt-image@2.5-flare", "gpt-image-2.5-flare"),
        ("openai:gpt-image@2.5-sunburst", "gpt-image-2.5-sunburst"),
    ],
)
@pytest.mark.parametrize("quality", ["low", "medium", "high", "xhigh", "max"])
def test_each_quality_generates_and_costs_what_pixelmock_cost_quotes(
    wsgi: httpx.Client, capsys: pytest.CaptureFixture[str], air: str, model: str, quality: str
) -> None:
    task = _task(air, width=1536, height=1024, numberResults=2, settings={"quality": quality})
    response = _post(wsgi, task)
    assert response.status_code == 200, response.text
    items = response.json()["data"]
    assert len(items) == 2
    expected = cli_cost(capsys, model, "--size", "1536x1024", "--quality", quality, "--n", "2")
    assert [item["cost"] for item in items] == [expected, expected]


def test_the_quality_ladder_changes_the_cost(wsgi: httpx.Client) -> None:
    # Documented (quality-levels guide: effort is "tokens on the bill"); a third-party report that flare
    # ignores quality (measured 2026-09-13) is noted in the contract, not applied.
    costs = [
        _post(wsgi, _task("openai:gpt-image@2.5-flare", settings={"quality": q})).json()["data"][0]["cost"]
        for q in ("low", "medium", "high", "xhigh", "max")
    ]
    assert costs == sorted(costs) and len(set(costs)) == 5
    # 1024x1024: the reported output tokens 196 / 439 / 1,756 / 3,122 / 7,024 at $30/M, plus the prompt.
    assert [round(c - 0.00006, 5) for c in costs] == [0.00588, 0.01317, 0.05268, 0.09366, 0.21072]


def test_sunburst_rest_request_with_top_level_references_costs_what_pixelmock_cost_quotes(
    wsgi: httpx.Client, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from PIL import Image

    task = _task(
        "openai:gpt-image@2.5-sunburst", referenceImages=[REFERENCE_URL], settings={"quality": "high"}
    )
    nested = _task(
        "openai:gpt-image@2.5-sunburst",
        inputs={"referenceImages": [REFERENCE_URL]},
        settings={"quality": "high"},
    )
    costs = [_post(wsgi, t).json()["data"][0]["cost"] for t in (task, nested)]
    image = tmp_path / "ref.png"
    Image.new("RGB", (64, 64)).save(image)  # Runware counts references flat, whatever their size
    quoted = cli_cost(
        capsys,
        "gpt-image-2.5-sunburst",
        "--size",
        "1024x1024",
        "--quality",
        "high",
        "--input-image",
        str(image),
    )
    assert costs == [quoted, quoted]


def test_sizes_follow_the_reported_limits(wsgi: httpx.Client) -> None:
    air = "openai:gpt-image@2.5-flare"
    assert _post(wsgi, _task(air, width=3840, height=2160)).status_code == 200
    assert _post(wsgi, _task(air, width=None, height=None)).status_code == 200  # sdk: width?, height?
    for width, height in ((4096, 1024), (1000, 1000), (3840, 1024), (512, 512)):
        error = _error(_post(wsgi, _task(air, width=width, height=height)))
        assert error["code"] == "unsupportedDimensions"


def test_only_settings_quality_is_a_knob(wsgi: httpx.Client) -> None:
    air = "openai:gpt-image@2.5-sunburst"
    for changes, parameter in (
        ({"providerSettings": {"openai": {"quality": "high"}}}, "providerSettings"),
        ({"settings": {"background": "transparent"}}, "settings.background"),
        ({"negativePrompt": "blurry"}, "negativePrompt"),
    ):
        error = _error(_post(wsgi, _task(air, **changes)))
        assert (error["code"], error["parameter"]) == ("unsupportedParameter", parameter)
    error = _error(_post(wsgi, _task(air, settings={"quality": "ultra"})))
    assert (error["code"], error["parameter"]) == ("invalidQuality", "settings.quality")


def test_gpt_image_2_still_refuses_the_new_qualities(wsgi: httpx.Client) -> None:
    error = _error(_post(wsgi, _task("openai:gpt-image@2", settings={"quality": "xhigh"})))
    assert error["parameter"] == "settings.quality"


def test_gpt_image_2_6_is_not_sold_at_runware(wsgi: httpx.Client) -> None:
    for air in ("openai:gpt-image@2.6-flare", "openai:gpt-image@2.6-sunburst"):
        error = _error(_post(wsgi, _task(air)))
        assert (error["code"], error["parameter"]) == ("invalidModel", "model")


def test_the_lifecycle_table_shows_them_sold_at_runware() -> None:
    rows = {
        tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in lifecycle_table().splitlines()
    }
    for model in ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst"):
        assert "| 2026-09-08 | none published | documented |" in rows[(model, "runware")]
    for model in ("gpt-image-2.6-flare", "gpt-image-2.6-sunburst"):
        assert "not sold" in rows[(model, "runware")]
