"""Runware's WebSocket API (an upgrade on /runware/v1) with a plain WebSocket client over a real socket,
against its oracles: the documented handshake, keepalive and error bodies
(runware.ai/docs/platform/authentication), the
documented REST examples sent as WebSocket messages, the contract's response schema, and the REST route
of the same app (one task implementation: same items, images, costs, ledger and errors).

The idle timeout and the session buffer run on the virtual clock, so tests advance ``rt.clock`` instead of
waiting two minutes.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
import simple_websocket  # type: ignore[import-untyped]
import yaml
from flask import Flask
from jsonschema import Draft202012Validator
from paths import DOCUMENTED
from PIL import Image
from runware_tasks import image_task
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.sync.client import ClientConnection, connect

from pixelmock.contracts.openapi import document, operation
from pixelmock.emulators import EmulatorConfig
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.accounts import account_id
from pixelmock.emulators.providers.runware import websocket as runware_websocket
from pixelmock.emulators.web.context import runtime

EMULATED_PROVIDERS = ["runware"]
BASE = "/runware/v1"
CASSETTES = DOCUMENTED / "runware"
SEED_EXAMPLES = sorted(p.stem for p in CASSETTES.glob("openai-4-1-*.yaml"))
#: The documented WebSocket authentication error (runware.ai/docs/platform/authentication).
DOCUMENTED_WS_INVALID_KEY = {
    "errors": [
        {
            "code": "invalidApiKey",
            "message": "Invalid API key. Get one at https://my.runware.ai/signup",
            "parameter": "apiKey",
            "type": "string",
            "taskType": "authentication",
        }
    ]
}
#: Published costs of the openai:4@1 page's text-to-image examples, by taskUUID (USD).
PUBLISHED_COSTS = {
    "3d582d50-3e2b-47b2-bd02-839f962a7b38": 0.19961,
    "68b17b80-5386-418f-933a-4884f5ce6b51": 0.13392,
    "2a99f619-403d-4dd6-97ee-465d80c131d2": 0.19984,
}


@contextmanager
def _connect(live_url: str, path: str = BASE) -> Iterator[ClientConnection]:
    with connect(live_url.replace("http://", "ws://") + path, open_timeout=5, close_timeout=2) as ws:
        yield ws


def _send(ws: ClientConnection, tasks: Any) -> None:
    ws.send(tasks if isinstance(tasks, (str, bytes)) else json.dumps(tasks))


def _frame(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(ws.recv(timeout=timeout))
    return frame


def _auth(ws: ClientConnection, key: str = "ws-key", session: str | None = None) -> str:
    task: dict[str, Any] = {"taskType": "authentication", "apiKey": key}
    if session is not None:
        task["connectionSessionUUID"] = session
    _send(ws, [task])
    frame = _frame(ws)
    assert list(frame) == ["data"] and len(frame["data"]) == 1
    item = frame["data"][0]
    assert list(item) == ["taskType", "connectionSessionUUID"] and item["taskType"] == "authentication"
    uuid.UUID(item["connectionSessionUUID"])
    return str(item["connectionSessionUUID"])


def _conforms(frame: dict[str, Any]) -> dict[str, Any]:
    """A frame is a body of the REST operation's answers: data frames a 200 body, errors frames an error
    body."""
    responses = operation("runware", "runTasks")[2]["responses"]
    status = "200" if "data" in frame else "400"
    schema = responses[status]["content"]["application/json"]["schema"]
    assert list(Draft202012Validator(schema).iter_errors(frame)) == []
    return frame


def _image(http: httpx.Client, item: dict[str, Any]) -> Image.Image:
    if "imageURL" in item:
        data = http.get(item["imageURL"]).content
    elif "imageBase64Data" in item:
        data = base64.b64decode(item["imageBase64Data"])
    else:
        data = base64.b64decode(item["imageDataURI"].split(",", 1)[1])
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _cassette(name: str) -> dict[str, Any]:
    document_ = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text("utf-8"))
    interaction: dict[str, Any] = document_["interactions"][0]
    return interaction


@pytest.fixture
def rt(app: Flask) -> Any:
    with app.app_context():
        return runtime()


@pytest.fixture
def rest(app: Flask) -> Iterator[httpx.Client]:
    """The REST route of the same app (in-process), for comparisons and polling."""
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def files(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


# -- handshake, keepalive, framing --------------------------------------------------------------------------


@pytest.mark.parametrize("path", [BASE, BASE + "/"])
def test_authentication_reply_then_ping_pong(live_url: str, path: str) -> None:
    documented_pong = json.loads(_cassette("ping")["response"]["body"]["string"])
    with _connect(live_url, path) as ws:
        _auth(ws)
        _send(ws, [{"taskType": "ping", "ping": True}])
        assert _frame(ws) == documented_pong


class TestRefusedKeys:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(invalid_keys=frozenset({"bad-key"}), inactive_keys=frozenset({"off-key"}))

    def test_invalid_key_gets_the_documented_body_then_the_connection_closes(self, live_url: str) -> None:
        with _connect(live_url) as ws:
            _send(ws, [{"taskType": "authentication", "apiKey": "bad-key"}])
            assert _frame(ws) == DOCUMENTED_WS_INVALID_KEY
            with pytest.raises(ConnectionClosedOK) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000

    def test_inactive_key_is_an_authentication_error_too(self, live_url: str) -> None:
        with _connect(live_url) as ws:
            _send(ws, [{"taskType": "authentication", "apiKey": "off-key"}])
            error = _conforms(_frame(ws))["errors"][0]
            assert (error["code"], error["taskType"], error["type"]) == (
                "inactiveApiKey",
                "authentication",
                "string",
            )


def test_tasks_before_authentication_are_refused_and_the_connection_stays_open(live_url: str) -> None:
    with _connect(live_url) as ws:
        _send(ws, [{"taskType": "ping", "ping": True}])
        error = _conforms(_frame(ws))["errors"][0]
        assert (error["code"], error["taskType"]) == ("missingApiKey", "authentication")
        _auth(ws)


@pytest.mark.parametrize("message", ["nope", "{}", "[]", '{"taskType": "ping"}', b"\x00\x01"])
def test_messages_that_are_not_task_arrays_get_invalid_payload(live_url: str, message: str | bytes) -> None:
    with _connect(live_url) as ws:
        _auth(ws)
        _send(ws, message)
        assert _conforms(_frame(ws))["errors"][0]["code"] == "invalidPayload"
        _send(ws, [{"taskType": "ping", "ping": True}])
        assert _frame(ws)["data"][0]["pong"] is True


def test_authentication_and_tasks_in_one_message(live_url: str) -> None:
    with _connect(live_url) as ws:
        _send(ws, [{"taskType": "authentication", "apiKey": "k"}, {"taskType": "ping", "ping": True}])
        assert _frame(ws)["data"][0]["taskType"] == "authentication"
        assert _frame(ws) == {"data": [{"taskType": "ping", "pong": True}]}


def test_an_unexpected_failure_is_an_error_frame_not_a_broken_connection(
    live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(task: Any, ctx: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(runware_websocket, "run_task", broken)
    with _connect(live_url) as ws:
        _auth(ws)
        _send(ws, [image_task()])
        assert _conforms(_frame(ws))["errors"][0]["code"] == "internalServerError"
        monkeypatch.undo()
        _send(ws, [{"taskType": "ping", "ping": True}])
        assert _frame(ws)["data"][0]["pong"] is True


# -- image tasks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_EXAMPLES)
def test_documented_examples_sent_as_messages(live_url: str, files: httpx.Client, name: str) -> None:
    interaction = _cassette(name)
    documented = json.loads(interaction["response"]["body"]["string"])["data"][0]
    request = json.loads(interaction["request"]["body"])
    with _connect(live_url) as ws:
        _auth(ws)
        _send(ws, interaction["request"]["body"])
        frame = _conforms(_frame(ws))
    assert len(frame["data"]) == 1
    item = frame["data"][0]
    assert set(item) == set(documented) - {"cost"}
    assert (item["taskType"], item["taskUUID"]) == (documented["taskType"], documented["taskUUID"])
    image = _image(files, item)
    assert image.size == (request[0]["width"], request[0]["height"]) and image.format == "JPEG"


def test_published_costs_with_include_cost(live_url: str) -> None:
    with _connect(live_url) as ws:
        _auth(ws)
        for name in SEED_EXAMPLES:
            tasks = json.loads(_cassette(name)["request"]["body"])
            if tasks[0]["taskUUID"] not in PUBLISHED_COSTS:
                continue
            tasks[0]["includeCost"] = True
            _send(ws, tasks)
            item = _frame(ws)["data"][0]
            assert item["cost"] == PUBLISHED_COSTS[item["taskUUID"]]


def test_one_frame_per_finished_image(live_url: str, files: httpx.Client) -> None:
    task = image_task(numberResults=3, includeCost=True, outputFormat="PNG", width=1536)
    with _connect(live_url) as ws:
        _auth(ws)
        _send(ws, [task])
        frames = [_conforms(_frame(ws)) for _ in range(3)]
        _send(ws, [{"taskType": "ping", "ping": True}])
        assert _frame(ws)["data"][0]["taskType"] == "ping"  # nothing else was sent for the task
    assert all(list(frame) == ["data"] and len(frame["data"]) == 1 for frame in frames)
    items = [frame["data"][0] for frame in frames]
    assert {item["taskUUID"] for item in items} == {task["taskUUID"]}
    assert len({item["imageUUID"] for item in items}) == 3
    assert all(_image(files, item).size == (1536, 1024) for item in items)


def test_image_urls_received_over_a_websocket_can_be_downloaded(live_url: str, files: httpx.Client) -> None:
    """``simple_websocket``'s client (flask-sock's companion) sends ``Host: 127.0.0.1`` without the port;
    the image URLs in its result frames must still point at the server that made them."""
    task = image_task(numberResults=2, outputFormat="PNG")
    ws = simple_websocket.Client.connect(live_url.replace("http://", "ws://") + BASE)
    try:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "ws-key"}, task]))
        frames = [json.loads(ws.receive(timeout=10)) for _ in range(3)]
    finally:
        ws.close()
    items = [frame["data"][0] for frame in frames[1:]]
    assert all(item["imageURL"].startswith(live_url + "/files/") for item in items)
    assert all(_image(files, item).size == (1024, 1024) for item in items)


REST_AND_WS_CASES = [
    pytest.param(image_task(), id="defaults"),
    pytest.param(image_task(numberResults=2, includeCost=True, outputType="base64Data"), id="n2-base64"),
    pytest.param(
        image_task(
            model="openai:gpt-image@2",
            width=1280,
            height=720,
            outputFormat="WEBP",
            outputType="dataURI",
            includeCost=True,
            providerSettings={"openai": {"quality": "low"}},
        ),
        id="gpt-image-2-webp",
    ),
    pytest.param(image_task(width=1000, height=1000), id="bad-size"),
    pytest.param(image_task(positivePrompt="a"), id="short-prompt"),
    pytest.param(image_task(CFGScale=7.0), id="unknown-parameter"),
    pytest.param({"taskType": "getResponse", "taskUUID": str(uuid.uuid4())}, id="unknown-task"),
]


@pytest.mark.parametrize("task", REST_AND_WS_CASES)
def test_same_items_errors_costs_and_ledger_as_rest(
    live_url: str, rest: httpx.Client, rt: Any, task: dict[str, Any]
) -> None:
    rest_task, ws_task = dict(task), dict(task, taskUUID=str(uuid.uuid4()))
    answer = rest.post(BASE, json=[rest_task], headers={"Authorization": "Bearer rest-key"}).json()
    n = ws_task.get("numberResults", 1) if not answer.get("errors") else 1
    with _connect(live_url) as ws:
        _auth(ws, "ws-key")
        _send(ws, [ws_task])
        frames = [_conforms(_frame(ws)) for _ in range(n)]

    def same(body: dict[str, Any], task_uuid: str) -> str:
        text = json.dumps(body).replace(task_uuid, "<task>")
        for key in ("imageUUID", "imageURL"):
            for item in body.get("data", []):
                if key in item:
                    text = text.replace(item[key], f"<{key}>")
        return text

    if answer.get("errors"):
        assert len(frames) == 1 and list(frames[0]) == ["errors"]
        assert same(frames[0], ws_task["taskUUID"]) == same(
            {"errors": answer["errors"]}, rest_task["taskUUID"]
        )
    else:
        ws_items = [item for frame in frames for item in frame["data"]]
        assert same({"data": ws_items}, ws_task["taskUUID"]) == same(answer, rest_task["taskUUID"])

    def debits(key: str) -> list[Any]:
        return [line.amount for line in rt.accounts.lines() if line.account_id == account_id(key)]

    assert debits("ws-key") == debits("rest-key")


def test_each_task_of_an_array_answers_on_its_own(live_url: str) -> None:
    good, bad = image_task(), image_task(outputFormat="GIF")
    with _connect(live_url) as ws:
        _auth(ws)
        _send(ws, [bad, good, 7])
        frames = [_conforms(_frame(ws)) for _ in range(3)]
    assert frames[0]["errors"][0]["code"] == "invalidOutputFormat"
    assert frames[1]["data"][0]["taskUUID"] == good["taskUUID"]
    assert frames[2]["errors"][0]["code"] == "invalidPayload"


class TestAsyncDelivery:
    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(options={"runware.processing_polls": 1})

    def test_acknowledgement_then_get_response(self, live_url: str) -> None:
        task = image_task(deliveryMethod="async", numberResults=2)
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        with _connect(live_url) as ws:
            _auth(ws)
            _send(ws, [task])
            assert _frame(ws) == {"data": [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]}
            _send(ws, poll)
            processing = _conforms(_frame(ws))["data"]
            _send(ws, poll)
            done = _conforms(_frame(ws))["data"]
        assert [i["status"] for i in processing] == ["processing", "processing"]
        assert all(set(i) == {"taskType", "taskUUID", "imageUUID", "status"} for i in processing)
        assert [i["status"] for i in done] == ["success", "success"] and all("imageURL" in i for i in done)
        assert [i["imageUUID"] for i in done] == [i["imageUUID"] for i in processing]


# -- idle timeout and session resume (virtual clock) ------------------------------------------------------


def test_idle_connections_close_after_120_virtual_seconds(live_url: str, rt: Any) -> None:
    with _connect(live_url) as ws:
        _auth(ws)
        rt.clock.advance(100)
        time.sleep(0.3)
        _send(ws, [{"taskType": "ping", "ping": True}])  # a message resets the timer
        assert _frame(ws)["data"][0]["pong"] is True
        rt.clock.advance(100)
        time.sleep(0.3)
        _send(ws, [{"taskType": "ping", "ping": True}])
        assert _frame(ws)["data"][0]["pong"] is True
        rt.clock.advance(121)
        with pytest.raises(ConnectionClosedOK) as closed:
            ws.recv(timeout=5)
    close = document("runware")["x-websocket"]["idle_close"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == close["code"]
    assert closed.value.rcvd.reason == close["reason"].format(seconds=120)


class TestResume:
    """Each image takes 0.2 s, so the client can drop the connection while its task runs."""

    @pytest.fixture
    def config(self) -> EmulatorConfig:
        return EmulatorConfig(options={"runware.image_seconds": 0.2})

    @staticmethod
    def _drop_during(live_url: str, rest: httpx.Client, task: dict[str, Any], key: str = "ws-key") -> str:
        """Send ``task`` and close the connection at once; wait (REST getResponse) until it finished."""
        with _connect(live_url) as ws:
            session = _auth(ws, key)
            _send(ws, [task])
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            items = rest.post(BASE, json=poll, headers={"Authorization": f"Bearer {key}"}).json()["data"]
            if len(items) == task.get("numberResults", 1) and all(i["status"] == "success" for i in items):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the task did not finish")
        return session

    def test_resume_delivers_the_results_buffered_while_away(
        self, live_url: str, rest: httpx.Client, rt: Any
    ) -> None:
        task = image_task(numberResults=2, includeCost=True)
        session = self._drop_during(live_url, rest, task)
        rt.clock.advance(119)  # within the 120 s buffer
        with _connect(live_url) as ws:
            assert _auth(ws, session=session) == session
            frames = [_conforms(_frame(ws)) for _ in range(2)]
            _send(ws, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            polled = _frame(ws)["data"]
        items = [frame["data"][0] for frame in frames]
        assert [i["taskUUID"] for i in items] == [task["taskUUID"]] * 2
        assert [{**i, "status": "success"} for i in items] == polled

    def test_after_120_seconds_the_buffer_is_gone_and_a_new_session_starts(
        self, live_url: str, rest: httpx.Client, rt: Any
    ) -> None:
        task = image_task()
        session = self._drop_during(live_url, rest, task)
        rt.clock.advance(121)
        with _connect(live_url) as ws:
            assert _auth(ws, session=session) != session
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.5)
            _send(ws, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}])
            assert _frame(ws)["data"][0]["status"] == "success"  # still there for polling

    def test_another_account_cannot_resume_the_session(self, live_url: str, rest: httpx.Client) -> None:
        session = self._drop_during(live_url, rest, image_task())
        with _connect(live_url) as ws:
            assert _auth(ws, "someone-else", session=session) != session
            with pytest.raises(TimeoutError):
                ws.recv(timeout=0.5)


# -- injected faults, per message (rules of /__admin/faults) -------------------------------------------


class TestFaults:
    """Oracles: the REST answer to the same fault (contract ``x-faults``), and the ledger."""

    @pytest.fixture
    def admin(self, app: Flask) -> PixelmockAdmin:
        return PixelmockAdmin.for_app(app)

    @staticmethod
    @contextmanager
    def _faulted(live_url: str, admin: PixelmockAdmin, kind: str, **rule: Any) -> Iterator[ClientConnection]:
        """An authenticated connection, with a Runware rule of ``kind`` (first matching message by
        default)."""
        admin.add_fault(kind, provider="runware", **(rule or {"nth": 1}))
        with _connect(live_url) as ws:
            _auth(ws)
            yield ws

    def test_a_rate_limit_answers_the_message_with_the_rest_errors_and_the_next_message_runs(
        self, live_url: str, rest: httpx.Client, admin: PixelmockAdmin
    ) -> None:
        with self._faulted(live_url, admin, "rate_limit") as ws:
            _send(ws, [image_task()])
            limited = _frame(ws)
            _send(ws, [image_task()])
            served = _conforms(_frame(ws))
        headers = {"Authorization": "Bearer ws-key", "X-Pixelmock-Fault": "rate_limit"}
        rest_answer = rest.post(BASE, json=[image_task()], headers=headers)
        assert rest_answer.status_code == 429
        assert limited == {"errors": rest_answer.json()["errors"]}
        assert limited["errors"][0]["code"] == "rateLimitExceeded"
        assert "imageURL" in served["data"][0]
        assert [(rule["calls"], rule["fired"]) for rule in admin.faults()] == [(2, 1)]

    def test_a_flow_fault_fails_the_task_uncharged(self, live_url: str, admin: PixelmockAdmin) -> None:
        with self._faulted(live_url, admin, "content_policy", model="gpt-image-1.5", times=1) as ws:
            _send(ws, [image_task(model="openai:gpt-image@2")])  # another model: not this rule's
            assert "data" in _conforms(_frame(ws))
            task = image_task()
            _send(ws, [task])
            refused = _conforms(_frame(ws))
        [item] = refused["errors"]
        assert (item["code"], item["taskUUID"]) == ("providerBadRequest", task["taskUUID"])
        assert len(admin.ledger(key="ws-key")["lines"]) == 1  # only the other model's task was charged

    def test_a_drop_ends_the_connection_without_a_close_frame(
        self, live_url: str, admin: PixelmockAdmin
    ) -> None:
        with self._faulted(live_url, admin, "drop") as ws:
            _send(ws, [image_task()])
            with pytest.raises(ConnectionClosedError) as closed:
                ws.recv(timeout=5)
        assert closed.value.rcvd is None  # no close frame: an abnormal closure (1006)
        assert len(admin.ledger(key="ws-key")["lines"]) == 0  # the task never ran

    def test_a_malformed_fault_cuts_the_first_frame_of_the_message(
        self, live_url: str, admin: PixelmockAdmin
    ) -> None:
        with self._faulted(live_url, admin, "malformed") as ws:
            _send(ws, [image_task(), {"taskType": "ping", "ping": True}])
            cut = ws.recv(timeout=10)
            pong = _frame(ws)
        with pytest.raises(json.JSONDecodeError):
            json.loads(cut)
        assert cut.startswith('{"data":[{"taskType":"imageInference"')
        assert pong["data"][0]["pong"] is True


# -- the journal: one entry per message --------------------------------------------------------------


def test_each_message_is_journaled_with_its_frames_ledger_and_no_key(live_url: str, app: Flask) -> None:
    key = "ws-journal-secret-7f3a9c"
    task = image_task(includeCost=True)
    with _connect(live_url) as ws:
        _auth(ws, key)
        _send(ws, [task])
        [item] = _frame(ws)["data"]
    admin = PixelmockAdmin.for_app(app)
    deadline = time.monotonic() + 5  # the upgrade's own entry is recorded once the connection ends
    while not any(e["method"] == "GET" for e in admin.journal(provider="runware")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    entries = admin.journal(provider="runware")
    assert key not in json.dumps(entries)
    auth, run = [e for e in entries if e["method"] == "WEBSOCKET"]
    assert auth["request"]["body"] == [{"taskType": "authentication", "apiKey": "REDACTED"}]
    [reply] = auth["response"]["frames"]
    assert reply["data"][0]["taskType"] == "authentication"
    assert (run["route"], run["status"], run["request"]["body"]) == ("WEBSOCKET /runware/v1", 101, [task])
    assert run["response"]["frames"] == [{"data": [item]}]
    [line] = run["ledger"]
    assert Decimal(line["amount"]) == -Decimal(str(item["cost"]))
    assert any("cost" in note for note in run["notes"])
    upgrade = next(e for e in entries if e["method"] == "GET")
    assert upgrade["ledger"] == [] and upgrade["notes"] == []  # the messages' own, not the connection's
