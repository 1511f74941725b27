"""The commands of issue 16 end to end, as a user runs them: ``pixelmock proxy`` in front of a stand-in
provider (a second pixelmock on 127.0.0.1), then ``pixelmock verify --drift`` over what it recorded, then
``pixelmock serve --replay`` answering from it. Every server is a real process or socket, and stopped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from served import CLI, PATIENCE, pixelmock_process

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.tools.proxy import VIOLATIONS_HEADER
from pixelmock.emulators.tools.replay import REPLAYED_HEADER
from pixelmock.emulators.tools.server import running

KEY = "sk-proj-end-to-end-secret-0123456789"
REQUEST = {"model": "gpt-image-2", "prompt": "a lighthouse at dusk", "quality": "low", "size": "1024x1024"}


def test_proxy_records_verify_finds_no_drift_and_serve_replays(tmp_path: Path) -> None:
    record = tmp_path / "recorded"
    headers = {"Authorization": f"Bearer {KEY}"}
    with running(create_app(EmulatorConfig(), providers=["openai"])) as upstream:
        args = ["proxy", "--provider", "openai", "--upstream", f"openai={upstream}/openai/v1"]
        with pixelmock_process(tmp_path / "proxy.port", *args, "--record", str(record)) as (proxy, _):
            good = httpx.post(
                f"{proxy}/openai/v1/images/generations", json=REQUEST, headers=headers, timeout=30
            )
            bad = httpx.post(
                f"{proxy}/openai/v1/images/generations",
                json={**REQUEST, "quality": "ultra"},
                headers=headers,
                timeout=30,
            )
    assert good.status_code == 200 and VIOLATIONS_HEADER not in good.headers
    assert len(good.json()["data"]) == 1
    # the upstream (a pixelmock) refuses the enum; the proxy names the violation on the way through
    assert bad.status_code == 400
    assert any(v["path"].endswith("quality") for v in json.loads(bad.headers[VIOLATIONS_HEADER]))

    cassettes = sorted((record / "openai").glob("*.yaml"))
    assert len(cassettes) == 2
    for cassette in cassettes:
        assert KEY not in cassette.read_text()

    # the stand-in provider is pixelmock itself: the emulators answer every recorded request alike
    drift = subprocess.run(
        [sys.executable, *CLI, "verify", "--drift", "--format", "json", str(record)],
        capture_output=True,
        text=True,
    )
    report = json.loads(drift.stdout)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert report["interactions"] == 2 and report["disagreements"] == []

    args = ["serve", "--provider", "openai", "--replay", str(record)]
    with pixelmock_process(tmp_path / "serve.port", *args) as (served, _):
        replayed = httpx.post(f"{served}/openai/v1/images/generations", json=REQUEST, headers=headers)
        fresh = httpx.post(
            f"{served}/openai/v1/images/generations", json={**REQUEST, "prompt": "a fox"}, headers=headers
        )
    assert replayed.status_code == 200 and REPLAYED_HEADER in replayed.headers
    assert replayed.json() == good.json()
    assert fresh.status_code == 200 and REPLAYED_HEADER not in fresh.headers


def test_proxy_usage_errors_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, *CLI, "proxy", "--upstream", "openai=ftp://example"],
        capture_output=True,
        text=True,
        timeout=PATIENCE,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert error == "Error: --upstream 'openai=ftp://example': expected PROVIDER=http(s)://BASE-URL"
