"""Timers, webhook and upload deliveries and files shared by two apps on one store (``twin_apps``: two
workers, or two hosts, of one emulator): work set up through app A is done exactly once, whichever app
ticks, also when both tick at once from several threads; what one app delivered the other lists.

The oracle is the receiving end: a local HTTP server on 127.0.0.1 counts the requests it gets.

The virtual clock is moved through A's runtime without running the due work (what
``POST /__admin/clock/advance`` does before it ticks), so that the two apps then race for it.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from flask import Flask, current_app
from runware_tasks import image_task

from pixelmock.emulators import EmulatorConfig
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.scheduler import timer_handler
from pixelmock.emulators.tools.pytest_plugin import WebhookReceiver

EMULATED_PROVIDERS = ["apiframe", "runware"]
APIFRAME = {"X-API-Key": "afk_shared_outbound_key"}
RUNWARE = {"Authorization": "Bearer shared-outbound-key"}
JOB = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "gptImageParams": {"quality": "low"}}

#: What the test timer handler saw: (argument, the app that ran it).
ran_timers: list[tuple[str, Flask]] = []
_RAN_LOCK = threading.Lock()


@timer_handler("tests.shared_outbound.note")
def _note(label: str) -> None:
    with _RAN_LOCK:
        ran_timers.append((label, current_app._get_current_object()))  # type: ignore[attr-defined]


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(latency_profile="manual")  # the clock moves only when the test moves it


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


def _client(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


def _runtime(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["pixelmock"]
    return rt


def _advance(app: Flask, seconds: float) -> None:
    """Move the shared virtual clock through ``app`` without running the due work."""
    rt = _runtime(app)
    rt.sync()
    rt.clock.advance(seconds)
    rt.control.changed()


def _tick_together(apps: Sequence[Flask], threads_per_app: int = 3) -> None:
    """Run the due work through each app's control plane (``deliver``) from several threads at once."""
    admins = [PixelmockAdmin.for_app(app) for app in apps for _ in range(threads_per_app)]
    start = threading.Barrier(len(admins))

    def deliver(admin: PixelmockAdmin) -> None:
        start.wait(timeout=30)
        admin.deliver()

    with ThreadPoolExecutor(len(admins)) as pool:
        for done in [pool.submit(deliver, admin) for admin in admins]:
            done.result()


def _submit_apiframe(app: Flask, **extra: Any) -> str:
    with _client(app) as client:
        answer = client.post("/apiframe/v2/images/generate", json={**JOB, **extra}, headers=APIFRAME)
    assert answer.status_code == 202
    return str(answer.json()["jobId"])


# -- timers ------------------------------------------------------------------------------------------


def test_a_timer_set_on_one_app_runs_once_when_the_other_ticks(twin_apps: tuple[Flask, Flask]) -> None:
    a, b = twin_apps
    ran_timers.clear()
    PixelmockAdmin.for_app(a).deliver()  # A publishes the shared clock
    rt = _runtime(a)
    rt.scheduler.at(rt.clock.now(), "test timer", "tests.shared_outbound.note", "once")
    _runtime(b).sync()
    assert _runtime(b).due()
    PixelmockAdmin.for_app(b).deliver()
    assert ran_timers == [("once", b)]
    PixelmockAdmin.for_app(a).deliver()
    PixelmockAdmin.for_app(b).deliver()
    assert ran_timers == [("once", b)] and not _runtime(a).due() and not _runtime(b).due()


def test_timers_due_on_both_apps_at_once_each_run_exactly_once(twin_apps: tuple[Flask, Flask]) -> None:
    a, b = twin_apps
    ran_timers.clear()
    PixelmockAdmin.for_app(a).deliver()
    rt = _runtime(a)
    for n in range(60):
        rt.scheduler.at(rt.clock.now(), f"test timer {n}", "tests.shared_outbound.note", str(n))
    later = rt.clock.now().replace(year=rt.clock.now().year + 1)
    rt.scheduler.at(later, "a timer not due", "tests.shared_outbound.note", "later")
    _tick_together([a, b])
    assert sorted(collections.Counter(label for label, _ in ran_timers).items()) == sorted(
        (str(n), 1) for n in range(60)
    )
    assert not _runtime(b).due()
    _advance(b, 366 * 86400)
    _tick_together([a, b])
    assert [label for label, _ in ran_timers].count("later") == 1


# -- Apiframe webhooks -----------------------------------------------------------------------------------


def test_every_apiframe_event_is_delivered_once_whichever_app_ticks(
    twin_apps: tuple[Flask, Flask], receiver: WebhookReceiver
) -> None:
    a, b = twin_apps
    events = ["progress", "completed", "failed"]
    job_id = _submit_apiframe(a, webhookUrl=f"{receiver.url}/apiframe", webhookEvents=events)
    for second in range(16):  # past the job's 15 s: its queue end, three progress points, its end
        _advance((a, b)[second % 2], 1)
        _tick_together([a, b])
    _tick_together([b, a])  # nothing left: a second round delivers nothing again
    received = receiver.requests
    assert sorted(r.json()["progress"] for r in received if r.header("X-Webhook-Event") == "progress") == [
        6,
        26,
        53,
        80,
    ]
    assert [r.json()["status"] for r in received if r.header("X-Webhook-Event") == "completed"] == [
        "COMPLETED"
    ]
    assert len(received) == 5
    deliveries = PixelmockAdmin.for_app(b).webhooks(group=job_id)
    assert [(d["status"], len(d["attempts"])) for d in deliveries] == [("delivered", 1)] * 5
    with _client(b) as client:
        job = client.get(f"/apiframe/v2/jobs/{job_id}", headers=APIFRAME).json()
    assert (job["status"], job["webhookStatus"]) == ("COMPLETED", "delivered")


