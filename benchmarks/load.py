"""Load runs: ``wrk`` (one thread, keep-alive connections, fixed duration) driving one request mix.

wrk is C and costs little next to the servers (a Python load generator measured itself, not the
server: pixelmock's own measurement, httpx + asyncio at ~700 req/s where wrk drove ~5,000). Install it with
``apt-get install wrk`` (Debian/Ubuntu).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field

from benchmarks.mixes import LUA_SCRIPT, Mix, lua_args


@dataclass
class LoadResult:
    """One wrk run: ``rps`` (requests/s), latency percentiles in milliseconds, the status counts, and
    ``unexpected``: answers with a status outside the expected set plus socket errors and timeouts."""

    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    unexpected: int = 0


def run_wrk(
    wrk: str,
    url: str,
    mix: Mix,
    base: str,
    run: int,
    seconds: float,
    expected: frozenset[int],
    connections: int = 10,
    unique: bool = True,
) -> LoadResult:
    """Drive ``mix`` at ``url`` (paths under ``base``) for ``seconds`` with ``connections`` keep-alive
    connections on one wrk thread. Raises ``RuntimeError`` when wrk fails or prints no summary."""
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        *lua_args(mix, base, run, unique),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1000:]} {done.stderr[-1000:]}")
    data = json.loads(line.removeprefix("WRKJSON "))
    duration = data["duration_us"] / 1e6
    statuses = {int(k): int(v) for k, v in data["statuses"].items()}
    errors = data["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    latency = data["latency_us"]
    return LoadResult(
        connections=connections,
        seconds=duration,
        requests=data["requests"],
        rps=data["requests"] / duration if duration else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        statuses=statuses,
        socket_errors=socket_errors,
        unexpected=socket_errors + sum(n for code, n in statuses.items() if code not in expected),
    )
