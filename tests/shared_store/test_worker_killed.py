"""Workers SIGKILLed (issue 28): ``pixelmock serve --workers 2`` on a real ``redis-server``,
clients submitting Apiframe jobs on both workers while one worker is killed; gunicorn starts another.

Oracles: Apiframe's own flow (a job it answered 202 for is polled to COMPLETED afterwards), the costs the
answers reported (each answered job debited once, by the credits the job reports) and the ledger chain
(each line's balance is the one before it plus its amount, per account). What may differ is bounded by
what the kill cut: requests in flight on the killed worker, each either not charged or charged without
an answer; no answer is a 5xx. The journal says which were charged without an answer: each has its answer
recorded (built, then cut on its way by the kill) or is listed by ``GET /__admin/journal/unanswered``.
A webhook attempt whose worker dies is made again by another worker once
its lease has passed (the receiver gets the same event twice: at least once).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections import defaultdict
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path

import httpx
from served import PATIENCE, pixelmock_process, workers

from pixelmock.emulators.admin.client import PixelmockAdmin

#: Client threads, each with its own key (account) so that its ledger chain is its own.
CLIENTS = 6
JOB = {"prompt": "a lighthouse", "model": "gpt-image-2", "gptImage2Params": {"quality": "low"}}
_prefixes = count(1)


def test_a_worker_killed_under_load_loses_no_answered_job_and_keeps_the_ledger_exact(
    redis_url: str, tmp_path: Path
) -> None:
    store = f"{redis_url}?prefix=pixelmock-killed-{os.getpid()}-{next(_prefixes)}"
    serve = (
        "serve",
        "--workers",
        "2",
        "--store",
        store,
        "--log-level",
        "warning",
        "--ledger-limit",
        "100000",
        "--journal-limit",
        "100000",
    )
    answered: dict[str, list[str]] = defaultdict(list)  # key -> job ids answered 202
    cut: dict[str, int] = defaultdict(int)  # key -> requests with no answer (connection cut)
    statuses: list[int] = []
    stop = threading.Event()

    with pixelmock_process(tmp_path / "port", *serve) as (root, process):

        def client(n: int) -> None:
            key = f"afk_killed_{n}"
            http = httpx.Client(timeout=PATIENCE)  # keep-alive: its connection stays on one worker
            while not stop.is_set():
                try:
                    answer = http.post(
                        f"{root}/apiframe/v2/images/generate", json=JOB, headers={"X-API-Key": key}
                    )
                except httpx.TransportError:  # its worker was killed: a new connection
                    cut[key] += 1
                    http.close()
                    http = httpx.Client(timeout=PATIENCE)
                    continue
                statuses.append(answer.status_code)
                if answer.status_code == 202:
                    answered[key].append(answer.json()["jobId"])
            http.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        victim = workers(process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + PATIENCE  # gunicorn starts a new worker in its place
        while (
            len(workers(process.pid)) < 2 or victim in workers(process.pid)
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
        stop.set()
        for thread in threads:
            thread.join(PATIENCE)

        assert statuses and all(status == 202 for status in statuses), sorted(set(statuses))
        assert len(workers(process.pid)) == 2
        with (
            httpx.Client(base_url=root, timeout=PATIENCE) as http,
            contextlib.closing(PixelmockAdmin.for_url(root, PATIENCE)) as admin,
        ):
            # What the journal says (read before the polls below add entries): the answers it recorded, and
            # the requests charged whose answer it never recorded (their worker was killed in between).
            recorded = {
                entry["response"]["body"]["jobId"]
                for entry in admin.journal(path="/apiframe/v2/images/generate", status=202)
            }
            unanswered: dict[str, set[str]] = defaultdict(set)
            for note in admin.unanswered():
                for charge in note["charges"]:
                    unanswered[charge["account_id"]].add(charge["job_id"])
            for key, jobs in answered.items():
                for job_id in jobs:  # every answered job is there, whichever worker made it
                    found = http.get(f"/apiframe/v2/jobs/{job_id}", headers={"X-API-Key": key})
                    assert found.status_code == 200 and found.json()["status"] == "COMPLETED", found.text
                lines = admin.ledger(key=key)["lines"]
                # Apiframe's debit memo names its job (emulators/providers/apiframe.py): "apiframe job <id>"
                debited = {
                    line["memo"].removeprefix("apiframe job ")
                    for line in lines
                    if Decimal(line["amount"]) < 0
                }
                assert set(jobs) <= debited  # each answered job was charged
                assert len(lines) == len(debited)  # once each, and nothing else moved
                assert len(debited - set(jobs)) <= cut[key]  # charged without an answer: only the cut ones
                # ... and the journal says which: each has its answer recorded (built, cut on its way) or is
                # listed unanswered; no job the client got is listed unanswered
                account = admin.account(key)["id"]
                assert debited - set(jobs) <= recorded | unanswered[account]
                assert not unanswered[account] & set(jobs) and unanswered[account] <= debited
                balance = None
                for line in lines:  # the chain: each line follows the one before
                    if balance is not None:
                        assert Decimal(line["balance_after"]) == balance + Decimal(line["amount"])
                    balance = Decimal(line["balance_after"])


class _HoldingReceiver:
    """An HTTP server on 127.0.0.1 recording each POST body; it holds the first one unanswered until
    ``release`` (the worker making that attempt is killed meanwhile), and answers the others 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.first = threading.Event()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.bodies.append(body)
                if len(receiver.bodies) == 1:
                    receiver.first.set()
                    receiver._release.wait(PATIENCE)
                with contextlib.suppress(OSError):  # the first attempt's worker is gone
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def test_a_webhook_whose_attempt_died_with_its_worker_is_delivered_by_another(
    redis_url: str, tmp_path: Path
) -> None:
    """At least once, as the providers deliver: the attempt's lease ends and a live worker attempts again."""
    store = f"{redis_url}?prefix=pixelmock-killed-{os.getpid()}-{next(_prefixes)}"
    serve = ("serve", "--workers", "2", "--store", store, "--log-level", "warning")
    receiver = _HoldingReceiver()
    try:
        with (
            pixelmock_process(tmp_path / "port", *serve, "--outbound-timeout-seconds", "1") as (
                root,
                process,
            ),
            contextlib.closing(PixelmockAdmin.for_url(root, PATIENCE)) as admin,
        ):
            hook = {**JOB, "webhookUrl": receiver.url}
            with httpx.Client(timeout=PATIENCE) as http:
                submitted = http.post(
                    f"{root}/apiframe/v2/images/generate", json=hook, headers={"X-API-Key": "afk_hook"}
                )
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["jobId"]
            deadline = time.monotonic() + PATIENCE
            while not receiver.first.is_set() and time.monotonic() < deadline:
                admin.deliver()  # the job moves on; its webhook attempt starts in one worker
                time.sleep(0.1)
            assert receiver.first.is_set(), "no webhook attempt"
            for worker in workers(process.pid):  # whichever holds the attempt
                os.kill(worker, signal.SIGKILL)
            receiver.release()
            deadline = time.monotonic() + PATIENCE
            delivered: list[dict[str, object]] = []
            while not delivered and time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):  # the workers are starting again
                    delivered = admin.webhooks(group=job_id, status="delivered")
                time.sleep(0.2)
            assert delivered, admin.webhooks(group=job_id)
            assert len(receiver.bodies) >= 2 and receiver.bodies[-1] == receiver.bodies[0]
    finally:
        receiver.close()
