"""``python -m benchmarks.plugin_load``: what having pixelmock installed costs every pytest session.

pytest loads the plugin (the ``pytest11`` entry point) in every session of an environment where pixelmock
is installed, whether or not a test uses it. This times a trivial session (one empty test) with the plugin
and without it, alternating, and prints the medians and their difference. Other plugins' entry points
(hypothesis' and schemathesis' take about 2 s in the test environment) are switched off in both runs
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``; the plugin is then loaded with ``-p``), so the difference is
pixelmock's alone. The target is at most 0.1 s (issue: a package users can install beside their own
code); the test suite only checks that loading the plugin imports no Flask (tests/tools/test_plugin.py),
never the time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PluginLoad:
    """Median wall-clock seconds of one trivial pytest session with and without the plugin."""

    with_plugin_s: float
    without_plugin_s: float

    @property
    def overhead_s(self) -> float:
        """Seconds the plugin adds to a session."""
        return self.with_plugin_s - self.without_plugin_s


def measure(repeats: int = 21) -> PluginLoad:
    """Run ``repeats`` trivial sessions each way, alternating, in a fresh folder; medians."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_trivial.py").write_text("def test_nothing():\n    pass\n", encoding="utf-8")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_trivial.py"]
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        timings: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeats):
            for plugin in (True, False):
                command = [*base, "-p", "pixelmock.emulators.tools.pytest_plugin"] if plugin else base
                start = time.perf_counter()
                subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True)
                timings[plugin].append(time.perf_counter() - start)
    return PluginLoad(statistics.median(timings[True]), statistics.median(timings[False]))


def main(argv: list[str] | None = None) -> int:
    """Print the medians and the overhead; exit status 0."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugin_load", description=__doc__)
    parser.add_argument("--repeats", type=int, default=21, help="sessions each way (default 21)")
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    print(f"trivial pytest session, median of {args.repeats}:")
    print(f"  with the pixelmock plugin   {result.with_plugin_s * 1000:7.1f} ms")
    print(f"  without it                  {result.without_plugin_s * 1000:7.1f} ms")
    print(f"  plugin overhead             {result.overhead_s * 1000:7.1f} ms (target: at most 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
