"""CPU per request, in memory and on Redis side by side (issue 28): ``python -m benchmarks.cpu``, and a
step of ``python -m benchmarks.scale``.

On 2 shared cores a wall-clock run cannot show what a Redis request costs (the workers, ``redis-server``
and the load generator take turns on the same cores), so this measures the work itself: ``pixelmock
serve`` with 1 worker in memory and 1 worker on Redis, both running, each sent ``--requests`` sequential
Runware URL generations (``benchmarks.mixes``, a new prompt each, one keep-alive client that is not
counted) in 4 blocks taken in turn, and the CPU time (user + system, from ``/proc``) the worker and
``redis-server`` spent during its own blocks, per request. It implies a throughput per core (1 / CPU per
request). Round trips per request are counted in a process of their own (``--round-trips URL``), on an
app with a Redis store whose client calls are counted (a pipeline is one round trip); Redis commands per
request (those scripts run included) are ``INFO commandstats`` before and after each block.

Two floor rows say what no worker-side work can go below: the in-memory worker's CPU plus the Redis
run's ``redis-server`` CPU (the store's own work), then also the CPU of a bare redis-py round trip
(``PING``, sockets patched by gevent as in a served worker; ``--ping URL``) for each round trip made."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.mixes import BY_NAME, Mix
from benchmarks.run import machine
from benchmarks.targets import PIXELMOCK, ROOT, Server, Target, send_job

#: The mix measured (the issue's acceptance figure: CPU per Runware URL request).
MIX = BY_NAME["runware_url"]
#: Redis request CPU against an in-memory one: the issue's target.
TARGET_RATIO = 1.5
#: Blocks each target's requests are sent in, the targets taking turns.
BLOCKS = 4


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (``/proc/PID/stat``), its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuResult:
    """``requests`` sent; CPU seconds of the serving worker and of ``redis-server`` (0 in memory) over
    them; Redis commands run (``None`` in memory); round trips per request (``None`` in memory); CPU
    microseconds of one bare round trip as the worker makes it (``round_trip_cpu_us``; ``None``: not
    measured)."""

    label: str
    requests: int
    worker_s: float
    redis_s: float
    commands: int | None
    round_trips: float | None
    round_trip_us: float | None = None

    @property
    def per_request_ms(self) -> float:
        return (self.worker_s + self.redis_s) / self.requests * 1000

    @property
    def per_core(self) -> float:
        """Requests per second one core could serve at this CPU cost."""
        return 1000 / self.per_request_ms if self.per_request_ms else 0.0


def _commands(redis_url: str) -> int:
    import redis  # redis-py: pixelmock's Redis store uses it too

    client = redis.Redis.from_url(redis_url)
    try:
        stats: dict[str, Any] = client.info("commandstats")
        return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")
    finally:
        client.close()


def _redis_reading(target: Target, redis_pid: int | None) -> tuple[float, int]:
    """``redis-server``'s CPU seconds and the commands it has run so far, for a target on Redis; ``(0, 0)``
    for one in memory."""
    if target.store is None or redis_pid is None:
        return 0.0, 0
    return cpu_seconds(redis_pid), _commands(target.store)


def measure_served(
    targets: Sequence[Target], requests: int, redis_pid: int | None, mix: Mix = MIX, blocks: int = BLOCKS
) -> list[CpuResult]:
    """Start every target (``pixelmock serve``; an idle one costs nothing), warm each up, then send each
    ``requests`` of ``mix`` in ``blocks`` blocks taken in turn (A B A B ...: a machine whose speed drifts
    weighs on both alike), reading the CPU its worker (and, for a target on Redis, ``redis-server``, pid
    ``redis_pid``) used during its own blocks."""
    per_block = max(1, requests // blocks)
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Server(target, mix.provider)) for target in targets]
        clients = []
        for server, target in zip(servers, targets, strict=True):
            server.wait_ready(mix)
            client = stack.enter_context(httpx.Client(base_url=server.url, timeout=30))
            for n in range(50):  # warm-up: first-use work (schemas, fonts) is not what we measure
                send_job(client, target, mix, 0xC0, 10_000_000 + n)
            clients.append(client)
        results = [CpuResult(t.label, 0, 0.0, 0.0, 0 if t.store else None, None) for t in targets]
        for block in range(blocks):
            for server, client, target, result in zip(servers, clients, targets, results, strict=True):
                workers = server.serving_pids()
                before, redis_before = sum(cpu_seconds(p) for p in workers), _redis_reading(target, redis_pid)
                for n in range(block * per_block, (block + 1) * per_block):
                    send_job(client, target, mix, 0xC1, n)
                redis_after = _redis_reading(target, redis_pid)
                result.worker_s += sum(cpu_seconds(p) for p in workers) - before
                result.redis_s += redis_after[0] - redis_before[0]
                if result.commands is not None:
                    result.commands += redis_after[1] - redis_before[1]
                result.requests += per_block
    return results


@contextmanager
def _counted_round_trips() -> Iterator[list[int]]:
    """Count redis-py's round trips in this process while the block runs: each command sent alone and
    each pipeline executed is one."""
    import redis
    from redis.client import Pipeline

    count = [0]
    single, pipelined = redis.Redis.execute_command, Pipeline.execute

    def one(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return single(self, *args, **kwargs)

    def many(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return pipelined(self, *args, **kwargs)

    redis.Redis.execute_command, Pipeline.execute = one, many  # type: ignore[method-assign]
    try:
        yield count
    finally:
        redis.Redis.execute_command, Pipeline.execute = single, pipelined  # type: ignore[method-assign]


def round_trips(redis_url: str, requests: int, mix: Mix = MIX) -> float:
    """Round trips to Redis per request of ``mix``, on an app in this process with a Redis store."""
    from pixelmock.emulators import EmulatorConfig, create_app

    app = create_app(EmulatorConfig(store=redis_url, log_level="off"))
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1") as client:
        for n in range(10):
            send_job(client, PIXELMOCK, mix, 0xC2, 10_000_000 + n)
        with _counted_round_trips() as count:
            for n in range(requests):
                send_job(client, PIXELMOCK, mix, 0xC3, n)
    return count[0] / requests / (2 if mix.follow is not None else 1)


def round_trip_cpu_us(redis_url: str, trips: int = 3000) -> float:
    """CPU microseconds this process spends on one bare redis-py round trip (``PING``) to ``redis_url``,
    its sockets patched by gevent as a served worker's are (``python -m benchmarks.cpu --ping URL`` runs
    it in a process of its own: patching is for the whole process)."""
    from gevent import monkey

    monkey.patch_all()
    import redis

    client = redis.Redis.from_url(redis_url)
    client.ping()
    start = time.process_time()
    for _ in range(trips):
        client.ping()
    spent = time.process_time() - start
    client.close()
    return spent / trips * 1e6


def table(results: Sequence[CpuResult]) -> str:
    """One Markdown table: a row per store; the Redis row's ratio to the memory row, against the target;
    and, given memory and Redis, the floor: the in-memory worker's CPU plus ``redis-server``'s alone (a
    Redis request whose worker-side Redis work, the encoding, packing and round trips, cost nothing),
    then with the CPU of a bare round trip (``CpuResult.round_trip_us``) for each of its round trips."""
    lines = [
        f"| {MIX.name}, {results[0].requests:,} sequential requests | worker CPU ms/request "
        "| redis-server CPU ms/request | total ms/request | vs memory "
        f"(target <= {TARGET_RATIO}x) | requests/s per core | round trips/request | Redis commands/request |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = results[0].per_request_ms
    for r in results:
        ratio = r.per_request_ms / base if base else 0.0
        verdict = "" if r is results[0] else (": met" if ratio <= TARGET_RATIO else ": MISSED")
        commands = "-" if r.commands is None else f"{r.commands / r.requests:.0f}"
        trips = "-" if r.round_trips is None else f"{r.round_trips:.2f}"
        lines.append(
            f"| {r.label} | {r.worker_s / r.requests * 1000:.2f} | {r.redis_s / r.requests * 1000:.2f} "
            f"| {r.per_request_ms:.2f} | {ratio:.2f}x{verdict} | {r.per_core:,.0f} | {trips} | {commands} |"
        )
    on_redis = results[-1]
    if len(results) == 2 and base:  # what the Redis row would be if its worker's own Redis work were free
        worker, server = results[0].worker_s / results[0].requests, on_redis.redis_s / on_redis.requests
        floor = (worker + server) * 1000
        lines.append(
            f"| floor: the in-memory worker + this redis-server | {worker * 1000:.2f} | {server * 1000:.2f} "
            f"| {floor:.2f} | {floor / base:.2f}x | {1000 / floor:,.0f} | - | - |"
        )
        round_trip_us = on_redis.round_trip_us
        if round_trip_us is not None and on_redis.round_trips is not None:
            trips = on_redis.round_trips * round_trip_us / 1000
            floor += trips
            lines.append(
                f"| floor + {on_redis.round_trips:.2f} bare round trips ({round_trip_us:.0f} µs of CPU each, "
                f"PING under gevent) | {worker * 1000 + trips:.2f} | {server * 1000:.2f} | {floor:.2f} "
                f"| {floor / base:.2f}x | {1000 / floor:,.0f} | {on_redis.round_trips:.2f} | - |"
            )
    return "\n".join(lines)


def _in_own_process(*args: str) -> str:
    """The last line ``python -m benchmarks.cpu *args`` prints, run in a process of its own."""
    argv = [sys.executable, "-m", "benchmarks.cpu", *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout.strip().splitlines()[-1]


def measure(redis_url: str, redis_pid: int, requests: int) -> list[CpuResult]:
    """In memory, then on Redis (database of ``redis_url``; ``redis_pid``: its server), side by side."""
    memory, on_redis = measure_served(
        [Target("pixelmock", "in memory"), Target("pixelmock", "on Redis", 1, redis_url)], requests, redis_pid
    )
    on_redis.round_trips = float(
        _in_own_process("--round-trips", redis_url, "--requests", str(min(requests, 200)))
    )
    on_redis.round_trip_us = float(_in_own_process("--ping", redis_url))
    return [memory, on_redis]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: start a ``redis-server`` of its own, measure, print the table."""
    from benchmarks.scale import RedisServer

    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per store (default 2000)")
    parser.add_argument("--round-trips", metavar="URL", help="only print the round trips per request on URL")
    parser.add_argument("--ping", metavar="URL", help="only print the CPU µs of a bare round trip to URL")
    args = parser.parse_args(argv)
    if args.round_trips:
        print(round_trips(args.round_trips, args.requests))
        return 0
    if args.ping:
        print(round_trip_cpu_us(args.ping))
        return 0
    print(f"pixelmock CPU per request: {machine()}", flush=True)
    start = time.perf_counter()
    with RedisServer() as redis:
        results = measure(redis.url(3), redis.process.pid, args.requests)
    print(table(results))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
