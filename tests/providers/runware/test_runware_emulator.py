"""The Runware REST emulator over HTTP (in-process WSGI and a real socket), against its oracles: the
documented examples replayed verbatim from cassettes/documented/runware, the published costs, the
documented error bodies and statuses, and the contract's response schemas."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask
from jsonschema import Draft202012Validator
from paths import DOCUMENTED
from PIL import Image
from runware_tasks import image_task

from pixelmock.contracts.openapi import operation
from pixelmock.contracts.tokens import prompt_tokens
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.web.context import runtime

EMULATED_PROVIDERS = ["runware"]
BASE = "/runware/v1"
KEY = {"Authorization": "Bearer test-key"}
CASSETTES = DOCUMENTED / "runware"
#: Published costs of the openai:4@1 page's text-to-image examples, by taskUUID (USD).
PUBLISHED_COSTS = {
    "3d582d50-3e2b-47b2-bd02-839f962a7b38": 0.19961,
    "68b17b80-5386-418f-933a-4884f5ce6b51": 0.13392,
    "2a99f619-403d-4dd6-97ee-465d80c131d2": 0.19984,
}
PIL_FORMAT = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}


@pytest.fixture
def client(app: Flask) -> Iterator[httpx.Client]:
    """In-process only, for the table-driven tests (the socket transport is covered by the ``http`` tests
    of each flow; every socket server costs about half a second to stop)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as wsgi:
        yield wsgi


def _cassette(name: str) -> dict[str, Any]:
    interaction: dict[str, Any] = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text("utf-8"))[
        "interactions"
    ][0]
    return interaction


SEED_EXAMPLES = sorted(p.stem for p in CASSETTES.glob("openai-4-1-*.yaml"))


def _post(
    http: httpx.Client, tasks: Any, headers: dict[str, str] | None = None, path: str = BASE
) -> httpx.Response:
    return http.post(path, json=tasks, headers=KEY if headers is None else headers)


def _response_schema(status: int) -> dict[str, Any]:
    responses = operation("runware", "runTasks")[2]["responses"]
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def _conforms(response: httpx.Response) -> Any:
    body = response.json()
    assert list(Draft202012Validator(_response_schema(response.status_code)).iter_errors(body)) == []
    return body


def _image(http: httpx.Client, item: dict[str, Any]) -> Image.Image:
    if "imageURL" in item:
        got = http.get(item["imageURL"])
        assert got.status_code == 200
        data = got.content
    elif "imageBase64Data" in item:
        data = base64.b64decode(item["imageBase64Data"])
    else:
        header, payload = item["imageDataURI"].split(",", 1)
        assert header.startswith("data:image/") and header.endswith(";base64")
        data = base64.b64decode(payload)
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _error(response: httpx.Response) -> dict[str, Any]:
    body = _conforms(response)
    first: dict[str, Any] = body["errors"][0]
    return first


