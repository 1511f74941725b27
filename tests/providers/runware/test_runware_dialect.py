"""The Runware dialect against its oracles: the contract (contracts/openapi/runware.yaml), the page's four
documented examples (cassettes/documented/runware) and their published costs."""

from __future__ import annotations

import io
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from paths import DOCUMENTED
from PIL import Image

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.dialects.runware import DIALECT, TRANSPORT_FIELDS, RunwareDialect, variant
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import request_schema, validate

CASSETTES = DOCUMENTED / "runware"
#: Published costs of the openai:4@1 page's text-to-image examples (cassettes/documented/runware):
#: taskUUID -> USD.
PUBLISHED_COSTS = {
    "3d582d50-3e2b-47b2-bd02-839f962a7b38": Decimal("0.19961"),
    "68b17b80-5386-418f-933a-4884f5ce6b51": Decimal("0.13392"),
    "2a99f619-403d-4dd6-97ee-465d80c131d2": Decimal("0.19984"),
}
REFERENCE_EXAMPLE = "ad671763-1107-4d37-b677-5139195552d6"  # published cost 0.20312, one URL reference


def _seed_tasks() -> list[dict[str, Any]]:
    tasks = []
    for path in sorted(CASSETTES.glob("openai-4-1-*.yaml")):
        interaction = yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"][0]
        tasks.extend(json.loads(interaction["request"]["body"]))
    return tasks


SEED_TASKS = _seed_tasks()


def _native(task: dict[str, Any]) -> NativeRequest:
    return NativeRequest("runware", "runTasks", [task])


def _png(width: int = 32, height: int = 24) -> ImageInput:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, "PNG")
    return ImageInput.from_bytes(buf.getvalue(), "image/png")


def test_registered_as_the_runware_dialect() -> None:
    assert get_dialect("runware") is DIALECT


@pytest.mark.parametrize("task", SEED_TASKS, ids=[t["taskUUID"][:8] for t in SEED_TASKS])
def test_seed_examples_parse_to_what_they_ask(task: dict[str, Any]) -> None:
    request = DIALECT.from_native(_native(task))
    assert request.model == "gpt-image-1.5"
    assert request.prompt == task["positivePrompt"]
    assert request.size == f"{task['width']}x{task['height']}"
    assert request.quality == "high"
    assert request.background == task["providerSettings"]["openai"]["background"]
    assert request.output_format is None and request.n is None  # absent natively: provider default
    resolved = DIALECT.resolve(request)
    assert (resolved.output_format, resolved.output_compression, resolved.n) == ("jpeg", 95, 1)
    # native -> canonical -> native keeps every field the page sent
    again = DIALECT.to_native(request).body[0]
    assert {k: again[k] for k in task} == task


@pytest.mark.parametrize("task_uuid", sorted(PUBLISHED_COSTS))
def test_quote_reproduces_the_published_costs(task_uuid: str) -> None:
    task = next(t for t in SEED_TASKS if t["taskUUID"] == task_uuid)
    quote = DIALECT.quote(DIALECT.from_native(_native(task)))
    assert quote.per_result_usd == PUBLISHED_COSTS[task_uuid]


@pytest.mark.parametrize("model", ["gpt-image-1.5", "gpt-image-2"])
@pytest.mark.parametrize("size", ["1024x1024", "1024x1536", "1536x1024"])
@pytest.mark.parametrize("quality", ["low", "medium", "high"])
def test_each_result_costs_the_same(model: str, size: str, quality: str) -> None:
    """Runware prices a task per result (its published costs are per image): ``numberResults`` n costs n
    times one result."""
    one = DIALECT.quote(CanonicalRequest(model=model, prompt="a fox", size=size, quality=quality, n=1))
    for n in (2, 4):
        many = DIALECT.quote(CanonicalRequest(model=model, prompt="a fox", size=size, quality=quality, n=n))
        assert one.usd is not None and many.usd == n * one.usd


def test_reference_example_is_quoted_with_runwares_own_reference_rule() -> None:
    # Runware counts a reference as a flat number of tokens (pricing.yaml runware.reference_images),
    # whatever its size, so no input size is assumed; the published cost is 0.20312.
    task = next(t for t in SEED_TASKS if t["taskUUID"] == REFERENCE_EXAMPLE)
    quote = DIALECT.quote(DIALECT.from_native(_native(task)))
    assert quote.tokens.image_input > 0
    assert quote.per_result_usd == Decimal("0.20312")
    assert not any("no known size" in note for note in quote.notes)


