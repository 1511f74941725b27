"""Held connections (``python -m benchmarks.held``): REST latency while ``pixelmock serve`` holds 1,000
idle Runware WebSockets and 100 slow clients (issue 13). A benchmark, not a test: it prints figures.

Steps, against one ``pixelmock serve`` on 127.0.0.1 (started and stopped like ``python -m benchmarks``'s
targets; the command it runs is whatever ``pixelmock`` this environment imports):

1. REST latency with nothing held: ``--requests`` sequential ``runware_url`` requests (a new prompt each,
   one keep-alive client), each with a ``--patience`` second timeout; p50 and p99 of those answered.
2. Hold: ``--websockets`` WebSocket upgrades of ``/runware/v1`` (the handshake only, then silence), all
   sent at once and awaited together for up to ``--patience`` s; then ``--slow`` slow clients, half
   dribbling a request head one byte a second, half a JSON body (Content-Length 1,000,000) the same way.
3. The same REST run as step 1 while everything is held, plus one ``GET /__admin/`` for every 10 requests;
   the run stops early after ``--patience`` s without an answer (a frozen server), and the table says
   how many were answered.
4. The serving process's resident memory before and while holding.

The process raises its own soft limit on open files to fit the held sockets. Method and results:
``BENCHMARKS.md``, "Held connections".
"""

from __future__ import annotations

import argparse
import json
import resource
import selectors
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from benchmarks.mixes import BY_NAME
from benchmarks.run import load_average
from benchmarks.targets import PIXELMOCK, Server, send_first

MIX = BY_NAME["runware_url"]
HANDSHAKE = (
    b"GET /runware/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
SLOW_HEAD = b"POST /openai/v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
SLOW_BODY = (
    b"POST /openai/v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Authorization: Bearer sk-held\r\nContent-Length: 1000000\r\n\r\n"
)


@dataclass
class Latency:
    """One REST run: requests sent and answered, p50/p99 (ms) of the answered ones, admin probes."""

    sent: int
    answered: int
    p50_ms: float | None
    p99_ms: float | None
    admin_sent: int = 0
    admin_answered: int = 0


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards ``wanted`` (at most the hard limit); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rest_run(url: str, requests: int, patience: float, run: int, admin_every: int = 0) -> Latency:
    """``requests`` sequential ``runware_url`` requests; stops after ``patience`` s without an answer."""
    times: list[float] = []
    admin_sent = admin_answered = sent = 0
    last_answer = time.perf_counter()
    with httpx.Client(base_url=url, timeout=patience) as client:
        for n in range(requests):
            if time.perf_counter() - last_answer > patience:
                break
            sent += 1
            started = time.perf_counter()
            try:
                answer = send_first(client, PIXELMOCK, MIX, run=run, n=n)
            except httpx.TransportError:
                continue
            if answer.status_code in MIX.statuses:
                last_answer = time.perf_counter()
                times.append((last_answer - started) * 1000)
            if admin_every and n % admin_every == 0:
                admin_sent += 1
                with suppress(httpx.TransportError):
                    admin_answered += client.get("/__admin/").status_code == 200
    times.sort()
    p50 = statistics.median(times) if times else None
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else None
    return Latency(sent, len(times), p50, p99, admin_sent, admin_answered)


def open_websockets(port: int, count: int, patience: float, stack: ExitStack) -> int:
    """Send ``count`` WebSocket upgrades at once; how many got ``101`` within ``patience`` s. Every
    socket stays open (``stack`` closes them)."""
    selector = selectors.DefaultSelector()
    stack.callback(selector.close)
    heads: dict[socket.socket, bytes] = {}
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=patience))
        sock.sendall(HANDSHAKE)
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        heads[sock] = b""
    upgraded = 0
    deadline = time.monotonic() + patience
    while heads and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                chunk = sock.recv(4096)
            except BlockingIOError:
                continue
            heads[sock] += chunk
            if b"\r\n\r\n" in heads[sock] or not chunk:
                upgraded += heads.pop(sock).startswith(b"HTTP/1.1 101")
                selector.unregister(sock)
    return upgraded


