"""Every provider cassette (cassettes/documented/ and cassettes/reconstructed/) replayed through the reference
client.

The cassettes hold the providers' published examples at the real providers' URLs. vcrpy replays them
(matching method and path, nothing recorded) while the client, pointed at the real base URL, runs the
flow the cassette documents; the test then checks that the client read the published values (image URLs,
Runware costs, Apiframe credits, OpenAI usage, error statuses, codes and texts) and that the client
consumed every interaction of the cassette, in order. The published figures below are the oracles.

A canonical request is built from the cassette's own request where the provider's dialect can read it;
documented error examples whose requests the client would refuse before sending (a size OpenAI rejects,
an unknown model) go through ``ImageClient.call`` with the published body instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml
from paths import CASSETTES as CASSETTE_ROOT
from paths import KINDS

from pixelmock.client import (
    AuthenticationError,
    ContentPolicyError,
    ImageClient,
    ImageClientError,
    InsufficientCreditsError,
    PollPolicy,
    Provider,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ValidationError,
)
from pixelmock.client.recording import MATCH_ON
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.pricing import TokenBreakdown

ROOT = CASSETTE_ROOT
CASSETTES = [path for kind in KINDS for path in sorted((ROOT / kind).glob("*/*.yaml"))]
REPLAY = vcr.VCR(record_mode="none", match_on=MATCH_ON)
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0"
    "00000301010018dd8db00000000049454e44ae426082"
)


def _interactions(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())["interactions"]  # type: ignore[no-any-return]


def _request_body(path: Path, index: int = 0) -> Any:
    return json.loads(_interactions(path)[index]["request"]["body"])


def _canonical(provider: str, operation_id: str, body: Any) -> CanonicalRequest:
    return get_dialect(provider).from_native(NativeRequest(provider, operation_id, body))


def _client() -> ImageClient:
    return ImageClient(retries=RetryPolicy(max_retries=0), polling=PollPolicy(initial=0, max_polls=5))


def _target(provider: str) -> Provider:
    return Provider(provider, api_key="replayed-key-0000", account_id="$CLOUDFLARE_ACCOUNT_ID")


def _raises(kind: type[ImageClientError], run: Callable[[], Any]) -> Any:
    with pytest.raises(kind) as info:
        run()
    return info.value


# -- OpenAI --------------------------------------------------------------------------------------------


def openai_generations_response_example(path: Path, images: ImageClient) -> None:
    request = _canonical("openai", "createImage", _request_body(path))
    result = images.generate(request, _target("openai"))
    [image] = result.images
    assert (image.format, image.width, image.height, image.b64) == ("png", 1024, 1024, "iVBORw0KGgo...")
    assert result.reported_cost is not None
    assert result.reported_cost.tokens == TokenBreakdown(text_input=50, image_input=0, image_output=4160)
    # 50 text tokens at $5/M and 4160 image tokens at $32/M (contracts/data/models.yaml).
    assert result.reported_cost.usd == Decimal("0.00025") + Decimal("0.13312")
    assert result.quote is not None and result.quote.tokens.image_output == 4160  # the published usage


def _openai_error(
    status: int, code: str, param: str | None, text: str
) -> Callable[[Path, ImageClient], None]:
    def scenario(path: Path, images: ImageClient) -> None:
        body = _request_body(path)
        error = _raises(ImageClientError, lambda: images.call(_target("openai"), "createImage", json=body))
        expected = AuthenticationError if status == 401 else ValidationError
        assert type(error) is expected
        assert (error.status, error.code, error.param) == (status, code, param)
        assert text in error.message

    return scenario


def openai_refused_before_sending(field: str, **changes: Any) -> Callable[[Path, ImageClient], None]:
    """The canonical form of the documented request is refused by the client without a request (the
    cassette stays unplayed), then the published body is sent as it is and its error read."""

    def scenario(path: Path, images: ImageClient) -> None:
        request = CanonicalRequest(model="gpt-image-2", prompt="x").with_(**changes)
        refused = _raises(ValidationError, lambda: images.generate(request, _target("openai")))
        assert (refused.status, refused.param) == (None, field)
        error = _raises(
            ValidationError, lambda: images.call(_target("openai"), "createImage", json=_request_body(path))
        )
        assert (error.status, error.param) == (400, field)

    return scenario


def openai_error_unsupported_file_mimetype(path: Path, images: ImageClient) -> None:
    # Bytes that are not an image travel as application/octet-stream, as in the documented capture.
    request = CanonicalRequest(
        model="gpt-image-1.5", prompt="Make the sky purple", input_images=(ImageInput(b"??"),)
    )
    error = _raises(ValidationError, lambda: images.generate(request, _target("openai")))
    assert (error.status, error.code, error.param) == (400, "unsupported_file_mimetype", "image")
    assert "'application/octet-stream'" in error.message


def openai_error_input_fidelity_gpt_image_2(path: Path, images: ImageClient) -> None:
    image = ImageInput.from_bytes(PNG_1X1)
    request = CanonicalRequest(model="gpt-image-2", prompt="Make the sky purple", input_images=(image,))
    error = _raises(ValidationError, lambda: images.generate(request, _target("openai")))
    assert (error.status, error.code, error.param) == (400, "invalid_input_fidelity_model", "input_fidelity")
    assert error.body["error"]["type"] == "image_generation_user_error"


# -- Cloudflare ----------------------------------------------------------------------------------------


def cloudflare_run(path: Path, images: ImageClient) -> None:
    request = _canonical("cloudflare", "aiRun", _request_body(path))
    result = images.generate(request, _target("cloudflare"))
    documented = json.loads(_interactions(path)[0]["response"]["body"]["string"])["result"]["result"]["image"]
    [image] = result.images
    assert image.url == documented
    assert image.format == documented.rsplit(".", 1)[1]
    assert result.reported_cost is None and result.job_id is None  # Cloudflare reports neither
    assert result.quote is not None and result.quote.usd is not None


# -- Apiframe ------------------------------------------------------------------------------------------

APIFRAME_JOB = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def _apiframe_seed(path: Path) -> CanonicalRequest:
    return _canonical("apiframe", "generateImage", _request_body(path))


def apiframe_gpt_image_1_5_generate_and_poll(path: Path, images: ImageClient) -> None:
    result = images.generate(_apiframe_seed(path), _target("apiframe"))
    assert result.job_id == APIFRAME_JOB
    [image] = result.images
    assert image.url == f"https://cdn2.apiframe.ai/images/{APIFRAME_JOB}-1.png"
    assert (image.format, image.width, image.height) == ("png", 1536, 1024)  # 3:2
    # 24 credits: the page's credit table, high quality x 1 image.
    assert result.reported_cost is not None and result.reported_cost.credits == 24
    assert result.quote is not None and result.quote.credits == 24


def apiframe_error_bodies_sdk_fixtures(path: Path, images: ImageClient) -> None:
    request, target = _apiframe_seed(path), _target("apiframe")
    bad = _raises(ValidationError, lambda: images.generate(request, target))
    assert (bad.status, bad.message, bad.body["details"]) == (400, "Bad", {"foo.bar": ["nope"]})
    broke = _raises(InsufficientCreditsError, lambda: images.generate(request, target))
    assert (broke.status, broke.required, broke.available) == (402, 50, 10)
    slow = _raises(RateLimitedError, lambda: images.generate(request, target))
    assert (slow.status, slow.message, slow.retry_after) == (429, "slow down", 7)


def apiframe_auth_errors_documented(path: Path, images: ImageClient) -> None:
    found = [
        _raises(AuthenticationError, lambda: images.call(_target("apiframe"), "getMe")) for _ in range(3)
    ]
    assert [(e.status, e.message) for e in found] == [
        (401, "API key is required"),
        (401, "Invalid API key"),
        (403, "API key is inactive"),
    ]


def apiframe_job_states_documented(path: Path, images: ImageClient) -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="resumed")
    failed = _raises(ContentPolicyError, lambda: images.resume(request, _target("apiframe"), APIFRAME_JOB))
    assert (failed.job_id, failed.code) == (APIFRAME_JOB, "FAILED")
    assert failed.message == "Provider returned an error: content policy violation"


# -- Runware -------------------------------------------------------------------------------------------

RUNWARE_COSTS = {  # runware.ai/docs/models/openai-gpt-image-1-5, the four published responses
    "openai-4-1-bioluminescent-art-nouveau-portrait.yaml": "0.20312",
    "openai-4-1-luminescent-botanical-observatory-interior.yaml": "0.19961",
    "openai-4-1-retro-futurist-metro-poster.yaml": "0.19984",
    "openai-4-1-retro-futurist-observatory-sticker-sheet.yaml": "0.13392",
}


def runware_example(path: Path, images: ImageClient) -> None:
    [task] = _request_body(path)
    result = images.generate(_canonical("runware", "runTasks", [task]), _target("runware"))
    item = json.loads(_interactions(path)[0]["response"]["body"]["string"])["data"][0]
    [image] = result.images
    assert (image.url, image.format) == (item["imageURL"], "jpeg")
    assert (image.width, image.height) == (task["width"], task["height"])
    assert result.job_id == task["taskUUID"]
    assert result.reported_cost is not None and result.reported_cost.usd == Decimal(RUNWARE_COSTS[path.name])


def runware_invalid_api_key(path: Path, images: ImageClient) -> None:
    request = CanonicalRequest(model="gpt-image-1.5", prompt="a cat")
    error = _raises(AuthenticationError, lambda: images.generate(request, _target("runware")))
    assert (error.status, error.code, error.param) == (401, "invalidApiKey", "apiKey")
    assert error.message == "Invalid API key. Get one at https://my.runware.ai/signup"


def runware_ping(path: Path, images: ImageClient) -> None:
    answer = images.call(_target("runware"), "runTasks", json=[{"taskType": "ping", "ping": True}])
    assert answer == {"data": [{"taskType": "ping", "pong": True}]}


# -- GMI Cloud -----------------------------------------------------------------------------------------


def gmicloud_success(path: Path, images: ImageClient) -> None:
    body = _request_body(path)
    result = images.generate(_canonical("gmicloud", "submitRequest", body), _target("gmicloud"))
    record = json.loads(_interactions(path)[0]["response"]["body"]["string"])
    assert result.job_id == record["request_id"]
    assert [i.url for i in result.images] == [m["url"] for m in record["outcome"]["media_urls"]]
    assert {i.format for i in result.images} == {"png"} and len(result.images) == body["payload"]["n"]
    assert result.reported_cost is None  # GMI's record carries no price


def gmicloud_submit_async_queued_documented(path: Path, images: ImageClient) -> None:
    submission = images.submit(CanonicalRequest(model="gpt-image-1.5", prompt="x"), _target("gmicloud"))
    assert not submission.done
    assert (submission.job_id, submission.status) == ("550e8400-e29b-41d4-a716-446655440000", "queued")


def gmicloud_get_request_record_queued_observed(path: Path, images: ImageClient) -> None:
    quick = ImageClient(retries=RetryPolicy(max_retries=0), polling=PollPolicy(initial=0, max_polls=1))
    request = CanonicalRequest(model="gpt-image-1.5", prompt="x")
    stuck = _raises(RequestTimeoutError, lambda: quick.resume(request, _target("gmicloud"), "\u2026"))
    assert stuck.job_id == "\u2026" and "queued" in stuck.message


def gmicloud_submit_rejected_400_observed(path: Path, images: ImageClient) -> None:
    image = ImageInput.from_bytes(PNG_1X1)  # the client sends base64, the form GMI documents
    request = CanonicalRequest(model="gpt-image-2", prompt="make it blue", input_images=(image,))
    error = _raises(ValidationError, lambda: images.generate(request, _target("gmicloud")))
    assert (error.status, error.job_id) == (400, "<id>")
    assert error.message == "Generation rejected; please review the prompt and parameters then retry"


SCENARIOS: dict[str, Callable[[Path, ImageClient], None]] = {
    "documented/openai/generations_response_example.yaml": openai_generations_response_example,
    "documented/openai/error_invalid_api_key.yaml": _openai_error(
        401, "invalid_api_key", None, "Incorrect API key provided"
    ),
    "documented/openai/error_model_not_found.yaml": _openai_error(
        400, "invalid_value", "model", "The model 'bad model' does not exist."
    ),
    "documented/openai/error_response_format.yaml": _openai_error(
        400, "unknown_parameter", "response_format", "Unknown"
    ),
    "reconstructed/openai/error_wrong_type_size.yaml": _openai_error(
        400, "invalid_type", "size", "but got an integer"
    ),
    "documented/openai/error_unsupported_size.yaml": openai_refused_before_sending(
        "size", model="gpt-image-1.5", size="512x512"
    ),
    "reconstructed/openai/error_transparent_background_gpt_image_2.yaml": openai_refused_before_sending(
        "background", background="transparent"
    ),
    "documented/openai/error_unsupported_file_mimetype.yaml": openai_error_unsupported_file_mimetype,
    "documented/openai/error_input_fidelity_gpt_image_2.yaml": openai_error_input_fidelity_gpt_image_2,
    **{
        f"documented/cloudflare/{p.name}": cloudflare_run
        for p in sorted(ROOT.glob("documented/cloudflare/*.yaml"))
    },
    "documented/apiframe/gpt_image_1_5_generate_and_poll.yaml": apiframe_gpt_image_1_5_generate_and_poll,
    "documented/apiframe/error_bodies_sdk_fixtures.yaml": apiframe_error_bodies_sdk_fixtures,
    "documented/apiframe/auth_errors_documented.yaml": apiframe_auth_errors_documented,
    "documented/apiframe/job_states_documented.yaml": apiframe_job_states_documented,
    **{f"documented/runware/{name}": runware_example for name in RUNWARE_COSTS},
    "documented/runware/invalid-api-key.yaml": runware_invalid_api_key,
    "documented/runware/ping.yaml": runware_ping,
    "reconstructed/gmicloud/submit_gpt_image_1_5_n2_success_assembled.yaml": gmicloud_success,
    "documented/gmicloud/submit_gpt_image_1_5_seed_table.yaml": gmicloud_success,
    "documented/gmicloud/submit_async_queued_documented.yaml": gmicloud_submit_async_queued_documented,
    "documented/gmicloud/get_request_record_queued_observed.yaml": (
        gmicloud_get_request_record_queued_observed
    ),
    "documented/gmicloud/submit_rejected_400_observed.yaml": gmicloud_submit_rejected_400_observed,
}


def test_every_documented_cassette_has_a_replay() -> None:
    assert sorted(SCENARIOS) == [str(p.relative_to(ROOT)) for p in CASSETTES]


@pytest.mark.parametrize("path", CASSETTES, ids=[str(p.relative_to(ROOT)) for p in CASSETTES])
def test_client_reads_the_documented_cassette(path: Path) -> None:
    with REPLAY.use_cassette(str(path)) as cassette, _client() as images:
        SCENARIOS[str(path.relative_to(ROOT))](path, images)
    assert cassette.all_played, (
        f"the client did not make every documented call ({cassette.play_count} played)"
    )
