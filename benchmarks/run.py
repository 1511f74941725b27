"""``python -m benchmarks``: measure every target, print one table (method: ``BENCHMARKS.md``).

Steps, each bounded: in-process figures; start-up time of each target (``--starts`` starts, interleaved);
then every target up at once and, per mix, a correctness check and a warm-up per target, then
``--rounds`` measured ``wrk`` rounds alternating the targets (each keeps its median round; pixelmock also
runs the PNG mix at one connection for the latency target); resident memory after the load; then a
fresh ``pixelmock serve`` given ``--jobs`` Runware jobs (each a new image) for its memory.

Needs ``wrk`` (``apt-get install wrk``) for the load runs and Prism (``npm install --prefix
benchmarks/.prism @stoplight/prism-cli``) for its column; without them those parts are skipped and say so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.inprocess import InProcess, Rate, run_inprocess
from benchmarks.load import LoadResult, run_wrk
from benchmarks.mixes import BY_NAME, MIXES, Mix
from benchmarks.targets import (
    BARE,
    PIXELMOCK,
    PRISM,
    Server,
    Target,
    TargetError,
    check,
    prism_version,
    send_first,
    wrk_path,
)

PROBE = BY_NAME["runware_url"]  # readiness: the first 2xx answer to a real generation request
LATENCY_MIX = BY_NAME["openai_png_b64"]
MB = 1_000_000


@dataclass
class TargetResult:
    """What one target measured: start-up seconds (each start), checks, load runs, memory (KiB)."""

    label: str
    starts_s: list[float] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)
    load: dict[str, LoadResult] = field(default_factory=dict)
    latency_c1: LoadResult | None = None
    rss_after_load_kib: int = 0
    skipped: str = ""

    @property
    def start_median_s(self) -> float | None:
        return statistics.median(self.starts_s) if self.starts_s else None


@dataclass
class MemoryResult:
    """A fresh ``pixelmock serve`` given ``jobs`` Runware URL jobs: worker RSS before/after (KiB, added
    up over the workers, and each worker's after), PSS of master + workers after (KiB), and the jobs'
    rate."""

    jobs: int
    seconds: float
    rss_idle_kib: int
    rss_after_kib: int
    pss_total_after_kib: int
    rss_workers_after_kib: list[int] = field(default_factory=list)


class Runner:
    """Runs the whole benchmark; ``log`` lines go to stderr, the table to stdout."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.wrk = None if args.no_load else wrk_path()
        self.prism = None if args.no_prism else prism_version()
        self.run_id = random.randrange(1 << 20, 1 << 30)
        self.t0 = time.perf_counter()

    def log(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr, flush=True)

    def next_run(self) -> int:
        self.run_id += 1
        return self.run_id

    # -- targets ------------------------------------------------------------------------------------------

    def measure_starts(self, targets: list[Target], results: dict[str, TargetResult]) -> None:
        """``--starts`` starts of each target, interleaved (A B C A B C ...), each to its first 200."""
        for i in range(self.args.starts):
            for target in targets:
                with Server(target, PROBE.provider) as server:
                    results[target.label].starts_s.append(server.wait_ready(PROBE))
            shown = ", ".join(f"{t.label} {results[t.label].starts_s[-1]:.3f} s" for t in targets)
            self.log(f"start {i + 1}: first 200 after {shown}")

    def measure_load(self, targets: list[Target], results: dict[str, TargetResult]) -> None:
        """Every target up at once (idle ones cost nothing); per mix: a check and a warm-up per target,
        then ``--rounds`` rounds that alternate the targets, so that other work on the machine weighs on
        all of them alike; each target keeps its median round."""
        assert self.wrk is not None
        servers: dict[tuple[str, str], Server] = {}
        try:
            for target in targets:
                for provider in sorted({m.provider for m in MIXES}) if target.per_provider else ["all"]:
                    server = Server(target, PROBE.provider if provider == "all" else provider)
                    servers[target.label, provider] = server
                    server.wait_ready(PROBE if provider == "all" else _first_mix(provider))
            for mix in MIXES:
                runs: dict[str, list[LoadResult]] = {t.label: [] for t in targets}
                for target in targets:
                    server = servers[target.label, mix.provider if target.per_provider else "all"]
                    with httpx.Client(base_url=server.url, timeout=30) as client:
                        results[target.label].checks[mix.name] = check(client, target, mix, self.next_run())
                    self._wrk(target, server, mix, self.args.warmup)
                for _ in range(self.args.rounds):
                    for target in targets:
                        server = servers[target.label, mix.provider if target.per_provider else "all"]
                        runs[target.label].append(self._wrk(target, server, mix, self.args.duration))
                for target in targets:
                    got = sorted(runs[target.label], key=lambda r: r.rps)[len(runs[target.label]) // 2]
                    got.unexpected = sum(r.unexpected for r in runs[target.label])
                    results[target.label].load[mix.name] = got
                    rounds = " / ".join(f"{r.rps:,.0f}" for r in runs[target.label])
                    self.log(
                        f"{target.label} {mix.name}: req/s {rounds} -> {got.rps:,.0f}, p50 {got.p50_ms:.1f}"
                        f" ms, p99 {got.p99_ms:.1f} ms, statuses {got.statuses}, unexpected {got.unexpected}"
                    )
                if PIXELMOCK in targets and mix is LATENCY_MIX:
                    server = servers[PIXELMOCK.label, "all"]
                    c1 = self._wrk(PIXELMOCK, server, mix, self.args.latency_duration, connections=1)
                    results[PIXELMOCK.label].latency_c1 = c1
                    self.log(
                        f"pixelmock {mix.name} at 1 connection: p50 {c1.p50_ms:.1f} ms, p99 {c1.p99_ms:.1f}"
                    )
            for (label, _), server in servers.items():
                results[label].rss_after_load_kib = max(results[label].rss_after_load_kib, server.rss_kib())
        finally:
            for server in servers.values():
                server.stop()

    def _wrk(
        self, target: Target, server: Server, mix: Mix, seconds: float, connections: int = 10
    ) -> LoadResult:
        assert self.wrk is not None
        base, expected = target.base(mix.provider), target.expected(mix)
        return run_wrk(self.wrk, server.url, mix, base, self.next_run(), seconds, expected, connections)

    # -- memory -------------------------------------------------------------------------------------------

    def measure_memory(self, target: Target = PIXELMOCK) -> MemoryResult:
        """A fresh ``target`` given ``--jobs`` Runware URL jobs from 4 client threads (at most
        ``--jobs-budget`` seconds). Raises ``TargetError`` when a job is not answered 200."""
        jobs, threads = self.args.jobs, 4
        run = self.next_run()
        with Server(target, PROBE.provider) as server:
            server.wait_ready(PROBE)
            idle = server.rss_kib()
            done = [0] * threads
            failures: list[str] = []
            deadline = time.perf_counter() + self.args.jobs_budget

            def worker(k: int) -> None:
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    for n in range(k, jobs, threads):
                        if failures or time.perf_counter() > deadline:
                            return
                        answer = send_first(client, target, PROBE, run, n)
                        if answer.status_code != 200:
                            failures.append(f"job {n}: {answer.status_code} {answer.text[:200]}")
                            return
                        done[k] += 1

            start = time.perf_counter()
            pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
            seconds = time.perf_counter() - start
            if failures:
                raise TargetError(failures[0])
            workers = server.worker_rss_kib()
            result = MemoryResult(sum(done), seconds, idle, sum(workers), server.total_pss_kib(), workers)
        self.log(
            f"memory, {target.label}: {result.jobs:,} jobs in {seconds:.1f} s; worker RSS {idle / 1024:.0f} "
            f"-> {result.rss_after_kib / 1024:.0f} MiB"
        )
        return result

    # -- everything ---------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.log("in-process figures")
        inproc = run_inprocess(budget_s=self.args.inprocess_budget)
        results = {t.label: TargetResult(t.label) for t in (PIXELMOCK, PRISM, BARE)}
        targets = [PIXELMOCK, BARE]
        if self.prism is not None:
            targets.insert(1, PRISM)
        else:
            results[PRISM.label].skipped = "skipped (--no-prism)" if self.args.no_prism else "not installed"
            if not self.args.no_prism:
                self.log("Prism not found: npm install --prefix benchmarks/.prism @stoplight/prism-cli")
        self.measure_starts(targets, results)
        if self.wrk is not None:
            self.measure_load(targets, results)
        else:
            for target in targets:
                results[target.label].skipped = (
                    "load runs skipped (--no-load)"
                    if self.args.no_load
                    else "load runs skipped: wrk not found (apt-get install wrk)"
                )
            if not self.args.no_load:
                self.log("wrk not found: load runs skipped (install: apt-get install wrk)")
        memory = self.measure_memory() if self.args.jobs > 0 else None
        return {
            "inprocess": inproc,
            "targets": [results[t.label] for t in (PIXELMOCK, PRISM, BARE)],
            "memory": memory,
            "elapsed_s": time.perf_counter() - self.t0,
        }


def _first_mix(provider: str) -> Mix:
    """The first mix of ``provider`` whose first request gets a 2xx (the readiness probe of its Prism)."""
    return next(m for m in MIXES if m.provider == provider and all(200 <= s < 300 for s in m.prism_expect[0]))


# -- the table --------------------------------------------------------------------------------------------


def _load_cell(result: LoadResult | None) -> str:
    if result is None:
        return "-"
    bad = f", {result.unexpected} unexpected" if result.unexpected else ""
    return f"{result.rps:,.0f} ({result.p50_ms:.1f} / {result.p99_ms:.1f}){bad}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _mark(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def _mb(kib: int) -> float:
    return kib * 1024 / MB


def table(results: dict[str, Any], prism_label: str) -> str:
    """The one table (Markdown): a row per measure, a column per target, the goal and the verdict."""
    inproc: InProcess = results["inprocess"]
    pm, prism, bare = results["targets"]
    memory: MemoryResult | None = results["memory"]
    rows: list[tuple[str, str, str, str, str, str]] = []

    def row(measure: str, ours: str, goal: str = "-", verdict: str = "-", *others: str) -> None:
        prism_cell, bare_cell = others or ("-", "-")
        rows.append((measure, ours, prism_cell, bare_cell, goal, verdict))

    for mix in MIXES:
        ours, theirs, base = (t.load.get(mix.name) for t in (pm, prism, bare))
        vs_bare = _ratio(ours and ours.rps, base and base.rps)
        vs_prism = _ratio(ours and ours.rps, theirs and theirs.rps)
        verdict = f"{vs_bare:.2f}x bare: {_mark(vs_bare >= 0.8)}" if vs_bare is not None else "n/a"
        if vs_prism is not None:
            verdict += f"; {vs_prism:.2f}x Prism: {_mark(vs_prism >= 0.8)}"
        row(
            f"{mix.name}: req/s (p50 / p99 ms), 10 conn., median round",
            _load_cell(ours),
            ">= 0.8x bare; goal >= 0.8x Prism",
            verdict,
            _load_cell(theirs),
            _load_cell(base),
        )
    pillow = inproc.pillow_png_ms
    if pm.latency_c1 is not None:
        c1 = pm.latency_c1
        factor = c1.p50_ms / pillow["level1"]
        goal = f"p50 <= 2x Pillow PNG encode ({pillow['level1']:.1f} ms)"
        shown_c1 = f"{c1.p50_ms:.1f} / {c1.p99_ms:.1f}"
        row("openai_png_b64 at 1 conn.: p50 / p99 ms", shown_c1, goal, f"{factor:.2f}x: {_mark(factor <= 2)}")
    starts = [t.start_median_s for t in (pm, prism, bare)]
    shown = [f"{s:.2f}" if s is not None else "-" for s in starts]
    ok = starts[0] < 1 if starts[0] is not None else None
    row(f"start -> first 200, median of {len(pm.starts_s)} (s)", shown[0], "< 1 s", _mark(ok), *shown[1:])
    rss = [f"{_mb(t.rss_after_load_kib):.0f}" if t.rss_after_load_kib else "-" for t in (pm, prism, bare)]
    row("RSS after the load runs (MB)", rss[0], "-", "-", *rss[1:])
    if memory is not None:
        after = _mb(memory.rss_after_kib)
        pss = _mb(memory.pss_total_after_kib)
        rate = memory.jobs / memory.seconds
        per_job = (memory.rss_after_kib - memory.rss_idle_kib) * 1.024 / max(1, memory.jobs)
        ours_ = (
            f"{_mb(memory.rss_idle_kib):.0f} -> {after:.0f} ({per_job:.0f} kB/job; PSS master+worker "
            f"{pss:.0f}; {rate:.0f} jobs/s)"
        )
        verdict = _mark(after < 200 if memory.jobs >= 10_000 else None)
        row(f"RSS after {memory.jobs:,} Runware jobs (MB)", ours_, "< 200 MB", verdict)
    runware = inproc.mixes["runware_url"]
    repeated = inproc.runware_repeated_prompt.per_second
    shown_rate = f"{runware.per_second:,.0f} (one repeated prompt: {repeated:,.0f})"
    bare_rate = f"{inproc.bare.per_second:,.0f}"
    row(
        "in-process runware_url calls/s",
        shown_rate,
        ">= 2,000",
        _mark(runware.per_second >= 2000),
        "-",
        bare_rate,
    )
    others = ", ".join(f"{k} {v.per_second:,.0f}" for k, v in inproc.mixes.items() if k != "runware_url")
    row("in-process req/s, other mixes", others)
    row("cost quotes/s (contracts.pricing.quote)", f"{inproc.quotes.per_second:,.0f}")
    render = inproc.render_ms
    encode = f"Pillow PNG encode: {pillow['default']:.1f} ms default, {pillow['level1']:.1f} ms level 1"
    shown_ms = f"{render['png']:.1f} / {render['jpeg']:.1f} / {render['webp']:.1f}"
    row("render 1024x1024 alone, ms (png / jpeg / webp)", shown_ms, "-", encode)
    checks = " / ".join(f"{name} {us:.1f}" for name, us in inproc.validate_us.items())
    row("validate one valid runware_url task, µs", checks)
    header = ("measure", "pixelmock serve", prism_label, "bare Flask (same server)", "goal", "verdict")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    notes = [f"{t.label}: {t.skipped}" for t in (pm, prism, bare) if t.skipped]
    return "\n".join(lines + (["", *notes] if notes else []))


def machine() -> str:
    """One line: date, cores, CPU model, Python, wrk and Prism versions."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    models = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    wrk = wrk_path()
    wrk_version = "absent"
    if wrk is not None:
        out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        wrk_version = (out.stdout + out.stderr).split()[1] if (out.stdout + out.stderr).split() else "?"
    return (
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} cores ({cpu}); "
        f"Python {platform.python_version()}; wrk {wrk_version}; Prism {prism_version() or 'absent'}; "
        f"load average {load_average()}"
    )


def load_average() -> str:
    """The 1-minute load average (other work on the machine competes with the targets)."""
    return f"{os.getloadavg()[0]:.2f}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Rate):
        return {"calls": value.calls, "seconds": value.seconds, "per_second": value.per_second}
    if hasattr(value, "__dataclass_fields__"):
        return {k: _jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark command shares: wrk rounds, the memory run, what to skip."""
    parser.add_argument("--duration", type=int, default=2, help="seconds per measured wrk round (2)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per target and mix (3)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of wrk warm-up per target and mix (1)")
    parser.add_argument("--jobs", type=int, default=10_000, help="Runware jobs for the memory figures")
    parser.add_argument("--jobs-budget", type=float, default=90, help="time cap of each memory run (s)")
    parser.add_argument("--no-load", action="store_true", help="skip the wrk runs")
    parser.add_argument("--no-prism", action="store_true", help="skip Prism")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 (the table reports missed targets, it does not fail on them)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Measure pixelmock serve, Prism and a bare Flask app on 127.0.0.1; print one table.",
    )
    add_run_arguments(parser)
    parser.add_argument("--latency-duration", type=int, default=5, help="seconds at 1 connection (5)")
    parser.add_argument("--starts", type=int, default=5, help="starts per target for start-up time (5)")
    parser.add_argument("--inprocess-budget", type=float, default=1.5, help="seconds per in-process loop")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    args = parser.parse_args(argv)
    runner = Runner(args)
    header = machine()
    runner.log(header)
    results = runner.run()
    prism_label = f"Prism {runner.prism}" if runner.prism else "Prism"
    print(f"pixelmock benchmarks: {header}")
    print(table(results, prism_label))
    print(f"\n(total {results['elapsed_s']:.0f} s; load average at the end {load_average()})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"machine": header, **_jsonable(results)}, out, indent=2)
    return 0
