"""``pixelmock serve``'s serving model on real sockets (``emulators/tools/server.py``): held connections (idle
Runware WebSockets, slow clients) cost no thread, so every provider and ``/__admin/`` still answer; slow
clients are cut after ``--read-timeout`` without an answer; idle WebSockets keep Runware's idle timeout;
``--port 0`` with ``--port-file``; a busy port is exit status 2 at once; a stop signal ends ``serve`` and
``pixelmock proxy`` (served alike) at once, cleanly.

Each test starts ``pixelmock serve`` as a subprocess on 127.0.0.1 and stops it with SIGTERM. No assertion
depends on the wall clock: waits are bounded only so that a broken server fails instead of hanging.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest
from served import CLI, PATIENCE, pixelmock_process, workers

from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators.config import today_from_env
from pixelmock.emulators.tools.demo import exercise

#: Held connections of each kind: twice the 32 threads that froze the server before issue 13.
HELD = 64
#: Upper bound (seconds) on any single wait; reached only when the server is broken.
HANDSHAKE = (
    b"GET /runware/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
#: A request whose head never ends, and one whose body never ends (40 of its 1,000 bytes sent).
SLOW_HEAD = b"POST /openai/v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl"
SLOW_BODY = (
    b"POST /openai/v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Authorization: Bearer sk-test\r\nContent-Length: 1000\r\n\r\n"
    b'{"model": "gpt-image-2", "prompt": "a'
)


#: The ``pixelmock`` command with ``fcntl`` unimportable, as on Windows: gunicorn cannot run.
NO_FCNTL = ["-c", "import sys; sys.modules['fcntl'] = None; from pixelmock.emulators.tools.cli import main; "
            "sys.exit(main(sys.argv[1:]))"]  # fmt: skip


def serving(
    tmp_path: Path, *args: str, command: Sequence[str] = CLI
) -> contextlib.AbstractContextManager[tuple[str, subprocess.Popen[str]]]:
    """``pixelmock serve *args`` on a free port: yields (root URL, process)."""
    return pixelmock_process(tmp_path / "port", "serve", *args, command=command)


def _connect(root: str, data: bytes) -> socket.socket:
    host, port = root.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=PATIENCE)
    sock.sendall(data)
    return sock


def _websocket(root: str) -> socket.socket:
    sock = _connect(root, HANDSHAKE)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "the WebSocket upgrade was refused"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _answer(sock: socket.socket) -> tuple[bytes, bytes]:
    """One HTTP answer read whole from ``sock``: (head, body); the body's length from Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"the connection ended after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))  # fmt: skip
    while len(body) < length:
        body += sock.recv(4096)
    return head, body


