"""The cost engine against published figures (the oracles) and its structural properties.

Oracles used here, each published by a provider or OpenAI:
- Apiframe's credit tables and worked examples: gpt-image-1.5 low 4, medium 9, auto/high 24 and "3 images
  at medium = 3 x 9 = 27 credits" (apiframe.ai/docs, at every date); gpt-image-2 low 4, medium 9, auto/high 23
  and "medium x 4 = 36" (docs-v2.apiframe.ai/docs/images/gpt-image-2).
- gpt-image-2 output tokens published by OpenAI for 1024x1024 high (7024) and 1536x1024 high (5488)
  (livestream thread community.openai.com/t/1379464, read 2026-11-21).
- The 512-px tile rule's observed figure: a 1024x1024 input bills 194 image tokens
  (community.openai.com/t/1281361).
- GMI's gpt-image-2 per-image prices (1024x1024 low $0.010, 1536x1024 high $0.440;
  GMI model detail as read by a third-party client, 2026-09).
Runware's published per-request costs are checked against the documented cassettes in
test_pricing_cassettes.py.

The structural properties run over every provider of the registry, each as contracts/data/pricing.yaml
says it bills (its ``currency``, and whether its ``rule`` charges each image alike), so a new provider is
covered without an edit here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.data import load
from pixelmock.contracts.errors import UnknownProvider
from pixelmock.contracts.pricing import RULES, UPPER_BOUND, Billing, concrete, quote
from pixelmock.contracts.providers import names
from pixelmock.contracts.tokens import image_input_tokens, output_image_tokens, prompt_tokens

FIXED_SIZES = ("1024x1024", "1024x1536", "1536x1024")
TODAY = dt.date(2026, 11, 22)


def _req(model: str = "gpt-image-1.5", **kw: object) -> CanonicalRequest:
    return CanonicalRequest(model=model, prompt=str(kw.pop("prompt", "a red fox")), **kw)  # type: ignore[arg-type]


def test_apiframe_worked_examples() -> None:
    assert quote("apiframe", _req(quality="medium", n=3, size="1024x1024"), TODAY).credits == 27
    assert (
        quote("apiframe", _req("gpt-image-2", quality="medium", n=4, size="1024x1024"), TODAY).credits == 36
    )


#: Apiframe's published gpt-image-1.5 credits per image (apiframe.ai/docs/images/gpt-image/gpt-image-1-5):
#: low 4, medium 9, auto 24, high 24.
APIFRAME_GPT_IMAGE_15_CREDITS = {"low": 4, "medium": 9, "auto": 24, "high": 24}


@pytest.mark.parametrize(
    "on",
    [
        dt.date(2026, 1, 5),
        dt.date(2026, 6, 1),
        dt.date(2026, 11, 20),
        dt.date(2026, 11, 21),
        dt.date(2026, 12, 2),
        dt.date(2027, 6, 1),
    ],
)
@pytest.mark.parametrize(("quality", "credits"), list(APIFRAME_GPT_IMAGE_15_CREDITS.items()))
def test_apiframe_gpt_image_15_documented_credits_apply_at_every_date(
    on: dt.date, quality: str, credits: int
) -> None:
    # The date the current page was read (2026-11-21) is no price change (pixelmock's choice).
    for n in (1, 3):
        assert quote("apiframe", _req(quality=quality, n=n, size="1024x1024"), on).credits == credits * n


@pytest.mark.parametrize("on", [dt.date(2026, 6, 1), dt.date(2026, 12, 2)])
def test_apiframe_gpt_image_2_documented_credits_apply_at_every_date(on: dt.date) -> None:
    # docs-v2.apiframe.ai/docs/images/gpt-image-2: low 4, medium 9, high 23, auto 23; "medium x 4 = 36".
    for quality, credits in {"low": 4, "medium": 9, "high": 23, "auto": 23}.items():
        assert (
            quote("apiframe", _req("gpt-image-2", quality=quality, size="1024x1024"), on).credits == credits
        )
    assert quote("apiframe", _req("gpt-image-2", quality="medium", n=4, size="1024x1024"), on).credits == 36


@pytest.mark.parametrize("on", [dt.date(2026, 5, 1), dt.date(2026, 8, 31), dt.date(2026, 12, 2)])
def test_gmi_gpt_image_2_prices_apply_before_the_date_they_were_read(on: dt.date) -> None:
    # Reported GMI table: 1024x1024 medium $0.060, read in 2026-09 (a read date, not a change).
    assert quote("gmicloud", _req("gpt-image-2", quality="medium", size="1024x1024"), on).usd == Decimal(
        "0.060"
    )


def test_apiframe_bills_auto_as_high() -> None:
    auto = quote("apiframe", _req(quality="auto", size="1024x1024"), TODAY)
    high = quote("apiframe", _req(quality="high", size="1024x1024"), TODAY)
    assert auto.credits == high.credits == 24
    assert any("billed as high" in note for note in auto.notes)


def test_gpt_image_2_output_tokens_match_openai_published_counts() -> None:
    assert output_image_tokens("gpt-image-2", "high", 1024, 1024) == 7024
    assert output_image_tokens("gpt-image-2", "high", 1536, 1024) == 5488


def test_tile_rule_matches_observed_input_tokens() -> None:
    assert image_input_tokens("gpt-image-1.5", "low", ImageInput(width=1024, height=1024)) == 194


def test_gmi_gpt_image_2_per_image_prices() -> None:
    low = quote("gmicloud", _req("gpt-image-2", quality="low", size="1024x1024", n=3), TODAY)
    high = quote("gmicloud", _req("gpt-image-2", quality="high", size="1536x1024"), TODAY)
    assert low.usd == Decimal("0.030")
    assert high.usd == Decimal("0.440")


def test_gmi_gpt_image_1_5_is_an_estimate_and_says_so() -> None:
    q = quote("gmicloud", _req(quality="high", size="1024x1024"), TODAY)
    assert q.usd == Decimal(4160) * 32 / 1_000_000
    assert any("estimate" in note for note in q.notes)


def test_openai_usd_is_tokens_times_list_prices() -> None:
    q = quote("openai", _req(prompt="hello world", quality="low", size="1024x1024"), TODAY)
    text = prompt_tokens("hello world") + 6
    assert q.tokens.text_input == text
    # gpt-image-1.5 also bills text output tokens: 209 at low (reported, community.openai.com/t/1369511),
    # at $10/M
    assert q.tokens.text_output == 209
    assert q.usd == (Decimal(text) * 5 + Decimal(272) * 32 + Decimal(209) * 10) / 1_000_000


def test_auto_quality_and_size_are_the_likely_answer_or_the_upper_bound_with_notes() -> None:
    request = _req(quality="auto", size="auto")
    upper = concrete(request, billing=UPPER_BOUND)
    assert (upper.quality, upper.width, upper.height) == ("high", 1024, 1536)
    assert len(upper.notes) == 2 and all("upper bound" in note for note in upper.notes)
    # live cassette maruel/genai Scoreboard/gpt-image-2/GenDoc-Image.yaml: a default gpt-image-2 request was
    # answered medium, 1254x1254, 2058 image output tokens
    likely = concrete(request.with_(model="gpt-image-2"))
    assert (likely.quality, likely.width, likely.height) == ("medium", 1254, 1254)
    assert all("likely answer (recorded" in note for note in likely.notes)
    assert quote("openai", request.with_(model="gpt-image-2", prompt="x"), TODAY).tokens.image_output == 2058


def test_each_partial_image_costs_100_image_output_tokens() -> None:
    # OpenAI's image-generation guide: "each partial image will incur an additional 100 image output tokens"
    request = _req(model="gpt-image-2", prompt="x", quality="low", size="1024x1024", n=2)
    plain = quote("openai", request, TODAY)
    streamed = quote("openai", request, TODAY, Billing(partial_images=3))
    assert streamed.tokens.image_output - plain.tokens.image_output == 2 * 3 * 100
    assert streamed.usd is not None and plain.usd is not None
    assert streamed.usd - plain.usd == Decimal(600) * 30 / 1_000_000  # gpt-image-2 image output: $30/M


def test_unknown_provider_is_an_error() -> None:
    with pytest.raises(UnknownProvider):
        quote("midjourney", _req(size="1024x1024"))


def test_unknown_input_size_is_assumed_and_noted() -> None:
    q = quote(
        "openai", _req(size="1024x1024", quality="low", input_images=(ImageInput(url="https://x/y.png"),))
    )
    assert q.tokens.image_input == 194
    assert any("no known size" in note for note in q.notes)


#: How each provider of the registry bills (contracts/data/pricing.yaml: its ``rule`` and ``currency``).
BILLING = {name: load("pricing").get(name, {}) for name in names()}
#: The providers that quote in USD; the others quote credits (Apiframe).
PRICED = tuple(name for name, billing in BILLING.items() if billing.get("currency") == "USD")
#: Those whose USD amount for n images is n times one image's: billed per image (``usd_per_image``), or
#: per result with the input charged on each result (``tokens_per_result`` and
#: ``input_charged_per_result``). ``tokens`` (one call's usage) charges the prompt once.
PER_IMAGE = tuple(
    name
    for name in PRICED
    if BILLING[name]["rule"] == "usd_per_image"
    or (BILLING[name]["rule"] == "tokens_per_result" and BILLING[name]["input_charged_per_result"])
)


def test_every_provider_is_billed_by_a_rule_of_the_cost_engine() -> None:
    for name, billing in BILLING.items():
        assert billing.get("rule") in RULES, f"{name}: no billing rule in contracts/data/pricing.yaml"
        assert billing.get("currency") in ("USD", "credits"), name
    assert PRICED and PER_IMAGE and set(PER_IMAGE) < set(PRICED)


@settings(max_examples=40, deadline=None)
@given(
    provider=st.sampled_from(PRICED),
    model=st.sampled_from(("gpt-image-1.5", "gpt-image-2")),
    size=st.sampled_from(FIXED_SIZES),
    quality=st.sampled_from(("low", "medium", "high")),
    n=st.integers(1, 10),
)
def test_image_output_part_scales_linearly_with_n(
    provider: str, model: str, size: str, quality: str, n: int
) -> None:
    one = quote(provider, _req(model, size=size, quality=quality, n=1), TODAY)
    many = quote(provider, _req(model, size=size, quality=quality, n=n), TODAY)
    assert many.tokens.image_output == n * one.tokens.image_output
    assert many.tokens.text_input == one.tokens.text_input
    assert many.usd is not None and one.usd is not None
    if provider in PER_IMAGE:  # billed per image or per result item
        assert many.usd == n * one.usd
    else:  # the prompt is charged once
        assert many.usd <= n * one.usd


@settings(max_examples=40, deadline=None)
@given(
    provider=st.sampled_from(names()),
    model=st.sampled_from(("gpt-image-1.5", "gpt-image-2")),
    size=st.sampled_from(FIXED_SIZES),
    n=st.integers(1, 10),
)
def test_quotes_never_decrease_with_quality(provider: str, model: str, size: str, n: int) -> None:
    amounts = []
    for quality in ("low", "medium", "high"):
        q = quote(provider, _req(model, size=size, quality=quality, n=n), TODAY)
        amounts.append(q.usd if q.usd is not None else Decimal(q.credits or 0))
    assert amounts == sorted(amounts)


def test_gpt_image_2_inputs_are_billed_at_high_fidelity_as_a_labelled_estimate() -> None:
    # gpt-image-2 always uses high fidelity (openai/codex image-api.md); the community's patch rule
    # (community.openai.com/t/1382940): 32-px patches, one token each, within 1536 patches
    square = ImageInput(width=1024, height=1024)
    q = quote(
        "openai", _req(model="gpt-image-2", size="1024x1024", quality="low", input_images=(square,)), TODAY
    )
    assert q.tokens.image_input == 1024
    assert any("estimate" in note for note in q.notes)
    big = quote(
        "openai",
        _req(
            model="gpt-image-2",
            size="1024x1024",
            quality="low",
            input_images=(ImageInput(width=2048, height=2048),),
        ),
        TODAY,
    )
    assert big.tokens.image_input <= 1536  # scaled down into the patch budget


def test_a_runware_quote_with_reference_images_says_that_part_is_an_estimate() -> None:
    # Runware publishes no rule for reference images; its documented image-to-image costs differ from
    # OpenAI's image-input token sum (runware.ai/docs/models/openai-gpt-image-1-5 and /openai-gpt-image-2)
    image = ImageInput(width=1024, height=1024)
    with_refs = quote("runware", _req(size="1024x1024", quality="low", input_images=(image,)), TODAY)
    without = quote("runware", _req(size="1024x1024", quality="low"), TODAY)
    assert any(note.startswith("reference images: estimate") for note in with_refs.notes)
    assert not any(note.startswith("reference images") for note in without.notes)


@pytest.mark.parametrize(
    ("width", "height", "tokens"),
    [
        # "gpt-image-2 magnifies smaller edit input images into a 1024 px conditioning canvas" (at most 2x),
        # then 32-px patches within 1,536 (community.openai.com/t/1382940; api.ai-karthik.com/news/4664)
        (512, 512, 1024),  # magnified 2x to 1024x1024: 32 x 32 patches
        (32, 32, 4),  # magnified 2x only: 64x64, 2 x 2 patches
        (1024, 1024, 1024),  # no magnification
        (480, 1408, 660),  # longest side already above 1024: 15 x 44 patches
    ],
)
def test_gpt_image_2_input_tokens_magnify_small_inputs_first(width: int, height: int, tokens: int) -> None:
    image = ImageInput(width=width, height=height)
    assert image_input_tokens("gpt-image-2", "high", image) == tokens


def test_gpt_image_2_input_canvas_is_capped_to_three_to_one() -> None:
    # "caps the latent canvas aspect ratio to 1:3 through 3:1": a 4:1 input is billed as a 3:1 canvas,
    # so it costs what a 3:1 input of the same long side costs, more than its own patches would
    wide = image_input_tokens("gpt-image-2", "high", ImageInput(width=4000, height=1000))
    three_to_one = image_input_tokens("gpt-image-2", "high", ImageInput(width=4000, height=1334))
    assert wide == three_to_one
    assert wide is not None and wide <= 1536


@pytest.mark.parametrize(
    ("prompt_count", "inputs", "output_size", "measured"),
    # Measured on gpt-image-1.5 edits (community.openai.com/t/1382940, 2026-06-25; longform.social mirror):
    # text tokens billed for a 13- or 12-token prompt with these inputs.
    [
        (13, [(1024, 1024)], "1024x1024", 28),
        (13, [(1024, 1024)], "1024x1536", 35),
        (13, [(1024, 1024)] * 2, "1024x1024", 50),
        (12, [(480, 1408)], "1024x1536", 57),
        (13, [(480, 1408)] * 2, "1024x1536", 94),
    ],
)
def test_gpt_image_15_edit_text_tokens_are_near_the_measurements(
    prompt_count: int, inputs: list[tuple[int, int]], output_size: str, measured: int
) -> None:
    prompt = " ".join(["cat"] * prompt_count)  # "cat" and " cat" are one o200k token each
    assert prompt_tokens(prompt) == prompt_count
    images = tuple(ImageInput(width=w, height=h) for w, h in inputs)
    q = quote("openai", _req(prompt=prompt, size=output_size, quality="low", input_images=images), TODAY)
    # the per-tile fit is within 5 tokens of every measurement; the former flat +32 per image was 33 off
    assert abs(q.tokens.text_input - measured) <= 5


def test_an_auto_size_edit_follows_the_first_inputs_aspect() -> None:
    wide = ImageInput(width=1536, height=1024)
    tall = ImageInput(width=600, height=1800)
    # gpt-image-2: the likely size's area (1254x1254, recorded) at the input's ratio, in whole pixels
    q2 = quote("openai", _req(model="gpt-image-2", quality="low", input_images=(wide,)), TODAY)
    assert q2.billed_size == "1536x1024"
    tall2 = quote("openai", _req(model="gpt-image-2", quality="low", input_images=(tall,)), TODAY)
    assert tall2.billed_size == "724x2172"
    # gpt-image-1.5: the fixed size nearest the input's ratio
    q15 = quote("openai", _req(quality="low", input_images=(tall,)), TODAY)
    assert q15.billed_size == "1024x1536"
    square = quote("openai", _req(model="gpt-image-2", quality="low", input_images=(wide,)), TODAY,
                   Billing(edit_aspect=False))  # fmt: skip
    assert square.billed_size == "1254x1254"


def test_the_upper_bound_of_size_auto_is_never_below_the_likely_answer() -> None:
    # OpenAI's guide: 1024x1024 high is 7,024 tokens, the costliest documented gpt-image-2 size; the likely
    # 1254x1254 (recorded) costs 8,232 at high, so the bound is that one
    for quality in ("low", "medium", "high"):
        likely = quote("openai", _req(model="gpt-image-2", quality=quality), TODAY)
        upper = quote("openai", _req(model="gpt-image-2", quality=quality), TODAY, UPPER_BOUND)
        assert upper.usd is not None and likely.usd is not None and upper.usd >= likely.usd
        documented = quote("openai", _req(model="gpt-image-2", quality=quality, size="1024x1024"), TODAY)
        assert documented.usd is not None and upper.usd >= documented.usd
    high = quote("openai", _req(model="gpt-image-2", quality="high"), TODAY, UPPER_BOUND)
    assert (high.billed_size, high.tokens.image_output) == ("1254x1254", 8232)


def test_gpt_image_15_text_output_tokens_are_billed_as_recorded() -> None:
    # Recorded default answer (maruel/genai@5f224cb gpt-image-1.5 GenDoc-Image.yaml): output_tokens
    # 4580 = 4160 image + 420 text; text output at $10/M (models.yaml token_prices)
    q = quote("openai", _req(size="1024x1024", quality="high"), TODAY)
    assert (q.tokens.image_output, q.tokens.text_output) == (4160, 420)
    without = quote("openai", _req(size="1024x1024", quality="high"), TODAY, Billing(text_output=False))
    assert q.usd is not None and without.usd is not None
    assert q.usd - without.usd == Decimal(420) * 10 / 1_000_000
    # Runware's published openai:4@1 costs are reproduced without them (pricing.yaml text_output_billed)
    runware = quote("runware", _req(size="1024x1024", quality="high"), TODAY)
    assert (
        runware.per_result_usd
        == quote(
            "runware", _req(size="1024x1024", quality="high"), TODAY, Billing(text_output=False)
        ).per_result_usd
    )
