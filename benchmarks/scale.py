"""``python -m benchmarks.scale``: several workers on a shared Redis store against one in-memory worker,
side by side in one run (issue 15; method and results: ``BENCHMARKS.md``, "Scale-out").

Starts its own ``redis-server`` on a free port of 127.0.0.1 (no persistence; stopped at the end by its
process id), then every target at once, each on 127.0.0.1:

- ``pixelmock serve`` with 1 worker in memory, 1 worker on Redis and 2 workers on Redis (each Redis
  target on its own database of the one ``redis-server``);
- the bare Flask app (``benchmarks.bare_app``) at 1 and 2 processes, on the same server;
- Prism, one process per provider document, as ``python -m benchmarks`` runs it (when installed).

Per mix (``benchmarks.mixes``): a correctness check and a warm-up per target, then ``--rounds`` measured
``wrk`` rounds alternating the targets; each target keeps its median round (``benchmarks.run.Runner``).
Then, for 1 worker in memory and 2 workers on Redis, each fresh: ``--jobs`` Runware URL jobs, with each
worker's RSS after them and, on Redis, ``INFO memory``'s ``used_memory`` before and after.

Then CPU per request in memory and on Redis side by side (``benchmarks.cpu``: worker and ``redis-server``
CPU time read from ``/proc``, round trips and Redis commands per request).

Prints one table: req/s and p99 per target and mix; the ratio of 2 Redis workers to 1 in-memory worker
on the generation mixes (target >= 1.4x) and of each pixelmock target to the bare app at the same process
count; the memory figures. Needs ``redis-server`` (``apt-get install redis-server``) and redis-py;
``wrk`` for the load runs and Prism for its column, skipped (and said so) without them.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks import cpu
from benchmarks.load import LoadResult
from benchmarks.mixes import MIXES
from benchmarks.run import MB, MemoryResult, Runner, TargetResult, add_run_arguments, load_average, machine
from benchmarks.targets import PRISM, Target, TargetError
from pixelmock.emulators.tools.server import free_port

#: The mixes that generate an image (the scale-out target is about them; ``invalid`` is shown too).
GENERATION = ("runware_url", "apiframe_poll", "openai_png_b64")
#: 2 Redis workers against 1 in-memory worker, on each generation mix (issue 15's target on 2 cores).
TARGET_RATIO = 1.4


class RedisServer:
    """A ``redis-server`` of its own on 127.0.0.1 (no RDB or AOF files, in a temporary directory), in a
    session of its own, stopped by its process id: ``url(db)``, ``used_memory()``, ``flush()``.
    Raises ``TargetError`` when it is not installed or does not answer ``PING`` within ``timeout``."""

    def __init__(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise TargetError("redis-server not found (apt-get install redis-server)")
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="pixelmock-bench-redis-")
        argv = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                "--dir", self._dir.name, "--protected-mode", "yes"]  # fmt: skip
        self.process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise TargetError(f"redis-server on port {self.port} did not answer PING")
            time.sleep(0.02)

    def url(self, db: int = 0) -> str:
        """``redis://127.0.0.1:PORT/DB``."""
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _client(self) -> Any:
        import redis  # redis-py: pixelmock's Redis store uses it too

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def used_memory(self) -> int:
        """``INFO memory``'s ``used_memory``: bytes Redis has allocated (every database)."""
        with self._client() as client:
            return int(client.info("memory")["used_memory"])

    def flush(self) -> None:
        """Empty every database (``FLUSHALL``)."""
        with self._client() as client:
            client.flushall()

    def stop(self) -> None:
        """SIGTERM the server; SIGKILL it after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Targets:
    """The targets of one run (``redis``: the ``redis-server`` the Redis ones share, each on its own
    database)."""

    memory1: Target
    redis1: Target
    redis2: Target
    bare1: Target
    bare2: Target

    @classmethod
    def on(cls, redis: RedisServer) -> Targets:
        return cls(
            memory1=Target("pixelmock", "pixelmock 1 worker, memory"),
            redis1=Target("pixelmock", "pixelmock 1 worker, Redis", 1, redis.url(1)),
            redis2=Target("pixelmock", "pixelmock 2 workers, Redis", 2, redis.url(2)),
            bare1=Target("bare", "bare Flask 1 process"),
            bare2=Target("bare", "bare Flask 2 processes", 2),
        )

    def pixelmock(self) -> list[Target]:
        return [self.memory1, self.redis1, self.redis2]

    def all(self, prism: bool) -> list[Target]:
        return [*self.pixelmock(), self.bare1, self.bare2, *([PRISM] if prism else [])]

    def bare_for(self, target: Target) -> Target:
        """The bare app at ``target``'s process count."""
        return self.bare2 if target.workers == 2 else self.bare1


@dataclass
class RedisMemory:
    """A memory run on Redis: ``used_memory`` (bytes) before and after the jobs."""

    before: int
    after: int


def _cell(result: LoadResult | None) -> str:
    if result is None:
        return "-"
    bad = f", {result.unexpected} unexpected" if result.unexpected else ""
    return f"{result.rps:,.0f} ({result.p99_ms:.1f}){bad}"


def _ratio(results: dict[str, TargetResult], a: Target, b: Target, mix: str) -> float | None:
    top, bottom = results[a.label].load.get(mix), results[b.label].load.get(mix)
    return top.rps / bottom.rps if top and bottom and bottom.rps else None


