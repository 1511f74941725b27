"""GPT Image 2.5 (flare and sunburst) on GMI Cloud: a generate and an edit slug each.

Oracles: the reported per-image prices for 1024x1024 (low 0.0059, medium 0.0132, high 0.0527, xhigh 0.0937,
max 0.2107; auto or no quality billed as max) and parameters of a third-party GMI image client built on
live tests (2026-09; public copy, repository not identified); GMI's gpt-image-2 answers (the request
queue's record shape) and the contract's response schemas.
"""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask
from PIL import Image

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects.gmicloud import DIALECT, slugs
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.lifecycle import lifecycle, lifecycle_table
from pixelmock.contracts.openapi import inlined, validate
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.tools.cli import main

EMULATED_PROVIDERS = ["gmicloud"]

PREFIX = "/gmicloud/api/v1/ie/requestqueue/apikey"
KEY = {"Authorization": "Bearer gmi-test-key"}
REJECTED = "Generation rejected; please review the prompt and parameters then retry"
MODELS = ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst")
#: The reported per-image prices for 1024x1024 (GMI's model detail, read by the third-party client).
ANCHORS = {"low": "0.0059", "medium": "0.0132", "high": "0.0527", "xhigh": "0.0937", "max": "0.2107"}


def _b64_png(width: int, height: int) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _submit(http: httpx.Client, model: str, **payload: Any) -> httpx.Response:
    body = {"model": model, "payload": {"prompt": "a lighthouse at dawn", **payload}}
    return http.post(f"{PREFIX}/requests", json=body, headers=KEY)


def _conforms(response: httpx.Response) -> Any:
    op = inlined("gmicloud")["paths"]["/requests"]["post"]
    schema = op["responses"][str(response.status_code)]["content"]["application/json"]["schema"]
    body = response.json()
    assert validate("gmicloud", schema, body) == []
    return body


def _balance(app: Flask) -> Decimal:
    rt: Runtime = app.extensions["pixelmock"]
    account = rt.accounts.authenticate("gmicloud", "gmi-test-key").account
    assert account is not None
    return rt.accounts.balance(account, "USD")


def _image(http: httpx.Client, url: str) -> Image.Image:
    response = http.get(url)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


# -- the request queue answers as for gpt-image-2 --------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(("quality", "n"), [("xhigh", 2), ("max", 1), ("low", 3)])
def test_generate_slug_answers_a_record_and_precharges_the_reported_price(
    wsgi: httpx.Client, app: Flask, model: str, quality: str, n: int
) -> None:
    slug = f"{model}-generate"
    response = _submit(wsgi, slug, quality=quality, n=n, output_format="webp")
    assert response.status_code == 200, response.headers.get("X-Pixelmock-Detail")
    record = _conforms(response)
    assert (record["model"], record["status"]) == (slug, "success")
    assert record["payload"] == {
        "prompt": "a lighthouse at dawn",
        "quality": quality,
        "n": n,
        "output_format": "webp",
    }
    media = record["outcome"]["media_urls"]
    assert [item["id"] for item in media] == [str(i) for i in range(n)]
    assert record["outcome"]["thumbnail_image_url"] == media[0]["url"]
    image = _image(wsgi, media[0]["url"])
    assert (image.size, image.format) == ((1024, 1024), "WEBP")
    assert _balance(app) == Decimal(100) - Decimal(ANCHORS[quality]) * n
    again = wsgi.get(f"{PREFIX}/requests/{record['request_id']}", headers=KEY).json()
    assert again == record


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    "image",
    [
        "https://example.com/photo.png",
        "data:image/png;base64," + _b64_png(32, 32),
        _b64_png(48, 32),
        ["https://example.com/a.png", "data:image/png;base64," + _b64_png(16, 16)],
    ],
    ids=["url", "data-uri", "base64", "array"],
)
def test_edit_slug_takes_the_reported_image_forms(
    wsgi: httpx.Client, app: Flask, model: str, image: Any
) -> None:
    slug = f"{model}-edit"
    response = _submit(wsgi, slug, image=image, quality="xhigh", n=2, background="transparent")
    assert response.status_code == 200, response.headers.get("X-Pixelmock-Detail")
    record = _conforms(response)
    assert (record["model"], record["status"]) == (slug, "success")
    assert len(record["outcome"]["media_urls"]) == 2
    rendered = _image(wsgi, record["outcome"]["media_urls"][0]["url"])
    assert rendered.format == "PNG" and rendered.mode == "RGBA"
    assert _balance(app) == Decimal(100) - 2 * Decimal(ANCHORS["xhigh"])


