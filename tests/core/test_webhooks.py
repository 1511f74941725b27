"""Outbound delivery: Apiframe's signed job events and Runware's per-image posts reach a receiver on
127.0.0.1, failed attempts are retried on the virtual clock and every attempt is journaled; Runware's
uploadEndpoint gets the raw image; nothing outside loopback is ever called unless the config says so.

Signatures are checked with the scheme Apiframe documents (docs-v2.apiframe.ai/docs/webhooks and the
Node SDK's src/webhooks.ts), written out here rather than taken from the emulator."""

from __future__ import annotations

import hashlib
import hmac
import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image
from runware_tasks import image_task

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.webhooks import refusal, scrub_url
from pixelmock.emulators.tools.pytest_plugin import PixelmockServer, WebhookReceiver

API_KEY = "afk_webhook_test_key"
APIFRAME = {"X-API-Key": API_KEY}
BEARER = {"Authorization": f"Bearer {API_KEY}"}
JOB = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "gptImageParams": {"quality": "low"}}


def verify_apiframe_signature(body: bytes, header: str, api_key: str) -> bool:
    """Apiframe's documented check: secret = SHA-256(api key) (raw digest), HMAC-SHA256 of the raw body,
    hex, sent as ``sha256=<hex>`` (or bare hex)."""
    secret = hashlib.sha256(api_key.encode()).digest()
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256="), expected)


def _submit(server: PixelmockServer, **extra: Any) -> str:
    answer = httpx.post(
        f"{server.base_url('apiframe')}/v2/images/generate", json={**JOB, **extra}, headers=APIFRAME
    )
    assert answer.status_code == 202
    return str(answer.json()["jobId"])


def _job(server: PixelmockServer, job_id: str) -> dict[str, Any]:
    return dict(httpx.get(f"{server.base_url('apiframe')}/v2/jobs/{job_id}", headers=APIFRAME).json())


# -- the loopback rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("http://127.0.0.1:9/hook", (), True),
        ("http://127.8.9.10/hook", (), True),
        ("http://[::1]:8080/hook", (), True),
        ("https://localhost/hook", (), True),
        ("http://10.0.0.1/hook", (), False),
        ("https://hooks.example.com/apiframe", (), False),
        ("http://localhost.example.com/", (), False),
        ("ftp://127.0.0.1/x", (), False),
        ("http://127.0.0.1:99999/x", (), False),
        ("https://hooks.example.com/apiframe", ("hooks.example.com",), True),
        ("http://10.1.2.3/hook", ("10.0.0.0/8",), True),
        ("https://anywhere.example/x", ("*",), True),
    ],
)
def test_only_loopback_targets_are_called_unless_widened(
    url: str, allowed: tuple[str, ...], ok: bool
) -> None:
    assert (refusal(url, allowed) is None) is ok


def test_credentials_in_target_urls_are_scrubbed() -> None:
    assert scrub_url("https://h/x?token=abc&a=1") == "https://h/x?token=REDACTED&a=1"
    assert scrub_url("https://h/x?a=1") == "https://h/x?a=1"


# -- Apiframe ------------------------------------------------------------------------------------------


