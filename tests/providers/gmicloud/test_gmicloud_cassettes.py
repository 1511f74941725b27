"""GMI Cloud's documented and reconstructed cassettes (cassettes/documented/gmicloud/,
cassettes/reconstructed/gmicloud/) replayed through the reference client (``cassette_replay``): the client
reads the published request records (their id, image URLs and status), the documented queued answers and
the observed rejection, and makes every documented call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cassette_replay import (
    PNG_1X1,
    Scenario,
    canonical,
    cassette_key,
    cassettes_of,
    missing_and_unknown,
    raises,
    replay,
    request_body,
    response_body,
    target,
)

from pixelmock.client import ImageClient, PollPolicy, RequestTimeoutError, RetryPolicy, ValidationError
from pixelmock.contracts.canonical import CanonicalRequest, ImageInput

PROVIDER = "gmicloud"
CASSETTES = cassettes_of(PROVIDER)


def success(path: Path, images: ImageClient) -> None:
    body = request_body(path)
    result = images.generate(canonical("gmicloud", "submitRequest", body), target("gmicloud"))
    record = response_body(path)
    assert result.job_id == record["request_id"]
    assert [i.url for i in result.images] == [m["url"] for m in record["outcome"]["media_urls"]]
    assert {i.format for i in result.images} == {"png"} and len(result.images) == body["payload"]["n"]
    assert result.reported_cost is None  # GMI's record carries no price


def submit_async_queued_documented(path: Path, images: ImageClient) -> None:
    submission = images.submit(CanonicalRequest(model="gpt-image-1.5", prompt="x"), target("gmicloud"))
    assert not submission.done
    assert (submission.job_id, submission.status) == ("550e8400-e29b-41d4-a716-446655440000", "queued")


def get_request_record_queued_observed(path: Path, images: ImageClient) -> None:
    quick = ImageClient(retries=RetryPolicy(max_retries=0), polling=PollPolicy(initial=0, max_polls=1))
    request = CanonicalRequest(model="gpt-image-1.5", prompt="x")
    stuck = raises(RequestTimeoutError, lambda: quick.resume(request, target("gmicloud"), "\u2026"))
    assert stuck.job_id == "\u2026" and "queued" in stuck.message


def submit_rejected_400_observed(path: Path, images: ImageClient) -> None:
    image = ImageInput.from_bytes(PNG_1X1)  # the client sends base64, the form GMI documents
    request = CanonicalRequest(model="gpt-image-2", prompt="make it blue", input_images=(image,))
    error = raises(ValidationError, lambda: images.generate(request, target("gmicloud")))
    assert (error.status, error.job_id) == (400, "<id>")
    assert error.message == "Generation rejected; please review the prompt and parameters then retry"


SCENARIOS: dict[str, Scenario] = {
    "reconstructed/gmicloud/submit_gpt_image_1_5_n2_success_assembled.yaml": success,
    "documented/gmicloud/submit_gpt_image_1_5_seed_table.yaml": success,
    "documented/gmicloud/submit_async_queued_documented.yaml": submit_async_queued_documented,
    "documented/gmicloud/get_request_record_queued_observed.yaml": get_request_record_queued_observed,
    "documented/gmicloud/submit_rejected_400_observed.yaml": submit_rejected_400_observed,
}


def test_every_gmicloud_cassette_has_a_replay() -> None:
    assert missing_and_unknown(PROVIDER, SCENARIOS) == ([], [])


@pytest.mark.parametrize("path", CASSETTES, ids=[cassette_key(p) for p in CASSETTES])
def test_client_reads_the_documented_gmicloud_cassette(path: Path) -> None:
    replay(path, SCENARIOS)
