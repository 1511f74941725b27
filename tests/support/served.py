"""``pixelmock`` commands run as real processes by the tests: started on ``--port 0 --port-file F``, their
root URL read from ``F`` once they answer, stopped with SIGTERM (killed if they outlive ``PATIENCE``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

#: The ``pixelmock`` command, as ``python -m``.
CLI = ("-m", "pixelmock.emulators.tools.cli")
#: Seconds a command may take to start, and to stop.
PATIENCE = 60.0


def workers(pid: int) -> list[int]:
    """The child processes of ``pid`` (a ``pixelmock serve`` gunicorn master: its workers); none once it
    has exited."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@contextmanager
def pixelmock_process(
    port_file: Path, *args: str, command: Sequence[str] = CLI, scheme: str = "http"
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``pixelmock ARGS --port 0 --port-file PORT_FILE`` (``command``: how to start the CLI) for the
    ``with`` block; yields ``(root URL, process)``, the URL with ``scheme`` (``https`` for ``--tls``).
    Raises ``AssertionError`` with the command's output when it exits or takes longer than ``PATIENCE``
    to write its port; asserts the port file is gone
    once it has stopped."""
    process = subprocess.Popen(
        [sys.executable, *command, *args, "--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                out, err = process.communicate()
                raise AssertionError(f"pixelmock {' '.join(args[:1])} did not start: {out}{err}")
            time.sleep(0.05)
        yield f"{scheme}://127.0.0.1:{int(port_file.read_text())}", process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert not port_file.exists(), "the port file outlived the server"