def _closed_unanswered(sock: socket.socket) -> bool:
    """Whether the server ends the connection without sending a byte."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_held_connections_leave_every_provider_and_the_admin_api_answering(tmp_path: Path) -> None:
    with serving(tmp_path, "--read-timeout", "600") as (root, process), contextlib.ExitStack() as held:
        sockets = [held.enter_context(_websocket(root)) for _ in range(HELD)]
        slow = [held.enter_context(_connect(root, SLOW_HEAD if k % 2 else SLOW_BODY)) for k in range(HELD)]
        health = httpx.get(f"{root}/__health", timeout=PATIENCE).json()
        assert set(health["providers"]) == set(PROVIDERS)
        with httpx.Client(timeout=PATIENCE) as http:
            for provider, prefix in health["providers"].items():
                outcome = exercise(http, root, prefix, provider, "gpt-image-2", today_from_env())
                assert outcome.ok and outcome.images >= 1, outcome
            assert http.get(f"{root}/__admin/").status_code == 200
            journal = http.get(f"{root}/__admin/journal").json()
            assert journal, "the requests above were not journaled"
            # Runware's idle timeout still closes the held WebSockets: 120 s of the virtual clock later,
            # each receives a close frame (opcode 8).
            assert http.post(f"{root}/__admin/clock/advance", json={"seconds": 121}).status_code == 200
        for sock in sockets:
            assert sock.recv(1) == b"\x88"
        for sock in slow:  # still held, unanswered: the read timeout is far away
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
        assert process.poll() is None


def test_slow_clients_are_closed_unanswered_after_the_read_timeout(tmp_path: Path) -> None:
    with serving(tmp_path, "--read-timeout", "0.5", "--provider", "openai") as (root, _):
        with _connect(root, SLOW_HEAD) as head, _connect(root, SLOW_BODY) as body:
            assert _closed_unanswered(head)
            assert _closed_unanswered(body)
        # A kept-alive connection idle past the timeout is closed the same way, after its answer.
        with _connect(root, b"GET /__health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") as kept:
            assert _answer(kept)[0].startswith(b"HTTP/1.1 200")
            assert _closed_unanswered(kept)
        # The server still answers a client that sends in time, also one that waits for 100 Continue.
        assert httpx.get(f"{root}/__health", timeout=PATIENCE).status_code == 200
        body = b'{"model": "gpt-image-2", "prompt": "a lighthouse", "quality": "ultra"}'
        head = SLOW_BODY.partition(b"Content-Length")[0] + b"Expect: 100-continue\r\n"
        with _connect(root, head + b"Content-Length: %d\r\n\r\n" % len(body)) as expecting:
            answer = expecting.recv(4096)
            assert answer == b"HTTP/1.1 100 Continue\r\n\r\n"
            expecting.sendall(body)
            head, answer = _answer(expecting)
            assert head.startswith(b"HTTP/1.1 400 "), head  # the answer, not a second 100 Continue
            assert json.loads(answer)["error"]["code"] == "invalid_value"


@pytest.mark.parametrize("command", [CLI, NO_FCNTL], ids=["gunicorn", "werkzeug"])
def test_port_zero_is_announced_and_written_to_the_port_file(tmp_path: Path, command: list[str]) -> None:
    with serving(tmp_path, "--provider", "runware", command=command) as (root, process):
        health = httpx.get(f"{root}/__health", timeout=PATIENCE).json()
        assert health["providers"] == {"runware": "/runware/v1"}
    out = process.stdout.read() if process.stdout else ""
    err = process.stderr.read() if process.stderr else ""
    assert f"pixelmock listening on {root} " in out
    assert f"runware     {root}/runware/v1" in out
    assert not root.endswith(":0")
    assert process.returncode == 0, err
    assert ("serving with Werkzeug's threaded server" in err) == (command == NO_FCNTL)


@pytest.mark.parametrize("command", [CLI, NO_FCNTL], ids=["gunicorn", "werkzeug"])
def test_a_busy_port_fails_at_once_with_status_2(command: list[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, *command, "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=PATIENCE,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"Error: port {port} on 127.0.0.1 is already in use; choose another with --port"
    ]
    assert "listening" not in done.stdout  # and no gunicorn retries: the one line above is all


def test_renders_run_on_native_threads_under_gevent_and_give_the_same_bytes() -> None:
    """Under gevent's patching (``pixelmock serve``'s worker) a render runs on gevent's native thread pool,
    so Pillow's encoding (GIL released) does not stop the event loop; the bytes are the same."""
    script = (
        "import gevent.monkey; gevent.monkey.patch_all()\n"
        "import hashlib, sys\n"
        "from pixelmock.emulators.core import images\n"
        "spec = images.ImageSpec('openai', 'gpt-image-2', 256, 256, 'png', prompt='a fox')\n"
        "assert images._native_threads() is not None\n"
        "print(hashlib.sha256(images.render(spec)).hexdigest())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 0, done.stderr
    from pixelmock.emulators.core import images

    spec = images.ImageSpec("openai", "gpt-image-2", 256, 256, "png", prompt="a fox")
    assert images._native_threads() is None  # no gevent here: rendered in the calling thread
    assert done.stdout.strip() == hashlib.sha256(images.render(spec)).hexdigest()


_MAPPED_BLOCKS = """
import ctypes, sys
libc = ctypes.CDLL(None)
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]
libc.mallinfo2.restype = MallInfo2
from pixelmock.emulators.tools.server import _return_large_blocks
set_here = _return_large_blocks() if sys.argv[1] == "worker" else None
big = bytearray(4 << 20)  # mapped; freeing it raises glibc's own threshold to 4 MiB
del big
before = libc.mallinfo2().hblks
blocks = [bytearray(300_000) for _ in range(4)]  # a base64 result's size
print(set_here, libc.mallinfo2().hblks - before)
"""


@pytest.mark.skipif(not hasattr(__import__("ctypes").CDLL(None), "gnu_get_libc_version"), reason="glibc only")
@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ("plain", {}, "None 0"),  # glibc's moving threshold: 300 kB blocks now come from the heap
        ("worker", {}, "True 4"),  # each mapped on its own, so freeing one returns it to the OS
        ("worker", {"MALLOC_MMAP_THRESHOLD_": "131072"}, "False 4"),  # the deployer's own setting kept
    ],
    ids=["glibc-default", "served-worker", "environment-set"],
)
def test_a_served_worker_maps_large_blocks_on_their_own(
    argv: str, env: dict[str, str], expected: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MAPPED_BLOCKS, argv],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}, **env},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == expected.split()


