"""The benchmark commands' in-process parts, and the held-connection benchmark, run (tiny counts; no
timing is asserted).

The wrk and Prism parts need tools this test does not assume (``apt-get install wrk``, npm); they are
not run here. ``python -m benchmarks`` runs everything (BENCHMARKS.md).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from paths import ROOT

if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.append(str(ROOT))

from benchmarks.held import main as held_main
from benchmarks.inprocess import run_inprocess
from benchmarks.instructions import main as instructions_main
from benchmarks.mixes import MIXES
from benchmarks.plugin_load import measure
from benchmarks.scale import main as scale_main
from benchmarks.soak import chunked_peak, soak


def test_inprocess_part_runs_every_mix_with_the_expected_statuses() -> None:
    # mix_rate raises when any answer has a status the mix does not expect (e.g. a 500 or a 402).
    result = run_inprocess(max_calls=2, budget_s=5, repeats=1)
    assert set(result.mixes) == {mix.name for mix in MIXES}
    assert all(rate.calls >= 2 for rate in result.mixes.values())
    assert result.runware_repeated_prompt.calls >= 2 and result.quotes.calls >= 1
    assert set(result.render_ms) == {"png", "jpeg", "webp"}
    assert set(result.pillow_png_ms) == {"default", "level1"}
    assert set(result.validate_us) == {"contracts.openapi.validate", "python-jsonschema"}
    assert all(us > 0 for us in result.validate_us.values())


def test_plugin_load_benchmark_runs_sessions_with_and_without_the_plugin() -> None:
    result = measure(repeats=1)  # each session must pass (check=True), with and without the plugin
    assert result.with_plugin_s > 0 and result.without_plugin_s > 0


def test_soak_runs_every_provider_and_reports_the_budgets() -> None:
    lines: list[str] = []
    # one_of_each raises when any answer has a status its flow does not expect
    stats = soak(rounds=2, per_round=1, budget_mib=1, report=lines.append)
    assert len(lines) == 4 and set(stats["budgets"]) == {"results", "payloads", "uploads", "journal"}
    assert stats["budgets"]["payloads"]["evicted"] >= 1  # two 1 MB rejected prompts in a 1 MiB budget


def test_the_issue_mix_soak_sends_large_results_uploads_and_refused_prompts() -> None:
    lines: list[str] = []
    stats = soak(rounds=1, per_round=5, budget_mib=1, report=lines.append, mix="issue")
    budgets = stats["budgets"]
    # jobs 0-4: five large base64 results, three uploads (n % 5 < 3), three refused prompts (n % 20 < 3)
    assert budgets["uploads"]["count"] + budgets["uploads"]["evicted"] == 3
    assert budgets["payloads"]["count"] + budgets["payloads"]["evicted"] == 3
    assert budgets["results"]["evicted"] >= 1  # 3840x2160 results in a 1 MiB budget


def test_chunked_peak_sends_a_body_over_the_limit_to_a_served_worker() -> None:
    lines: list[str] = []
    ratio = chunked_peak(80, report=lines.append)  # 80 MiB against the default 64 MiB: refused
    assert "answered 413" in lines[0] and ratio > 0  # the figure is the benchmark's, not asserted here


def test_held_connection_benchmark_holds_and_measures_on_a_real_server(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert held_main(["--websockets", "8", "--slow", "4", "--requests", "5"]) == 0
    out = capsys.readouterr().out
    assert "| WebSockets upgraded (of 8) | 8 in " in out
    assert "| slow clients connected (of 4) | 4 |" in out
    assert "| REST runware_url while held: answered, p50 / p99 ms | 5/5, " in out
    assert "| GET /__admin/ while held: answered | 1/1 |" in out


def test_scale_benchmark_starts_redis_and_every_pixelmock_target_and_measures_memory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m benchmarks.scale`` without its wrk and Prism parts: its own redis-server, 20 jobs on 1
    worker in memory and on 2 workers sharing Redis (each job answered 200, or it raises), CPU per request
    in memory and on Redis, the tables."""
    assert scale_main(["--no-load", "--no-prism", "--jobs", "20", "--cpu-requests", "30"]) == 0
    out = capsys.readouterr().out
    assert "| pixelmock 1 worker, memory | 20 (" in out
    row = next(line for line in out.splitlines() if line.startswith("| pixelmock 2 workers, Redis | 20 ("))
    per_worker, in_redis = row.split(" | ")[2], row.split(" | ")[4]
    assert per_worker.count("+") == 1  # two workers, each measured
    before, after = (float(x) for x in in_redis.split(" (")[0].split(" -> "))
    assert after > before  # the jobs are in Redis
    assert "load runs skipped (--no-load)" in out
    memory, on_redis = (
        line.split(" | ") for line in out.splitlines() if line.startswith(("| in memory |", "| on Redis |"))
    )
    assert float(memory[1]) > 0 and float(on_redis[1]) > 0  # the workers' CPU was read
    floor = next(line.split(" | ") for line in out.splitlines() if line.startswith("| floor: "))
    # the floor: the in-memory worker's CPU with the Redis run's redis-server CPU, and their sum's ratio
    assert (floor[1], floor[2]) == (memory[1], on_redis[2])
    assert float(floor[4].rstrip("x")) == pytest.approx(float(floor[3]) / float(memory[3]), abs=0.01)
    # and with the CPU of a bare round trip under gevent for each round trip the Redis request made
    trips = next(line.split(" | ") for line in out.splitlines() if line.startswith("| floor + "))
    assert float(trips[3]) > float(floor[3]) and trips[6] == on_redis[6]
    # Round trips per Runware URL generation: 3 (issue 28: at most 3), and 2 more on a key's first request
    # (its account read, then created): the mix takes a new key every 50 requests, one in these 30.
    assert 1 <= float(on_redis[6]) <= 3 + 2 / 30 + 0.005


def test_instruction_count_benchmark_counts_a_request_of_each_target_under_callgrind(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``python -m benchmarks.instructions`` with tiny counts: four callgrind runs (each target, 2 and 5
    jobs), their difference per request. A request of the emulator (validation, pricing, the debit, the
    journal) executes more than the bare app's fixed answer, and both more than nothing: a count read
    wrong (another run's, the start-up's) would not keep that order."""
    if shutil.which("valgrind") is None:
        message = "valgrind is not installed (Debian's package; .ci/run installs it)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    assert instructions_main(["--mix", "runware_url", "--base", "2", "--requests", "3"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("| runware_url |"))
    ours, bare, ratio = (cell.strip() for cell in row.strip("|").split("|")[1:])
    ours_n, bare_n = float(ours.replace(",", "")), float(bare.replace(",", ""))
    assert ours_n > bare_n > 100_000  # a request through httpx and Flask is well over 100k instructions
    assert float(ratio.rstrip("x")) == pytest.approx(bare_n / ours_n, abs=0.01)
