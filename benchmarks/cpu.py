"""CPU per request, in memory and on Redis side by side (issue 28): ``python -m benchmarks.cpu``, and a
step of ``python -m benchmarks.scale``.

On 2 shared cores a wall-clock run cannot show what a Redis request costs (the workers, ``redis-server``
and the load generator take turns on the same cores), so this measures the work itself: ``pixelmock
serve`` with 1 worker in memory and 1 worker on Redis, each sent ``--requests`` sequential Runware URL
generations (``benchmarks.mixes``, a new prompt each, one keep-alive client that is not counted), the
CPU time (user + system, from ``/proc``) the worker and ``redis-server`` spent, per request. It implies a
throughput per core (1 / CPU per request). Round trips per request are counted in a process of their own
(``--round-trips URL``), on an app with a Redis store whose client calls are counted (a pipeline is one
round trip); Redis commands per request (those scripts run included) are ``INFO commandstats`` before
and after the served run.
"""

from __future__ import annotations

import argparse
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
from benchmarks.targets import PIXELMOCK, Server, Target, send_job

#: The mix measured (the issue's acceptance figure: CPU per Runware URL request).
MIX = BY_NAME["runware_url"]
#: Redis request CPU against an in-memory one: the issue's target.
TARGET_RATIO = 1.5


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used (``/proc/PID/stat``), its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuResult:
    """``requests`` sent; CPU seconds of the serving worker and of ``redis-server`` (0 in memory) over
    them; Redis commands run (``None`` in memory); round trips per request (``None`` in memory)."""

    label: str
    requests: int
    worker_s: float
    redis_s: float
    commands: int | None
    round_trips: float | None

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


def measure_served(target: Target, requests: int, redis_pid: int | None, mix: Mix = MIX) -> CpuResult:
    """Start ``target`` (``pixelmock serve``), send ``requests`` of ``mix`` after a warm-up, and read the CPU
    its worker (and ``redis-server``, pid ``redis_pid``) used for them."""
    with Server(target, mix.provider) as server:
        server.wait_ready(mix)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for n in range(50):  # warm-up: first-use work (schemas, fonts) is not what we measure
                send_job(client, target, mix, 0xC0, 10_000_000 + n)
            workers = server.serving_pids()
            before = sum(cpu_seconds(p) for p in workers)
            redis_before = cpu_seconds(redis_pid) if redis_pid else 0.0
            commands = _commands(target.store) if target.store else None
            for n in range(requests):
                send_job(client, target, mix, 0xC1, n)
            worker_s = sum(cpu_seconds(p) for p in workers) - before
            redis_s = cpu_seconds(redis_pid) - redis_before if redis_pid else 0.0
            if commands is not None and target.store:
                commands = _commands(target.store) - commands
    return CpuResult(target.label, requests, worker_s, redis_s, commands, None)


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


def table(results: Sequence[CpuResult]) -> str:
    """One Markdown table: a row per store; the Redis row's ratio to the memory row, against the target."""
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
    return "\n".join(lines)


def measure(redis_url: str, redis_pid: int, requests: int) -> list[CpuResult]:
    """In memory, then on Redis (database of ``redis_url``; ``redis_pid``: its server), side by side."""
    memory = measure_served(Target("pixelmock", "in memory"), requests, None)
    on_redis = measure_served(Target("pixelmock", "on Redis", 1, redis_url), requests, redis_pid)
    argv = [
        sys.executable,
        "-m",
        "benchmarks.cpu",
        "--round-trips",
        redis_url,
        "--requests",
        str(min(requests, 200)),
    ]
    root = Path(__file__).resolve().parent.parent
    counted = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=root)
    on_redis.round_trips = float(counted.stdout.strip().splitlines()[-1])
    return [memory, on_redis]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: start a ``redis-server`` of its own, measure, print the table."""
    from benchmarks.scale import RedisServer

    parser = argparse.ArgumentParser(prog="python -m benchmarks.cpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per store (default 2000)")
    parser.add_argument("--round-trips", metavar="URL", help="only print the round trips per request on URL")
    args = parser.parse_args(argv)
    if args.round_trips:
        print(round_trips(args.round_trips, args.requests))
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
