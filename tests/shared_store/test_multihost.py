"""Several hosts as one emulator (issue 15): two ``pixelmock serve`` processes on their own ports share one
real ``redis-server`` (``--store redis://...``), as two hosts behind a load balancer would, and a client
alternates between them. Whatever one host answered, the other must know: jobs, sessions, webhooks,
balances, restarts and resets. A third test serves ``--workers 2`` on one port.

Oracles: the providers' own flows (a job submitted is polled to COMPLETED; a Runware session resumes with
the results buffered while away), the webhook receiver's count (each event once), and the costs the
answers reported (balance = start - the sum of what was charged, never below zero).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from served import PATIENCE, pixelmock_process, workers
from websockets.sync.client import ClientConnection, connect

from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.accounts import BALANCE_SET_MEMO
from pixelmock.emulators.tools.pytest_plugin import WebhookReceiver

#: The load of the issue's acceptance: 32 clients at once, 500 Apiframe jobs each, split across the hosts.
CLIENTS, JOBS_PER_CLIENT = 32, 500
#: Accounts the clients share (8 clients race on each), with a balance that runs out mid-way.
KEYS = tuple(f"afk_multihost_{n}" for n in range(4))
#: Credits per Apiframe gpt-image-2 low-quality 1024x1024 job (contracts/data: the apiframe credit table),
#: read from the answers, not assumed: only the balance below depends on it.
BALANCE = 6_000
#: Runware images take this long (virtual seconds), so a WebSocket can drop while its task runs.
IMAGE_SECONDS = 0.5
#: ``--log-level warning``: no access line per request, which would fill the unread pipes of
#: ``pixelmock_process`` (64 kB: some 600 requests) and stop the server writing to them.
SERVE = ("--option", f"runware.image_seconds={IMAGE_SECONDS}", "--ledger-limit", "40000",
         "--max-records", "40000", "--journal-limit", "100", "--log-level", "warning")  # fmt: skip
JOB = {"prompt": "a lighthouse", "model": "gpt-image-2", "gptImage2Params": {"quality": "low"}}

_stores = count(1)


def _store(redis_url: str) -> str:
    """The session's ``redis-server`` (conftest's ``redis_url``) under a key prefix of this test's own."""
    return f"{redis_url}?prefix=pixelmock-multihost-{next(_stores)}"


@dataclass
class Hosts:
    """Two ``pixelmock serve`` processes on one store: ``roots[i]`` is host ``i``'s root URL."""

    tmp_path: Path
    store: str
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    roots: list[str] = field(default_factory=list)
    _running: list[contextlib.ExitStack] = field(default_factory=list)

    def start(self, i: int) -> str:
        host = contextlib.ExitStack()
        port_file = self.tmp_path / f"port-{i}-{uuid.uuid4().hex[:6]}"
        root, _ = host.enter_context(pixelmock_process(port_file, "serve", "--store", self.store, *SERVE))
        if i < len(self.roots):
            self.roots[i], self._running[i] = root, host
        else:
            self.roots.append(root)
            self._running.append(host)
        return root

    def stop(self, i: int) -> None:
        self._running[i].close()

    def admin(self, i: int) -> PixelmockAdmin:
        return self.stack.enter_context(contextlib.closing(PixelmockAdmin.for_url(self.roots[i], PATIENCE)))

    def close(self) -> None:
        self.stack.close()  # the admin clients' kept-alive connections first: a server waits for them
        for host in self._running:
            host.close()


@pytest.fixture
def hosts(redis_url: str, tmp_path: Path) -> Iterator[Hosts]:
    """Two hosts on a store of their own (``_store``)."""
    running = Hosts(tmp_path, _store(redis_url))
    try:
        running.start(0)
        running.start(1)
        yield running
    finally:
        running.close()


def _submit(client: httpx.Client, root: str, key: str, **extra: Any) -> httpx.Response:
    return client.post(
        f"{root}/apiframe/v2/images/generate", json={**JOB, **extra}, headers={"X-API-Key": key}
    )