def test_resolve_fills_runware_defaults() -> None:
    resolved = DIALECT.resolve(CanonicalRequest(model="gpt-image-1.5", prompt="a red fox"))
    assert resolved.output_format == "jpeg"  # Runware outputs JPG by default
    assert (resolved.output_compression, resolved.n, resolved.quality) == (95, 1, "auto")
    assert (resolved.size, resolved.background, resolved.moderation) == ("auto", "auto", "auto")
    gpt2 = DIALECT.resolve(CanonicalRequest(model="gpt-image-2", prompt="a red fox", size="1024x1024"))
    assert (gpt2.background, gpt2.moderation, gpt2.input_fidelity) == ("auto", "auto", "high")


def test_auto_size_leaves_width_and_height_out() -> None:
    task = DIALECT.to_native(CanonicalRequest(model="gpt-image-1.5", prompt="a red fox")).body[0]
    assert "width" not in task and "height" not in task
    # runware-sdk 1.8.0 (the newer source, the default): width?, height? on openai:gpt-image@2
    task = DIALECT.to_native(CanonicalRequest(model="gpt-image-2", prompt="a red fox")).body[0]
    assert "width" not in task and "height" not in task and task["model"] == "openai:gpt-image@2"


def test_gpt_image_2_needs_width_and_height_under_the_docs_page_form() -> None:
    # The GPT Image 2 docs page marks width and height "Required: true"
    # (runware.ai/docs/models/openai-gpt-image-2): option runware.gpt_image_2_dimensions: required.
    required = RunwareDialect({"runware.gpt_image_2_dimensions": "required"})
    with pytest.raises(UnsupportedValue) as info:
        required.to_native(CanonicalRequest(model="gpt-image-2", prompt="a red fox"))
    assert (info.value.provider, info.value.field) == ("runware", "size")
    assert "auto" not in required.capabilities("gpt-image-2").sizes
    assert "auto" in DIALECT.capabilities("gpt-image-2").sizes


def test_gpt_image_2_settings_block_follows_the_option() -> None:
    request = CanonicalRequest(model="gpt-image-2", prompt="a red fox", size="1024x1024", quality="low")
    # Default (both blocks taken): written as the docs page's providerSettings.openai (quality,
    # moderation); either block is read, settings (the newer form) first.
    task = DIALECT.to_native(request).body[0]
    assert task["providerSettings"] == {"openai": {"quality": "low", "moderation": "auto"}}
    assert "settings" not in task
    sdk_form = {k: v for k, v in task.items() if k != "providerSettings"} | {"settings": {"quality": "high"}}
    assert DIALECT.from_native(_native(sdk_form)).quality == "high"
    # runware-sdk 1.8.0 (schemas 20261012) alone: settings, no providerSettings; Runware's guides use
    # settings.quality, and nothing else inside settings is published.
    newer = RunwareDialect({"runware.gpt_image_2_parameters": "settings"})
    task = newer.to_native(request).body[0]
    assert task["settings"] == {"quality": "low"} and "providerSettings" not in task
    assert newer.from_native(_native(task)).quality == "low"
    with pytest.raises(UnsupportedValue) as info:
        newer.to_native(request.with_(moderation="low"))
    assert info.value.field == "moderation"


def test_top_level_reference_images_are_read() -> None:
    # The GPT Image 2 page's image-to-image examples send referenceImages at the top level of the task.
    url = "https://assets.runware.ai/assets/inputs/2c91d5eb-995a-4a87-a20b-1270e1b1891e.jpg"
    task = {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "openai:gpt-image@2",
        "positivePrompt": "the same scene at night",
        "width": 1024,
        "height": 1024,
        "referenceImages": [url],
    }
    assert DIALECT.from_native(_native(task)).input_images == (ImageInput(url=url),)


def test_task_uuid_is_fresh_unless_given() -> None:
    one = DIALECT.to_native(CanonicalRequest(model="gpt-image-1.5", prompt="a red fox")).body[0]
    two = DIALECT.to_native(CanonicalRequest(model="gpt-image-1.5", prompt="a red fox")).body[0]
    assert one["taskUUID"] != two["taskUUID"]
    assert uuid.UUID(one["taskUUID"]).version == 4
    fixed = "3d582d50-3e2b-47b2-bd02-839f962a7b38"
    request = CanonicalRequest(
        model="gpt-image-1.5", prompt="a red fox", extra={"runware": {"taskUUID": fixed}}
    )
    assert DIALECT.to_native(request).body[0]["taskUUID"] == fixed


