"""Apiframe v2 emulator over HTTP (in-process WSGI and a real socket, via the ``http`` fixture).

Oracles: the documented cassettes (cassettes/documented/apiframe, replayed with the host changed), the
contract's response schemas, and Apiframe's published figures (credit table, error texts).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask
from paths import DOCUMENTED
from PIL import Image

from pixelmock.contracts.openapi import inlined, validate
from pixelmock.emulators import EmulatorConfig, create_app

EMULATED_PROVIDERS = ["apiframe"]
CASSETTES = DOCUMENTED / "apiframe"
REAL_BASE = "https://api.apiframe.ai"
KEY = "afk_pixelmock_test_key"
AUTH = {"X-API-Key": KEY}
DOC_JOB_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
SEED = {
    "prompt": "A whimsical watercolor painting of a fox reading a book in a sunlit forest clearing",
    "model": "gpt-image-1.5",
    "gptImageParams": {"quality": "high", "aspect_ratio": "3:2", "output_format": "png"},
}
START = int(EmulatorConfig().starting_balances["credits"])


def _config(**options: Any) -> EmulatorConfig:
    return EmulatorConfig(options={f"apiframe.{k}": v for k, v in options.items()})


def _schema(operation_id: str, status: int) -> dict[str, Any]:
    for item in inlined("apiframe")["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op["responses"][str(status)]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]
    raise KeyError(operation_id)


def _conforms(response: httpx.Response, operation_id: str) -> Any:
    """The JSON body, after checking it against the contract's schema for its status."""
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert validate("apiframe", _schema(operation_id, response.status_code), body) == []
    return body


@pytest.fixture
def client(app: Flask) -> Iterator[httpx.Client]:
    """In-process only (the socket transport is exercised by the tests that take ``http``)."""
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as inproc:
        yield inproc


