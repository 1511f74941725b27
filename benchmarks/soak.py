"""Soak: many jobs of every provider against one in-process emulator app, printing the process's
resident memory and ``GET /__admin/stats`` as it goes. A benchmark, not a test: nothing is asserted but
the statuses each request must get.

``python -m benchmarks.soak [--rounds 24] [--per-round 25] [--unbounded | --budget-mib N]
[--chunked-mib 200] [--served] [--mix every-kind|issue]``

Each round sends, ``--per-round`` times: an OpenAI generation (1024x1024 PNG as b64_json), a Cloudflare
run, an Apiframe submit and poll, Runware tasks with a base64 PNG result, a URL result and an
``uploadEndpoint`` (delivered to a loopback receiver this script runs), a GMI Cloud generation and a GMI
request rejected with a 1 MB prompt (its failed record keeps the payload); ``--mix issue``: issue 28's
soak instead (``issue_mix``). Every request uses the
realistic headers of its provider, a credential in a webhook URL's query included. After each round it
prints the RSS (``/proc/self/status`` VmRSS, MiB) and each budget's held/evicted figures.
``--unbounded``: every byte budget off (``None``), as before budgets existed (records then bounded only
by ``max_records``, deliveries not at all); ``--budget-mib N``: every byte budget N MiB (to see eviction
in a short run). Last, a served worker's peak RSS while it refuses a chunked body larger than its limit
(``--chunked-mib``; ``chunked_peak``).
"""

from __future__ import annotations

import argparse
import http.server
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from benchmarks.mixes import BY_NAME
from benchmarks.targets import PIXELMOCK, Server, Target, status_kib
from pixelmock.emulators import EmulatorConfig, create_app