def test_reference_images_are_written_as_strings() -> None:
    image_uuid = "2c91d5eb-995a-4a87-a20b-1270e1b1891e"
    request = CanonicalRequest(
        model="gpt-image-1.5",
        prompt="make it blue",
        input_images=(_png(), ImageInput(url="https://example.com/a.png"), ImageInput(url=image_uuid)),
    )
    task = DIALECT.to_native(request).body[0]
    refs = task["inputs"]["referenceImages"]
    assert refs[0].startswith("data:image/png;base64,") and refs[1:] == [
        "https://example.com/a.png",
        image_uuid,
    ]
    back = DIALECT.from_native(_native(task)).input_images
    assert (back[0].width, back[0].height) == (32, 24)
    assert back[2].url == image_uuid


@pytest.mark.parametrize(
    ("field", "value", "model"),
    [
        ("size", "1536x1536", "gpt-image-1.5"),
        ("size", "1792x1024", "gpt-image-1.5"),
        ("size", "1000x1000", "gpt-image-2"),  # not a multiple of 16
        ("size", "480x3840", "gpt-image-2"),  # aspect ratio above 3:1
        ("size", "3840x3840", "gpt-image-2"),  # above 8,294,400 pixels
        ("n", 21, "gpt-image-1.5"),
        ("n", 0, "gpt-image-2"),
        ("output_compression", 19, "gpt-image-1.5"),
        ("output_compression", 100, "gpt-image-2"),
        ("background", "transparent", "gpt-image-2"),
        ("background", "opaque", "gpt-image-2"),
        ("moderation", "low", "gpt-image-1.5"),
        ("input_fidelity", "high", "gpt-image-1.5"),
        ("input_fidelity", "low", "gpt-image-2"),
        ("prompt", "a", "gpt-image-1.5"),
        ("prompt", "x" * 32001, "gpt-image-2"),
    ],
)
def test_inexpressible_values_raise(field: str, value: Any, model: str) -> None:
    changes = {"prompt": value} if field == "prompt" else {field: value}
    size = "1024x1024" if model == "gpt-image-2" else None  # required there by default
    request = CanonicalRequest(model=model, **{"prompt": "a red fox", "size": size, **changes})  # type: ignore[arg-type]
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(request)
    assert (info.value.provider, info.value.field) == ("runware", field)


