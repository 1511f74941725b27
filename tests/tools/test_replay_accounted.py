"""Replay that matches on a request's meaning and answers that are all accounted for (issue 25): the
official runware-sdk re-sends a recorded task under a fresh taskUUID and gets the recording, under its
own id; replayed and faulted answers are journaled and access-logged with where they came from."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from runware import Runware
from runware_tasks import image_task
from simple_websocket import Client as WebSocketClient  # type: ignore[import-untyped]

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.proxy import create_proxy
from pixelmock.emulators.tools.replay import REPLAYED_HEADER, replaying
from pixelmock.emulators.tools.server import running

KEY = "sk-replay-accounted-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {KEY}"}
OPENAI_JOB = {"model": "gpt-image-2", "prompt": "a lighthouse", "size": "1024x1024", "quality": "low"}


def _task() -> dict[str, Any]:
    """A sync gpt-image-2 task under a fresh taskUUID, as every client mints one per task."""
    return image_task(model="openai:gpt-image@2", deliveryMethod="sync", includeCost=True)


def _sdk_run(server: str, task: dict[str, Any], transport: str = "rest") -> list[dict[str, Any]]:
    """``task`` run by the official runware-sdk against ``server`` over ``transport`` (rest/websocket)."""

    async def run() -> list[dict[str, Any]]:
        url = server + "/runware/v1"
        where = (
            {"http_base_url": url} if transport == "rest" else {"ws_base_url": url.replace("http", "ws", 1)}
        )
        async with Runware(api_key=KEY, transport=transport, validate=False, max_retries=0, **where) as sdk:
            return list(await sdk.run(task))

    return asyncio.run(run())


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A Runware task run by the SDK through the proxy against a second pixelmock (127.0.0.1)."""
    with running(create_app(EmulatorConfig())) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        with running(create_proxy(bases, record_dir=tmp_path / "rec")) as url:
            items = _sdk_run(url, _task())
    yield tmp_path / "rec", items


