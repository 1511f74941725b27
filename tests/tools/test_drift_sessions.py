"""Drift that tells the truth (issue 25): a session recorded through the proxy against a second pixelmock
replays in order against one emulator with no drift, a tampered field shows as exactly that field, and
the repository's own cassettes show none."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask
from paths import CASSETTES
from runware_tasks import image_task
from simple_websocket import Client as WebSocketClient  # type: ignore[import-untyped]

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.drift import drift_paths, recorded_on, sessions
from pixelmock.emulators.tools.drift import run as run_drift
from pixelmock.emulators.tools.proxy import create_proxy
from pixelmock.emulators.tools.server import running

KEY = "sk-drift-session-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {KEY}"}
APIFRAME = {"X-API-Key": KEY}


@contextmanager
def _proxied(folder: Path) -> Iterator[tuple[Flask, str, str]]:
    """A second pixelmock whose jobs wait for its clock (``manual``) and a proxy recording under
    ``folder`` in front of it, both on 127.0.0.1: ``(upstream app, upstream URL, proxy URL)``."""
    upstream = create_app(EmulatorConfig(latency_profile="manual"))
    with running(upstream) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        with running(create_proxy(bases, record_dir=folder)) as url:
            yield upstream, upstream_url, url


def _submit(url: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = httpx.post(
        url + "/apiframe/v2/images/generate",
        json={"prompt": "a fox", "model": "gpt-image-2"},
        headers=headers,
    )
    return dict(answer.json())


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One proxy run against a second pixelmock whose jobs wait for its clock (``manual``): an Apiframe job
    polled while pending then done, a Runware async task polled twice, an OpenAI generation and an edit
    of its image. Both servers on 127.0.0.1, stopped on leaving."""
    folder = tmp_path_factory.mktemp("session")
    with _proxied(folder) as (_, upstream_url, url):
        job = _submit(url, APIFRAME)
        for _ in range(2):
            pending = httpx.get(url + f"/apiframe/v2/jobs/{job['jobId']}", headers=APIFRAME).json()
            assert pending["status"] != "COMPLETED"
        task = image_task(model="openai:gpt-image@2", deliveryMethod="async")
        httpx.post(url + "/runware/v1", json=[task], headers=BEARER)
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        httpx.post(url + "/runware/v1", json=poll, headers=BEARER)
        generated = httpx.post(
            url + "/openai/v1/images/generations",
            json={
                "model": "gpt-image-2",
                "prompt": "a lighthouse",
                "size": "1024x1024",
                "quality": "low",
            },
            headers=BEARER,
        ).json()
        assert httpx.post(upstream_url + "/__admin/clock/advance", json={"seconds": 3600}).is_success
        done = httpx.get(url + f"/apiframe/v2/jobs/{job['jobId']}", headers=APIFRAME).json()
        assert done["status"] == "COMPLETED"
        httpx.post(url + "/runware/v1", json=poll, headers=BEARER)
        image = base64.b64decode(generated["data"][0]["b64_json"])
        edited = httpx.post(
            url + "/openai/v1/images/edits",
            data={"model": "gpt-image-2", "prompt": "add a moon", "quality": "low"},
            files={"image": ("in.png", image, "image/png")},
            headers=BEARER,
        )
        assert edited.status_code == 200
        _websocket_tasks(url, upstream_url)
        _eventually_written(folder / "runware", "-websocket.yaml")
    yield folder


def _websocket_tasks(url: str, upstream_url: str) -> None:
    """On Runware's WebSocket through the proxy: authentication, a sync imageInference task with its cost
    and image URL, an async one polled with getResponse while pending and, after the upstream's clock
    moves, done; each answer awaited before the next message."""
    ws = WebSocketClient.connect(url.replace("http", "ws", 1) + "/runware/v1")
    try:
        sync = image_task(model="openai:gpt-image@2", includeCost=True, outputType="URL")
        later = image_task(model="openai:gpt-image@2", includeCost=True, deliveryMethod="async")
        poll = [{"taskType": "getResponse", "taskUUID": later["taskUUID"]}]
        answers = []
        for message in ([{"taskType": "authentication", "apiKey": KEY}], [sync], [later], poll, poll):
            if message is poll and answers[-1][0].get("status") == "processing":
                assert httpx.post(upstream_url + "/__admin/clock/advance", json={"seconds": 3600}).is_success
            ws.send(json.dumps(message))
            answers.append(json.loads(ws.receive(timeout=10))["data"])
        assert answers[-1][0]["status"] == "success" and answers[-1][0]["cost"] > 0
    finally:
        ws.close()


def _eventually_written(folder: Path, suffix: str, limit: float = 20.0) -> None:
    """Wait until a cassette named ``*suffix`` is in ``folder`` (the proxy writes a WebSocket session once
    it sees the close). Raises ``AssertionError`` after ``limit`` real seconds (a hang, not a timing
    check)."""
    stop = time.monotonic() + limit
    while not list(folder.glob(f"*{suffix}")):
        assert time.monotonic() < stop, f"no {suffix} under {folder}"
        time.sleep(0.05)


def test_the_proxy_run_is_one_session_in_recorded_order(recorded: Path) -> None:
    [session] = sessions([recorded])
    assert [p.parent.name for p in session] == [
        "apiframe",
        "apiframe",
        "apiframe",
        "runware",
        "runware",
        "openai",
        "apiframe",
        "runware",
        "openai",
        "runware",
    ]
    assert session[-1].name.endswith("-websocket.yaml")
    data = yaml.safe_load(session[0].read_text(encoding="utf-8"))
    assert recorded_on(session[0], data) == dt.datetime.now(dt.UTC).date()


