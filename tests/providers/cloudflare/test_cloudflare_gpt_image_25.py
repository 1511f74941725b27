"""Cloudflare sells openai/gpt-image-2.5-sunburst (and neither 2.5-flare nor 2.6): the official SDK runs it at
the qualities GPT Image 2.5 adds, values outside the published enums are Cloudflare's input error, OpenAI's
own refusals come back wrapped, and ``pixelmock cost`` prices it from the published unit prices.

Oracles: the catalog page https://developers.cloudflare.com/ai/models/openai/gpt-image-2.5-sunburst/ (copy
fetched 2026-10-08: Parameters, Pricing "Output image (per 1M tokens) $30.00", "Input (per 1M tokens)
$5.00", "Cached input image (per 1M tokens) $3.00"); the reported 1024x1024 output-token count of 2.5 at
quality max, 7,024 (sanand0/blog quality-levels-of-gpt-image-2.5-flare.md, 2026-09-26); 400 / 7003 "User
Input Error" for partner-model input outside the catalog enums (cloudflare/workers-sdk#14657, reported for
openai/gpt-image-2, inferred for this model); no catalog page found for openai/gpt-image-2.5-flare or GPT
Image 2.6 (so: not sold).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal

import cloudflare
import httpx
import pytest
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.data import load, model_facts
from pixelmock.contracts.dialects.cloudflare import DIALECT
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.lifecycle import lifecycle, lifecycle_table
from pixelmock.contracts.upstream import openai_error
from pixelmock.emulators.tools.cli import main
from pixelmock.emulators.tools.demo import fetch_image

EMULATED_PROVIDERS = ["cloudflare"]
PREFIX = "/cloudflare/client/v4"
RUN = f"{PREFIX}/accounts/acct/ai/run"
AUTH = {"Authorization": "Bearer test-token"}
MODEL = "gpt-image-2.5-sunburst"
NATIVE = "openai/gpt-image-2.5-sunburst"
MILLION = Decimal(1_000_000)
#: The page's Pricing (copy fetched 2026-10-08), USD per 1M tokens.
IMAGE_OUTPUT, TEXT_INPUT, CACHED_IMAGE_INPUT = Decimal("30.00"), Decimal("5.00"), Decimal("3.00")
#: Reported output tokens of GPT Image 2.5 at 1024x1024, by quality (xhigh 3,122; max 7,024).
TOKENS_1024 = {"low": 196, "medium": 439, "high": 1756, "xhigh": 3122, "max": 7024}
NOT_SOLD = ("gpt-image-2.5-flare", "gpt-image-2.6-flare", "gpt-image-2.6-sunburst")


def post(http: httpx.Client, body: object, path: str = RUN) -> httpx.Response:
    return http.post(path, json=body, headers=AUTH)


def error_of(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["success"] is False
    return response.status_code, body["errors"][0]["code"], body["errors"][0]["message"]


def balance(app: Flask) -> Decimal:
    accounts = app.extensions["pixelmock"].accounts
    return Decimal(accounts.balance(accounts.authenticate("cloudflare", "test-token").account, "USD"))


# --- the official SDK --------------------------------------------------------------------------------------


@pytest.fixture
def sdk(live_url: str) -> Iterator[cloudflare.Cloudflare]:
    with cloudflare.Cloudflare(api_token="t", base_url=live_url + PREFIX, max_retries=0) as client:
        yield client


@pytest.mark.parametrize(("quality", "size"), [("xhigh", "1024x1536"), ("max", "1536x1024")])
def test_official_sdk_generates_at_the_qualities_25_adds(
    sdk: cloudflare.Cloudflare, live_url: str, quality: str, size: str
) -> None:
    # cloudflare==5.9.0: both routes through the SDK's generic post (as the page's cURL and binding calls).
    body = {"prompt": "A fashion portrait of an astronaut botanist", "quality": quality, "size": size}
    universal = sdk.post("/accounts/x/ai/run", body={"model": NATIVE, "input": body}, cast_to=object)
    classic = sdk.post(f"/accounts/x/ai/run/{NATIVE}", body=body, cast_to=object)
    for answer in (universal, classic):
        assert isinstance(answer, dict) and answer["success"] is True
        assert answer["result"]["state"] == "Completed"
        with httpx.Client() as http:
            image = fetch_image(http, answer["result"]["result"]["image"])
        assert image.size == tuple(int(x) for x in size.split("x"))


def test_official_sdks_ai_run_percent_encodes_the_model_as_for_every_model(
    sdk: cloudflare.Cloudflare,
) -> None:
    # client.ai.run sends openai%2Fgpt-image-2.5-sunburst (cloudflare/cloudflare-python#2718): 400 / 7000.
    with pytest.raises(cloudflare.BadRequestError) as info:
        sdk.ai.run(NATIVE, account_id="x", prompt="a cat", extra_body={"quality": "max"})
    assert info.value.body["errors"][0]["code"] == 7000  # type: ignore[index]


# --- the published schema ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"size": "2048x2048"},  # OpenAI draws it for 2.5; Cloudflare's enum has only three fixed sizes
        {"size": "1792x1024"},
        {"quality": "ultra"},
        {"background": "none"},
        {"output_format": "gif"},
        {"images": [f"x{i}" for i in range(17)]},  # maxItems 16
    ],
)
def test_values_outside_the_published_enums_are_user_input_errors(
    app: Flask, http: httpx.Client, bad: dict[str, object]
) -> None:
    before = balance(app)
    response = post(http, {"model": NATIVE, "input": {"prompt": "a fox", **bad}})
    assert error_of(response) == (400, 7003, "User Input Error")
    assert balance(app) == before  # nothing charged


def test_xhigh_is_25s_own_gpt_image_2_at_cloudflare_refuses_it(http: httpx.Client) -> None:
    response = post(http, {"model": "openai/gpt-image-2", "input": {"prompt": "a fox", "quality": "xhigh"}})
    assert error_of(response) == (400, 7003, "User Input Error")


def test_transparent_png_is_served_transparent_with_jpeg_is_openais_refusal_wrapped(
    http: httpx.Client,
) -> None:
    # The 2.5 models "support opaque and transparent backgrounds" (openai==3.63.0), png or webp only.
    fine = post(http, {"model": NATIVE, "input": {"prompt": "a sticker", "background": "transparent"}})
    assert fine.status_code == 200
    assert fetch_image(http, fine.json()["result"]["result"]["image"]).mode == "RGBA"
    jpeg = {"prompt": "a sticker", "background": "transparent", "output_format": "jpeg"}
    status, code, message = error_of(post(http, {"model": NATIVE, "input": jpeg}))
    upstream_status, upstream = openai_error("transparent_jpeg")
    assert (status, code) == (upstream_status, 5012)
    assert message.startswith("AiError: AiError: " + json.dumps(upstream, separators=(",", ":")) + " (")


def test_run_debits_the_published_unit_prices(app: Flask, http: httpx.Client) -> None:
    prompt = "A cutaway editorial illustration of a floating ocean research station"
    before = balance(app)
    body = {"model": NATIVE, "input": {"prompt": prompt, "quality": "max", "size": "1024x1024"}}
    assert post(http, body).status_code == 200
    text = DIALECT.quote(CanonicalRequest(model=MODEL, prompt=prompt)).tokens.text_input
    assert before - balance(app) == (TOKENS_1024["max"] * IMAGE_OUTPUT + text * TEXT_INPUT) / MILLION


# --- the dialect, the cost command and the lifecycle -------------------------------------------------------


def test_capabilities_are_the_published_enums() -> None:
    caps = DIALECT.capabilities(MODEL)
    assert caps.native_model == NATIVE
    assert caps.qualities == ("low", "medium", "high", "xhigh", "max", "auto")
    assert caps.sizes == ("1024x1024", "1024x1536", "1536x1024", "auto") and not caps.flexible_sizes
    assert caps.backgrounds == ("transparent", "opaque", "auto")
    assert caps.output_formats == ("png", "webp", "jpeg")
    assert (caps.max_n, caps.max_input_images, caps.mask, caps.output_compression) == (1, 16, False, False)


@pytest.mark.parametrize("model", NOT_SOLD)
def test_models_without_a_catalog_page_are_not_sold(model: str) -> None:
    with pytest.raises(UnsupportedValue, match="not sold by Cloudflare"):
        DIALECT.capabilities(model)
    assert lifecycle("cloudflare", model) is None


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_cost_prices_the_reported_tokens_at_the_published_prices(
    capsys: pytest.CaptureFixture[str], quality: str
) -> None:
    main(["cost", "--provider", "cloudflare", "--model", MODEL, "--quality", quality, "--size", "1024x1024",
          "--prompt", "a fox", "--json"])  # fmt: skip
    [row] = json.loads(capsys.readouterr().out)
    assert row["tokens"]["image_output"] == TOKENS_1024[quality]
    # "a fox": 2 o200k_base tokens + 6 (models.yaml text_overhead_tokens, recorded for gpt-image-2)
    assert row["tokens"]["text_input"] == 8
    assert (row["tokens"]["image_input"], row["tokens"]["text_output"]) == (0, 0)
    expected = (TOKENS_1024[quality] * IMAGE_OUTPUT + 8 * TEXT_INPUT) / MILLION
    assert Decimal(row["usd"]) == expected
    assert row["resolved"]["model"] == MODEL and row["upper_bound"] is None
    if quality == "max":
        assert Decimal(row["usd"]) == Decimal("0.21076")


@pytest.mark.parametrize("model", NOT_SOLD)
def test_cost_of_a_model_cloudflare_does_not_sell_is_an_error_row(
    capsys: pytest.CaptureFixture[str], model: str
) -> None:
    main(["cost", "--provider", "cloudflare", "--model", model, "--prompt", "a fox", "--json"])
    [row] = json.loads(capsys.readouterr().out)
    assert set(row) == {"provider", "model", "error"}
    assert row["error"].startswith(f"model {model} is not supported: not sold by Cloudflare Workers AI")
    assert MODEL in row["error"]  # what it sells instead
    main(["cost", "--provider", "cloudflare", "--model", model, "--prompt", "a fox"])
    table = capsys.readouterr().out
    assert "not sold by Cloudflare" in table and "Traceback" not in table


def test_lifecycle_shows_it_sold_following_openais_date() -> None:
    found = lifecycle("cloudflare", MODEL)
    assert found is not None
    assert (found.released, found.shutdown) == (dt.date(2026, 9, 8), None)  # OpenAI announced none
    assert found.evidence == "inferred" and "x-upstream-shutdown" not in found.source
    assert (
        f"| {MODEL} | cloudflare | 2026-09-08 | none published | inferred |" in lifecycle_table().splitlines()
    )
    for model in NOT_SOLD:
        assert f"| {model} | cloudflare | not sold | - | - |" in lifecycle_table().splitlines()


def test_cloudflares_own_cached_image_price_is_recorded_with_its_source() -> None:
    # The page's other unit prices equal OpenAI's (models.yaml); the cached image input does not.
    [entry] = load("pricing")["cloudflare"]["token_prices"][MODEL]
    assert Decimal(entry["cached_image_input"]) == CACHED_IMAGE_INPUT
    assert entry["evidence"] == "documented" and "gpt-image-2.5-sunburst/" in entry["source"]
    [openai] = model_facts(MODEL)["token_prices"]
    assert Decimal(openai["cached_image_input"]) == Decimal("2.00") != CACHED_IMAGE_INPUT
    assert (Decimal(openai["image_output"]), Decimal(openai["text_input"])) == (IMAGE_OUTPUT, TEXT_INPUT)
