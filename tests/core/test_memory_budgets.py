"""Byte budgets: stored results, GMI payloads, outbound deliveries and the journal hold at most their
``EmulatorConfig`` budget, drop the oldest first, and say so at ``GET /__admin/stats``.

Oracles: the sizes the tests themselves send (a 200 kB prompt, a base64 result whose length the answer
shows), the order the tests wrote records in, and the providers' own not-found answers for an evicted
task or request (Runware ``taskNotFound``, GMI's 404).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from runware_tasks import image_task

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.journal import Journal
from pixelmock.emulators.core.scheduler import Scheduler
from pixelmock.emulators.core.store import MemoryStore, approx_bytes
from pixelmock.emulators.core.webhooks import Webhooks

GMI = "/gmicloud/api/v1/ie/requestqueue/apikey"
GMI_KEY = {"Authorization": "Bearer gmi-budget-key"}
RUNWARE_KEY = {"Authorization": "Bearer runware-budget-key"}


def _sized(n: int) -> str:
    return "x" * n


# ---------------------------------------------------------------------------------------------- store


def test_a_budget_evicts_the_oldest_records_of_its_namespaces_first() -> None:
    store = MemoryStore(measure=lambda value: len(value))
    store.budget("results", 100, ["a", "b"])
    store.put("a", "1", _sized(40))
    store.put("b", "2", _sized(40))
    store.put("other", "x", _sized(1000))  # not counted: no budget
    store.put("a", "3", _sized(40))  # 120 > 100: the oldest ("a", "1") goes
    assert store.get("a", "1") is None and store.get("b", "2") is not None and store.get("a", "3") is not None
    assert store.get("other", "x") is not None
    assert store.stats()["budgets"]["results"] == {
        "max_bytes": 100,
        "count": 2,
        "bytes": 80,
        "evicted": 1,
        "evicted_bytes": 40,
    }


def test_the_record_being_written_is_never_the_one_evicted() -> None:
    store = MemoryStore(measure=lambda value: len(value))
    store.budget("results", 100, ["t"])
    store.put("t", "old", _sized(10))
    store.put("t", "new", _sized(10))
    store.update("t", "old", lambda _: _sized(95))  # grows in place: "new" goes, not the one written
    assert store.get("t", "old") == _sized(95) and store.get("t", "new") is None
    store.put("t", "huge", _sized(500))  # larger than the whole budget: kept alone
    assert store.values("t") == [_sized(500)]
    assert store.stats()["budgets"]["results"]["bytes"] == 500


def test_deletes_count_evictions_do_not_and_a_reset_starts_again() -> None:
    store = MemoryStore(max_records=2, measure=lambda value: len(value))
    store.budget("payloads", None, ["p"])
    for key in "abc":
        store.put("p", key, _sized(10))
    store.delete("p", "c")
    stats = store.stats()
    assert stats["namespaces"]["p"] == {"count": 1, "evicted": 1}  # "a" dropped past max_records
    assert stats["budgets"]["payloads"] == {
        "max_bytes": None,
        "count": 1,
        "bytes": 10,
        "evicted": 0,
        "evicted_bytes": 0,
    }
    store.clear()
    assert store.stats()["budgets"]["payloads"]["count"] == 0 and store.stats()["namespaces"] == {}


def test_approx_bytes_counts_what_a_record_reaches_and_any_depth() -> None:
    assert approx_bytes({"payload": {"prompt": _sized(100_000)}}) > 100_000
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert approx_bytes(deep) > 100_000 * 50


# ----------------------------------------------------------------------------- journal and deliveries


def test_the_journal_keeps_within_its_bytes_and_keeps_the_newest() -> None:
    store = MemoryStore()
    journal = Journal(limit=1000, max_bytes=20_000, store=store)
    at = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    for n in range(10):
        journal.record(
            at=at,
            provider="openai",
            method="POST",
            path=f"/{n}",
            route=None,
            status=200,
            duration_ms=1.0,
            request={"body": _sized(5000)},
            response={},
        )
    usage = journal.usage()
    assert usage.bytes <= 20_000 and usage.evicted == 10 - usage.count and usage.evicted_bytes > 0
    assert [e.path for e in journal.entries()][-1] == "/9"
    store.clear()  # the emulator's reset
    assert journal.usage().count == 0 and journal.usage().evicted == 0


def test_settled_deliveries_are_dropped_past_the_budget_and_pending_ones_never() -> None:
    store, clock = MemoryStore(), Clock(dt.date(2026, 11, 21))
    webhooks = Webhooks(store, clock, Journal(limit=0), Scheduler(store, clock), max_bytes=6_000)
    later = clock.now() + dt.timedelta(hours=1)
    pending = [webhooks.send("runware", "http://127.0.0.1:9/hook", b"p" * 2_000, due=later) for _ in range(4)]
    refused = [webhooks.send("runware", "http://192.0.2.1/hook", b"r" * 2_000).id for _ in range(5)]
    kept = {d.id for d in webhooks.deliveries()}
    assert {d.id for d in pending} <= kept  # pending ones exceed the budget alone, and stay
    settled = [i for i in refused if i in kept]
    assert 0 < len(settled) < len(refused) and settled == refused[-len(settled) :]  # the oldest dropped
    assert store.stats()["budgets"]["uploads"]["bytes"] <= 6_000
    usage = webhooks.usage()
    assert usage.evicted == len(refused) - len(settled) and usage.count == 4 + len(settled)
    assert usage.bytes > 6_000


# --------------------------------------------------------------------------------------- over HTTP


@pytest.fixture
def small() -> Flask:
    config = EmulatorConfig(
        results_max_bytes=300_000, payloads_max_bytes=500_000, journal_max_bytes=2_000_000
    )
    return create_app(config, providers=["runware", "gmicloud"])


def _stats(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/__admin/stats")
    assert response.status_code == 200
    return dict(response.get_json())


def test_runware_base64_results_are_evicted_oldest_first_and_the_stats_say_so(small: Flask) -> None:
    client = small.test_client()
    tasks = [image_task(outputType="base64Data") for _ in range(6)]
    for task in tasks:
        answer = client.post("/runware/v1", json=[task], headers=RUNWARE_KEY)
        assert answer.status_code == 200 and len(answer.get_json()["data"][0]["imageBase64Data"]) > 50_000
    results = _stats(small)["budgets"]["results"]
    assert results["max_bytes"] == 300_000 and results["bytes"] <= 300_000
    assert results["evicted"] >= 1 and results["evicted_bytes"] > 50_000 * results["evicted"]

    def poll(task: dict[str, Any]) -> dict[str, Any]:
        body = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        return dict(client.post("/runware/v1", json=body, headers=RUNWARE_KEY).get_json())

    assert poll(tasks[0])["errors"][0]["code"] == "taskNotFound"  # the oldest went first
    assert poll(tasks[-1])["data"][0]["status"] == "success"


def test_rejected_gmi_payloads_are_bounded_by_bytes(small: Flask) -> None:
    client = small.test_client()
    ids = []
    for _ in range(5):  # a 200 kB prompt: rejected, and the failed record keeps the payload
        body = {"model": "gpt-image-2", "payload": {"prompt": _sized(200_000), "quality": "ultra"}}
        answer = client.post(f"{GMI}/requests", json=body, headers=GMI_KEY)
        assert answer.status_code == 400
        ids.append(answer.get_json()["request_id"])
    payloads = _stats(small)["budgets"]["payloads"]
    assert payloads["bytes"] <= 500_000 and payloads["evicted"] == 5 - payloads["count"] >= 3
    assert client.get(f"{GMI}/requests/{ids[0]}", headers=GMI_KEY).status_code == 404
    assert client.get(f"{GMI}/requests/{ids[-1]}", headers=GMI_KEY).get_json()["status"] == "failed"
    journal = _stats(small)["budgets"]["journal"]
    assert journal["count"] >= 1 and journal["bytes"] <= 2_000_000
    client.post("/__admin/reset")
    assert _stats(small)["budgets"]["payloads"] == {
        **payloads,
        "count": 0,
        "bytes": 0,
        "evicted": 0,
        "evicted_bytes": 0,
    }