@contextmanager
def slow_clients(port: int, count: int, stack: ExitStack) -> Iterator[int]:
    """``count`` clients dribbling one byte a second (half a head, half a body) while the block runs;
    yields how many connected."""
    sockets = []
    for k in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        sock.sendall(SLOW_HEAD if k % 2 else SLOW_BODY)
        sockets.append(sock)
    stop = threading.Event()

    def dribble() -> None:
        while not stop.wait(1.0):
            for sock in sockets:
                with suppress(OSError):  # the server closed it (read timeout)
                    sock.send(b"a")

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield len(sockets)
    finally:
        stop.set()
        thread.join()


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the steps; every figure as a JSON-ready dict."""
    fd_limit = raise_fd_limit(args.websockets + args.slow + 256)
    results: dict[str, Any] = {"fd_limit": fd_limit, "load_average_start": load_average()}
    with Server(PIXELMOCK, "all") as server:
        server.wait_ready(MIX)
        results["idle"] = asdict(rest_run(server.url, args.requests, args.patience, run=1))
        results["rss_idle_kib"] = server.rss_kib()
        with ExitStack() as stack:
            started = time.perf_counter()
            upgraded = open_websockets(server.port, args.websockets, args.patience, stack)
            results["websockets_upgraded"] = upgraded
            results["websockets_s"] = time.perf_counter() - started
            with slow_clients(server.port, args.slow, stack) as connected:
                results["slow_connected"] = connected
                held = rest_run(server.url, args.requests, args.patience, run=2, admin_every=10)
                results["held"] = asdict(held)
                results["rss_held_kib"] = server.rss_kib()
    results["load_average_end"] = load_average()
    return results


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def table(args: argparse.Namespace, results: dict[str, Any]) -> str:
    """The figures as one Markdown table."""
    idle, held = results["idle"], results["held"]
    per_connection = (results["rss_held_kib"] - results["rss_idle_kib"]) / max(
        1, results["websockets_upgraded"] + results["slow_connected"]
    )
    rows = [
        ("REST runware_url with nothing held: answered, p50 / p99 ms",
         f"{idle['answered']}/{idle['sent']}, {_ms(idle['p50_ms'])} / {_ms(idle['p99_ms'])}"),
        (f"WebSockets upgraded (of {args.websockets})", f"{results['websockets_upgraded']} in "
         f"{results['websockets_s']:.1f} s"),
        (f"slow clients connected (of {args.slow})", str(results["slow_connected"])),
        ("REST runware_url while held: answered, p50 / p99 ms",
         f"{held['answered']}/{held['sent']}, {_ms(held['p50_ms'])} / {_ms(held['p99_ms'])}"),
        ("GET /__admin/ while held: answered", f"{held['admin_answered']}/{held['admin_sent']}"),
        ("worker RSS idle -> holding (MB; per held connection kB)",
         f"{results['rss_idle_kib'] / 1024:.0f} -> {results['rss_held_kib'] / 1024:.0f} "
         f"({per_connection:.0f})"),
        ("p99 while held < 100 ms", "met" if held["p99_ms"] is not None and held["p99_ms"] < 100
         and held["answered"] == held["sent"] else "MISSED"),
    ]  # fmt: skip
    lines = ["| measure | pixelmock serve |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    lines.append(
        f"\n(load average {results['load_average_start']} at the start, {results['load_average_end']} "
        f"at the end; open-file limit {results['fd_limit']})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.held``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--websockets", type=int, default=1000, help="idle WebSockets held (1000)")
    parser.add_argument("--slow", type=int, default=100, help="slow clients held (100)")
    parser.add_argument("--requests", type=int, default=500, help="REST requests per run (500)")
    parser.add_argument("--patience", type=float, default=15.0, help="seconds before giving up (15)")
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args(argv)
    results = measure(args)
    print(table(args, results))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
