"""The container recipe (``Containerfile``): what it serves is what the image runs. The image itself is
built and smoke-tested by CI's ``.ci/container-build`` (as root, on a base made with debootstrap;
docs/container.md says how long it takes); here every test runs on any machine: the entrypoint, command
and ``ENV`` read from the Containerfile are started as they would be in the image (from this
environment's ``pixelmock``), answer a generation, and pass the ``HEALTHCHECK``; the file keeps the
structure the docs promise."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from paths import ROOT
from served import PATIENCE

from pixelmock.emulators.tools.health import healthy
from pixelmock.emulators.tools.server import free_port

CONTAINERFILE = ROOT / "Containerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Containerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    found = _instructions()
    last = max(i for i, (op, _) in enumerate(found) if op == "FROM")
    return found[last:]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for op, args in stage:
        if op == "ENV":
            pairs.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return pairs


def test_the_recipe_is_multi_stage_non_root_with_a_healthcheck_and_a_base_argument() -> None:
    found = _instructions()
    assert found[0][0] == "ARG" and found[0][1].startswith("BASE=")
    assert [args for op, args in found if op == "FROM"] == ["${BASE} AS build", "${BASE}"]
    final = _final_stage()
    ops = [op for op, _ in final]
    assert "USER" in ops and dict(final)["USER"] not in ("root", "0")
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    assert "pixelmock.emulators.tools.health" in dict(final)["HEALTHCHECK"]
    assert _env(final)["PIXELMOCK_HOST"] == "0.0.0.0"
    assert dict(final)["EXPOSE"] == _env(final)["PIXELMOCK_PORT"]


def test_the_entrypoint_serves_a_generation_and_passes_the_healthcheck(tmp_path: Path) -> None:
    final = dict(_final_stage())
    entrypoint, command = json.loads(final["ENTRYPOINT"]), json.loads(final["CMD"])
    assert Path(entrypoint[0]).name == "pixelmock" and command == ["serve"]
    port = free_port()
    image_env = {k: v for k, v in _env(_final_stage()).items() if k != "PATH"}  # this environment's
    env = {**os.environ, **image_env, "PIXELMOCK_PORT": str(port)}  # pixelmock stands in for the image's
    process = subprocess.Popen(
        [sys.executable, "-m", "pixelmock.emulators.tools.cli", *command],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + PATIENCE
        while not healthy(port, tls=False):
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        body = {"model": "gpt-image-2", "prompt": "a fox", "size": "1024x1024", "quality": "low"}
        answer = httpx.post(
            f"http://127.0.0.1:{port}/openai/v1/images/generations",
            json=body,
            headers={"Authorization": "Bearer k"},
            timeout=PATIENCE,
        )
        assert answer.status_code == 200 and answer.json()["data"][0]["b64_json"]
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=PATIENCE)
    assert process.returncode == 0
    assert f"pixelmock listening on http://0.0.0.0:{port} " in out
    assert not healthy(port, tls=False)


def test_the_ignore_files_keep_the_virtual_environment_out() -> None:
    for name in (".containerignore", ".dockerignore"):
        assert ".venv" in (ROOT / name).read_text(encoding="utf-8").split()