def _cassette(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((CASSETTES / name).read_text())["interactions"]  # type: ignore[no-any-return]


def _replay(http: httpx.Client, recorded: dict[str, Any], key: str = KEY, job_id: str = "") -> httpx.Response:
    """Send a cassette request verbatim, with the emulator as host, a real key and our job id."""
    headers = {k: v[0] for k, v in recorded["headers"].items()}
    if "X-API-Key" in headers:
        headers["X-API-Key"] = key
    path = recorded["uri"].replace(REAL_BASE, "/apiframe").replace(DOC_JOB_ID, job_id or DOC_JOB_ID)
    body = recorded["body"].encode() if recorded["body"] is not None else None
    return http.request(recorded["method"], path, headers=headers, content=body)


def _submit(http: httpx.Client, body: dict[str, Any], **headers: str) -> str:
    response = http.post("/apiframe/v2/images/generate", json=body, headers={**AUTH, **headers})
    assert response.status_code == 202, response.text
    return str(_conforms(response, "generateImage")["jobId"])


def _poll(http: httpx.Client, job_id: str) -> dict[str, Any]:
    response = http.get(f"/apiframe/v2/jobs/{job_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return _conforms(response, "getJob")  # type: ignore[no-any-return]


def _credits(http: httpx.Client, key: str = KEY) -> int:
    return int(_conforms(http.get("/apiframe/v2/me", headers={"X-API-Key": key}), "getMe")["team"]["credits"])


def _image(http: httpx.Client, url: str) -> Image.Image:
    response = http.get(url)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


# --------------------------------------------------------------------------------------------------------
# Documented examples, replayed


def test_seed_example_replays_to_a_completed_job_with_a_real_image(http: httpx.Client) -> None:
    submit, poll = _cassette("gpt_image_1_5_generate_and_poll.yaml")
    accepted = _replay(http, submit["request"])
    assert accepted.status_code == submit["response"]["status"]["code"] == 202
    body = _conforms(accepted, "generateImage")
    assert body["status"] == "QUEUED" and set(body) == {"jobId", "status"}

    job = _poll(http, body["jobId"])  # default timing: COMPLETED on the first poll
    documented = json.loads(poll["response"]["body"]["string"])
    assert set(job) == set(documented)
    assert (job["id"], job["status"], job["model"], job["progress"]) == (
        body["jobId"],
        "COMPLETED",
        "gpt-image-1.5",
        100,
    )
    assert job["creditCost"] == documented["creditCost"] == 24  # page credit table: high = 24 per image
    assert job["error"] is None and job["expired"] is False and job["completedAt"] is not None
    assert job["createdAt"].endswith("Z") and len(job["createdAt"]) == len(documented["createdAt"])
    [url] = job["result"]["images"]  # one URL per image, as in the page's example result
    image = _image(http, url)
    assert image.format == "PNG"
    assert image.size == (1536, 1024)  # aspect_ratio 3:2 (pixel size inferred: OpenAI's 3:2 size)
    assert _credits(http) == START - 24


def test_documented_job_states_have_the_documented_fields() -> None:
    interactions = _cassette("job_states_documented.yaml")
    documented = {
        json.loads(i["response"]["body"]["string"])["status"]: json.loads(i["response"]["body"]["string"])
        for i in interactions
    }
    slow, _ = _emulator(_config(polls_to_complete=3))
    job_id = _submit(slow, SEED)
    listed = slow.get("/apiframe/v2/jobs", headers=AUTH).json()["jobs"][0]  # listing does not move jobs on
    processing = _conforms(_replay(slow, interactions[1]["request"], job_id=job_id), "getJob")
    failing, _ = _emulator(_config(job_failure="Provider returned an error: content policy violation"))
    failed_id = _submit(failing, SEED)
    failed = _conforms(_replay(failing, interactions[2]["request"], job_id=failed_id), "getJob")
    for job in (listed, processing, failed):
        assert set(documented[job["status"]]) <= set(job)
    assert (listed["status"], listed["progress"], listed["result"], listed["creditCost"]) == (
        "QUEUED",
        0,
        None,
        24,
    )
    assert processing["status"] == "PROCESSING" and 0 < processing["progress"] < 100
    assert processing["result"] is None and processing["completedAt"] is None
    # Documented FAILED example: progress 0, creditCost 0 (refunded), error text, completedAt set.
    assert (failed["progress"], failed["creditCost"], failed["result"]) == (0, 0, None)
    assert failed["error"] == documented["FAILED"]["error"] and failed["completedAt"] is not None
    assert _credits(failing) == START  # "Credits are refunded"


def _emulator(config: EmulatorConfig) -> tuple[httpx.Client, Flask]:
    """An in-process client on a fresh app with ``config`` (for tests that need two configs)."""
    app = create_app(config, providers=EMULATED_PROVIDERS)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1"), app


@pytest.mark.parametrize(
    "config", [EmulatorConfig(invalid_keys=frozenset({"bad_key"}), inactive_keys=frozenset({"off_key"}))]
)
def test_documented_auth_errors_replay_exactly(http: httpx.Client) -> None:
    keys = {"REDACTED_INVALID": "bad_key", "REDACTED_INACTIVE": "off_key"}
    for interaction in _cassette("auth_errors_documented.yaml"):
        recorded = interaction["request"]
        sent = recorded["headers"].get("X-API-Key", [""])[0]
        response = _replay(http, recorded, key=keys.get(sent, ""))
        assert response.status_code == interaction["response"]["status"]["code"]
        assert response.json() == json.loads(interaction["response"]["body"]["string"])


@pytest.mark.parametrize(
    "config", [EmulatorConfig(invalid_keys=frozenset({"bad_key"}), inactive_keys=frozenset({"off_key"}))]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v2/images/generate"), ("GET", "/v2/jobs"), ("GET", f"/v2/jobs/{DOC_JOB_ID}")],
)
def test_every_route_authenticates(client: httpx.Client, method: str, path: str) -> None:
    for headers, status, error in [
        ({}, 401, "API key is required"),
        ({"X-API-Key": ""}, 401, "API key is required"),
        ({"Authorization": f"Bearer {KEY}"}, 401, "API key is required"),  # v1 style is not v2 auth
        ({"X-API-Key": "bad_key"}, 401, "Invalid API key"),
        ({"X-API-Key": "off_key"}, 403, "API key is inactive"),
    ]:
        response = client.request(method, "/apiframe" + path, headers=headers, json=SEED)
        assert (response.status_code, response.json()) == (status, {"error": error})


@pytest.mark.parametrize("config", [EmulatorConfig(starting_balances={"credits": Decimal(10)})])
def test_insufficient_credits_answers_402_with_the_figures(http: httpx.Client) -> None:
    fixture = _cassette("error_bodies_sdk_fixtures.yaml")[1]
    response = _replay(http, fixture["request"])
    assert response.status_code == fixture["response"]["status"]["code"] == 402
    body = _conforms(response, "generateImage")
    assert set(body) == set(json.loads(fixture["response"]["body"]["string"]))
    assert body == {"error": "Insufficient credits", "creditsRequired": 24, "creditsAvailable": 10}
    assert http.get("/apiframe/v2/jobs", headers=AUTH).json()["jobs"] == []


@pytest.mark.parametrize("config", [_config(rate_limit_per_minute=2)])
def test_rate_limit_answers_429_with_retry_after(http: httpx.Client) -> None:
    fixture = _cassette("error_bodies_sdk_fixtures.yaml")[2]
    assert [_replay(http, fixture["request"]).status_code for _ in range(2)] == [202, 202]
    response = _replay(http, fixture["request"])
    assert response.status_code == 429
    assert set(_conforms(response, "generateImage")) == {"error"}
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert http.get("/apiframe/v2/me", headers={"X-API-Key": "afk_someone_else"}).status_code == 200


# --------------------------------------------------------------------------------------------------------
# Validation


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({**SEED, "model": "gpt-image-2"}, "gptImageParams"),
        ({**SEED, "model": "midjourney"}, "model"),
        ({"model": "gpt-image-1.5"}, "prompt"),
        ({**SEED, "prompt": ""}, "prompt"),
        ({**SEED, "prompt": "x" * 2001}, "prompt"),
        ({**SEED, "prompt": "🦊" * 1001}, "prompt"),  # 1001 characters, 2002 UTF-16 units
        ({**SEED, "webhook_url": "https://example.com/hook"}, "webhook_url"),
        ({**SEED, "webhookUrl": "not a url"}, "webhookUrl"),
        ({**SEED, "webhookEvents": []}, "webhookEvents"),
        ({**SEED, "webhookEvents": ["done"]}, "webhookEvents.0"),
        ({**SEED, "gptImageParams": {"quality": "ultra"}}, "gptImageParams.quality"),
        ({**SEED, "gptImageParams": {"aspect_ratio": "16:9"}}, "gptImageParams.aspect_ratio"),
        ({**SEED, "gptImageParams": {"number_of_images": 11}}, "gptImageParams.number_of_images"),
        ({**SEED, "gptImageParams": {"number_of_images": 1.5}}, "gptImageParams.number_of_images"),
        ({**SEED, "gptImageParams": {"input_images": "https://x.test/a.png"}}, "gptImageParams.input_images"),
        ({**SEED, "gptImageParams": {"input_images": ["a.png"]}}, "gptImageParams.input_images.0"),
        ({**SEED, "gptImageParams": {"size": "1024x1024"}}, "gptImageParams.size"),
        (
            {"prompt": "x", "model": "gpt-image-2", "gptImage2Params": {"background": "transparent"}},
            "gptImage2Params.background",
        ),
        (
            {"prompt": "x", "model": "gpt-image-2", "gptImage2Params": {"input_fidelity": "high"}},
            "gptImage2Params.input_fidelity",
        ),
        ([SEED], ""),
    ],
)
def test_invalid_bodies_answer_400_with_details_by_json_path(
    client: httpx.Client, body: Any, path: str
) -> None:
    response = client.post("/apiframe/v2/images/generate", json=body, headers=AUTH)
    assert response.status_code == 400
    error = _conforms(response, "generateImage")
    assert path in error["details"], error
    assert all(isinstance(m, str) and m for m in error["details"][path])
    assert _credits(client) == START


