"""The journal, the fault rules and Runware's WebSocket sessions across the workers of one emulator: two
apps sharing one store (``twin_apps``) answer as one. Requests through either app land in one journal
numbered in order; a fault rule added through one fires on the other, its nth call and ``times`` counted
across both; a WebSocket session opened on one resumes on the other, which receives what was buffered,
each frame once, in order.

The tests of the WebSocket bookkeeping and of journal scrubbing also run on ``SerializingStore``: a
memory store that says it is shared and pickles the values of these services on the way in and out, as a
store shared between processes serializes them (a copy each time, no closure or connection storable).
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import simple_websocket  # type: ignore[import-untyped]
from flask import Flask
from runware_tasks import image_task
from websockets.sync.client import ClientConnection, connect

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.faults import RULES
from pixelmock.emulators.core.journal import LOG, JournalEntry
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.core.store import MemoryStore
from pixelmock.emulators.providers.runware.sessions import SESSIONS, Connection, Frame, Sessions
from pixelmock.emulators.tools.server import running

EMULATED_PROVIDERS = ["runware"]
BASE = "/runware/v1"
KEY = "shared-key"
BEARER = {"Authorization": f"Bearer {KEY}"}
PING = [{"taskType": "ping", "ping": True}]


class SerializingStore(MemoryStore):
    """A ``MemoryStore`` that behaves as a shared one for the journal, fault rules and WebSocket sessions:
    ``shared`` is true and their records and log entries are pickled when written and when read."""

    shared = True
    NAMESPACES = frozenset({RULES, SESSIONS})

    @staticmethod
    def _copy(value: Any) -> Any:
        return pickle.loads(pickle.dumps(value))

    def put(self, ns: str, key: str, value: Any) -> None:
        super().put(ns, key, self._copy(value) if ns in self.NAMESPACES else value)

    def get(self, ns: str, key: str) -> Any | None:
        found = super().get(ns, key)
        return self._copy(found) if ns in self.NAMESPACES else found

    def values(self, ns: str) -> list[Any]:
        found = super().values(ns)
        return [self._copy(v) for v in found] if ns in self.NAMESPACES else found

    def update(self, ns: str, key: str, fn: Callable[[Any | None], Any]) -> Any:
        if ns not in self.NAMESPACES:
            return super().update(ns, key, fn)
        return self._copy(super().update(ns, key, lambda old: self._copy(fn(self._copy(old)))))

    def append(self, log: str, entry: Any, size: int | None = None) -> int:
        return super().append(log, self._copy(entry) if log == LOG else entry, size)

    def read_log(self, log: str, after: int = 0) -> list[tuple[int, Any]]:
        found = super().read_log(log, after)
        return [(seq, self._copy(e)) for seq, e in found] if log == LOG else found


def _client(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


def _rt(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["pixelmock"]
    return rt


def _ping(client: httpx.Client, n: int) -> httpx.Response:
    return client.post(f"{BASE}?n={n}", json=PING, headers=BEARER)


# -- the journal --------------------------------------------------------------------------------------------


def test_requests_through_both_apps_are_one_journal_numbered_in_order(twin_apps: tuple[Flask, Flask]) -> None:
    a, b = (_client(app) for app in twin_apps)
    for n in range(6):
        assert _ping((a, b)[n % 2], n).status_code == 200
    seen = [c.get("/__admin/journal").json()["entries"] for c in (a, b)]
    assert seen[0] == seen[1]
    assert [e["seq"] for e in seen[0]] == [1, 2, 3, 4, 5, 6]
    assert [e["request"]["query"]["n"] for e in seen[0]] == [str(n) for n in range(6)]
    assert all(e["request"]["headers"]["Authorization"] == "Bearer REDACTED" for e in seen[0])
    assert [e["seq"] for e in b.get("/__admin/journal", params={"after": 4}).json()["entries"]] == [5, 6]

    assert a.delete("/__admin/journal").status_code == 204  # cleared through A: gone for B, seq goes on
    assert b.get("/__admin/journal").json()["entries"] == []
    _ping(b, 6)
    assert [e["seq"] for e in a.get("/__admin/journal").json()["entries"]] == [7]
    assert _rt(twin_apps[0]).journal.usage() == _rt(twin_apps[1]).journal.usage()

    assert b.post("/__admin/reset").status_code in (200, 204)  # a reset numbers from 1 again, for both
    _ping(a, 7)
    assert [e["seq"] for e in b.get("/__admin/journal").json()["entries"]] == [1]


def test_on_a_shared_store_entries_are_scrubbed_when_recorded(config: EmulatorConfig) -> None:
    app = create_app(config, EMULATED_PROVIDERS, SerializingStore())
    secret = "sk-" + "s" * 40
    _client(app).post(BASE, json=[{"taskType": "authentication", "apiKey": secret}, *PING])
    [(seq, stored)] = _rt(app).store.read_log(LOG)
    assert isinstance(stored, JournalEntry)  # built and scrubbed before it was written (pickled)
    assert secret not in repr(stored) and stored.request["body"][0]["apiKey"] == "REDACTED"
    assert [e.seq for e in _rt(app).journal.entries()] == [seq] == [1]


# -- fault rules --------------------------------------------------------------------------------------------


def test_a_rule_added_through_one_app_fires_on_the_other_counted_across_both(
    twin_apps: tuple[Flask, Flask],
) -> None:
    a, b = (_client(app) for app in twin_apps)
    rule = PixelmockAdmin(a).add_fault("server_error", provider="runware", nth=2, times=2)
    statuses = [_ping((b, a)[n % 2], n).status_code for n in range(5)]  # B, A, B, A, B
    assert statuses == [200, 500, 500, 200, 200]
    [shown] = PixelmockAdmin(b).faults()
    assert (shown["id"], shown["calls"], shown["fired"]) == (rule["id"], 5, 2)
    assert PixelmockAdmin(a).faults() == [shown]

    capped = PixelmockAdmin(b).add_fault("unavailable", provider="runware", times=3)
    assert [_ping((a, b)[n % 2], n).status_code for n in range(5)] == [503, 503, 503, 200, 200]
    assert [r["fired"] for r in PixelmockAdmin(a).faults()] == [2, 3]

    assert b.delete(f"/__admin/faults/{capped['id']}").status_code == 204  # removed through B
    assert [r["id"] for r in PixelmockAdmin(a).faults()] == [rule["id"]]
    PixelmockAdmin(a).add_fault("rate_limit", provider="runware")
    assert _ping(b, 0).status_code == 429
    assert b.delete("/__admin/faults").status_code == 204  # cleared through B
    assert _ping(a, 1).status_code == 200 and PixelmockAdmin(a).faults() == []


def test_a_seeded_probability_rule_fires_the_same_calls_on_one_app_or_two(
    twin_apps: tuple[Flask, Flask],
) -> None:
    a, b = (_client(app) for app in twin_apps)
    PixelmockAdmin(a).add_fault("unavailable", provider="runware", probability=0.4, seed=7)
    alternating = [_ping((a, b)[n % 2], n).status_code for n in range(30)]

    alone = _client(create_app(EmulatorConfig(), EMULATED_PROVIDERS))
    PixelmockAdmin(alone).add_fault("unavailable", provider="runware", probability=0.4, seed=7)
    assert [_ping(alone, n).status_code for n in range(30)] == alternating
    assert 4 <= alternating.count(503) <= 22 and alternating.count(200) + alternating.count(503) == 30


# -- WebSocket sessions: the transport's bookkeeping, with connections that record what they are sent ----


class _Socket:
    """What ``Connection`` needs of a ``simple_websocket`` server socket: ``send`` records each frame, or
    fails once ``connected`` is false."""

    def __init__(self) -> None:
        self.sent: list[Frame] = []
        self.connected = True

    def send(self, text: str) -> None:
        if not self.connected:
            raise simple_websocket.ConnectionClosed()
        self.sent.append(json.loads(text))


def _greeting(uuid: str) -> Frame:
    return {"data": [{"taskType": "authentication", "connectionSessionUUID": uuid}]}


def _frame(n: int) -> Frame:
    return {"data": [{"n": n}]}


def test_frames_for_a_session_held_on_another_worker_are_buffered_and_sent_once_in_order() -> None:
    store, clock = SerializingStore(), Clock()
    worker_a, worker_b = Sessions(store, clock, 120), Sessions(store, clock, 120)
    socket_a, socket_b, socket_c = _Socket(), _Socket(), _Socket()
    on_a, on_b, on_c = (Connection(s, clock) for s in (socket_a, socket_b, socket_c))
    worker_a.connect(on_a)
    uuid = worker_a.authenticate(on_a, "acct", _greeting, None)
    worker_a.deliver(uuid, _frame(1), on_a)

    worker_b.connect(on_b)
    assert worker_b.authenticate(on_b, "acct", _greeting, uuid) == uuid  # taken over on B
    worker_a.deliver(uuid, _frame(2), on_a)  # produced on A: B holds the session, so it is buffered
    worker_a.deliver(uuid, _frame(3), on_a)
    assert socket_a.sent == [_greeting(uuid), _frame(1)]
    assert [f["data"][0]["n"] for f in store.get(SESSIONS, uuid).buffer] == [2, 3]
    worker_b.deliver(uuid, _frame(4), on_b)  # B sends what is buffered before its own frame
    worker_a.deliver(uuid, _frame(5), on_a)
    worker_b.flush(uuid, on_b)  # what B's connection does while it waits for a message
    worker_b.flush(uuid, on_b)
    assert socket_b.sent == [_greeting(uuid), _frame(2), _frame(3), _frame(4), _frame(5)]

    socket_b.connected = False  # the client went away from B: the next frames wait for a resume
    worker_a.deliver(uuid, _frame(6), on_a)
    worker_b.deliver(uuid, _frame(7), on_b)
    worker_b.disconnect(on_b, uuid)
    assert store.get(SESSIONS, uuid).holder is None
    worker_a.connect(on_c)
    assert worker_a.authenticate(on_c, "acct", _greeting, uuid) == uuid
    assert socket_c.sent == [_greeting(uuid), _frame(6), _frame(7)]
    assert store.get(SESSIONS, uuid).buffer == ()


def test_a_session_of_another_account_or_expired_is_not_resumed_on_another_worker() -> None:
    store, clock = SerializingStore(), Clock()
    worker_a, worker_b = Sessions(store, clock, 120), Sessions(store, clock, 120)
    first = Connection(_Socket(), clock)
    worker_a.connect(first)
    uuid = worker_a.authenticate(first, "acct", _greeting, None)
    worker_a.disconnect(first, uuid)
    worker_a.deliver(uuid, _frame(1), first)
    other = Connection(_Socket(), clock)
    assert worker_b.authenticate(other, "someone-else", _greeting, uuid) != uuid
    clock.advance(121)
    late = Connection(_Socket(), clock)
    assert worker_b.authenticate(late, "acct", _greeting, uuid) != uuid
    assert store.get(SESSIONS, uuid) is None  # expired sessions are dropped with their buffer


# -- WebSocket sessions over real sockets: one app per server ------------------------------------------------


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(options={"runware.image_seconds": 0.5})


@pytest.fixture
def served(twin_apps: tuple[Flask, Flask]) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        yield stack.enter_context(running(twin_apps[0])), stack.enter_context(running(twin_apps[1]))


def _ws(url: str) -> Any:
    return connect(url.replace("http://", "ws://") + BASE, open_timeout=5, close_timeout=2)


def _auth(ws: ClientConnection, session: str | None = None) -> str:
    task: dict[str, Any] = {"taskType": "authentication", "apiKey": KEY}
    if session is not None:
        task["connectionSessionUUID"] = session
    ws.send(json.dumps([task]))
    [item] = json.loads(ws.recv(timeout=10))["data"]
    return str(item["connectionSessionUUID"])


def _finished(http: httpx.Client, task: dict[str, Any]) -> list[dict[str, Any]]:
    """The task's items once every image is done (REST getResponse, polled through ``http``)."""
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = http.post(BASE, json=poll, headers=BEARER).json()["data"]
        if len(items) == task["numberResults"] and all(i["status"] == "success" for i in items):
            return items
        time.sleep(0.05)
    pytest.fail("the task did not finish")