def test_a_session_recorded_against_pixelmock_has_no_drift(recorded: Path) -> None:
    report = drift_paths([recorded])
    assert report.disagreements == []
    assert not [a for a in report.acknowledged if a.where == "drift:skipped"]
    assert run_drift([recorded], io.StringIO()) == 0


def test_a_tampered_field_is_exactly_the_drift(recorded: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    for path in recorded.rglob("*.yaml"):
        (copy / path.parent.name).mkdir(parents=True, exist_ok=True)
        (copy / path.parent.name / path.name).write_bytes(path.read_bytes())
    final_poll = sorted((copy / "apiframe").glob("*.yaml"))[-1]
    data = yaml.safe_load(final_poll.read_text(encoding="utf-8"))
    body = json.loads(data["interactions"][0]["response"]["body"]["string"])
    body["creditCost"] = body["creditCost"] + 7
    data["interactions"][0]["response"]["body"]["string"] = json.dumps(body)
    final_poll.write_text(yaml.safe_dump(data), encoding="utf-8")
    found = [(Path(d.cassette).name, d.where, d.path) for d in drift_paths([copy]).disagreements]
    assert found == [(final_poll.name, "drift:cost", "$.creditCost")]


def _copy(recorded: Path, into: Path) -> Path:
    for path in recorded.rglob("*.yaml"):
        (into / path.parent.name).mkdir(parents=True, exist_ok=True)
        (into / path.parent.name / path.name).write_bytes(path.read_bytes())
    return into


def _tamper_frame(cassette: Path, interaction: int, change: Any) -> None:
    """Apply ``change`` to the first frame recorded for a WebSocket message of ``cassette``."""
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    answer = data["interactions"][interaction]["response"]["body"]
    first, *rest = answer["string"].splitlines()
    frame = json.loads(first)
    change(frame)
    answer["string"] = "\n".join([json.dumps(frame), *rest])
    cassette.write_text(yaml.safe_dump(data), encoding="utf-8")


def test_a_tampered_websocket_frame_is_exactly_the_drift(recorded: Path, tmp_path: Path) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    [websocket] = (copy / "runware").glob("*-websocket.yaml")
    messages = [
        json.loads(i["request"]["body"]) for i in yaml.safe_load(websocket.read_text())["interactions"]
    ]
    assert [m[0]["taskType"] for m in messages] == [
        "authentication",
        "imageInference",
        "imageInference",
        "getResponse",
        "getResponse",
    ]

    def dearer(frame: dict[str, Any]) -> None:
        frame["data"][0]["cost"] += 0.5

    _tamper_frame(websocket, 1, dearer)
    found = [
        (Path(d.cassette).name, d.interaction, d.where, d.path) for d in drift_paths([copy]).disagreements
    ]
    assert found == [(websocket.name, 1, "drift:cost", "$[0].data[0].cost")]


def test_a_websocket_frame_with_another_error_code_is_status_drift(recorded: Path, tmp_path: Path) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    [websocket] = (copy / "runware").glob("*-websocket.yaml")

    def refused(frame: dict[str, Any]) -> None:
        frame.clear()
        frame["errors"] = [{"code": "invalidApiKey", "message": "Invalid API key."}]

    _tamper_frame(websocket, 0, refused)
    found = {(d.where, d.path, d.expected, d.found) for d in drift_paths([copy]).disagreements}
    assert (
        "drift:status",
        "$[0].errors[0].code",
        "the provider's invalidApiKey",
        "the emulator's none",
    ) in found
    assert {d[1] for d in found} == {"$[0].errors[0].code", "$[0].data", "$[0].errors"}


@pytest.mark.parametrize("today", [dt.date(2026, 11, 21), dt.date(2026, 12, 7)])
def test_the_repositorys_cassettes_show_no_drift(today: dt.date) -> None:
    """Whatever day the check runs (before or after gpt-image-1.5's shutdown), each cassette is replayed
    on the day it was recorded; what cannot be replayed is listed, with its reason."""
    report = drift_paths([CASSETTES], config=EmulatorConfig(today=today))
    assert report.disagreements == []
    skipped = {
        (Path(a.cassette).name, a.interaction) for a in report.acknowledged if a.where == "drift:skipped"
    }
    assert ("job_states_documented.yaml", 0) in skipped
    assert all(a.reason for a in report.acknowledged)


def test_a_named_session_is_one_cassette_in_order_and_replays_without_drift(tmp_path: Path) -> None:
    named = {"X-Pixelmock-Session": "fox job"}
    with _proxied(tmp_path) as (upstream, upstream_url, url):
        job = _submit(url, {**APIFRAME, **named})
        httpx.get(url + f"/apiframe/v2/jobs/{job['jobId']}", headers={**APIFRAME, **named})
        assert httpx.post(upstream_url + "/__admin/clock/advance", json={"seconds": 3600}).is_success
        httpx.get(url + f"/apiframe/v2/jobs/{job['jobId']}", headers={**APIFRAME, **named})
        httpx.post(url + "/runware/v1", json=[image_task(model="openai:gpt-image@2")], headers=BEARER)
    [cassette] = (tmp_path / "sessions").glob("*.yaml")
    assert cassette.name == "fox-job.yaml"
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    assert [i["request"]["method"] for i in data["interactions"]] == ["POST", "GET", "GET"]
    assert "x-pixelmock-session" not in {
        h.lower() for i in data["interactions"] for h in i["request"]["headers"]
    }
    sent = [e.request["headers"] for e in upstream.extensions["pixelmock"].journal.entries()]
    assert not any("X-Pixelmock-Session" in headers for headers in sent)
    assert drift_paths([tmp_path]).disagreements == []
    assert len(sessions([tmp_path])) == 2  # the named session, and the run's other cassette