def _job(client: httpx.Client, root: str, key: str, job_id: str) -> dict[str, Any]:
    answer = client.get(f"{root}/apiframe/v2/jobs/{job_id}", headers={"X-API-Key": key})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_job_made_on_one_host_is_polled_on_the_other_and_its_image_served_by_both(hosts: Hosts) -> None:
    a, b = hosts.roots
    with httpx.Client(timeout=PATIENCE) as client:
        submitted = _submit(client, a, KEYS[0])
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["jobId"]
        job = _job(client, b, KEYS[0], job_id)
        assert job["status"] == "COMPLETED" and job["creditCost"] > 0
        image = httpx.URL(job["result"]["images"][0]).raw_path.decode()
        bytes_on = [client.get(root + image) for root in (a, b)]  # rendered from its spec by either host
        assert [r.status_code for r in bytes_on] == [200, 200]
        assert bytes_on[0].content == bytes_on[1].content and bytes_on[0].content[8:12] == b"WEBP"
        assert _job(client, a, KEYS[0], job_id) == job  # and back on the first: the same record
    ledgers = [hosts.admin(i).ledger(key=KEYS[0]) for i in (0, 1)]
    assert ledgers[0] == ledgers[1] and len(ledgers[0]["lines"]) == 1
    assert Decimal(ledgers[0]["lines"][0]["amount"]) == -job["creditCost"]


def test_every_webhook_is_delivered_once_whichever_host_ticks(hosts: Hosts) -> None:
    jobs = 20
    with contextlib.closing(WebhookReceiver()) as receiver, httpx.Client(timeout=PATIENCE) as client:
        made = []
        for n in range(jobs):
            root = hosts.roots[n % 2]
            answer = _submit(client, root, KEYS[1], webhookUrl=f"{receiver.url}/hook/{n}")
            assert answer.status_code == 202, answer.text
            made.append(answer.json()["jobId"])
        receiver.wait_for(jobs, timeout=PATIENCE)  # both hosts tick every second
        for i in (0, 1):
            hosts.admin(i).deliver()  # anything still due runs now, on each host
        events = [json.loads(r.body) for r in receiver.requests]
    assert sorted(e["jobId"] for e in events) == sorted(made)  # each job's event once, no more
    assert {e["event"] for e in events} == {"completed"}
    for i in (0, 1):
        deliveries = hosts.admin(i).webhooks(provider="apiframe")
        assert sorted(d["group"] for d in deliveries) == sorted(made)
        assert {(d["status"], len(d["attempts"])) for d in deliveries} == {("delivered", 1)}


def _ws(root: str) -> contextlib.AbstractContextManager[ClientConnection]:
    return connect(root.replace("http://", "ws://") + "/runware/v1", open_timeout=10, close_timeout=2)


def _auth(ws: ClientConnection, key: str, session: str | None = None) -> str:
    task: dict[str, Any] = {"taskType": "authentication", "apiKey": key}
    if session is not None:
        task["connectionSessionUUID"] = session
    ws.send(json.dumps([task]))
    return str(json.loads(ws.recv(timeout=PATIENCE))["data"][0]["connectionSessionUUID"])


def test_a_runware_websocket_session_resumes_on_the_other_host(hosts: Hosts) -> None:
    a, b = hosts.roots
    key = "runware-multihost"
    task = {"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": "openai:gpt-image@2",
            "positivePrompt": "a lighthouse", "width": 1024, "height": 1024, "includeCost": True}  # fmt: skip
    with _ws(a) as ws:
        session = _auth(ws, key)
        ws.send(json.dumps([task]))  # and drop the connection while the image is made
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    deadline = time.monotonic() + PATIENCE
    with httpx.Client(timeout=PATIENCE, headers={"Authorization": f"Bearer {key}"}) as rest:
        while True:  # polled on the other host until the task is done
            items = rest.post(f"{b}/runware/v1", json=poll).json()["data"]
            if items and items[0].get("status") == "success":
                break
            assert time.monotonic() < deadline, f"the task did not finish: {items}"
            time.sleep(0.05)
    with _ws(b) as ws:
        assert _auth(ws, key, session=session) == session  # the session lives on, on the other host
        frame = json.loads(ws.recv(timeout=PATIENCE))
    [item] = frame["data"]
    assert item["taskUUID"] == task["taskUUID"] and item["imageURL"] == items[0]["imageURL"]
    assert item["cost"] == items[0]["cost"] > 0


