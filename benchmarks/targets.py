"""The targets: how each is started on 127.0.0.1, when it is ready, how it is checked and stopped.

- ``pixelmock``: ``pixelmock serve --port N`` (its production settings: gunicorn gevent workers, one
  unless the target says more, state in memory unless it names a ``--store``), every provider of the
  registry on one port under its prefix.
- ``prism``: ``prism mock`` of ``contracts/openapi/<provider>.yaml`` from ``benchmarks/.prism/`` (one
  process per provider document; Prism serves the document's paths at its root).
- ``bare``: ``benchmarks.bare_app`` (a fixed JSON answer) on the same server as ``pixelmock serve``, with
  as many worker processes.

Each process is started in a session of its own and stopped by its process id (SIGTERM to the group it
leads, SIGKILL if still there after 10 s).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from benchmarks.bare_app import BODY
from benchmarks.mixes import Mix, fill, job_regex
from pixelmock.contracts.providers import entries
from pixelmock.contracts.providers import provider as registered
from pixelmock.emulators.tools.server import free_port

ROOT = Path(__file__).resolve().parent.parent
PRISM_DIR = ROOT / "benchmarks" / ".prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
#: provider -> the path prefix ``pixelmock serve`` mounts it under (the provider registry's).
PREFIXES = {entry.name: entry.prefix for entry in entries()}


class TargetError(RuntimeError):
    """A target did not start, or answered a check wrongly."""


@dataclass(frozen=True)
class Target:
    """``kind`` is pixelmock, prism or bare; ``label`` is what the table shows (and names the target's
    results, so it is unique in a run); ``workers``: processes serving the port (pixelmock and bare);
    ``store``: pixelmock's ``--store`` (``None``: its memory); ``flags``: more ``pixelmock serve`` flags."""

    kind: str
    label: str
    workers: int = 1
    store: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def per_provider(self) -> bool:
        """Prism mocks one document per process; the others serve every provider on one port."""
        return self.kind == "prism"

    def base(self, provider: str) -> str:
        """The path prefix of ``provider``'s API on this target."""
        return "" if self.kind == "prism" else PREFIXES[provider]

    def expected(self, mix: Mix) -> frozenset[int]:
        """Statuses this target may answer in ``mix``."""
        if self.kind == "bare":
            return frozenset({200})
        return mix.prism_statuses if self.kind == "prism" else mix.statuses

    def command(self, port: int, provider: str) -> list[str]:
        """The argv that serves this target on 127.0.0.1:``port``."""
        if self.kind == "pixelmock":
            script = Path(sys.executable).with_name("pixelmock")
            head = (
                [str(script)] if script.exists() else [sys.executable, "-m", "pixelmock.emulators.tools.cli"]
            )
            store = ["--store", self.store] if self.store else []
            serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers)]
            return [*head, *serve, *store, *self.flags]
        if self.kind == "bare":
            return [sys.executable, "-m", "benchmarks.bare_app", "--port", str(port), "--workers",
                    str(self.workers)]  # fmt: skip
        spec = ROOT / "contracts" / "openapi" / f"{registered(provider).document}.yaml"
        return [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "error", str(spec)]


PIXELMOCK = Target("pixelmock", "pixelmock serve")
PRISM = Target("prism", "Prism")
BARE = Target("bare", "bare Flask")


def prism_version() -> str | None:
    """The installed Prism version, or ``None`` when ``benchmarks/.prism`` has none."""
    package = PRISM_DIR / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    if not PRISM_BIN.exists() or not package.exists():
        return None
    import json

    return str(json.loads(package.read_text())["version"])


def wrk_path() -> str | None:
    """``wrk`` on PATH, or ``None``."""
    return shutil.which("wrk")


class Server:
    """One running target process: ``url`` (``http://127.0.0.1:PORT``), ``pid``, ``started`` (monotonic)."""

    def __init__(self, target: Target, provider: str) -> None:
        self.target = target
        self.provider = provider
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # stderr goes to a file, not a pipe: a full pipe would stall the server
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            target.command(self.port, provider),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )
        self.pid = self.process.pid

    def wait_ready(self, probe: Mix, timeout: float = 30.0) -> float:
        """Send ``probe``'s first request every 10 ms until it gets a 2xx; seconds since the spawn."""
        deadline = self.started + timeout
        n = 0
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise TargetError(f"{self.target.label} exited: {self._stderr()}")
                try:
                    response = send_first(client, self.target, probe, run=0x7E57, n=n)
                    if 200 <= response.status_code < 300:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                n += 1
                time.sleep(0.01)
        raise TargetError(f"{self.target.label} not ready after {timeout:.0f} s")

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: gunicorn's workers (the children), else the process itself."""
        children = _children(self.pid)
        return children or [self.pid]

    def rss_kib(self) -> int:
        """Resident memory (VmRSS, KiB) of the serving processes (gunicorn: its workers), added up."""
        return sum(self.worker_rss_kib())

    def worker_rss_kib(self) -> list[int]:
        """Resident memory (VmRSS, KiB) of each serving process (gunicorn: each worker)."""
        return [status_kib(pid, "VmRSS") for pid in self.serving_pids()]

    def total_pss_kib(self) -> int:
        """Proportional set size (KiB) of the whole process tree (gunicorn: master and worker)."""
        return sum(_pss_kib(pid) for pid in [self.pid, *_children(self.pid)])

    def stop(self) -> None:
        """SIGTERM the process group this server leads; SIGKILL it after 10 s."""
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._log.close()

    def _stderr(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-2000:]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def status_kib(pid: int | str, field: str) -> int:
    """A memory figure (``VmRSS``, ``VmHWM``) of process ``pid`` (``"self"``: this one) from
    ``/proc/PID/status``, KiB; 0 where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return status_kib(pid, "VmRSS")


def headers(mix: Mix, run: int, n: int, key: str | None = None) -> dict[str, str]:
    """``mix``'s headers for request ``n``."""
    return {k: fill(v, run, n, mix.key_every, key=key) for k, v in mix.headers.items()}