def test_mask_and_too_many_images_raise() -> None:
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(
            CanonicalRequest(model="gpt-image-1.5", prompt="edit", input_images=(_png(),), mask=_png())
        )
    assert info.value.field == "mask"
    many = tuple(ImageInput(url=f"https://example.com/{i}.png") for i in range(17))
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(
            CanonicalRequest(model="gpt-image-2", prompt="edit", size="1024x1024", input_images=many)
        )
    assert info.value.field == "input_images"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"openai": {}}, "extra.openai"),
        ({"runware": {"positivePrompt": "x"}}, "extra.runware.positivePrompt"),
        ({"runware": {"outputType": "PNG"}}, "extra.runware.outputType"),
        ({"runware": {"ttl": 10}}, "extra.runware.ttl"),
    ],
)
def test_bad_extra_raises(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(UnsupportedValue) as info:
        DIALECT.to_native(CanonicalRequest(model="gpt-image-1.5", prompt="a red fox", extra=extra))
    assert info.value.field == field


def test_from_native_refuses_what_it_does_not_understand() -> None:
    task = dict(SEED_TASKS[0])
    with pytest.raises(ValueError):
        DIALECT.from_native(_native({**task, "negativePrompt": "blur"}))
    with pytest.raises(ValueError):
        DIALECT.from_native(_native({**task, "model": "civitai:102438@133677"}))
    with pytest.raises(ValueError):
        DIALECT.from_native(NativeRequest("runware", "runTasks", [{"taskType": "ping", "ping": True}]))
    lone = {k: v for k, v in task.items() if k != "height"}
    with pytest.raises(ValueError):
        DIALECT.from_native(_native(lone))


# -- properties over the capabilities, with Runware-only fields and flexible sizes ---------------------------

TRANSPORT = st.fixed_dictionaries(
    {},
    optional={
        "taskUUID": st.uuids(version=4).map(str),
        "outputType": st.sampled_from(["URL", "base64Data", "dataURI"]),
        "deliveryMethod": st.sampled_from(["sync", "async"]),
        "webhookURL": st.just("https://example.com/hook?token=t"),
        "safety": st.fixed_dictionaries({}, optional={"checkContent": st.booleans()}),
        "ttl": st.integers(60, 86_400),
        "includeCost": st.booleans(),
    },
)


def _documented_gpt2_size(width: int, height: int) -> bool:
    # GPT Image 2 on Runware: 480-3840 per edge in steps of 16 (Runware page); OpenAI's ratio <= 3 and
    # 655,360 <= pixels <= 8,294,400 (openai/codex image-api.md).
    long, short = max(width, height), min(width, height)
    return long <= 3 * short and 655_360 <= width * height <= 8_294_400


#: The dialect under each value of the options with schema variants (the default first).
DIALECTS = [
    DIALECT,
    RunwareDialect(
        {"runware.gpt_image_2_parameters": "settings", "runware.gpt_image_2_dimensions": "optional"}
    ),
    RunwareDialect({"runware.gpt_image_2_parameters": "both"}),
]


@st.composite
def canonical_requests(draw: st.DrawFn, dialect: RunwareDialect = DIALECT) -> CanonicalRequest:
    model = draw(st.sampled_from(["gpt-image-1.5", "gpt-image-2"]))
    caps = dialect.capabilities(model)
    if caps.flexible_sizes and (not caps.sizes or draw(st.booleans())):
        width, height = draw(st.integers(30, 240)) * 16, draw(st.integers(30, 240)) * 16
        assume(_documented_gpt2_size(width, height))
        size: str | None = f"{width}x{height}"
    else:
        size = draw(st.none() | st.sampled_from(caps.sizes))
    transport = draw(TRANSPORT)
    if model == "gpt-image-1.5" and "safety" in transport and draw(st.booleans()):
        transport["safety"]["mode"] = draw(st.sampled_from(["none", "fast"]))
    images = draw(
        st.lists(st.sampled_from([_png(), ImageInput(url="https://example.com/x.png")]), max_size=3)
    )
    return CanonicalRequest(
        model=model,  # type: ignore[arg-type]
        prompt=draw(st.text("abc xyz", min_size=2, max_size=40)),
        n=draw(st.none() | st.integers(1, caps.max_n)),
        size=size,
        quality=draw(st.none() | st.sampled_from(caps.qualities)),
        background=draw(st.none() | st.sampled_from(caps.backgrounds)),
        output_format=draw(st.none() | st.sampled_from(caps.output_formats)),
        output_compression=draw(st.none() | st.integers(20, 99)),
        moderation=draw(st.none() | st.sampled_from(caps.moderations)),
        input_images=tuple(images),
        extra={"runware": transport} if transport else {},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(canonical_requests())
def test_native_requests_validate_and_round_trip(request: CanonicalRequest) -> None:
    native = DIALECT.to_native(request)
    assert validate("runware", request_schema("runware", "runTasks"), native.body) == []
    parsed = DIALECT.from_native(native)
    again = DIALECT.to_native(parsed)
    assert again.body == native.body
    assert DIALECT.resolve(parsed) == DIALECT.resolve(request)
    assert set(parsed.extra.get("runware", {})) <= set(TRANSPORT_FIELDS)


@pytest.mark.parametrize("dialect", DIALECTS[1:], ids=["settings-optional", "both"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_requests_validate_under_other_option_values(
    dialect: RunwareDialect, data: st.DataObject
) -> None:
    request = data.draw(canonical_requests(dialect))
    task = dialect.to_native(request).body[0]
    assert validate("runware", variant(task["model"], dialect.choices) or {}, task) == []
    assert dialect.to_native(dialect.from_native(_native(task))).body == [task]


@settings(max_examples=60, deadline=None)
@given(canonical_requests())
def test_resolve_is_idempotent(request: CanonicalRequest) -> None:
    resolved = DIALECT.resolve(request)
    assert DIALECT.resolve(resolved) == resolved
    assert None not in (resolved.n, resolved.size, resolved.quality, resolved.output_format)