OPENAI = "/openai/v1/images/generations"
CLOUDFLARE = "/cloudflare/client/v4/accounts/acct/ai/run"
APIFRAME = "/apiframe/v2"
RUNWARE = "/runware/v1"
GMI = "/gmicloud/api/v1/ie/requestqueue/apikey/requests"
MIB = 1024 * 1024
PROMPT_1MB = "a lighthouse at dawn " * (MIB // 21)


def rss_mib() -> float:
    """Resident memory of this process (VmRSS), MiB; 0 where ``/proc`` is absent."""
    return status_kib("self", "VmRSS") / 1024


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Accepts any PUT/POST (uploads, webhooks) with 200, reading the body."""

    def _accept(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = _accept

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


@contextmanager
def receiver() -> Iterator[str]:
    """A loopback HTTP server for uploads and webhooks; yields its base URL and stops it after."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return response


def _runware_task(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "openai:gpt-image@2",
        "positivePrompt": f"pixelmock soak {n}",
        "width": 1024,
        "height": 1024,
        **extra,
    }


def one_of_each(client: httpx.Client, n: int, hook: str) -> int:
    """One job of every provider and flow (request ``n``); returns how many requests it sent."""
    bearer = {"Authorization": f"Bearer soak-{n // 50}"}
    prompt = f"pixelmock soak {n}"
    _expect(
        client.post(
            OPENAI,
            json={"model": "gpt-image-2", "prompt": prompt, "quality": "low", "output_format": "png"},
            headers={"Authorization": f"Bearer sk-soak-{n // 50}"},
        ),
        200,
    )
    _expect(
        client.post(
            f"{CLOUDFLARE}/openai/gpt-image-2", json={"prompt": prompt, "quality": "low"}, headers=bearer
        ),
        200,
    )
    submitted = _expect(
        client.post(
            f"{APIFRAME}/images/generate",
            json={"prompt": prompt, "model": "gpt-image-2", "gptImage2Params": {"quality": "low"}},
            headers={"X-API-Key": f"afk_soak{n // 500}"},
        ),
        202,
    )
    job = submitted.json()["jobId"]
    _expect(client.get(f"{APIFRAME}/jobs/{job}", headers={"X-API-Key": f"afk_soak{n // 500}"}), 200)
    tasks = [
        _runware_task(n, outputType="base64Data", outputFormat="PNG"),
        _runware_task(n, outputType="URL", webhookURL=f"{hook}/webhook?token=soak-secret-{n}"),
        _runware_task(n, outputType="URL", uploadEndpoint=f"{hook}/upload/{n}.jpg"),
    ]
    _expect(client.post(RUNWARE, json=tasks, headers=bearer), 200)
    gmi = {"Authorization": f"Bearer gmi-soak-{n // 50}"}
    payload = {"prompt": prompt, "quality": "low", "size": "1024x1024"}
    _expect(client.post(GMI, json={"model": "gpt-image-2", "payload": payload}, headers=gmi), 200)
    rejected = {"prompt": PROMPT_1MB, "quality": "low"}
    _expect(client.post(GMI, json={"model": "gpt-image-2", "payload": rejected}, headers=gmi), 400)
    return 9


#: The largest output Runware documents for gpt-image-2 (3840x2160): a "large" base64 result.
LARGE = {"width": 3840, "height": 2160}


def issue_mix(client: httpx.Client, n: int, hook: str) -> int:
    """Issue 28's soak, job ``n`` of every 1,000: a large Runware base64 PNG result each time, a large
    result delivered to an ``uploadEndpoint`` 3 times in 5 (600 of 1,000) and a GMI request refused for
    its 1 MB prompt 3 times in 20 (150 of 1,000); returns how many requests it sent."""
    bearer = {"Authorization": f"Bearer soak-{n // 50}"}
    tasks = [_runware_task(n, outputType="base64Data", outputFormat="PNG", **LARGE)]
    if n % 5 < 3:
        tasks.append(_runware_task(n, outputType="URL", uploadEndpoint=f"{hook}/upload/{n}.png", **LARGE))
    _expect(client.post(RUNWARE, json=tasks, headers=bearer), 200)
    if n % 20 >= 3:
        return 1
    gmi = {"Authorization": f"Bearer gmi-soak-{n // 50}"}
    rejected = {"prompt": PROMPT_1MB, "quality": "low"}
    _expect(client.post(GMI, json={"model": "gpt-image-2", "payload": rejected}, headers=gmi), 400)
    return 2


#: ``--mix``: what one job of a round sends.
JOBS: dict[str, Callable[[httpx.Client, int, str], int]] = {"every-kind": one_of_each, "issue": issue_mix}


def soak(
    rounds: int,
    per_round: int,
    unbounded: bool = False,
    budget_mib: int | None = None,
    report: Callable[[str], None] = print,
    served: bool = False,
    mix: str = "every-kind",
) -> dict[str, Any]:
    """Run ``rounds`` rounds of ``per_round`` jobs (``mix``: ``JOBS``' name; default one job of every
    provider); ``report`` gets each printed line.
    ``budget_mib``: every byte budget set to that many MiB (default: ``EmulatorConfig``'s). ``served``: the
    jobs go to a fresh ``pixelmock serve`` (1 worker, access log off) and the RSS is its worker's, not
    this process's. Returns the last ``GET /__admin/stats``."""
    config = EmulatorConfig()
    if unbounded or budget_mib is not None:
        bound = None if unbounded or budget_mib is None else budget_mib * MIB
        config.results_max_bytes = config.payloads_max_bytes = bound
        config.uploads_max_bytes = config.journal_max_bytes = bound
    names = ("results", "payloads", "uploads", "journal")
    budgets = "off" if unbounded else f"{budget_mib} MiB each" if budget_mib else "defaults"
    where = "a served worker (pixelmock serve)" if served else "this process (in-process app)"
    report(f"soak: {rounds} rounds x {per_round} jobs ({mix}); byte budgets: {budgets}; RSS of {where}")
    report("round  requests  seconds  RSS MiB  " + "  ".join(f"{n} held/evicted MiB (count)" for n in names))
    started, sent = time.perf_counter(), 0
    stats: dict[str, Any] = {}
    with receiver() as hook, _target(config, served) as (client, deliver, rss):
        for round_ in range(1, rounds + 1):
            for i in range(per_round):
                sent += JOBS[mix](client, (round_ - 1) * per_round + i, hook)
            deliver()  # deliveries due now
            stats = client.get("/__admin/stats").json()
            held = stats["budgets"]
            figures = "  ".join(
                f"{held[n]['bytes'] / MIB:7.1f}/{held[n]['evicted_bytes'] / MIB:7.1f} "
                f"({held[n]['count']}/{held[n]['evicted']})"
                for n in names
            )
            report(f"{round_:5d}  {sent:8d}  {time.perf_counter() - started:7.1f}  {rss():7.1f}  {figures}")
    return dict(stats)


@contextmanager
def _target(
    config: EmulatorConfig, served: bool
) -> Iterator[tuple[httpx.Client, Callable[[], object], Callable[[], float]]]:
    """``(client at the emulator's root, run the due deliveries, RSS in MiB)``: an in-process app with
    ``config``, or a fresh ``pixelmock serve`` with its byte budgets."""
    if not served:
        app = create_app(config)
        rt = app.extensions["pixelmock"]
        with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
            yield client, lambda: rt.tick(wait=True), rss_mib
        return
    names = ("results_max_bytes", "payloads_max_bytes", "uploads_max_bytes", "journal_max_bytes")
    flags = [a for n in names for a in (f"--{n.replace('_', '-')}", str(getattr(config, n) or "none"))]
    target = Target("pixelmock", "pixelmock serve (soak)", flags=(*flags, "--log-level", "off"))
    with Server(target, "openai") as server:
        server.wait_ready(BY_NAME["runware_url"])
        [worker] = server.serving_pids()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield (
                client,
                lambda: client.post("/__admin/clock/advance", json={"seconds": 0}),
                lambda: status_kib(worker, "VmRSS") / 1024,
            )


def chunked_peak(body_mib: int, report: Callable[[str], None] = print) -> float:
    """Send a chunked ``body_mib`` MiB body (1 MiB chunks, no Content-Length) to a fresh ``pixelmock
    serve`` (its default 64 MiB ``max_body_bytes``) and report the worker's peak RSS growth, which is
    returned as a multiple of the limit (issue 28's target: at most 1.5)."""
    limit = EmulatorConfig().max_body_bytes
    with Server(PIXELMOCK, "openai") as server:
        server.wait_ready(BY_NAME["runware_url"])
        [worker] = server.serving_pids()
        before = status_kib(worker, "VmHWM")
        chunk = b"x" * MIB
        answer = httpx.post(
            f"{server.url}{OPENAI}",
            content=(chunk for _ in range(body_mib)),
            headers={"Authorization": "Bearer sk-soak", "Content-Type": "application/json"},
            timeout=120,
        )
        grown = (status_kib(worker, "VmHWM") - before) * 1024
    ratio = grown / limit
    report(
        f"chunked {body_mib} MiB body against a {limit / MIB:.0f} MiB limit: answered {answer.status_code}; "
        f"worker peak RSS +{grown / MIB:.0f} MiB = {ratio:.2f}x the limit (target <= 1.5x)"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--unbounded", action="store_true", help="every byte budget off (as before)")
    parser.add_argument("--budget-mib", type=int, default=None, help="every byte budget set to this many MiB")
    parser.add_argument(
        "--chunked-mib", type=int, default=200, help="a served worker's peak for a chunked body (0: skip)"
    )
    parser.add_argument("--served", action="store_true", help="soak a pixelmock serve worker (its RSS)")
    parser.add_argument(
        "--mix",
        choices=sorted(JOBS),
        default="every-kind",
        help="every-kind: one job of every provider and flow; issue: issue 28's large base64 results, "
        "uploads and refused 1 MB prompts (1,000 / 600 / 150 in 40 rounds of 25)",
    )
    args = parser.parse_args(argv)
    soak(args.rounds, args.per_round, args.unbounded, args.budget_mib, served=args.served, mix=args.mix)
    if args.chunked_mib:
        chunked_peak(args.chunked_mib)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