@pytest.mark.parametrize(
    "options", [{}, {"gmicloud.absent_quality_billing": "top_tier"}], ids=["documented_default", "top_tier"]
)
def test_auto_or_no_quality_is_billed_as_max(options: dict[str, Any]) -> None:
    # Reported: "GMI bills auto, or no quality, at the top quality" (max for 2.5); 2.5 has no documented
    # default quality, so the option gmicloud.absent_quality_billing changes nothing here.
    app = create_app(EmulatorConfig(options=options), providers=EMULATED_PROVIDERS)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
        assert _submit(client, "gpt-image-2.5-flare-generate").status_code == 200
        assert _balance(app) == Decimal(100) - Decimal(ANCHORS["max"])
        assert (
            _submit(client, "gpt-image-2.5-sunburst-edit", image=_b64_png(16, 16), quality="auto").status_code
            == 200
        )
        assert _balance(app) == Decimal(100) - 2 * Decimal(ANCHORS["max"])


def test_other_sizes_are_priced_by_pixel_count(wsgi: httpx.Client, app: Flask) -> None:
    # The client's rule: the 1024x1024 price in proportion to the pixel count (2048x2048 = 4x).
    response = _submit(wsgi, "gpt-image-2.5-flare-generate", size="2048x2048", quality="medium")
    assert response.status_code == 200, response.headers.get("X-Pixelmock-Detail")
    assert _image(wsgi, response.json()["outcome"]["media_urls"][0]["url"]).size == (2048, 2048)
    assert _balance(app) == Decimal(100) - 4 * Decimal(ANCHORS["medium"])


@pytest.mark.parametrize(
    ("slug", "payload"),
    [
        ("gpt-image-2.5-flare-generate", {"image": _b64_png(16, 16)}),  # no image on -generate
        ("gpt-image-2.5-flare-generate", {"quality": "ultra"}),
        ("gpt-image-2.5-flare-generate", {"size": "auto"}),  # refused as on gpt-image-2 (live)
        ("gpt-image-2.5-flare-generate", {"size": "1000x1000"}),  # not multiples of 16
        ("gpt-image-2.5-flare-generate", {"background": "transparent", "output_format": "jpeg"}),
        ("gpt-image-2.5-flare-generate", {"moderation": "strict"}),
        ("gpt-image-2.5-sunburst-edit", {}),  # image is required
        ("gpt-image-2.5-sunburst-edit", {"image": ["https://example.com/a.png"] * 17}),  # up to 16
        ("gpt-image-2.5-sunburst-edit", {"image": _b64_png(16, 16), "mask": _b64_png(16, 16)}),  # no mask
        ("gpt-image-2.5-sunburst-edit", {"image": "ftp://example.com/a.png"}),
    ],
)
def test_payloads_outside_the_reported_rules_are_rejected(
    wsgi: httpx.Client, app: Flask, slug: str, payload: dict[str, Any]
) -> None:
    response = _submit(wsgi, slug, **payload)
    assert response.status_code == 400
    assert _conforms(response)["error"] == REJECTED
    assert _balance(app) == Decimal(100)


def test_a_bare_25_model_id_is_not_a_gmi_slug(wsgi: httpx.Client) -> None:
    assert _submit(wsgi, "gpt-image-2.5-flare").status_code == 404
    assert _submit(wsgi, "gpt-image-2.6-flare-generate").status_code == 404  # 2.6: no source


# -- dialect, cost engine, lifecycle ---------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_dialect_sends_generate_or_edit_by_the_images(model: str) -> None:
    assert slugs(model) == (f"{model}-generate", f"{model}-edit")
    text = DIALECT.to_native(CanonicalRequest(model=model, prompt="a fox", quality="xhigh"))
    assert text.body["model"] == f"{model}-generate"
    assert text.body["payload"]["quality"] == "xhigh"
    images = tuple(ImageInput(url=f"https://example.com/{i}.png") for i in range(3))
    edit = DIALECT.to_native(CanonicalRequest(model=model, prompt="a fox", input_images=images))
    assert edit.body["model"] == f"{model}-edit"
    assert edit.body["payload"]["image"] == [image.url for image in images]
    assert DIALECT.from_native(edit).model == model
    with pytest.raises(UnsupportedValue):
        DIALECT.resolve(CanonicalRequest(model=model, prompt="a fox", input_images=images * 6))


def test_cost_cli_prints_the_reported_max_price(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["cost", "--provider", "gmicloud", "--model", "gpt-image-2.5-flare", "--quality", "max",
            "--size", "1024x1024", "--prompt", "a fox"]  # fmt: skip
    main(args)
    assert "$0.2107" in capsys.readouterr().out
    main([*args, "--json"])
    [row] = json.loads(capsys.readouterr().out)
    assert Decimal(row["usd"]) == Decimal(ANCHORS["max"])


@pytest.mark.parametrize("model", MODELS)
def test_lifecycle_shows_25_sold_at_gmi_and_26_not(model: str) -> None:
    found = lifecycle("gmicloud", model)
    assert found is not None and found.shutdown is None and found.evidence == "inferred"
    assert f"| {model} | gmicloud | 2026-09-08 | none published |" in lifecycle_table()
    assert lifecycle("gmicloud", model.replace("2.5", "2.6")) is None