def test_a_session_opened_on_one_app_resumes_on_the_other_with_what_was_buffered(
    served: tuple[str, str],
) -> None:
    url_a, url_b = served
    task = image_task(numberResults=2)
    with _ws(url_a) as ws:
        session = _auth(ws)
        ws.send(json.dumps([task]))  # then gone at once: both images are buffered
    with httpx.Client(base_url=url_b, timeout=10) as http:
        polled = _finished(http, task)
    with _ws(url_b) as ws:
        assert _auth(ws, session) == session
        items = [json.loads(ws.recv(timeout=10))["data"][0] for _ in range(2)]
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)  # each buffered frame once
    assert [{**i, "status": "success"} for i in items] == polled


def test_a_session_taken_over_on_the_other_app_receives_the_frames_produced_on_the_first(
    served: tuple[str, str],
) -> None:
    url_a, url_b = served
    task = image_task(numberResults=2)
    with _ws(url_a) as on_a, _ws(url_b) as on_b:
        session = _auth(on_a)
        on_a.send(json.dumps([task]))
        first = json.loads(on_a.recv(timeout=10))["data"][0]  # the first image, sent on A
        assert _auth(on_b, session) == session  # resumed on B while A still works on the second
        second = json.loads(on_b.recv(timeout=10))["data"][0]  # produced on A, delivered by B
        with pytest.raises(TimeoutError):
            on_a.recv(timeout=0.5)
    assert first["taskUUID"] == second["taskUUID"] == task["taskUUID"]
    assert first["imageUUID"] != second["imageUUID"]