def send_first(
    client: httpx.Client, target: Target, mix: Mix, run: int, n: int, unique: bool = True
) -> httpx.Response:
    """Send ``mix``'s first request number ``n``."""
    step = mix.first
    path = target.base(mix.provider) + fill(step.path, run, n, mix.key_every)
    body = fill(step.body, run, n, mix.key_every, unique=unique).encode() if step.body else None
    return client.request(step.method, path, content=body, headers=headers(mix, run, n))


def send_follow(
    client: httpx.Client, target: Target, mix: Mix, run: int, n: int, answer: httpx.Response
) -> httpx.Response | None:
    """Send ``mix``'s follow-up for the first request ``n`` that got ``answer`` (``None``: no follow-up
    in this mix, or no job id in the answer)."""
    if mix.follow is None:
        return None
    found = job_regex(mix).search(answer.text)
    if found is None:
        return None
    path = target.base(mix.provider) + fill(mix.follow.path, run, n, mix.key_every, job=found.group(1))
    return client.request(mix.follow.method, path, headers=headers(mix, run, n))


def send_job(client: httpx.Client, target: Target, mix: Mix, run: int, n: int, unique: bool = True) -> int:
    """Send ``mix``'s first request number ``n`` and its follow-up; how many requests were sent. Raises
    ``TargetError`` for a status ``target`` does not answer in ``mix``."""
    first = send_first(client, target, mix, run, n, unique=unique)
    follow = send_follow(client, target, mix, run, n, first)
    sent = [first] if follow is None else [first, follow]
    bad = [r for r in sent if r.status_code not in target.expected(mix)]
    if bad:
        raise TargetError(f"{target.label} {mix.name}: status {bad[0].status_code}: {bad[0].text[:300]}")
    return len(sent)


def check(client: httpx.Client, target: Target, mix: Mix, run: int) -> str:
    """Send ``mix`` once and check the answers; a one-line account of what was verified. Raises
    ``TargetError`` when an answer is wrong.

    pixelmock: the statuses of the mix, and the images really are what was asked (a served JPG URL, a
    WebP after the Apiframe poll, a PNG in ``b64_json``, all 1024x1024; the provider's error envelope
    for the invalid request). Prism: the statuses (its bodies are the documents' examples). Bare Flask:
    its fixed body.
    """
    first = send_first(client, target, mix, run, 0)
    answers = [first]
    follow = send_follow(client, target, mix, run, 0, first)
    if follow is not None:
        answers.append(follow)
    statuses = [r.status_code for r in answers]
    if target.kind == "bare":
        if statuses != [200] * len(statuses) or first.json() != BODY:
            raise TargetError(f"bare Flask answered {statuses}: {first.text[:200]}")
        return "fixed body"
    allowed = mix.prism_expect if target.kind == "prism" else mix.expect
    if len(statuses) != len(allowed) or any(s not in a for s, a in zip(statuses, allowed, strict=True)):
        raise TargetError(f"{target.label} {mix.name}: statuses {statuses}, expected {allowed}")
    if target.kind == "prism":
        return "statuses " + "/".join(map(str, statuses))
    return _check_pixelmock(client, mix, answers)


def _image(data: bytes, fmt: str) -> str:
    image = Image.open(io.BytesIO(data))
    image.load()
    if image.format != fmt or image.size != (1024, 1024):
        raise TargetError(f"expected a 1024x1024 {fmt}, got {image.format} {image.size}")
    return f"{fmt} {image.size[0]}x{image.size[1]}"


def _fetch(client: httpx.Client, url: str) -> bytes:
    got = client.get(httpx.URL(url).raw_path.decode())
    if got.status_code != 200:
        raise TargetError(f"GET {url}: {got.status_code}")
    return got.content


def _check_pixelmock(client: httpx.Client, mix: Mix, answers: list[httpx.Response]) -> str:
    body: Any = answers[-1].json()
    if mix.name == "runware_url":
        return "imageURL -> " + _image(_fetch(client, body["data"][0]["imageURL"]), "JPEG")
    if mix.name == "apiframe_poll":
        if body.get("status") != "COMPLETED":
            raise TargetError(f"apiframe job not COMPLETED after one poll: {body}")
        return "COMPLETED, result URL -> " + _image(_fetch(client, body["result"]["images"][0]), "WEBP")
    if mix.name == "openai_png_b64":
        return "b64_json -> " + _image(base64.b64decode(body["data"][0]["b64_json"]), "PNG")
    error = body.get("error", {})
    if error.get("param") != "quality" or error.get("code") != "invalid_value":
        raise TargetError(f"invalid request: unexpected error body {body}")
    return "400 invalid_value (param quality)"