def test_apiframe_events_are_signed_as_documented_and_the_job_moves_without_polls(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    job_id = _submit(pixelmock_server, webhookUrl=f"{pixelmock_receiver.url}/apiframe?token=s3cret")
    [request] = pixelmock_receiver.wait_for(1)  # after the 202, without a single poll
    assert request.method == "POST" and request.path == "/apiframe?token=s3cret"
    assert request.header("X-Webhook-Event") == "completed"
    signature = request.header("X-Webhook-Signature") or ""
    assert signature.startswith("sha256=") and verify_apiframe_signature(request.body, signature, API_KEY)
    assert not verify_apiframe_signature(request.body, signature, "afk_another_key")
    event = request.json()
    # the documented completed payload, in its order (docs-v2.apiframe.ai/docs/webhooks)
    assert list(event) == [
        "event",
        "jobId",
        "status",
        "progress",
        "result",
        "model",
        "creditCost",
        "completedAt",
    ]
    assert (event["event"], event["jobId"], event["status"], event["progress"]) == (
        "completed",
        job_id,
        "COMPLETED",
        100,
    )
    assert httpx.get(event["result"]["images"][0]).status_code == 200  # the job's own image URL
    job = _job(pixelmock_server, job_id)
    assert (job["status"], job["webhookStatus"]) == ("COMPLETED", "delivered")
    [delivery] = pixelmock_admin.webhooks(provider="apiframe")
    assert delivery["url"].endswith("?token=REDACTED") and delivery["status"] == "delivered"
    [attempt] = pixelmock_admin.journal(path=pixelmock_receiver.url)
    assert attempt["route"] == "POST (outbound webhook)" and attempt["status"] == 200
    assert attempt["path"].endswith("token=REDACTED")


@pytest.mark.pixelmock(latency_profile="manual")
def test_apiframe_progress_events_follow_the_clock(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    job_id = _submit(
        pixelmock_server, webhookUrl=pixelmock_receiver.url, webhookEvents=["progress", "completed", "failed"]
    )
    for _ in range(16):
        pixelmock_admin.advance(1)  # 16 s: past Apiframe's 15 s
    received = pixelmock_receiver.wait_for(5)
    events = [(r.header("X-Webhook-Event"), r.json().get("progress")) for r in received]
    assert [e for e, _ in events] == ["progress"] * 4 + ["completed"]
    progress = [p for e, p in events if e == "progress"]
    # the end of the queue time (1 s) and a quarter, half, three quarters of the 15 s (webhooks.yaml)
    assert progress == [6, 26, 53, 80]
    assert list(received[0].json()) == ["event", "jobId", "status", "progress", "model"]
    assert all(
        verify_apiframe_signature(r.body, r.header("X-Webhook-Signature") or "", API_KEY) for r in received
    )
    assert _job(pixelmock_server, job_id)["webhookStatus"] == "delivered"


def test_a_failed_job_sends_the_failed_event_only_when_subscribed(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    pixelmock_admin.add_fault("content_policy", provider="apiframe", times=2)
    _submit(pixelmock_server, webhookUrl=pixelmock_receiver.url, webhookEvents=["completed"])
    job_id = _submit(pixelmock_server, webhookUrl=pixelmock_receiver.url)  # default: completed, failed
    [request] = pixelmock_receiver.wait_for(1)
    assert request.json() == {
        "event": "failed",
        "jobId": job_id,
        "status": "FAILED",
        "error": "Provider returned an error: content policy violation",
        "model": "gpt-image-1.5",
    }
    time.sleep(0.1)
    assert len(pixelmock_receiver.requests) == 1


@pytest.mark.pixelmock(latency_profile="manual")
def test_failed_attempts_are_retried_on_the_virtual_clock_and_journaled(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    pixelmock_receiver.fail_next(2, status=503)
    job_id = _submit(pixelmock_server, webhookUrl=pixelmock_receiver.url)
    pixelmock_admin.advance(15)  # the job completes: first attempt, 503
    assert _job(pixelmock_server, job_id)["webhookStatus"] == "pending"
    [delivery] = pixelmock_admin.webhooks(group=job_id)
    assert delivery["schedule"][:2] == [10, 60]  # contracts/data/webhooks.yaml (a recorded choice)
    pixelmock_admin.advance(9)
    assert len(pixelmock_receiver.requests) == 1  # not due yet
    pixelmock_admin.advance(1)
    assert len(pixelmock_receiver.requests) == 2
    pixelmock_admin.advance(60)
    received = pixelmock_receiver.wait_for(3)
    assert [r.status for r in received] == [503, 503, 200]
    assert len({r.body for r in received}) == 1  # the same event, byte for byte
    [delivery] = pixelmock_admin.webhooks(group=job_id)
    assert [a["status"] for a in delivery["attempts"]] == [503, 503, 200]
    assert (
        delivery["status"] == "delivered" and _job(pixelmock_server, job_id)["webhookStatus"] == "delivered"
    )
    journaled = pixelmock_admin.journal(path=pixelmock_receiver.url)
    assert [e["status"] for e in journaled] == [503, 503, 200]
    assert [e["seq"] for e in journaled] == [a["journal_seq"] for a in delivery["attempts"]]
    assert [n["outbound"]["attempt"] for e in journaled for n in e["notes"]] == [1, 2, 3]


@pytest.mark.pixelmock(webhook_retry_schedule=[5])
def test_a_delivery_fails_after_its_last_retry(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    pixelmock_receiver.fail_next(5, status=500)
    job_id = _submit(pixelmock_server, webhookUrl=pixelmock_receiver.url)
    pixelmock_receiver.wait_for(1)
    pixelmock_admin.advance(5)
    pixelmock_admin.advance(3600)
    assert len(pixelmock_receiver.requests) == 2
    assert _job(pixelmock_server, job_id)["webhookStatus"] == "failed"
    assert pixelmock_admin.webhooks(status="failed")[0]["next_attempt_at"] is None


def test_a_target_outside_loopback_is_refused_without_a_connection(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin
) -> None:
    job_id = _submit(pixelmock_server, webhookUrl="https://hooks.example.com/apiframe")
    pixelmock_admin.deliver()
    assert _job(pixelmock_server, job_id)["webhookStatus"] == "failed"
    [delivery] = pixelmock_admin.webhooks()
    assert delivery["status"] == "refused"
    [attempt] = delivery["attempts"]
    assert attempt["status"] == 0 and "not a loopback address" in attempt["error"]
    [entry] = pixelmock_admin.journal(path="hooks.example.com")
    assert entry["status"] == 0 and entry["response"]["error"] == attempt["error"]


# -- Runware -----------------------------------------------------------------------------------------------


def _task(**fields: Any) -> dict[str, Any]:
    return image_task(**{"positivePrompt": "a fox", "includeCost": True, **fields})


def test_runware_posts_each_finished_image_and_retries_until_a_2xx(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    pixelmock_receiver.fail_next(1, status=502)
    task = _task(numberResults=2, webhookURL=f"{pixelmock_receiver.url}/runware?token=t0k")
    ack = httpx.post(pixelmock_server.base_url("runware"), json=[task], headers=BEARER).json()
    assert ack == {"data": [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]}
    first = pixelmock_receiver.wait_for(2)
    assert [r.status for r in first] == [502, 200]
    pixelmock_admin.advance(10)  # the first image's retry
    received = pixelmock_receiver.wait_for(3)
    bodies = [r.json() for r in received if r.status == 200]
    items = [item for body in bodies for item in body["data"]]
    assert all(len(body["data"]) == 1 for body in bodies)  # one POST per image
    assert {item["taskUUID"] for item in items} == {task["taskUUID"]}
    assert len({item["imageUUID"] for item in items}) == 2
    assert all(item["imageURL"].startswith(pixelmock_server.url) and item["cost"] > 0 for item in items)
    deliveries = pixelmock_admin.webhooks(provider="runware", group=task["taskUUID"])
    assert [d["status"] for d in deliveries] == ["delivered", "delivered"]
    assert [len(d["attempts"]) for d in deliveries] == [2, 1]


def test_runware_uploads_the_raw_image_with_put(
    pixelmock_server: PixelmockServer, pixelmock_admin: PixelmockAdmin, pixelmock_receiver: WebhookReceiver
) -> None:
    task = _task(uploadEndpoint=f"{pixelmock_receiver.url}/bucket/fox.png", outputFormat="PNG")
    answer = httpx.post(pixelmock_server.base_url("runware"), json=[task], headers=BEARER)
    assert answer.status_code == 200
    [upload] = pixelmock_receiver.wait_for(1)
    assert (upload.method, upload.path, upload.header("Content-Type")) == (
        "PUT",
        "/bucket/fox.png",
        "image/png",
    )
    with Image.open(io.BytesIO(upload.body)) as image:
        assert (image.format, image.size) == ("PNG", (1024, 1024))
    [delivery] = pixelmock_admin.webhooks(provider="runware")
    assert (delivery["kind"], delivery["method"], delivery["body"]) == (
        "upload",
        "PUT",
        {"bytes": len(upload.body)},
    )


def test_a_background_ticker_delivers_retries_without_requests() -> None:
    receiver = WebhookReceiver()
    try:
        app = create_app(EmulatorConfig(tick_seconds=0.02, webhook_retry_schedule=(0.05,)))
        receiver.fail_next(1)
        client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
        task = _task(webhookURL=receiver.url)
        client.post("/runware/v1", json=[task], headers=BEARER)
        assert [r.status for r in receiver.wait_for(2, timeout=5)] == [500, 200]
    finally:
        receiver.close()
        app.extensions["pixelmock"]._ticker.stop()
