"""The virtual clock through the control plane: read, advance, set; jobs and lifecycles follow it.

The Apiframe app here needs two polls and 30 virtual seconds per job (``apiframe.polls_to_complete`` /
``apiframe.seconds_to_complete``, emulators/providers/apiframe.py); images are kept 24 h (the contract's
``x-retention-seconds``). gpt-image-1.5 shuts down at OpenAI on 2026-12-01 (contracts/data/models.yaml).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
import yaml
from paths import DOCUMENTED

from pixelmock.emulators import EmulatorConfig

APIFRAME = "/apiframe"
KEY = {"X-API-Key": "afk_clock"}
BODY = json.loads(
    yaml.safe_load((DOCUMENTED / "apiframe/gpt_image_1_5_generate_and_poll.yaml").read_text())[
        "interactions"
    ][0]["request"]["body"]
)


@pytest.fixture
def config() -> EmulatorConfig:
    # today=None: these tests compare the virtual clock with real time (the suite otherwise pins a date).
    return EmulatorConfig(
        today=None,
        options={
            "apiframe.polls_to_complete": 2,
            "apiframe.seconds_to_complete": 30,
            # the documented example is gpt-image-1.5, refused at Apiframe after OpenAI's shutdown by default
            "apiframe.after_upstream_shutdown": "serve",
        },
    )


def _clock(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/__admin/clock")
    assert response.status_code == 200
    return dict(response.json())


def _advance(http: httpx.Client, seconds: float) -> dt.datetime:
    response = http.post("/__admin/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return dt.datetime.fromisoformat(response.json()["now"])


def _apiframe_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _poll(http: httpx.Client, job_id: str) -> dict[str, Any]:
    response = http.get(f"{APIFRAME}/v2/jobs/{job_id}", headers=KEY)
    assert response.status_code == 200
    return dict(response.json())


def test_read_advance_and_set(http: httpx.Client) -> None:
    before = _clock(http)
    assert set(before) == {"now", "date", "timestamp", "offset_seconds"}
    assert abs(dt.datetime.fromisoformat(before["now"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
    assert before["offset_seconds"] == 0

    after = _advance(http, 3600)
    assert (
        dt.timedelta(hours=1)
        <= after - dt.datetime.fromisoformat(before["now"])
        < dt.timedelta(hours=1, seconds=5)
    )
    assert _clock(http)["offset_seconds"] == pytest.approx(3600)

    body = http.put("/__admin/clock", json={"date": "2027-02-03"}).json()
    assert body["date"] == "2027-02-03"

    body = http.put("/__admin/clock", json={"now": "2030-01-01T12:00:00Z"}).json()
    now = dt.datetime.fromisoformat(body["now"])
    assert dt.timedelta(0) <= now - dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC) < dt.timedelta(seconds=5)
    assert body["timestamp"] == int(now.timestamp())


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/__admin/clock/advance", {"seconds": -1}),
        ("POST", "/__admin/clock/advance", {"seconds": "10"}),
        ("POST", "/__admin/clock/advance", {}),
        ("POST", "/__admin/clock/advance", {"seconds": 1, "extra": True}),
        ("PUT", "/__admin/clock", {"date": "2026-13-01"}),
        ("PUT", "/__admin/clock", {"date": "0001-01-01"}),
        ("PUT", "/__admin/clock", {"now": "tomorrow"}),
        ("PUT", "/__admin/clock", {"now": "2030-06-01T08:00:00"}),  # RFC 3339 needs the offset
        ("PUT", "/__admin/clock", {"date": "2027-01-01", "now": "2027-01-01T00:00:00Z"}),
        ("PUT", "/__admin/clock", {}),
    ],
)
def test_bad_clock_requests_are_400(http: httpx.Client, method: str, path: str, body: dict[str, Any]) -> None:
    before = _clock(http)["offset_seconds"]
    response = http.request(method, path, json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert _clock(http)["offset_seconds"] == pytest.approx(before, abs=1e-3)


def test_the_clock_cannot_be_pushed_past_its_range(http: httpx.Client) -> None:
    http.put("/__admin/clock", json={"date": "9998-06-01"})
    response = http.post("/__admin/clock/advance", json={"seconds": 3153600000})
    assert response.status_code == 400
    assert _clock(http)["date"] == "9998-06-01"


def test_an_apiframe_job_moves_with_polls_and_virtual_time(http: httpx.Client) -> None:
    submitted = http.post(f"{APIFRAME}/v2/images/generate", json=BODY, headers=KEY)
    assert submitted.status_code == 202
    job_id = submitted.json()["jobId"]

    first = _poll(http, job_id)  # poll 1 of 2, no virtual time yet
    assert (first["status"], first["progress"], first["completedAt"]) == ("PROCESSING", 0, None)
    for _ in range(3):  # polls alone do not finish it
        assert _poll(http, job_id)["status"] == "PROCESSING"

    _advance(http, 15)
    half = _poll(http, job_id)
    assert (half["status"], half["progress"]) == ("PROCESSING", 50)

    _advance(http, 15)
    done = _poll(http, job_id)
    assert done["status"] == "COMPLETED"
    created, completed = _apiframe_time(done["createdAt"]), _apiframe_time(done["completedAt"])
    assert dt.timedelta(seconds=30) <= completed - created < dt.timedelta(seconds=31)
    [submit_entry] = http.get("/__admin/journal", params={"method": "POST"}).json()["entries"]
    at = dt.datetime.fromisoformat(submit_entry["at"])
    assert abs(at - created) < dt.timedelta(seconds=1)  # the journal runs on the same virtual clock

    [url] = done["result"]["images"]
    image_path = httpx.URL(url).path
    assert http.get(image_path).status_code == 200
    _advance(http, 24 * 3600)  # Apiframe keeps results 24 h
    assert _poll(http, job_id)["expired"] is True
    assert http.get(image_path).status_code == 404


def test_lifecycle_follows_the_virtual_date(http: httpx.Client) -> None:
    body = {"model": "gpt-image-1.5", "prompt": "x", "size": "1024x1024", "quality": "low"}
    headers = {"Authorization": "Bearer sk-clock"}
    http.put("/__admin/clock", json={"date": "2026-11-30"})
    assert http.post("/openai/v1/images/generations", json=body, headers=headers).status_code == 200
    http.put("/__admin/clock", json={"date": "2026-12-01"})
    gone = http.post("/openai/v1/images/generations", json=body, headers=headers)
    assert gone.status_code == 400
    assert gone.json()["error"]["code"] == "invalid_value"