@pytest.mark.parametrize(
    "how", ["flag", "environment", "config file"], ids=["flag", "environment", "config-file"]
)
def test_several_workers_without_a_shared_store_are_refused_at_once(tmp_path: Path, how: str) -> None:
    """Each worker would keep its own jobs, balances and journal: refused before anything is served, in
    one line that says why and what to pass, however the setting was given."""
    args, env = ["serve", "--port", "0"], {k: v for k, v in os.environ.items() if k != "PIXELMOCK_STORE"}
    if how == "flag":
        args += ["--workers", "2"]
    elif how == "environment":
        env["PIXELMOCK_WORKERS"] = "2"
    else:
        (tmp_path / "pixelmock.toml").write_text("workers = 2\n")
    done = subprocess.run(
        [sys.executable, *CLI, *args], capture_output=True, text=True, timeout=PATIENCE, cwd=tmp_path, env=env
    )
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: 2 workers need a shared store: ")
    assert "each worker would keep its own jobs, balances and journal" in line
    assert "--store redis://host:port/db" in line
    assert "listening" not in done.stdout


def test_werkzeug_fallback_refuses_several_workers() -> None:
    """Where gunicorn cannot run, one process serves: ``serve(workers=2)`` says so instead of serving."""
    script = (
        "import sys; sys.modules['fcntl'] = None\n"
        "from flask import Flask\n"
        "from pixelmock.emulators.tools.server import WorkersUnsupported, serve\n"
        "try:\n"
        "    serve(lambda: Flask('stateless'), port=0, workers=2)\n"
        "except WorkersUnsupported as exc:\n"
        "    print(exc)\n"
        "    sys.exit(2)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=PATIENCE)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.startswith("2 workers need gunicorn, which cannot run here (")
    assert done.stdout.rstrip().endswith("serve with --workers 1")
    assert "listening" not in done.stdout + done.stderr


def test_one_stateless_app_is_served_by_several_workers(tmp_path: Path) -> None:
    """``serve(workers=2)`` forks two gunicorn workers on one port, each building its own app after the
    fork; the first worker announces once, and the port file goes when the master stops."""
    port_file = tmp_path / "port"
    script = (
        "import os, sys\n"
        "from flask import Flask\n"
        "from pixelmock.emulators.tools.server import serve\n"
        "def factory():\n"
        "    app = Flask('stateless')\n"
        "    app.extensions['pixelmock.providers'] = []\n"
        "    app.add_url_rule('/pid', 'pid', lambda: str(os.getpid()))\n"
        "    return app\n"
        f"serve(factory, port=0, port_file={str(port_file)!r}, workers=2)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + PATIENCE
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        root = f"http://127.0.0.1:{int(port_file.read_text())}"
        forked = workers(process.pid)
        while len(forked) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            forked = workers(process.pid)
        assert len(forked) == 2
        answered: set[int] = set()
        while answered != set(forked) and time.monotonic() < deadline:  # a new connection each time
            answered.add(int(httpx.get(f"{root}/pid", timeout=PATIENCE).text))
        assert answered == set(forked)  # both workers answer on the one port; the master never does
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0
    assert out.count("pixelmock listening on ") == 1
    assert not port_file.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("command", [["serve"], ["proxy", "--provider", "openai"]], ids=["serve", "proxy"])
def test_a_stop_signal_to_the_process_group_ends_the_server_cleanly(
    tmp_path: Path, signum: int, command: list[str]
) -> None:
    """Ctrl-C in a terminal sends SIGINT to the whole foreground process group (gunicorn's master and its
    worker); ``docker stop`` sends SIGTERM. Either ends ``serve``, and ``proxy`` (on the same server), with
    status 0 and no traceback (gunicorn's gevent worker used to print a SystemExit traceback from a
    greenlet), even with an idle kept-alive connection open. The time taken is printed, not asserted
    (shared CPUs); the wait is bounded. The proxy forwards nothing here: only its ``/__health`` is asked."""
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [sys.executable, *CLI, *command, "--port", "0", "--port-file", str(port_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while not (port_file.exists() and port_file.read_text().strip()):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.05)
        root = f"http://127.0.0.1:{int(port_file.read_text())}"
        held = _connect(root, b"GET /__health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head, _ = _answer(held)  # answered; the connection stays open (keep-alive)
        assert head.startswith(b"HTTP/1.1 200"), head
        started = time.monotonic()
        os.killpg(process.pid, signum)
        _, err = process.communicate(timeout=PATIENCE)
        print(f"{command[0]} {signal.Signals(signum).name}: stopped in {time.monotonic() - started:.2f} s")
        held.close()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "failed with SystemExit" not in err, err
    assert not port_file.exists()