def test_validation_messages_name_the_allowed_values(client: httpx.Client) -> None:
    body = {"prompt": "x", "model": "gpt-image-2", "gptImage2Params": {"background": "transparent"}}
    details = client.post("/apiframe/v2/images/generate", json=body, headers=AUTH).json()["details"]
    assert details == {
        "gptImage2Params.background": [
            "Invalid enum value. Expected 'auto' | 'opaque', received 'transparent'"
        ]
    }


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"", {"Content-Type": "application/json"}, 400),
        (json.dumps(SEED).encode(), {"Content-Type": "text/plain"}, 400),
        (json.dumps(SEED).encode(), {}, 400),
    ],
)
def test_unparseable_bodies_answer_400_in_apiframe_shape(
    client: httpx.Client, content: bytes, headers: dict[str, str], status: int
) -> None:
    response = client.post("/apiframe/v2/images/generate", content=content, headers={**AUTH, **headers})
    assert response.status_code == status
    assert set(_conforms(response, "generateImage")) == {"error"}


@pytest.mark.parametrize("config", [EmulatorConfig(max_body_bytes=2048)])
def test_framework_errors_keep_the_error_envelope(http: httpx.Client) -> None:
    assert (
        http.post(
            "/apiframe/v2/images/generate", json={**SEED, "prompt": "x" * 5000}, headers=AUTH
        ).status_code
        == 413
    )
    for method, path, status in [
        ("GET", "/v2/nope", 404),
        ("DELETE", "/v2/me", 405),
        ("PUT", "/v2/jobs", 405),
    ]:
        response = http.request(method, "/apiframe" + path, headers=AUTH)
        assert response.status_code == status
        assert set(response.json()) == {"error"}


