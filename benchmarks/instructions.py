"""Instructions per request in process, counted by callgrind: ``python -m benchmarks.instructions``.

The in-process and served figures of ``python -m benchmarks`` are wall-clock rates, and on a shared VM
they move by 20% within minutes (BENCHMARKS.md, issue 28), so a change worth a few percent cannot be seen
in them. An instruction count does not move with the machine: the same code and inputs give the same
count to within about 0.2% (two runs of one build here: 3,514k and 3,507k a Runware request). It is the
measure for an A/B of a code change. It is not time: a pixelmock request touches more memory than the
bare app's, so it costs more time per instruction and its wall-clock ratio to the bare app is lower than
its instruction ratio.

Method: each target (the bare Flask app, and pixelmock's app with its defaults, as ``benchmarks.inprocess``
builds them) sends a mix in process through ``httpx.WSGITransport`` (``benchmarks.targets.send_job``: a
new prompt each job), under ``valgrind --tool=callgrind``, twice: ``--base`` jobs, then ``--base`` +
``--requests`` jobs, each after the same 20 warm-up jobs. The difference of the two counts over the
requests sent is what one request costs: start-up, imports and warm-up cancel out. The runs of every
target go at once (an instruction count does not depend on what else runs). Needs valgrind
(``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchmarks.mixes import BY_NAME
from benchmarks.targets import BARE, PIXELMOCK, ROOT

#: Jobs each run sends before the ones counted (first-use work: schemas, fonts, the tokenizer).
WARMUP = 20
#: The mixes measured by default (the PNG mix renders a 1024x1024 PNG a request: slow under valgrind).
DEFAULT_MIXES = ("runware_url", "apiframe_poll", "invalid")
#: The targets, by the name the child run takes.
TARGETS = {"bare": BARE, "pixelmock": PIXELMOCK}


@dataclass
class Count:
    """Instructions per HTTP request of ``mix`` on ``target`` (``"bare"`` or ``"pixelmock"``)."""

    target: str
    mix: str
    per_request: float


def send(target: str, mix_name: str, jobs: int) -> None:
    """The child run: build ``target``'s app, send ``WARMUP`` jobs of the mix, then ``jobs`` more."""
    import httpx

    mix = BY_NAME[mix_name]
    if target == "bare":
        from benchmarks.bare_app import create_bare_app

        app = create_bare_app()
    else:
        from pixelmock.emulators import EmulatorConfig, create_app

        app = create_app(EmulatorConfig())
    from benchmarks.targets import send_job

    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
        for n in range(WARMUP):
            send_job(client, TARGETS[target], mix, 0x1C, 10_000_000 + n)
        for n in range(jobs):
            send_job(client, TARGETS[target], mix, 0x1C, n)


def instructions(valgrind: str, target: str, mix: str, jobs: int) -> int:
    """Instructions callgrind counts for one child run sending ``jobs`` jobs (after the warm-up). Raises
    ``RuntimeError`` when the run fails or callgrind prints no count."""
    with tempfile.TemporaryDirectory(prefix="pixelmock-callgrind-") as folder:
        log = Path(folder) / "callgrind.log"
        argv = [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={Path(folder) / 'callgrind.out'}",
            f"--log-file={log}",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--child",
            target,
            mix,
            str(jobs),
        ]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        text = log.read_text() if log.exists() else ""
        found = re.search(r"Collected : (\d+)", text)
        if done.returncode != 0 or found is None:
            raise RuntimeError(
                f"callgrind run failed ({done.returncode}): {done.stderr[-1000:]} {text[-500:]}"
            )
        return int(found.group(1))


def measure(valgrind: str, mixes: Sequence[str], base: int, requests: int) -> list[Count]:
    """Instructions per request of each mix on the bare app and on pixelmock (see the module's method)."""
    runs = [(t, m, jobs) for m in mixes for t in TARGETS for jobs in (base, base + requests)]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        counts = list(pool.map(lambda run: instructions(valgrind, *run), runs))
    found = dict(zip(runs, counts, strict=True))
    results = []
    for mix in mixes:
        per_job = 2 if BY_NAME[mix].follow is not None else 1  # Apiframe: the submit and its poll
        for target in TARGETS:
            spent = found[(target, mix, base + requests)] - found[(target, mix, base)]
            results.append(Count(target, mix, spent / (requests * per_job)))
    return results


def table(results: Sequence[Count]) -> str:
    """One Markdown table: a row per mix, pixelmock against the bare app."""
    lines = [
        "| mix (in process) | pixelmock instructions/request | bare Flask instructions/request "
        "| bare / pixelmock |",
        "|---|---|---|---|",
    ]
    by = {(r.target, r.mix): r.per_request for r in results}
    for mix in dict.fromkeys(r.mix for r in results):
        ours, bare = by[("pixelmock", mix)], by[("bare", mix)]
        lines.append(f"| {mix} | {ours:,.0f} | {bare:,.0f} | {bare / ours:.2f}x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: measure and print the table; 2 when valgrind is not installed."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.instructions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--mix", action="append", choices=sorted(BY_NAME), help=f"default: {DEFAULT_MIXES}")
    parser.add_argument("--base", type=int, default=20, help="jobs of the shorter run (default 20)")
    parser.add_argument("--requests", type=int, default=100, help="jobs the longer run adds (default 100)")
    parser.add_argument("--child", nargs=3, metavar=("TARGET", "MIX", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        target, mix, jobs = args.child
        send(target, mix, int(jobs))
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("python -m benchmarks.instructions needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    mixes = args.mix or list(DEFAULT_MIXES)
    print(f"pixelmock instructions per request (callgrind), {args.requests} requests a mix", flush=True)
    start = time.perf_counter()
    print(table(measure(valgrind, mixes, args.base, args.requests)))
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
