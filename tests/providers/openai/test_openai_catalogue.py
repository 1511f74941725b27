"""The model catalogue at OpenAI: GPT Image 2.5 and 2.6 (and gpt-image-1-mini's shutdown) answered from
``contracts/data/models.yaml``, through the official SDK.

Oracles: openai==3.63.0 (the ids, xhigh/max on 2.5, transparent backgrounds on 2.5, GIF frame_count and
SVG n=1 rules), the reported 400 for xhigh on gpt-image-2 (lobehub/lobehub#19342), the reported 1024x1024
output-token counts of 2.5 (196 / 439 / 1,756 / 3,122 / 7,024, low to max) and the documented token rates
($5 text in, $30 image out per 1M), OpenAI's deprecations page (gpt-image-1-mini shut down 2026-12-01).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest
from flask import Flask
from PIL import Image

from pixelmock.contracts.tokens import prompt_tokens
from pixelmock.emulators.tools.cli import main

EMULATED_PROVIDERS = ["openai"]
TODAY = dt.date(2026, 12, 7)  # the 2.5 and 2.6 models are live; gpt-image-1.5 and 1-mini are shut down
REPORTED_1024 = {"low": 196, "medium": 439, "high": 1756, "xhigh": 3122, "max": 7024}


@pytest.fixture
def client(app: Flask) -> Iterator[openai.OpenAI]:
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    with openai.OpenAI(
        api_key="sk-test-catalogue", base_url="http://127.0.0.1/openai/v1", http_client=http
    ) as sdk:
        yield sdk


def _image(b64: str | None) -> Image.Image:
    assert b64 is not None
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_the_sdk_generates_with_gpt_image_25_sunburst_at_its_own_qualities(
    client: openai.OpenAI, quality: str
) -> None:
    result = client.images.generate(
        model="gpt-image-2.5-sunburst", prompt="a lighthouse", quality=quality, size="1024x1024"
    )
    assert (result.quality, result.size) == (quality, "1024x1024")
    assert result.usage is not None and result.usage.output_tokens_details is not None
    assert result.usage.output_tokens_details.image_tokens == REPORTED_1024[quality]
    assert _image(result.data[0].b64_json if result.data else None).size == (1024, 1024)


def test_gpt_image_25_flare_renders_a_transparent_background(client: openai.OpenAI) -> None:
    # openai==3.63.0: the 2.5 models "support opaque and transparent backgrounds"
    result = client.images.generate(
        model="gpt-image-2.5-flare-2026-09-08", prompt="a sticker", background="transparent", quality="low"
    )
    assert result.background == "transparent"
    assert _image(result.data[0].b64_json if result.data else None).mode == "RGBA"


def test_gpt_image_2_refuses_xhigh_with_the_reported_answer(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.images.generate(model="gpt-image-2", prompt="a lighthouse", quality="xhigh")  # type: ignore[arg-type]
    assert raised.value.status_code == 400
    assert "The model 'gpt-image-2' does not support quality 'xhigh'" in str(raised.value)
    assert raised.value.param == "quality"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("today", "served"), [("2026-11-30", True), ("2026-12-07", False)])
def test_gpt_image_1_mini_is_shut_down_from_2026_12_01(app: Flask, today: str, served: bool) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        http.put("/__admin/clock", json={"date": today})
        answer = http.post(
            "/openai/v1/images/generations",
            headers={"Authorization": "Bearer sk-test-catalogue"},
            json={"model": "gpt-image-1-mini", "prompt": "x", "quality": "low"},
        )
    if served:
        assert answer.status_code == 200
        return
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "The model 'gpt-image-1-mini' does not exist."


def test_gpt_image_26_answers_an_animated_gif_of_the_asked_frames(client: openai.OpenAI) -> None:
    # openai==3.63.0 frame_count (2-16, default 9), frame_duration_ms rounded to 10 ms
    result = client.images.generate(
        model="gpt-image-2.6-flare",
        prompt="a cat waving",
        output_format="gif",
        size="816x816",
        quality="low",
        extra_body={"frame_count": 5, "frame_duration_ms": 123},
    )
    assert result.output_format == "gif"
    gif = _image(result.data[0].b64_json if result.data else None)
    assert (gif.format, gif.size, getattr(gif, "n_frames", 1)) == ("GIF", (816, 816), 5)
    assert gif.info["duration"] == 120


def test_gpt_image_26_answers_a_valid_svg_with_its_own_usage(client: openai.OpenAI) -> None:
    result = client.images.generate(
        model="gpt-image-2.6-sunburst", prompt="a logo", output_format="svg", size="1024x1024", quality="low"
    )
    assert result.output_format == "svg" and result.data
    document = base64.b64decode(result.data[0].b64_json or "").decode("utf-8")
    assert document.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"')
    assert result.svg_usage is not None and result.svg_usage.output_tokens == prompt_tokens(document)
    with pytest.raises(openai.BadRequestError) as raised:  # "SVG generation requires n=1"
        client.images.generate(model="gpt-image-2.6-sunburst", prompt="a logo", output_format="svg", n=2)
    assert raised.value.param == "n"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("frames", "size", "fits"),
    # measured caps of square GIF frames: 960 px for 2-9 frames, 816 for 10-12, 720 for 13-16
    [(9, "960x960", True), (9, "976x976", False), (12, "816x816", True), (12, "832x832", False),
     (16, "720x720", True), (16, "736x736", False)],
)  # fmt: skip
def test_gif_frames_must_fit_the_measured_size_limits(
    client: openai.OpenAI, frames: int, size: str, fits: bool
) -> None:
    def generate() -> object:
        return client.images.generate(
            model="gpt-image-2.6-flare", prompt="x", output_format="gif", size=size, quality="low",
            extra_body={"frame_count": frames},
        )  # fmt: skip

    if fits:
        generate()
        return
    with pytest.raises(openai.BadRequestError) as raised:
        generate()
    assert raised.value.param == "size"  # type: ignore[attr-defined]


@pytest.mark.parametrize("quality", sorted(REPORTED_1024))
def test_cost_prices_gpt_image_25_with_the_reported_tokens_and_documented_rates(
    capsys: pytest.CaptureFixture[str], quality: str
) -> None:
    args = ["cost", "--provider", "openai", "--model", "gpt-image-2.5-flare", "--prompt", "a fox"]
    main([*args, "--quality", quality, "--size", "1024x1024", "--date", "2026-12-07", "--json"])
    [row] = json.loads(capsys.readouterr().out)
    tokens = row["tokens"]
    assert tokens["image_output"] == REPORTED_1024[quality]
    usd = (Decimal(tokens["image_output"]) * 30 + Decimal(tokens["text_input"]) * 5) / 1_000_000
    assert Decimal(row["usd"]) == usd


def test_a_snapshot_alias_is_a_one_entry_data_change(tmp_path: object) -> None:
    """A copy of the catalogue with one more snapshot id: the OpenAI emulator serves and lists it, priced as
    its model, with no code changed (run in a fresh interpreter so the data is read once, patched)."""
    script = textwrap.dedent(
        """
        import functools, json
        import httpx
        import pixelmock.contracts.data as data

        original = data.load.__wrapped__

        @functools.cache
        def load(name):
            loaded = original(name)
            if name == "models":
                loaded["models"]["gpt-image-2.5-flare"]["snapshots"].append("gpt-image-2.5-flare-2026-12-01")
            return loaded

        data.load = load
        from pixelmock.emulators import EmulatorConfig, create_app

        app = create_app(EmulatorConfig(), providers=["openai"])
        with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
            auth = {"Authorization": "Bearer sk-test"}
            body = {"model": "gpt-image-2.5-flare-2026-12-01", "prompt": "x", "size": "1024x1024"}
            body["quality"] = "max"
            answer = http.post("/openai/v1/images/generations", headers=auth, json=body).json()
            listed = [m["id"] for m in http.get("/openai/v1/models", headers=auth).json()["data"]]
        print(json.dumps({"tokens": answer["usage"]["output_tokens"], "listed": listed}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["tokens"] == REPORTED_1024["max"]
    assert "gpt-image-2.5-flare-2026-12-01" in found["listed"]


@pytest.mark.parametrize(("frames", "side"), [(None, 960), (12, 816), (16, 720)])
def test_an_auto_size_gif_is_the_largest_frame_its_sheet_allows(
    client: openai.OpenAI, frames: int | None, side: int
) -> None:
    # the measured caps of square GIF frames (960 for 2-9 frames, 816 for 10-12, 720 for 13-16) are what an
    # auto-size GIF is answered at (inferred: the model picks, within its GIF limits)
    extra = {} if frames is None else {"frame_count": frames}
    result = client.images.generate(
        model="gpt-image-2.6-flare", prompt="x", output_format="gif", quality="low", extra_body=extra
    )
    assert result.size == f"{side}x{side}"
    gif = _image(result.data[0].b64_json if result.data else None)
    assert (gif.size, getattr(gif, "n_frames", 1)) == ((side, side), frames or 9)