def test_idempotency_key_longer_than_255_is_rejected(client: httpx.Client) -> None:
    response = client.post(
        "/apiframe/v2/images/generate", json=SEED, headers={**AUTH, "Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in _conforms(response, "generateImage")["details"]


# --------------------------------------------------------------------------------------------------------
# Jobs, images, credits


@pytest.mark.parametrize(
    ("body", "size", "fmt", "count", "credits"),
    [
        ({"prompt": "a fox", "model": "gpt-image-1.5"}, (1024, 1024), "WEBP", 1, 24),  # all defaults
        (
            {
                "prompt": "a fox",
                "model": "gpt-image-1.5",
                "gptImageParams": {"quality": "medium", "number_of_images": 3},
            },
            (1024, 1024),
            "WEBP",
            3,
            27,  # the gpt-image-1.5 page's worked example: 3 x 9
        ),
        (
            {
                "prompt": "a fox",
                "model": "gpt-image-2",
                "gptImage2Params": {
                    "quality": "medium",
                    "number_of_images": 4,
                    "aspect_ratio": "2:3",
                    "output_format": "jpeg",
                },
            },
            (1024, 1536),
            "JPEG",
            4,
            36,  # GPT Image 2 page worked example: medium x 4
        ),
        (
            {
                "prompt": "a fox",
                "model": "gpt-image-2",
                "gptImage2Params": {"quality": "low", "moderation": "low"},
            },
            (1024, 1024),
            "WEBP",
            1,
            4,
        ),
    ],
)
def test_jobs_produce_the_requested_images_and_cost_the_published_credits(
    http: httpx.Client, body: dict[str, Any], size: tuple[int, int], fmt: str, count: int, credits: int
) -> None:
    job = _poll(http, _submit(http, body))
    assert job["status"] == "COMPLETED" and job["creditCost"] == credits
    assert len(job["result"]["images"]) == count
    for url in job["result"]["images"]:
        image = _image(http, url)
        assert (image.size, image.format) == (size, fmt)
    assert _credits(http) == START - credits


def test_edit_jobs_cost_the_same_credits(client: httpx.Client) -> None:
    params = {"input_images": ["https://example.com/in.png"], "input_fidelity": "high", "quality": "low"}
    job = _poll(
        client,
        _submit(client, {"prompt": "make it blue", "model": "gpt-image-1.5", "gptImageParams": params}),
    )
    assert (job["status"], job["creditCost"]) == ("COMPLETED", 4)  # the credit table: low = 4 per image


def test_transparent_background_has_alpha(client: httpx.Client) -> None:
    body = {
        "prompt": "a logo",
        "model": "gpt-image-1.5",
        "gptImageParams": {"background": "transparent", "output_format": "png"},
    }
    [url] = _poll(client, _submit(client, body))["result"]["images"]
    assert _image(client, url).mode == "RGBA"


def test_job_ids_are_checked(client: httpx.Client) -> None:
    response = client.get("/apiframe/v2/jobs/not-a-uuid", headers=AUTH)
    assert (response.status_code, _conforms(response, "getJob")) == (400, {"error": "Invalid job ID"})
    response = client.get(f"/apiframe/v2/jobs/{DOC_JOB_ID}", headers=AUTH)
    assert (response.status_code, _conforms(response, "getJob")) == (404, {"error": "Job not found"})
    mine = _submit(client, SEED)
    other = client.get(f"/apiframe/v2/jobs/{mine}", headers={"X-API-Key": "afk_another_team"})
    assert other.status_code == 404
    assert _poll(client, mine.upper())["id"] == mine


def test_timing_options_keep_a_job_processing() -> None:
    client, app = _emulator(_config(polls_to_complete=3, seconds_to_complete=30))
    job_id = _submit(client, SEED)
    first, second, third = (_poll(client, job_id) for _ in range(3))
    assert [j["status"] for j in (first, second, third)] == ["PROCESSING"] * 3  # 30 s have not passed
    assert first["progress"] <= second["progress"] <= third["progress"] < 100
    app.extensions["pixelmock"].clock.advance(31)
    assert _poll(client, job_id)["status"] == "COMPLETED"


def test_too_many_input_images_fail_the_job_and_refund(client: httpx.Client) -> None:
    images = [f"https://example.com/{i}.png" for i in range(17)]
    body = {"prompt": "merge", "model": "gpt-image-2", "gptImage2Params": {"input_images": images}}
    job = _poll(client, _submit(client, body))
    assert (job["status"], job["creditCost"], job["result"]) == ("FAILED", 0, None)
    assert "16" in job["error"]
    assert _credits(client) == START


def test_completed_jobs_expire_after_the_retention(app: Flask, client: httpx.Client) -> None:
    job = _poll(client, _submit(client, SEED))
    [url] = job["result"]["images"]
    app.extensions["pixelmock"].clock.advance(24 * 3600 + 1)
    again = _poll(client, job["id"])
    assert again["expired"] is True and again["result"] == job["result"]
    assert client.get(url).status_code == 404


def test_idempotency_key_replays_the_original_job(app: Flask, http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = _submit(http, SEED, **headers)
    _poll(http, first)
    replay = http.post("/apiframe/v2/images/generate", json=SEED, headers={**AUTH, **headers})
    assert (replay.status_code, replay.json()) == (202, {"jobId": first, "status": "COMPLETED"})
    assert _credits(http) == START - 24  # charged once
    conflict = http.post(
        "/apiframe/v2/images/generate", json={**SEED, "prompt": "other"}, headers={**AUTH, **headers}
    )
    assert conflict.status_code == 409 and set(_conforms(conflict, "generateImage")) == {"error"}
    other_account = http.post(
        "/apiframe/v2/images/generate", json=SEED, headers={"X-API-Key": "afk_other", **headers}
    )
    assert other_account.json()["jobId"] != first
    app.extensions["pixelmock"].clock.advance(24 * 3600 + 1)  # "within 24 hours"
    assert _submit(http, SEED, **headers) != first


def test_list_pages_newest_first_with_a_cursor(app: Flask, client: httpx.Client) -> None:
    clock = app.extensions["pixelmock"].clock
    ids = []
    for model in ("gpt-image-1.5", "gpt-image-2", "gpt-image-1.5"):
        ids.append(_submit(client, {"prompt": "x", "model": model}))
        clock.advance(1)
    _poll(client, ids[0])
    page = _conforms(client.get("/apiframe/v2/jobs", params={"limit": 2}, headers=AUTH), "listJobs")
    assert [j["id"] for j in page["jobs"]] == [ids[2], ids[1]] and page["hasMore"] is True
    assert "models" not in page
    rest = client.get("/apiframe/v2/jobs", params={"limit": 2, "cursor": page["nextCursor"]}, headers=AUTH)
    rest_body = _conforms(rest, "listJobs")
    assert [j["id"] for j in rest_body["jobs"]] == [ids[0]]
    assert (rest_body["hasMore"], rest_body["nextCursor"]) == (False, None)

    def listed(**params: str) -> list[str]:
        body = _conforms(client.get("/apiframe/v2/jobs", params=params, headers=AUTH), "listJobs")
        return [j["id"] for j in body["jobs"]]

    assert listed(status="COMPLETED") == [ids[0]]
    assert listed(model="gpt-image-2") == [ids[1]]
    assert listed(search=ids[1]) == [ids[1]]
    assert listed(scope="team") == list(reversed(ids))
    models = client.get("/apiframe/v2/jobs", params={"include_models": "true"}, headers=AUTH).json()["models"]
    assert models == ["gpt-image-1.5", "gpt-image-2"]
    assert client.get("/apiframe/v2/jobs", headers={"X-API-Key": "afk_other"}).json()["jobs"] == []


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"status": "DONE"}, "status"),
        ({"scope": "everyone"}, "scope"),
        ({"search": "not-a-uuid"}, "search"),
        ({"include_models": "yes"}, "include_models"),
        ({"cursor": "!!!"}, "cursor"),
    ],
)
def test_list_query_errors(client: httpx.Client, params: dict[str, str], key: str) -> None:
    response = client.get("/apiframe/v2/jobs", params=params, headers=AUTH)
    assert response.status_code == 400
    assert key in _conforms(response, "listJobs")["details"]