def test_apiframe_retries_are_each_made_once_across_the_apps(
    twin_apps: tuple[Flask, Flask], receiver: WebhookReceiver
) -> None:
    a, b = twin_apps
    receiver.fail_next(2, status=503)
    job_id = _submit_apiframe(a, webhookUrl=receiver.url, webhookEvents=["completed"])
    _advance(a, 15)
    _tick_together([a, b])
    assert [r.status for r in receiver.requests] == [503]
    with _client(a) as client:
        job = client.get(f"/apiframe/v2/jobs/{job_id}", headers=APIFRAME).json()
    assert job["webhookStatus"] == "pending"
    _advance(b, 9)
    _tick_together([a, b])
    assert len(receiver.requests) == 1  # the first retry is due 10 s after the first attempt
    _advance(b, 1)
    _tick_together([b, a])
    assert [r.status for r in receiver.requests] == [503, 503]
    _advance(a, 60)
    _tick_together([a, b])
    _tick_together([a, b])
    assert [r.status for r in receiver.requests] == [503, 503, 200]
    [delivery] = PixelmockAdmin.for_app(a).webhooks(group=job_id)
    assert [at["status"] for at in delivery["attempts"]] == [503, 503, 200]
    assert delivery["status"] == "delivered" and delivery["next_attempt_at"] is None


# -- Runware webhooks and uploads ------------------------------------------------------------------------


def test_runware_webhooks_and_uploads_are_each_made_once(
    twin_apps: tuple[Flask, Flask], receiver: WebhookReceiver
) -> None:
    a, b = twin_apps
    bucket = WebhookReceiver()
    try:
        receiver.fail_next(2, status=502)  # each image's first webhook attempt fails: one retry each
        task = image_task(
            numberResults=2,
            outputFormat="PNG",
            webhookURL=f"{receiver.url}/runware",
            uploadEndpoint=f"{bucket.url}/bucket/fox.png",
        )
        with _client(a) as client:
            assert client.post("/runware/v1", json=[task], headers=RUNWARE).status_code == 200
        assert receiver.requests == [] and bucket.requests == []  # not finished yet on the virtual clock
        _advance(b, 600)
        _tick_together([a, b])
        assert [r.status for r in receiver.requests] == [502, 502]
        assert [(r.method, r.path) for r in bucket.requests] == [("PUT", "/bucket/fox.png")] * 2
        _advance(a, 10)
        _tick_together([b, a])
        _tick_together([a, b])
        assert [r.status for r in receiver.requests] == [502, 502, 200, 200]
        images = {r.json()["data"][0]["imageUUID"] for r in receiver.requests}
        assert len(images) == 2 and len(bucket.requests) == 2 and len({r.body for r in bucket.requests}) == 2
        listed = PixelmockAdmin.for_app(b).webhooks(provider="runware", group=task["taskUUID"])
        outcomes = sorted((d["kind"], d["status"], len(d["attempts"])) for d in listed)
        assert outcomes == [("upload", "delivered", 1)] * 2 + [("webhook", "delivered", 2)] * 2
    finally:
        bucket.close()


def test_a_reset_on_one_app_drops_the_deliveries_the_other_owes(
    twin_apps: tuple[Flask, Flask], receiver: WebhookReceiver
) -> None:
    a, b = twin_apps
    _submit_apiframe(a, webhookUrl=receiver.url)
    assert PixelmockAdmin.for_app(b).webhooks() == []  # the job has not ended: nothing owed yet
    _advance(a, 15)
    receiver.fail_next(1, status=503)
    PixelmockAdmin.for_app(b).deliver()
    [delivery] = PixelmockAdmin.for_app(a).webhooks()
    assert delivery["status"] == "pending" and len(receiver.requests) == 1
    PixelmockAdmin.for_app(a).reset()
    assert PixelmockAdmin.for_app(b).webhooks() == []
    _advance(a, 3600)
    _tick_together([a, b])
    assert len(receiver.requests) == 1 and not _runtime(b).due()


# -- files -------------------------------------------------------------------------------------------


def test_a_file_made_on_one_app_is_served_by_the_other_with_the_same_bytes(
    twin_apps: tuple[Flask, Flask],
) -> None:
    a, b = twin_apps
    task = image_task(outputType="URL", outputFormat="WEBP")
    with _client(a) as client:
        answer = client.post("/runware/v1", json=[task], headers=RUNWARE)
        assert answer.status_code == 200
        path = httpx.URL(answer.json()["data"][0]["imageURL"]).path
        on_a = client.get(path)
    with _client(b) as client:
        on_b = client.get(path)
    assert on_a.status_code == on_b.status_code == 200
    assert on_b.headers["content-type"] == on_a.headers["content-type"] == "image/webp"
    assert on_b.content == on_a.content and on_b.content[8:12] == b"WEBP"