def test_concurrent_clients_on_both_hosts_leave_every_ledger_exact(hosts: Hosts) -> None:
    """32 clients, each sending 500 Apiframe jobs alternately to the two hosts, 8 clients per account,
    with balances that run out: every job is either charged (202, its cost on the job) or refused (402),
    and each balance is its start less exactly the costs charged, never below zero."""
    admin = hosts.admin(0)
    for key in KEYS:
        admin.set_balance(key, "credits", BALANCE)
    charged: dict[str, list[tuple[str, str]]] = {key: [] for key in KEYS}  # key -> (root, job id)
    refused = [0] * CLIENTS
    failures: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        key = KEYS[c % len(KEYS)]
        with httpx.Client(timeout=PATIENCE) as http:
            for n in range(JOBS_PER_CLIENT):
                root = hosts.roots[(c + n) % 2]
                try:
                    answer = _submit(http, root, key)
                except httpx.HTTPError as exc:
                    failures.append(f"client {c} job {n} on {root}: {exc!r}")
                    return
                if answer.status_code == 202:
                    with lock:
                        charged[key].append((root, answer.json()["jobId"]))
                elif answer.status_code == 402:
                    refused[c] += 1
                else:
                    failures.append(f"client {c} job {n}: {answer.status_code} {answer.text[:200]}")
                    return

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(len(jobs) for jobs in charged.values()) + sum(refused) == CLIENTS * JOBS_PER_CLIENT
    with httpx.Client(timeout=PATIENCE) as http:
        for key, jobs in charged.items():
            assert sum(refused[c] for c in range(CLIENTS) if KEYS[c % len(KEYS)] == key) > 0  # ran out
            # every job costs the same; a sample, polled on the host that did not take it, says how much
            sample = jobs[:: max(1, len(jobs) // 20)]
            costs = {_job(http, hosts.roots[hosts.roots.index(root) ^ 1], key, job)["creditCost"]
                     for root, job in sample}  # fmt: skip
            [cost] = costs
            for i in (0, 1):
                balance = hosts.admin(i).balance(key, "credits")
                assert balance == BALANCE - cost * len(jobs)  # exact: each charged job debited once
                assert 0 <= balance < cost  # refused only when short, never taken below zero
                lines = hosts.admin(i).ledger(key=key)["lines"]
                debits = [
                    line for line in lines if Decimal(line["amount"]) < 0 and line["memo"] != BALANCE_SET_MEMO
                ]
                assert [Decimal(line["amount"]) for line in debits] == [Decimal(-cost)] * len(jobs)
                memos = "\n".join(line["memo"] for line in debits)
                assert all(job in memos for _, job in jobs)  # the debits are these jobs'


def test_a_restarted_host_continues_and_a_reset_on_one_host_resets_both(hosts: Hosts) -> None:
    a, b = hosts.roots
    with httpx.Client(timeout=PATIENCE) as client:
        before = _job(client, a, KEYS[2], _submit(client, a, KEYS[2]).json()["jobId"])
        balance = hosts.admin(1).balance(KEYS[2], "credits")
        hosts.stop(0)
        while_away = _submit(client, b, KEYS[2]).json()["jobId"]  # made while host 0 is down
        restarted = hosts.start(0)
        assert restarted != a  # a new process on a new port, on the same store
        assert _job(client, restarted, KEYS[2], before["id"]) == before
        assert _job(client, restarted, KEYS[2], while_away)["status"] == "COMPLETED"
        assert hosts.admin(0).balance(KEYS[2], "credits") == balance - before["creditCost"]
        hosts.admin(0).reset()
        answer = client.get(f"{b}/apiframe/v2/jobs/{while_away}", headers={"X-API-Key": KEYS[2]})
        assert answer.status_code == 404, answer.text  # the other host forgot it too
    fresh = hosts.admin(1).account(KEYS[2])["balances"]["credits"]
    assert Decimal(fresh) > balance  # back to the configured start
    assert hosts.admin(1).ledger()["lines"] == []


def test_several_workers_on_one_port_act_as_one_emulator(redis_url: str, tmp_path: Path) -> None:
    """``pixelmock serve --workers 2 --store redis://...``: jobs made and polled over new connections
    (each may land on either worker) are always found, COMPLETED, and charged once."""
    port_file = tmp_path / "port"
    serve = ("serve", "--workers", "2", "--store", _store(redis_url), "--log-level", "warning")
    with pixelmock_process(port_file, *serve) as (root, process):
        assert len(workers(process.pid)) == 2
        made: list[str] = []
        for _ in range(40):
            with httpx.Client(timeout=PATIENCE) as fresh:  # a new connection for each request
                answer = _submit(fresh, root, KEYS[3])
                assert answer.status_code == 202, answer.text
                made.append(answer.json()["jobId"])
        for job_id in made:
            with httpx.Client(timeout=PATIENCE) as fresh:
                assert _job(fresh, root, KEYS[3], job_id)["status"] == "COMPLETED"
        with contextlib.closing(PixelmockAdmin.for_url(root, PATIENCE)) as admin:
            assert len(admin.ledger(key=KEYS[3])["lines"]) == len(made)
