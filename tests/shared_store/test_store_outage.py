"""When the shared store fails under a running emulator (issue 28): a real ``redis-server`` of the test's own,
stopped and started again, or full, under ``pixelmock serve`` (a real process) or an app.

Oracles: while Redis is away each provider answers what it documents for an outage, which is the same
answer its ``unavailable`` fault gives (or, where it documents no 503, its ``server_error`` fault): the
fault answers are checked against the providers' public sources in ``tests/providers/*/test_*_faults.py``.
Service comes back with Redis, without restarting pixelmock; a write Redis refused leaves no partial
record (the ledger invariant holds, every answered task is retrievable).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fault_answers import generation, in_process, send
from ledger_invariant import check_ledger
from redis_server import OwnRedis, require_redis_server
from served import pixelmock_process

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.web.faults import OUTAGE_KINDS

#: A generation every provider sells on any date (gpt-image-1.5 shut down at OpenAI on 2026-12-01).
LIVE = CanonicalRequest(model="gpt-image-2", prompt="a fox", quality="low", size="1024x1024")


def _documented_outage(client: httpx.Client, provider: str, kinds: dict[str, list[str]]) -> httpx.Response:
    """The provider's answer to the first outage fault kind it offers, sent while the store is up."""
    kind = next(k for k in OUTAGE_KINDS if k in kinds[provider])
    return send(client, provider, {"X-Pixelmock-Fault": kind}, LIVE)


def _without_ids(answer: httpx.Response) -> object:
    """The JSON body with the ids each answer mints (request ids in messages) masked."""
    return json.loads(
        re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", answer.text)
    )


def _served(client: httpx.Client, provider: str) -> bool:
    return send(client, provider, request=LIVE).is_success


@pytest.fixture(scope="module")
def own() -> Iterator[OwnRedis]:
    """A ``redis-server`` of this module's own, which its tests stop and start again (each leaves it
    running: the ledger check after each test reads the store); it outlives every test's teardown."""
    with OwnRedis(require_redis_server()) as server:
        yield server


@contextlib.contextmanager
def stopped(server: OwnRedis) -> Iterator[None]:
    """``server`` stopped for the block, then started again (empty: no persistence)."""
    server.stop()
    try:
        yield
    finally:
        server.start()


def test_redis_stopped_and_started_again_under_a_running_server(own: OwnRedis, tmp_path: Path) -> None:
    with (
        pixelmock_process(tmp_path / "port", "serve", "--store", own.url, "--log-level", "warning") as (
            root,
            _,
        ),
        httpx.Client(base_url=root, timeout=30) as client,
    ):
        kinds = client.get("/__admin/faults").json()["kinds"]
        documented = {p: _documented_outage(client, p, kinds) for p in PROVIDERS}
        assert all(_served(client, p) for p in PROVIDERS)

        with stopped(own):
            for provider in PROVIDERS:
                answer = send(client, provider, request=LIVE)
                expected = documented[provider]
                assert answer.status_code == expected.status_code >= 500, (provider, answer.text)
                assert _without_ids(answer) == _without_ids(expected), provider
            assert client.get("/__health").status_code == 503  # a load balancer takes the worker out
        for provider in PROVIDERS:
            assert _served(client, provider), provider
        assert client.get("/__health").status_code == 200


def test_redis_at_its_memory_limit_refuses_cleanly_and_keeps_every_record_whole(own: OwnRedis) -> None:
    server = redis.Redis.from_url(own.url)
    server.config_set("maxmemory-policy", "noeviction")  # the policy a store of records needs
    server.config_set("maxmemory", "3mb")
    try:
        app = create_app(EmulatorConfig(store=own.url, log_level="off"))
        client = in_process(app)
        big = CanonicalRequest(model="gpt-image-2", prompt="a fox", quality="low", size="1536x1024")
        args = generation("runware", big)
        answered: list[str] = []
        statuses: list[int] = []
        for n in range(80):
            task = {
                **args["json"][0],
                "taskUUID": f"00000000-0000-4000-8000-{n:012d}",
                "outputType": "base64Data",
            }
            found = client.post(args["url"], headers=args["headers"], json=[task])
            statuses.append(found.status_code)
            if found.status_code == 200:
                answered.append(task["taskUUID"])
            if found.status_code == 503:
                break
        assert statuses[-1] == 503, f"Redis never filled up: {statuses}"
        assert set(statuses) <= {200, 503}
        assert found.json()["errors"][0]["code"] == "serviceUnavailable"

        server.config_set("maxmemory", 0)  # room again
        rt = app.extensions["pixelmock"]
        check_ledger(rt)
        for task_uuid in answered:
            record = rt.store.get("runware.tasks", task_uuid)
            assert record is not None and record.items, task_uuid
        assert _served(client, "runware")
    finally:
        server.config_set("maxmemory", 0)
        server.close()


@pytest.mark.parametrize("provider", ["openai", "runware"])
def test_an_app_whose_store_went_away_answers_the_provider_outage_in_process(
    own: OwnRedis, provider: str
) -> None:
    app = create_app(EmulatorConfig(store=own.url, log_level="off"))
    client = in_process(app)
    kinds = client.get("/__admin/faults").json()["kinds"]
    documented = _documented_outage(client, provider, kinds)
    with stopped(own):
        answer = send(client, provider, request=LIVE)
        assert (answer.status_code, _without_ids(answer)) == (
            documented.status_code,
            _without_ids(documented),
        )
        journal = client.get("/__admin/journal")
        assert journal.status_code == 503  # the control plane says so, in JSON
        assert "store" in journal.json()["error"]
    assert _served(client, provider)