def test_the_sdk_resending_a_task_under_a_fresh_uuid_is_answered_from_the_cassette(
    recorded: tuple[Path, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    folder, first = recorded
    app = replaying(create_app(EmulatorConfig()), folder, "none")
    again = _task()
    with caplog.at_level(logging.INFO, logger="pixelmock.access"), running(app) as url:
        [item] = _sdk_run(url, again)
    assert item["taskUUID"] == again["taskUUID"] != first[0]["taskUUID"]
    assert item["imageURL"] == first[0]["imageURL"]  # the recording's, not a new image
    assert item["cost"] == first[0]["cost"]
    [entry] = [e for e in app.extensions["pixelmock"].journal.entries() if e.provider == "runware"]
    assert {"answered_by": "cassette"}.items() <= entry.notes[0].items()
    assert entry.notes[0]["replayed"].endswith("#0")
    lines = [r.getMessage() for r in caplog.records if r.name == "pixelmock.access"]
    assert any(line.startswith("POST /runware/v1") and line.endswith("from=cassette") for line in lines)


def test_a_different_task_is_not_matched_and_the_near_miss_names_the_field(
    recorded: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, _ = recorded
    app = replaying(create_app(EmulatorConfig()), folder, "none")
    other = {**_task(), "positivePrompt": "a different prompt"}
    answer = app.test_client().post("/runware/v1", json=[other], headers=BEARER)
    assert answer.status_code == 200 and REPLAYED_HEADER not in answer.headers
    [entry] = [e for e in app.extensions["pixelmock"].journal.entries() if e.provider == "runware"]
    [near] = [n["replay_near_miss"] for n in entry.notes if "replay_near_miss" in n]
    assert near["field"] == "$[0].positivePrompt" and near["cassette"].endswith("#0")


@pytest.fixture
def recorded_websocket(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A Runware task run by the SDK over the WebSocket through the proxy against a second pixelmock
    (127.0.0.1); the proxy writes the session's cassette once the SDK has closed the connection."""
    folder = tmp_path / "rec"
    with running(create_app(EmulatorConfig())) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        with running(create_proxy(bases, record_dir=folder)) as url:
            items = _sdk_run(url, _task(), "websocket")
            stop = time.monotonic() + 20
            while not list(folder.rglob("*-websocket.yaml")):
                assert time.monotonic() < stop, "the WebSocket session was never written"
                time.sleep(0.05)
    yield folder, items


def test_the_sdk_over_websocket_is_answered_from_the_cassette_under_its_fresh_uuid(
    recorded_websocket: tuple[Path, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    folder, first = recorded_websocket
    app = replaying(create_app(EmulatorConfig()), folder, "none")
    again = _task()
    with caplog.at_level(logging.INFO, logger="pixelmock.access"), running(app) as url:
        [item] = _sdk_run(url, again, "websocket")
    assert item["taskUUID"] == again["taskUUID"] != first[0]["taskUUID"]
    assert (item["imageURL"], item["cost"]) == (first[0]["imageURL"], first[0]["cost"])
    messages = [e for e in app.extensions["pixelmock"].journal.entries() if e.method == "WEBSOCKET"]
    assert messages and all({"answered_by": "cassette"}.items() <= e.notes[0].items() for e in messages)
    assert not app.extensions["pixelmock"].bill.rows()  # nothing ran: every frame came from the cassette
    lines = [r.getMessage() for r in caplog.records if r.name == "pixelmock.access"]
    assert any(line.startswith("WEBSOCKET /runware/v1") and line.endswith("from=cassette") for line in lines)


def test_a_websocket_task_no_recording_matches_gets_an_error_frame_and_a_near_miss(
    recorded_websocket: tuple[Path, list[dict[str, Any]]],
) -> None:
    folder, _ = recorded_websocket
    app = replaying(create_app(EmulatorConfig()), folder, "none")
    other = {**_task(), "positivePrompt": "a different prompt"}
    with running(app) as url:
        ws = WebSocketClient.connect(url.replace("http", "ws", 1) + "/runware/v1")
        try:
            ws.send(json.dumps([{"taskType": "authentication", "apiKey": "sk-any-other-key-0123456789"}]))
            authenticated = json.loads(ws.receive(timeout=10))
            ws.send(json.dumps([other]))
            refused = json.loads(ws.receive(timeout=10))
        finally:
            ws.close()
    assert authenticated["data"][0]["connectionSessionUUID"]
    [error] = refused["errors"]
    assert (error["code"], error["taskUUID"], error["taskType"]) == (
        "noRecordedAnswer",
        other["taskUUID"],
        "imageInference",
    )
    entries = [e for e in app.extensions["pixelmock"].journal.entries() if e.method == "WEBSOCKET"]
    [near] = [n["replay_near_miss"] for n in entries[-1].notes if "replay_near_miss" in n]
    assert near["field"] == "$[0].positivePrompt"
    assert {"answered_by": "replay"} in entries[-1].notes


def test_injected_faults_get_an_access_line_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(EmulatorConfig())
    client = app.test_client()
    rule = {"kind": "server_error", "provider": "openai", "times": 1}
    assert client.post("/__admin/faults", json=rule).status_code == 201
    with caplog.at_level(logging.INFO, logger="pixelmock.access"):
        by_rule = client.post("/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
        by_header = client.post(
            "/openai/v1/images/generations",
            json=OPENAI_JOB,
            headers={**BEARER, "X-Pixelmock-Fault": "rate_limit"},
        )
    assert (by_rule.status_code, by_header.status_code) == (500, 429)
    lines = [r.getMessage() for r in caplog.records if r.name == "pixelmock.access"]
    assert [line.split()[2] for line in lines] == ["500", "429"]
    assert all(line.endswith("from=fault") for line in lines)
    entries = [e for e in app.extensions["pixelmock"].journal.entries() if e.provider == "openai"]
    assert all(any(n.get("answered_by") == "fault" for n in e.notes) for e in entries)


def test_the_proxy_logs_every_answer_and_answers_a_wrong_path_with_json(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running(create_app(EmulatorConfig())) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        proxy = create_proxy(bases, record_dir=tmp_path)
        with caplog.at_level(logging.INFO, logger="pixelmock.access"), running(proxy) as url:
            served = httpx.post(url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
            wrong = httpx.get(url + "/v1/images/generations")
            bill = httpx.get(url + "/__admin/bill").json()
        charged = httpx.get(upstream_url + "/__admin/bill").json()
    assert served.status_code == 200
    assert wrong.status_code == 404 and wrong.headers["content-type"].startswith("application/json")
    assert wrong.json()["did_you_mean"] == "/openai/v1/images/generations"
    lines = [r.getMessage() for r in caplog.records if r.name == "pixelmock.access"]
    assert any(
        line.startswith("POST /openai/v1/images/generations 200") and "from=upstream" in line
        for line in lines
    )
    assert any(line.startswith("GET /v1/images/generations 404") for line in lines)
    # The bill is built from what passed through: the upstream's usage, priced, is what it charged.
    [row] = bill["rows"]
    assert (row["provider"], row["model"], row["requests"]) == ("openai", "gpt-image-2", 1)
    assert bill["totals"] == charged["totals"] and bill["totals"]["USD"] != "0"


def test_the_proxy_bills_streamed_answers_and_nothing_for_answers_that_report_no_cost(tmp_path: Path) -> None:
    """Streamed OpenAI answers (Images API and Responses API) are billed from their completed events'
    usage, as the upstream charged them; Cloudflare's and GMI's answers report no cost (their contracts'
    ``x-reported-cost: reports: nothing``), so the proxy's bill has no line for them though the upstream
    charged."""
    streamed = {**OPENAI_JOB, "stream": True, "partial_images": 1}
    responses = {
        "model": "gpt-5",
        "input": "draw a lighthouse",
        "tools": [{"type": "image_generation", "quality": "low", "size": "1024x1024"}],
        "tool_choice": {"type": "image_generation"},
        "stream": True,
    }
    with running(create_app(EmulatorConfig())) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        with running(create_proxy(bases, record_dir=tmp_path)) as url:
            for path, body in (
                ("/openai/v1/images/generations", streamed),
                ("/openai/v1/responses", responses),
            ):
                with httpx.stream("POST", url + path, json=body, headers=BEARER) as answer:
                    assert answer.status_code == 200
                    assert answer.headers["content-type"].startswith("text/event-stream")
                    events = answer.read().decode()
                assert "completed" in events
            cloudflare = httpx.post(
                url + "/cloudflare/client/v4/accounts/acct/ai/run",
                json={"model": "openai/gpt-image-2", "input": {"prompt": "a fox", "quality": "low"}},
                headers=BEARER,
            )
            gmi = httpx.post(
                url + "/gmicloud/api/v1/ie/requestqueue/apikey/requests",
                json={"model": "gpt-image-2", "payload": {"prompt": "a fox", "quality": "low"}},
                headers=BEARER,
            )
            assert (cloudflare.status_code, gmi.status_code) == (200, 200)
            stop = time.monotonic() + 20  # a stream is billed once the proxy has read it to the end
            while sum(r["requests"] for r in _bill(url)["rows"]) < 2:
                assert time.monotonic() < stop, _bill(url)
                time.sleep(0.05)
            bill = _bill(url)
        charged = httpx.get(upstream_url + "/__admin/bill").json()
    by_provider = {r["provider"] for r in bill["rows"]}
    assert by_provider == {"openai"}
    charged_openai = [r for r in charged["rows"] if r["provider"] == "openai"]
    assert {r["provider"] for r in charged["rows"]} == {"openai", "cloudflare", "gmicloud"}
    assert sum(r["requests"] for r in bill["rows"]) == sum(r["requests"] for r in charged_openai) == 2
    assert Decimal(bill["totals"]["USD"]) == sum(Decimal(r["cost"]["USD"]) for r in charged_openai) > 0


def _bill(url: str) -> dict[str, Any]:
    return dict(httpx.get(url + "/__admin/bill").json())
