"""Latency profiles and the virtual clock: instant (default), realistic (documented latencies divided by
a speed factor; sync providers really wait) and manual (the clock stands still; jobs move only when a
test advances it). Realistic runs use large speed factors, so nothing here sleeps for long."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask

from pixelmock.contracts.data import load
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.latency import documented_queue_seconds, documented_seconds
from pixelmock.emulators.core.runtime import Runtime

APIFRAME = {"X-API-Key": "afk_latency"}
BEARER = {"Authorization": "Bearer latency-key"}
APIFRAME_JOB = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "gptImageParams": {"quality": "low"}}


def _client(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


def _job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    return dict(client.get(f"/apiframe/v2/jobs/{job_id}", headers=APIFRAME).json())


# -- the clock and the data ------------------------------------------------------------------------------


def test_a_frozen_clock_stands_still_until_moved_and_runs_on_from_there_when_thawed() -> None:
    clock = Clock(dt.date(2026, 12, 2))
    clock.freeze()
    frozen = clock.now()
    time.sleep(0.02)
    assert clock.now() == frozen and clock.frozen
    moved = clock.advance(30)
    assert moved == frozen + dt.timedelta(seconds=30)
    clock.set_date(dt.date(2027, 1, 1))
    new_year = dt.datetime.combine(dt.date(2027, 1, 1), moved.timetz())
    assert clock.now() == new_year
    clock.thaw()
    time.sleep(0.02)
    assert not clock.frozen and clock.now() > new_year
    clock.reset()
    assert abs(clock.offset().total_seconds()) < 1


def test_every_provider_has_a_sourced_latency() -> None:
    data = load("latency")
    for name, block in data["providers"].items():
        assert "evidence" in block, name
        assert "same_as" in block or "source" in block, name
        for quality in ("low", "medium", "high", "auto"):
            assert documented_seconds(name, quality) > 0
    # Apiframe documents one figure ("about 15s per generation on average"), for every quality.
    assert {documented_seconds("apiframe", q) for q in ("low", "high")} == {15.0}
    assert documented_seconds("cloudflare", "high") == documented_seconds("openai", "high")
    factors = data["quality_factors"]
    assert documented_seconds("openai", "high") == float(Decimal(data["providers"]["openai"]["seconds"]) * 2)
    assert Decimal(factors["low"]) < Decimal(factors["medium"]) < Decimal(factors["high"])


def test_profiles_scale_durations() -> None:
    rt = Runtime(EmulatorConfig())
    clock, latency = rt.clock, rt.latency
    assert latency.job_seconds("apiframe", "high") == 0 and latency.sync_seconds("openai", "low") == 0
    latency.set("realistic", 100)
    assert latency.job_seconds("apiframe", "high") == pytest.approx(0.15)
    assert latency.sync_seconds("gmicloud", "medium") == pytest.approx(0.14)
    assert latency.queue_seconds("apiframe") == pytest.approx(documented_queue_seconds("apiframe") / 100)
    latency.set("manual")
    assert clock.frozen
    assert latency.job_seconds("apiframe", "high") == 15.0  # the speed factor is for realistic only
    assert latency.sync_seconds("openai", "high") == 0  # sync answers come at once
    latency.reset()
    assert latency.setting.profile == "instant" and not clock.frozen
    with pytest.raises(ValueError, match="unknown latency profile"):
        latency.set("slow")
    with pytest.raises(ValueError, match="speed_factor"):
        latency.set("realistic", 0)


# -- manual: a test drives an Apiframe job with the clock ------------------------------------------------


@pytest.mark.pixelmock(latency_profile="manual")
def test_advancing_the_clock_moves_an_apiframe_job_through_its_states(
    pixelmock_server: Any, pixelmock_admin: PixelmockAdmin
) -> None:
    base = pixelmock_server.base_url("apiframe")
    job_id = httpx.post(f"{base}/v2/images/generate", json=APIFRAME_JOB, headers=APIFRAME).json()["jobId"]

    def poll() -> dict[str, Any]:
        return dict(httpx.get(f"{base}/v2/jobs/{job_id}", headers=APIFRAME).json())

    assert pixelmock_admin.latency()["clock_frozen"] is True
    seen = [poll(), poll()]  # polling alone moves nothing
    assert [(j["status"], j["progress"]) for j in seen] == [("QUEUED", 0), ("QUEUED", 0)]
    progress = []
    for _ in range(7):
        pixelmock_admin.advance(2)
        job = poll()
        assert job["status"] == "PROCESSING"
        progress.append(job["progress"])
    assert progress == sorted(progress) and len(set(progress)) == 7 and progress[-1] < 100
    pixelmock_admin.advance(1)  # 15 s in all: Apiframe's documented average
    done = poll()
    assert (done["status"], done["progress"]) == ("COMPLETED", 100)
    created = dt.datetime.fromisoformat(done["createdAt"].replace("Z", "+00:00"))
    completed = dt.datetime.fromisoformat(done["completedAt"].replace("Z", "+00:00"))
    assert (completed - created).total_seconds() == pytest.approx(15, abs=0.01)


def test_the_latency_profile_is_switched_through_the_control_plane() -> None:
    app = create_app(EmulatorConfig())
    admin = PixelmockAdmin.for_app(app)
    assert admin.latency() == {"profile": "instant", "speed_factor": 1.0, "clock_frozen": False}
    assert admin.set_latency("manual")["clock_frozen"] is True
    first = admin.now()
    time.sleep(0.01)
    assert admin.now() == first
    assert admin.set_latency("realistic", 50) == {
        "profile": "realistic",
        "speed_factor": 50.0,
        "clock_frozen": False,
    }
    client = _client(app)
    for body in ({"profile": "fast"}, {"profile": "realistic", "speed_factor": 0}, {"speed_factor": 2}):
        answer = client.put("/__admin/latency", json=body)
        assert answer.status_code == 400 and set(answer.json()) == {"error"}
    admin.reset()
    assert admin.latency()["profile"] == "instant"


# -- realistic: sync answers really wait, scaled -----------------------------------------------------------


@pytest.mark.parametrize(("profile", "waits"), [("instant", False), ("realistic", True)])
def test_sync_answers_wait_only_under_the_realistic_profile(profile: str, waits: bool) -> None:
    app = create_app(EmulatorConfig())
    body = {"model": "gpt-image-1.5", "prompt": "a fox", "quality": "low", "size": "1024x1024"}
    client = _client(app)
    # warm up what a first request loads (the tokenizer) on the instant profile, outside the timing
    assert client.post("/openai/v1/images/generations", json=body, headers=BEARER).status_code == 200
    PixelmockAdmin.for_app(app).set_latency(profile, 400)
    started = time.perf_counter()
    answer = client.post("/openai/v1/images/generations", json=body, headers=BEARER)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200
    expected = documented_seconds("openai", "low", "gpt-image-1.5") / 400  # 7.8 s / 400 = 0.0195 s
    assert (elapsed >= expected) is waits


def test_openai_latency_is_the_recorded_duration_of_each_models_default() -> None:
    # Recorded live defaults: gpt-image-1.5 high 31.2 s (maruel/genai@5f224cb), gpt-image-2 medium 51.3 s
    # (maruel/genai@aa47b97); the other qualities scale by latency.yaml quality_factors (a choice)
    assert documented_seconds("openai", "high", "gpt-image-1.5") == pytest.approx(31.2)
    assert documented_seconds("openai", "medium", "gpt-image-2") == pytest.approx(51.3)
    assert documented_seconds("openai", "low", "gpt-image-1.5") == pytest.approx(31.2 / 4)
    # Cloudflare and Runware sell OpenAI's models and follow its figures
    assert documented_seconds("cloudflare", "medium", "gpt-image-2") == pytest.approx(51.3)


@pytest.mark.parametrize(
    ("fault", "status", "final"), [(None, 200, "success"), ("content_policy", 400, "failed")]
)
def test_a_realistic_gmi_request_can_be_watched_queued_then_processing_then_done(
    fault: str | None, status: int, final: str
) -> None:
    app = create_app(EmulatorConfig(latency_profile="realistic", speed_factor=20))  # 14 s -> 0.7 s
    client = _client(app)
    answer: dict[str, httpx.Response] = {}
    body = {"model": "gpt-image-2", "payload": {"prompt": "a fox"}}
    prefix = "/gmicloud/api/v1/ie/requestqueue/apikey"
    headers = {**BEARER, **({"X-Pixelmock-Fault": fault} if fault else {})}

    def submit() -> None:
        with _client(app) as own:
            answer["response"] = own.post(f"{prefix}/requests", json=body, headers=headers)

    thread = threading.Thread(target=submit)
    thread.start()
    seen: list[str] = []
    while thread.is_alive():
        listed = client.get(f"{prefix}/requests", headers=BEARER).json()["requests"]
        if listed and (not seen or seen[-1] != listed[0]["status"]):
            seen.append(listed[0]["status"])
        time.sleep(0.01)
    thread.join()
    assert seen[:2] == ["queued", "processing"]
    response = answer["response"]
    assert response.status_code == status
    stored = client.get(f"{prefix}/requests/{response.json()['request_id']}", headers=BEARER).json()
    assert stored["status"] == final and stored["outcome"]


# -- Runware async tasks finish image by image ------------------------------------------------------------


def test_a_runware_async_task_finishes_its_images_one_by_one_on_the_virtual_clock() -> None:
    app = create_app(EmulatorConfig(latency_profile="manual"))
    admin = PixelmockAdmin.for_app(app)
    client = _client(app)
    task = {
        "taskType": "imageInference",
        "taskUUID": "5bd9a4b0-4f8f-4a43-b2a3-6a9f1a6b2f01",
        "model": "openai:4@1",
        "positivePrompt": "a fox",
        "width": 1024,
        "height": 1024,
        "numberResults": 2,
        "deliveryMethod": "async",
    }
    assert client.post("/runware/v1", json=[task], headers=BEARER).json() == {
        "data": [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]
    }
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]

    def statuses() -> list[str]:
        return [
            item["status"] for item in client.post("/runware/v1", json=poll, headers=BEARER).json()["data"]
        ]

    total = documented_seconds("runware", "auto")
    assert statuses() == ["processing", "processing"]
    admin.advance(total / 2)
    assert statuses() == ["success", "processing"]
    admin.advance(total / 2)
    assert statuses() == ["success", "success"]