def _shown(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def table(
    targets: Targets,
    results: dict[str, TargetResult],
    memory: dict[str, MemoryResult],
    redis_memory: RedisMemory | None,
    prism: bool,
) -> str:
    """The Markdown tables: load (a row per mix, a column per target), ratios, memory."""
    shown = targets.all(prism)
    lines = [
        "| mix: req/s (p99 ms), 10 conn., median round | " + " | ".join(t.label for t in shown) + " |",
        "|" + "---|" * (len(shown) + 1),
    ]
    for mix in MIXES:
        lines.append(
            f"| {mix.name} | " + " | ".join(_cell(results[t.label].load.get(mix.name)) for t in shown) + " |"
        )
    lines += [
        "",
        "| mix | 2 Redis workers / 1 memory worker (target >= 1.4x on generation) | 1 memory worker / bare 1 "
        "| 1 Redis worker / bare 1 | 2 Redis workers / bare 2 | bare 2 / bare 1 |",
        "|---|---|---|---|---|---|",
    ]
    for mix in MIXES:
        scale = _ratio(results, targets.redis2, targets.memory1, mix.name)
        verdict = ""
        if mix.name in GENERATION and scale is not None:
            verdict = ": met" if scale >= TARGET_RATIO else ": MISSED"
        cells = [
            _shown(scale) + verdict,
            _shown(_ratio(results, targets.memory1, targets.bare1, mix.name)),
            _shown(_ratio(results, targets.redis1, targets.bare1, mix.name)),
            _shown(_ratio(results, targets.redis2, targets.bare2, mix.name)),
            _shown(_ratio(results, targets.bare2, targets.bare1, mix.name)),
        ]
        lines.append(f"| {mix.name} | " + " | ".join(cells) + " |")
    if memory:
        lines += [
            "",
            "| after N Runware URL jobs | jobs (jobs/s) | RSS per worker, idle -> after (MB) "
            "| PSS master + workers (MB) | Redis used_memory before -> after (MB) |",
            "|---|---|---|---|---|",
        ]
        for label, got in memory.items():
            per_worker = " + ".join(f"{kib * 1024 / MB:.0f}" for kib in got.rss_workers_after_kib)
            idle = got.rss_idle_kib * 1024 / MB / max(1, len(got.rss_workers_after_kib))
            in_redis = "-"
            if redis_memory is not None and label == targets.redis2.label:
                growth = (redis_memory.after - redis_memory.before) / max(1, got.jobs)
                used = f"{redis_memory.before / MB:.1f} -> {redis_memory.after / MB:.1f}"
                in_redis = f"{used} ({growth / 1000:.1f} kB/job)"
            rate = got.jobs / got.seconds if got.seconds else 0.0
            lines.append(
                f"| {label} | {got.jobs:,} ({rate:,.0f}) | {idle:.0f} each -> {per_worker} "
                f"| {got.pss_total_after_kib * 1024 / MB:.0f} | {in_redis} |"
            )
    notes = [f"{label}: {r.skipped}" for label, r in results.items() if r.skipped]
    return "\n".join(lines + (["", *notes] if notes else []))


def run(args: argparse.Namespace) -> str:
    """Run everything; returns the tables (the log goes to stderr)."""
    runner = Runner(args)
    with RedisServer() as redis:
        targets = Targets.on(redis)
        prism = runner.prism is not None
        shown = targets.all(prism)
        results = {t.label: TargetResult(t.label) for t in [*shown, PRISM]}
        if not prism:
            results[PRISM.label].skipped = (
                "skipped (--no-prism)"
                if args.no_prism
                else "not installed (npm install --prefix benchmarks/.prism @stoplight/prism-cli)"
            )
        if runner.wrk is not None:
            runner.measure_load(shown, results)
        else:
            reason = "skipped (--no-load)" if args.no_load else "skipped: wrk not found (apt-get install wrk)"
            for target in shown:
                results[target.label].skipped = "load runs " + reason
        memory: dict[str, MemoryResult] = {}
        redis_memory: RedisMemory | None = None
        if args.jobs > 0:
            memory[targets.memory1.label] = runner.measure_memory(targets.memory1)
            redis.flush()
            before = redis.used_memory()
            memory[targets.redis2.label] = runner.measure_memory(targets.redis2)
            redis_memory = RedisMemory(before, redis.used_memory())
            runner.log(f"Redis used_memory {before / MB:.1f} -> {redis_memory.after / MB:.1f} MB")
        cpu_results = (
            cpu.measure(redis.url(3), redis.process.pid, args.cpu_requests) if args.cpu_requests else []
        )
    tables = table(targets, results, memory, redis_memory, prism)
    if cpu_results:
        tables += "\n\n" + cpu.table(cpu_results)
    elapsed = time.perf_counter() - runner.t0
    return f"{tables}\n\n(total {elapsed:.0f} s; load average at the end {load_average()})"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 (the table reports a missed target, it does not fail on it)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description="pixelmock on 1 worker in memory, 1 and 2 workers on Redis, the bare app at 1 and 2 "
        "processes, and Prism, side by side on 127.0.0.1; print the tables.",
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--cpu-requests", type=int, default=2000, help="requests per store for CPU per request (0: skip)"
    )
    args = parser.parse_args(argv)
    header = machine()
    print(f"pixelmock scale-out benchmarks: {header}", flush=True)
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