def test_me_shows_the_team_balance(client: httpx.Client) -> None:
    me = _conforms(client.get("/apiframe/v2/me", headers=AUTH), "getMe")
    assert me["team"]["credits"] == START
    assert me["apiKey"]["prefix"] == KEY[:8] and me["user"]["role"] == "OWNER"
    assert client.get("/apiframe/v2/me", headers=AUTH).json() == me


@pytest.mark.parametrize("today", ["2026-06-01", "2026-11-20", "2026-12-02"])
def test_seed_example_costs_the_documented_credits_on_any_pinned_date(today: str) -> None:
    # apiframe.ai/docs: gpt-image-1.5 high costs 24 credits per image. A clock pinned before the date the page
    # was read (2026-11-21) must not charge an older, undated table (nothing shows it was ever charged).
    # after OpenAI's shutdown Apiframe is taken to refuse the model (an option): serve it to see the price
    serve = {"apiframe.after_upstream_shutdown": "serve"}
    config = EmulatorConfig(today=dt.date.fromisoformat(today), options=serve)
    app = create_app(config, providers=EMULATED_PROVIDERS)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        job = _poll(
            http, _submit(http, {**SEED, "gptImageParams": {**SEED["gptImageParams"], "number_of_images": 2}})
        )
        assert job["creditCost"] == 48
        assert _credits(http) == START - 48
