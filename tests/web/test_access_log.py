"""The access log and unmatched requests: one line per request from the app itself (pytest's log capture
here, stderr for a served or scripted app), webhook attempts logged, nothing secret ever logged, and a
path under no provider's prefix answered 404 with the nearest route and journaled as unmatched."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask
from runware_tasks import image_task
from websockets.sync.client import connect

from pixelmock.contracts.providers import entries
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin, PixelmockAdminError
from pixelmock.emulators.tools.pytest_plugin import PixelmockServer, WebhookReceiver

APIFRAME = {"X-API-Key": "afk_access_log_key"}
JOB = {"model": "gpt-image-2", "prompt": "a lighthouse", "gptImage2Params": {"quality": "medium"}}
PROVIDERS = {entry.name: entry.prefix for entry in entries()}  # every provider, mounted at its prefix


@pytest.fixture
def client(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pixelmock.access"]


# -- the access line ---------------------------------------------------------------------------------------


def test_one_line_per_request_with_provider_job_and_cost(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pixelmock")
    created = client.post(
        "/apiframe/v2/images/generate",
        json={**JOB, "gptImage2Params": {"quality": "medium", "number_of_images": 4}},
        headers=APIFRAME,
    )
    job_id = created.json()["jobId"]
    client.get(f"/apiframe/v2/jobs/{job_id}", headers=APIFRAME)
    submit, poll = _access(caplog)
    assert (submit.method, submit.path, submit.status, submit.provider) == (  # type: ignore[attr-defined]
        "POST",
        "/apiframe/v2/images/generate",
        202,
        "apiframe",
    )
    # Apiframe: credits per image by quality times number_of_images; medium x 4 = 36 (pricing.yaml)
    assert submit.job == job_id and submit.cost == {"credits": "36"}  # type: ignore[attr-defined]
    assert submit.getMessage().startswith("POST /apiframe/v2/images/generate 202 ")
    assert submit.getMessage().endswith(f"ms apiframe job={job_id} cost=36 credits")
    assert (poll.path, poll.job, poll.cost) == (f"/apiframe/v2/jobs/{job_id}", job_id, None)  # type: ignore[attr-defined]
    assert submit.levelno == poll.levelno == logging.INFO


def test_no_query_string_header_or_body_is_logged(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "pixelmock")
    secret = "sk-secret-value-0123456789"
    client.post(
        f"/openai/v1/images/generations?api_key={secret}",
        json={"model": "gpt-image-2", "prompt": secret},
        headers={"Authorization": f"Bearer {secret}"},
    )
    client.get(f"/v1/images/generations?token={secret}")
    assert len(_access(caplog)) == 2
    for record in _access(caplog):
        assert secret not in record.getMessage()
        assert secret not in json.dumps({k: str(v) for k, v in record.__dict__.items()})


def test_control_plane_lines_are_debug_and_log_level_filters(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "pixelmock")
    app = create_app(EmulatorConfig(log_level="warning"))
    client = app.test_client()
    client.get("/__admin/clock")
    client.get("/openai/v1/models", headers={"Authorization": "Bearer sk-a"})
    client.get("/v1/models")
    assert [(r.levelno, r.path) for r in _access(caplog)] == [(logging.WARNING, "/v1/models")]  # type: ignore[attr-defined]
    create_app(EmulatorConfig(log_level="debug")).test_client().get("/__admin/clock")
    assert [(r.levelno, r.path) for r in _access(caplog)][-1] == (logging.DEBUG, "/__admin/clock")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("field", "value"), [("log_level", "loud"), ("log_format", "xml")])
def test_unknown_log_settings_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        create_app(EmulatorConfig(**{field: value}))


def test_under_pytest_lines_go_to_the_log_capture_not_stderr(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pixelmock")
    create_app(EmulatorConfig()).test_client().get("/__health")
    assert [r.getMessage().split(" ")[:3] for r in _access(caplog)] == [["GET", "/__health", "200"]]
    assert "__health" not in capfd.readouterr().err


_SCRIPT = """
    from pixelmock.emulators import EmulatorConfig, create_app
    client = create_app(EmulatorConfig(log_format={fmt!r})).test_client()
    client.post("/apiframe/v2/images/generate", json={job!r}, headers={headers!r})
    client.get("/v1/images/generations?key=hidden")