# -- documented examples, sent verbatim ---------------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_EXAMPLES)
def test_documented_example_replays(http: httpx.Client, name: str) -> None:
    interaction = _cassette(name)
    documented = json.loads(interaction["response"]["body"]["string"])["data"][0]
    request = json.loads(interaction["request"]["body"])
    response = http.post(
        BASE, content=interaction["request"]["body"], headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == interaction["response"]["status"]["code"]
    items = _conforms(response)["data"]
    assert len(items) == 1
    item = items[0]
    # documented shape minus `cost`, which the API adds only with includeCost
    assert set(item) == set(documented) - {"cost"}
    assert (item["taskType"], item["taskUUID"]) == (documented["taskType"], documented["taskUUID"])
    uuid.UUID(item["imageUUID"])
    assert item["imageURL"].endswith(".jpg")  # like the published URLs (default JPG)
    image = _image(http, item)
    assert image.size == (request[0]["width"], request[0]["height"])
    assert image.format == "JPEG"


@pytest.mark.parametrize("task_uuid", sorted(PUBLISHED_COSTS))
def test_include_cost_gives_the_published_cost(client: httpx.Client, task_uuid: str) -> None:
    name = next(n for n in SEED_EXAMPLES if task_uuid in _cassette(n)["request"]["body"])
    interaction = _cassette(name)
    documented = json.loads(interaction["response"]["body"]["string"])["data"][0]
    tasks = json.loads(interaction["request"]["body"])
    tasks[0]["includeCost"] = True
    item = _conforms(_post(client, tasks))["data"][0]
    assert set(item) == set(documented)
    assert item["cost"] == PUBLISHED_COSTS[task_uuid]


def test_a_special_token_spelled_in_the_prompt_is_ordinary_text(client: httpx.Client) -> None:
    # models.yaml prompt_tokens: counted as its characters (more than the one token it would be as a
    # special token), and the task is answered like any other.
    prompt = "a lighthouse <|endoftext|> at dusk"
    assert prompt_tokens("<|endoftext|>") > 1
    [item] = _conforms(_post(client, [image_task(positivePrompt=prompt, includeCost=True)]))["data"]
    plain = _conforms(_post(client, [image_task(positivePrompt="a lighthouse at dusk", includeCost=True)]))
    assert item["cost"] > plain["data"][0]["cost"]


def test_documented_invalid_key_body(app: Flask) -> None:
    interaction = _cassette("invalid-api-key")
    runtime_of(app).accounts.set_key_status("REDACTED", "invalid")
    response = app.test_client().post(
        BASE, data=interaction["request"]["body"], headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert response.get_json() == json.loads(interaction["response"]["body"]["string"])


def test_documented_ping(http: httpx.Client) -> None:
    interaction = _cassette("ping")
    response = http.post(
        BASE, content=interaction["request"]["body"], headers={**KEY, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == json.loads(interaction["response"]["body"]["string"])


def runtime_of(app: Flask) -> Any:
    with app.app_context():
        return runtime()


# -- authentication -----------------------------------------------------------------------------------------


def test_missing_key_is_401(client: httpx.Client) -> None:
    response = _post(client, [{"taskType": "ping", "ping": True}], headers={})
    assert response.status_code == 401
    assert _error(response)["code"] == "missingApiKey"


def test_authentication_task_first_authenticates(http: httpx.Client) -> None:
    tasks = [{"taskType": "authentication", "apiKey": "payload-key"}, {"taskType": "ping", "ping": True}]
    response = _post(http, tasks, headers={})
    assert response.status_code == 200
    assert response.json() == {"data": [{"taskType": "ping", "pong": True}]}


def test_authentication_task_elsewhere_is_refused(client: httpx.Client) -> None:
    tasks = [{"taskType": "ping", "ping": True}, {"taskType": "authentication", "apiKey": "k"}]
    body = _conforms(_post(client, tasks))
    assert body["data"] == [{"taskType": "ping", "pong": True}]
    assert body["errors"][0]["code"] == "invalidTaskType"


class TestConfiguredKeys:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(invalid_keys=frozenset({"bad-key"}), inactive_keys=frozenset({"off-key"}))

    def test_invalid_key_is_401_with_the_documented_body(self, http: httpx.Client) -> None:
        response = _post(http, [image_task()], headers={"Authorization": "Bearer bad-key"})
        assert response.status_code == 401
        assert response.json() == {
            "errors": [
                {
                    "code": "invalidApiKey",
                    "message": "Invalid API key. Get one at https://my.runware.ai/signup",
                    "parameter": "apiKey",
                    "taskType": "authentication",
                }
            ]
        }

    def test_inactive_key_is_403(self, client: httpx.Client) -> None:
        response = _post(client, [image_task()], headers={"Authorization": "Bearer off-key"})
        assert response.status_code == 403
        assert _error(response)["code"] == "inactiveApiKey"

    def test_invalid_key_in_the_authentication_task(self, client: httpx.Client) -> None:
        response = _post(
            client, [{"taskType": "authentication", "apiKey": "bad-key"}, image_task()], headers={}
        )
        assert response.status_code == 401


# -- rejections ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "parameter"),
    [
        ({"width": 1000, "height": 1000}, "unsupportedDimensions", "width"),
        ({"width": 1536, "height": 1536}, "unsupportedDimensions", "width"),
        ({"height": None}, "unsupportedDimensions", "height"),
        ({"model": "openai:gpt-image@2", "width": 1000, "height": 1024}, "unsupportedDimensions", "width"),
        ({"model": "openai:gpt-image@2", "width": 480, "height": 3840}, "unsupportedDimensions", "width"),
        ({"positivePrompt": "a"}, "invalidPositivePrompt", "positivePrompt"),
        ({"positivePrompt": "x" * 32001}, "invalidPositivePrompt", "positivePrompt"),
        ({"positivePrompt": None}, "missingPositivePrompt", "positivePrompt"),
        ({"outputFormat": "TIFF"}, "invalidOutputFormat", "outputFormat"),
        ({"outputType": "bytes"}, "invalidOutputType", "outputType"),
        ({"outputQuality": 10}, "invalidOutputQuality", "outputQuality"),
        ({"numberResults": 21}, "invalidNumberResults", "numberResults"),
        ({"deliveryMethod": "later"}, "invalidDeliveryMethod", "deliveryMethod"),
        ({"ttl": 30}, "invalidTtl", "ttl"),
        ({"taskUUID": "not-a-uuid"}, "invalidTaskUUID", "taskUUID"),
        ({"webhookURL": "not a url"}, "invalidWebhookURL", "webhookURL"),
        ({"negativePrompt": "blurry"}, "unsupportedParameter", "negativePrompt"),
        ({"settings": {"quality": "high"}}, "unsupportedParameter", "settings"),
        (
            {"providerSettings": {"openai": {"quality": "ultra"}}},
            "invalidQuality",
            "providerSettings.openai.quality",
        ),
        (
            {"model": "openai:gpt-image@2", "providerSettings": {"openai": {"background": "opaque"}}},
            "unsupportedParameter",
            "providerSettings.openai.background",
        ),
        ({"inputs": {"referenceImages": ["not an image!"]}}, "invalidImage", "inputs.referenceImages"),
        ({"inputs": {"referenceImages": []}}, "invalidImage", "inputs.referenceImages"),
        ({"model": "civitai:102438@133677"}, "invalidModel", "model"),
    ],
)
def test_invalid_tasks_are_400_with_runware_errors(
    client: httpx.Client, changes: dict[str, Any], code: str, parameter: str
) -> None:
    task = {k: v for k, v in image_task(**changes).items() if v is not None}
    response = _post(client, [task])
    assert response.status_code == 400
    body = _conforms(response)
    assert body["data"] == []
    error = body["errors"][0]
    assert (error["code"], error["parameter"]) == (code, parameter)
    assert error["taskUUID"] == task["taskUUID"] and error["taskType"] == "imageInference"
    assert error["message"] and error["documentation"].startswith("https://runware.ai/docs/")


#: Runware's words for an AIR it does not serve (x-errors.codes.invalidModel, reported: a third-party note
#: quoting the 400 body's message).
INVALID_MODEL = (
    "Invalid value for 'model' parameter. Model must be an string value representing a valid AIR identifier."
)


@pytest.mark.parametrize(
    ("today", "model"), [("2026-11-30", "civitai:102438@133677"), ("2026-12-07", "openai:4@1")]
)
def test_an_unserved_or_shut_down_model_gets_runwares_own_words(today: str, model: str) -> None:
    # openai:4@1 is OpenAI's gpt-image-1.5, shut down upstream on 2026-12-01 (models.yaml lifecycle);
    # option runware.after_upstream_shutdown refuses it as a model Runware does not serve. The body
    # lists no models and never names the emulator.
    app = create_app(EmulatorConfig(today=dt.date.fromisoformat(today)), providers=EMULATED_PROVIDERS)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        error = _error(_post(http, [image_task(model=model)]))
    assert (error["code"], error["parameter"], error["message"]) == ("invalidModel", "model", INVALID_MODEL)
    assert "pixelmock" not in json.dumps(error).lower() and "openai:" not in error["message"]
    # pixelmock's own words are in the journal: which model shut down when, at which provider
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        entries = http.get("/__admin/journal", params={"provider": "runware"}).json()["entries"]
    notes = [note["shut_down"] for entry in entries for note in entry["notes"] if "shut_down" in note]
    expected = [{"provider": "runware", "model": "gpt-image-1.5", "date": "2026-12-01"}]
    assert notes == (expected if model == "openai:4@1" else [])


def test_range_errors_carry_limits_like_real_bodies(client: httpx.Client) -> None:
    task = image_task(model="openai:gpt-image@2", width=490, height=1024)
    error = _error(_post(client, [task]))
    assert (error["type"], error["min"], error["max"], error["multiplier"]) == ("integer", 480, 3840, 16)


def test_unknown_parameter_has_null_type_like_the_real_body(client: httpx.Client) -> None:
    error = _error(_post(client, [image_task(width=1024, CFGScale=7.0)]))
    assert error["message"] == (
        "Unsupported use of 'CFGScale' parameter. This parameter is not supported for the selected model."
    )
    assert error["type"] is None


def test_reused_task_uuid_conflicts(client: httpx.Client) -> None:
    task = image_task()
    assert _post(client, [task]).status_code == 200
    response = _post(client, [task])
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "conflictTaskUUID"
    assert error["context"] == {"taskType": "imageInference", "deliveryMethod": "sync"}


def test_unknown_task_type_and_non_object_tasks(client: httpx.Client) -> None:
    response = _post(client, [{"taskType": "videoInference"}, 7])
    assert response.status_code == 400
    codes = [e["code"] for e in _conforms(response)["errors"]]
    assert codes == ["invalidTaskType", "invalidPayload"]


@pytest.mark.parametrize("body", [{"taskType": "ping"}, [], "ping"])
def test_body_must_be_a_non_empty_array(client: httpx.Client, body: Any) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    assert _error(response)["code"] == "invalidPayload"


def test_framework_failures_answer_with_runware_errors(http: httpx.Client) -> None:
    malformed = http.post(BASE, content=b"[{", headers={**KEY, "Content-Type": "application/json"})
    assert malformed.status_code == 400 and _error(malformed)["code"] == "invalidPayload"
    text = http.post(BASE, content=b"[]", headers={**KEY, "Content-Type": "text/plain"})
    assert text.status_code == 415 and _error(text)["code"] == "invalidContentType"
    wrong_method = http.get(BASE, headers=KEY)
    assert wrong_method.status_code == 405 and wrong_method.json()["errors"][0]["code"] == "invalidMethod"
    unknown = http.post(BASE + "/images", json=[], headers=KEY)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "invalidEndpoint"


def test_both_base_paths_answer(http: httpx.Client) -> None:
    for path in (BASE, BASE + "/"):
        assert _post(http, [{"taskType": "ping", "ping": True}], path=path).status_code == 200


def test_partly_failed_arrays(client: httpx.Client) -> None:
    good, bad = image_task(), image_task(width=999)
    mixed = _post(client, [good, bad])
    assert mixed.status_code == 200
    body = _conforms(mixed)
    assert [i["taskUUID"] for i in body["data"]] == [good["taskUUID"]]
    assert [e["taskUUID"] for e in body["errors"]] == [bad["taskUUID"]]
    unknown = {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}
    failed = _post(client, [unknown, image_task(outputFormat="GIF")])
    assert failed.status_code == 404  # every task failed: the first error's status
    assert [e["code"] for e in _conforms(failed)["errors"]] == ["taskNotFound", "invalidOutputFormat"]


# -- images, formats, results -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "size", "fmt"),
    [
        ({"outputFormat": "PNG", "width": 1024, "height": 1536}, (1024, 1536), "PNG"),
        ({"outputFormat": "WEBP", "outputType": "base64Data"}, (1024, 1024), "WEBP"),
        ({"outputType": "dataURI"}, (1024, 1024), "JPG"),
        (
            {"model": "openai:gpt-image@2", "width": 1280, "height": 720, "outputFormat": "PNG"},
            (1280, 720),
            "PNG",
        ),
        (
            {"model": "openai:gpt-image@2", "width": 720, "height": 1280, "outputType": "base64Data"},
            (720, 1280),
            "JPG",
        ),
    ],
)
def test_images_have_the_requested_size_and_format(
    client: httpx.Client, changes: dict[str, Any], size: tuple[int, int], fmt: str
) -> None:
    task = image_task(**changes)
    item = _conforms(_post(client, [task]))["data"][0]
    expected_key = {"URL": "imageURL", "base64Data": "imageBase64Data", "dataURI": "imageDataURI"}[
        task.get("outputType", "URL")
    ]
    assert expected_key in item
    image = _image(client, item)
    assert image.size == size and image.format == PIL_FORMAT[fmt]


def test_number_results_gives_one_item_per_image(client: httpx.Client) -> None:
    task = image_task(numberResults=3, includeCost=True)
    items = _conforms(_post(client, [task]))["data"]
    assert len(items) == 3
    assert {i["taskUUID"] for i in items} == {task["taskUUID"]}
    assert len({i["imageUUID"] for i in items}) == 3
    assert len({i["cost"] for i in items}) == 1


def test_transparent_png_has_alpha_and_transparent_jpg_is_flattened(client: httpx.Client) -> None:
    png = image_task(outputFormat="PNG", providerSettings={"openai": {"background": "transparent"}})
    assert _image(client, _post(client, [png]).json()["data"][0]).mode == "RGBA"
    # The model page's sticker-sheet example: transparent without outputFormat (JPG) succeeds with a .jpg.
    jpg = image_task(providerSettings={"openai": {"background": "transparent"}})
    image = _image(client, _post(client, [jpg]).json()["data"][0])
    assert (image.format, image.mode) == ("JPEG", "RGB")


class TestTransparentJpgRejected:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(options={"runware.transparent_jpg": "reject"})

    def test_option_rejects(self, client: httpx.Client) -> None:
        task = image_task(providerSettings={"openai": {"background": "transparent"}})
        response = _post(client, [task])
        assert response.status_code == 400
        error = _error(response)
        assert (error["code"], error["parameter"]) == ("incompatibleParameters", "outputFormat")
        ok = image_task(outputFormat="WEBP", providerSettings={"openai": {"background": "transparent"}})
        assert _post(client, [ok]).status_code == 200


# -- openai:gpt-image@2: settings blocks, dimensions, top-level referenceImages ---------------------------

#: The real unsupportedParameter body's message (https://github.com/Runware/sdk-python/issues/145).
UNSUPPORTED = "Unsupported use of '{}' parameter. This parameter is not supported for the selected model."
#: The image URL of the openai:4@1 page's documented image-to-image example.
REFERENCE_URL = "https://assets.runware.ai/assets/inputs/2c91d5eb-995a-4a87-a20b-1270e1b1891e.jpg"


def _gpt2(**changes: Any) -> dict[str, Any]:
    task = image_task(**{"model": "openai:gpt-image@2", **changes})  # image_task sets 1024x1024
    return {k: v for k, v in task.items() if v is not None}


def test_gpt_image_2_takes_both_settings_blocks_by_default(client: httpx.Client) -> None:
    # The GPT Image 2 docs page: providerSettings.openai.quality / moderation; runware-sdk 1.8.0
    # (task_map.py OpenaiGptImage2Params, schemas 20261012, the newer source): `settings`. Both are
    # Runware's current statements, so both are taken (option runware.gpt_image_2_parameters: both).
    documented = _gpt2(providerSettings={"openai": {"quality": "low", "moderation": "low"}})
    for task in (documented, _gpt2(settings={"quality": "high"})):
        assert _post(client, [task]).status_code == 200


def test_gpt_image_2_width_and_height_may_be_left_out_by_default(client: httpx.Client) -> None:
    # runware-sdk 1.8.0 (the newer source): `width: NotRequired[int]`, `height: NotRequired[int]`.
    assert _post(client, [_gpt2(width=None, height=None)]).status_code == 200
    error = _error(_post(client, [_gpt2(height=None)]))
    assert (error["code"], error["parameter"]) == ("unsupportedDimensions", "height")  # "used together"


class TestGptImage2DocsPageSchema:
    """The GPT Image 2 docs page's form alone (the older source): providerSettings.openai only, width and
    height "Required: true"."""

    @pytest.fixture
    def config(self) -> EmulatorConfig:
        options = {
            "runware.gpt_image_2_parameters": "providerSettings",
            "runware.gpt_image_2_dimensions": "required",
        }
        return EmulatorConfig(options=options)

    def test_documented_provider_settings_are_taken_and_settings_refused(self, client: httpx.Client) -> None:
        documented = _gpt2(providerSettings={"openai": {"quality": "low", "moderation": "low"}})
        assert _post(client, [documented]).status_code == 200
        response = _post(client, [_gpt2(settings={"quality": "high"})])
        assert response.status_code == 400
        error = _error(response)
        expected = ("unsupportedParameter", "settings", None)
        assert (error["code"], error["parameter"], error["type"]) == expected
        assert error["message"] == UNSUPPORTED.format("settings")

    @pytest.mark.parametrize(
        ("changes", "parameter"),
        [
            ({"width": None, "height": None}, "width"),
            ({"height": None}, "height"),
            ({"width": None}, "width"),
        ],
    )
    def test_width_and_height_are_required(
        self, client: httpx.Client, changes: dict[str, Any], parameter: str
    ) -> None:
        # Runware's 400 is for "missing a required parameter" (errors page), with the missing* code the
        # SDK classifies as validation.
        response = _post(client, [_gpt2(**changes)])
        assert response.status_code == 400
        error = _error(response)
        assert (error["code"], error["parameter"], error["type"]) == (
            f"missing{parameter.title()}",
            parameter,
            "integer",
        )
        docs = f"https://runware.ai/docs/models/openai-gpt-image-2#request-{parameter}"
        assert error["documentation"] == docs


def test_gpt_image_2_takes_top_level_reference_images_as_its_examples_send_them(client: httpx.Client) -> None:
    # Runware's GPT Image 2 image-to-image examples put referenceImages at the top level of the task.
    top = _gpt2(referenceImages=[REFERENCE_URL], includeCost=True)
    nested = _gpt2(inputs={"referenceImages": [REFERENCE_URL]}, includeCost=True)
    items = [_conforms(_post(client, [task]))["data"][0] for task in (top, nested)]
    assert items[0]["cost"] == items[1]["cost"]  # the same images, whichever form carries them
    error = _error(_post(client, [_gpt2(referenceImages=["not an image!"])]))
    assert (error["code"], error["parameter"]) == ("invalidImage", "referenceImages")
    both = _gpt2(referenceImages=[REFERENCE_URL], inputs={"referenceImages": [REFERENCE_URL]})
    error = _error(_post(client, [both]))
    assert (error["code"], error["parameter"]) == ("unsupportedParameter", "referenceImages")
    # openai:4@1's page and examples use only inputs.referenceImages.
    error = _error(_post(client, [image_task(referenceImages=[REFERENCE_URL])]))
    assert (error["code"], error["parameter"]) == ("unsupportedParameter", "referenceImages")


class TestGptImage2NewestSdkSchema:
    """runware-sdk 1.8.0 (schemas 20261012): settings instead of providerSettings, width/height optional."""

    @pytest.fixture
    def config(self) -> EmulatorConfig:
        options = {"runware.gpt_image_2_parameters": "settings", "runware.gpt_image_2_dimensions": "optional"}
        return EmulatorConfig(options=options)

    def test_settings_quality_is_taken_and_provider_settings_refused(self, client: httpx.Client) -> None:
        assert _post(client, [_gpt2(settings={"quality": "high"})]).status_code == 200
        for task, parameter in (
            (_gpt2(providerSettings={"openai": {"quality": "high"}}), "providerSettings"),
            (_gpt2(settings={"moderation": "low"}), "settings.moderation"),  # no published key
        ):
            error = _error(_post(client, [task]))
            assert (error["code"], error["parameter"]) == ("unsupportedParameter", parameter)

    def test_width_and_height_may_be_left_out(self, client: httpx.Client) -> None:
        assert _post(client, [_gpt2(width=None, height=None)]).status_code == 200
        error = _error(_post(client, [_gpt2(height=None)]))
        # still "used together": answered as a lone dimension is on openai:4@1
        assert (error["code"], error["parameter"]) == ("unsupportedDimensions", "height")


class TestGptImage2EitherSettingsBlock:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(options={"runware.gpt_image_2_parameters": "both"})

    def test_both_blocks_are_taken(self, client: httpx.Client) -> None:
        for block in ({"settings": {"quality": "low"}}, {"providerSettings": {"openai": {"quality": "low"}}}):
            assert _post(client, [_gpt2(**block)]).status_code == 200


def test_safety_check_reports_nsfw_content(client: httpx.Client) -> None:
    item = _post(client, [image_task(safety={"checkContent": True})]).json()["data"][0]
    assert item["NSFWContent"] is False
    assert "NSFWContent" not in _post(client, [image_task()]).json()["data"][0]


def test_ttl_expires_the_url(app: Flask) -> None:
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
    item = _post(client, [image_task(ttl=60)]).json()["data"][0]
    assert client.get(item["imageURL"]).status_code == 200
    runtime_of(app).clock.advance(61)
    assert client.get(item["imageURL"]).status_code == 404


def test_size_auto_renders_at_the_billed_size(client: httpx.Client) -> None:
    task = {k: v for k, v in image_task(includeCost=True).items() if k not in ("width", "height")}
    item = _conforms(_post(client, [task]))["data"][0]
    image = _image(client, item)
    # openai:4@1 is gpt-image-1.5: OpenAI's guide gives 1024x1024 as the default size (models.yaml
    # auto.likely), which is also what is quoted
    assert image.size == (1024, 1024)
    explicit = _conforms(_post(client, [image_task(includeCost=True, width=1024, height=1024)]))["data"][0]
    assert item["cost"] == explicit["cost"]  # billed as the size it answers with


# -- billing ------------------------------------------------------------------------------------------------


class TestBilling:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(starting_balances={"USD": Decimal("0.30")})

    def test_debits_the_quote_then_refuses_with_402(self, app: Flask) -> None:
        client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
        task = json.loads(_cassette(SEED_EXAMPLES[0])["request"]["body"])[0]
        task["includeCost"] = True
        first = _post(client, [task]).json()["data"][0]
        accounts = runtime_of(app).accounts
        account = accounts.authenticate("runware", "test-key").account
        assert accounts.balance(account, "USD") == Decimal("0.30") - Decimal(str(first["cost"]))
        response = _post(client, [dict(task, taskUUID=str(uuid.uuid4()))])
        assert response.status_code == 402
        error = _error(response)
        assert error["code"] == "insufficientCredits"
        assert accounts.balance(account, "USD") == Decimal("0.30") - Decimal(str(first["cost"]))


# -- async delivery and getResponse ------------------------------------------------------------------------


def _poll(http: httpx.Client, task_uuid: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return _post(http, [{"taskType": "getResponse", "taskUUID": task_uuid}], headers=headers)


def test_async_task_acknowledges_then_polls_to_success(http: httpx.Client) -> None:
    task = image_task(deliveryMethod="async", numberResults=2, includeCost=True)
    ack = _post(http, [task])
    assert ack.status_code == 200
    assert ack.json() == {"data": [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]}
    first = _conforms(_poll(http, task["taskUUID"]))["data"]
    assert [i["status"] for i in first] == ["success", "success"]
    assert all(i["taskType"] == "imageInference" and i["taskUUID"] == task["taskUUID"] for i in first)
    assert all(_image(http, i).size == (1024, 1024) for i in first)
    again = _poll(http, task["taskUUID"]).json()["data"]
    assert again == first  # cumulative state


def test_webhook_url_also_acknowledges(client: httpx.Client) -> None:
    task = image_task(webhookURL="https://example.com/hook?token=abc")
    assert set(_post(client, [task]).json()["data"][0]) == {"taskType", "taskUUID"}


def test_sync_task_can_be_polled_too(client: httpx.Client) -> None:
    task = image_task()
    done = _post(client, [task]).json()["data"][0]
    polled = _poll(client, task["taskUUID"]).json()["data"][0]
    assert polled["status"] == "success" and polled["imageUUID"] == done["imageUUID"]


def test_unknown_or_foreign_task_is_not_found(client: httpx.Client) -> None:
    task = image_task(deliveryMethod="async")
    _post(client, [task])
    foreign = _poll(client, task["taskUUID"], headers={"Authorization": "Bearer someone-else"})
    assert foreign.status_code == 404
    error = _error(foreign)
    assert (error["code"], error["taskType"], error["taskUUID"]) == (
        "taskNotFound",
        "getResponse",
        task["taskUUID"],
    )


class TestSlowJobs:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(options={"runware.processing_polls": 2})

    def test_processing_items_carry_image_uuids(self, client: httpx.Client) -> None:
        task = image_task(deliveryMethod="async")
        _post(client, [task])
        polls = [_conforms(_poll(client, task["taskUUID"]))["data"] for _ in range(3)]
        assert [p[0]["status"] for p in polls] == ["processing", "processing", "success"]
        assert set(polls[0][0]) == {"taskType", "taskUUID", "imageUUID", "status"}
        assert polls[0][0]["imageUUID"] == polls[2][0]["imageUUID"]
        assert "imageURL" in polls[2][0]


def test_contract_served_with_the_emulator_as_server(client: httpx.Client) -> None:
    served = client.get(BASE + "/openapi.json").json()
    assert served["servers"][0]["url"].endswith(BASE)
    paths = copy.deepcopy(served["paths"])
    assert "/" in paths and paths["/"]["post"]["operationId"] == "runTasks"


def test_authentication_task_with_an_unknown_field_is_refused(app: Flask) -> None:
    """The contract's authentication task has only taskType, apiKey and connectionSessionUUID
    (additionalProperties false): a stray field is an error like any task's, not silently accepted."""
    client = app.test_client()
    tasks = [
        {"taskType": "authentication", "apiKey": "k-1", "colour": "red"},
        {"taskType": "ping", "ping": True},
    ]
    response = client.post("/runware/v1", json=tasks)
    assert response.status_code == 400
    [failure] = response.get_json()["errors"]
    assert (failure["code"], failure["parameter"], failure["taskType"]) == (
        "unsupportedParameter",
        "colour",
        "authentication",
    )