"""


def _script_stderr(fmt: str) -> list[str]:
    code = textwrap.dedent(_SCRIPT.format(fmt=fmt, job=JOB, headers=APIFRAME))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    return done.stderr.splitlines()


def test_an_app_outside_pytest_writes_text_lines_to_stderr() -> None:
    submit, unmatched = _script_stderr("text")
    when, level, rest = submit.split(" ", 2)
    assert when.endswith("Z") and "T" in when and level == "INFO"
    assert rest.startswith("POST /apiframe/v2/images/generate 202 ")
    assert rest.endswith(" cost=9 credits")  # gpt-image-2 medium: 9 credits (pricing.yaml)
    assert unmatched.split(" ", 2)[1:] == [
        "WARNING",
        unmatched.split(" ", 2)[2],
    ] and unmatched.endswith("hint='did you mean /openai/v1/images/generations?'")
    assert "hidden" not in unmatched


def test_the_json_format_is_one_object_per_line() -> None:
    submit, unmatched = (json.loads(line) for line in _script_stderr("json"))
    assert submit["logger"] == "pixelmock.access" and submit["level"] == "info"
    assert (submit["method"], submit["path"], submit["status"]) == (
        "POST",
        "/apiframe/v2/images/generate",
        202,
    )
    assert submit["provider"] == "apiframe" and submit["cost"] == {"credits": "9"} and submit["job"]
    assert isinstance(submit["ms"], float) and submit["time"].endswith("Z")
    assert unmatched["level"] == "warning" and unmatched["status"] == 404
    assert unmatched["hint"] == "did you mean /openai/v1/images/generations?"


# -- outbound attempts -------------------------------------------------------------------------------------


def test_webhook_attempts_are_logged_delivered_or_refused(
    pixelmock_server: PixelmockServer,
    pixelmock_admin: PixelmockAdmin,
    pixelmock_receiver: WebhookReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "pixelmock")
    base = pixelmock_server.base_url("apiframe")
    hook = f"{pixelmock_receiver.url}/hook?token=s3cret-token-value"
    for url in (hook, "http://app:3000/hook"):
        httpx.post(f"{base}/v2/images/generate", json={**JOB, "webhookUrl": url}, headers=APIFRAME)
    pixelmock_admin.advance(600)
    outbound = [r for r in caplog.records if r.name == "pixelmock.outbound"]
    refused = [r for r in outbound if r.levelno == logging.WARNING]
    delivered = [r for r in outbound if r.levelno == logging.INFO]
    assert [r.path for r in refused] == ["http://app:3000/hook"]  # type: ignore[attr-defined]
    assert "refused" in refused[0].getMessage() and "not a loopback address" in refused[0].outcome  # type: ignore[attr-defined]
    assert delivered and {r.path for r in delivered} == {f"{pixelmock_receiver.url}/hook"}  # type: ignore[attr-defined]
    assert len(delivered) == len(pixelmock_receiver.requests)
    first = delivered[0].getMessage()
    assert first.startswith(f"outbound webhook POST {pixelmock_receiver.url}/hook 200 ")
    assert " apiframe job=" in first and first.endswith("attempt=1 delivered")
    assert all("s3cret" not in r.getMessage() for r in outbound)


# -- unmatched requests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "nearest"),
    [
        ("POST", "/v1/images/generations", "/openai/v1/images/generations"),
        ("POST", "/images/edits", "/openai/v1/images/edits"),
        (
            "GET",
            "/v2/jobs/0b9b1e7e-8f5c-4a8e-9d0e-7e4f1c2b3a4d",
            "/apiframe/v2/jobs/0b9b1e7e-8f5c-4a8e-9d0e-7e4f1c2b3a4d",
        ),
        (
            "POST",
            "/client/v4/accounts/abc/ai/run/@cf/openai/gpt-image-2",
            "/cloudflare/client/v4/accounts/abc/ai/run/@cf/openai/gpt-image-2",
        ),
        ("POST", "/openai/images/generations", "/openai/v1/images/generations"),
        ("GET", "/v1/images/generations", "/openai/v1/images/generations"),  # the path exists for POST
    ],
)
def test_a_path_under_no_prefix_gets_the_nearest_route(
    client: httpx.Client, method: str, path: str, nearest: str
) -> None:
    answer = client.request(method, path)
    assert answer.status_code == 404
    body = answer.json()
    assert body["did_you_mean"] == nearest and body["hint"] == f"did you mean {nearest}?"
    assert body["providers"] == PROVIDERS
    assert f"did you mean {nearest}?" in body["error"] and "/runware/v1 (runware)" in body["error"]


def test_a_path_near_nothing_still_lists_the_prefixes(client: httpx.Client) -> None:
    body = client.get("/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz").json()
    assert body["did_you_mean"] is None and body["providers"] == PROVIDERS


def test_unmatched_requests_are_journaled_and_filtered(app: Flask, client: httpx.Client) -> None:
    admin = PixelmockAdmin.for_app(app)
    client.post("/v1/images/generations", json={"prompt": "x", "apiKey": "sk-never-journaled-12345"})
    client.get("/openai/v1/models", headers={"Authorization": "Bearer sk-a"})
    [unmatched] = admin.journal(unmatched=True)
    assert (unmatched["provider"], unmatched["path"], unmatched["status"]) == (
        "",
        "/v1/images/generations",
        404,
    )
    assert unmatched["route"] is None and unmatched["unmatched"] is True
    assert unmatched["request"]["body"] == {"prompt": "x", "apiKey": "REDACTED"}
    assert unmatched["response"]["body"]["did_you_mean"] == "/openai/v1/images/generations"
    assert [e["path"] for e in admin.journal(unmatched=False)] == ["/openai/v1/models"]
    with pytest.raises(PixelmockAdminError) as info:
        admin._call("GET", "/journal", params={"unmatched": "yes"})
    assert info.value.status == 400


def test_unknown_routes_under_a_prefix_keep_the_providers_body_and_log_a_hint(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pixelmock")
    answer = client.post("/openai/v1/images/generation", json={}, headers={"Authorization": "Bearer sk-a"})
    assert answer.status_code == 404
    body: dict[str, Any] = answer.json()
    assert set(body) == {"error"} and body["error"]["type"] == "invalid_request_error"  # OpenAI's own
    [record] = _access(caplog)
    assert record.hint == "did you mean /openai/v1/images/generations?"  # type: ignore[attr-defined]
    assert record.levelno == logging.INFO and record.provider == "openai"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/__admin/nothing", "/files/nothing", "/__health/x"])
def test_the_emulators_own_paths_are_not_unmatched(client: httpx.Client, app: Flask, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404 and "did_you_mean" not in answer.json()
    assert PixelmockAdmin.for_app(app).journal(unmatched=True) == []


# -- WebSocket messages ------------------------------------------------------------------------------------


def test_each_websocket_message_gets_a_line_and_its_task_is_billed(
    live_url: str, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pixelmock")
    task = image_task(includeCost=True)
    with connect(live_url.replace("http://", "ws://") + "/runware/v1", open_timeout=5, close_timeout=2) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "ws-log-key-0123456789"}]))
        ws.recv(timeout=10)
        ws.send(json.dumps([task]))
        [item] = json.loads(ws.recv(timeout=10))["data"]
    messages = [r for r in _access(caplog) if r.method == "WEBSOCKET"]  # type: ignore[attr-defined]
    assert len(messages) == 2
    auth, run = messages
    assert (auth.status, auth.job, auth.cost) == (101, None, None)  # type: ignore[attr-defined]
    assert (run.path, run.provider, run.job) == ("/runware/v1", "runware", task["taskUUID"])  # type: ignore[attr-defined]
    assert Decimal(run.cost["USD"]) == Decimal(str(item["cost"]))  # type: ignore[attr-defined]
    assert "ws-log-key" not in " ".join(r.getMessage() for r in caplog.records)
    [row] = PixelmockAdmin.for_app(app).bill().rows
    assert (row.provider, row.model, row.requests, row.images) == ("runware", "gpt-image-1.5", 1, 1)
    assert row.cost == {"USD": Decimal(str(item["cost"]))}
