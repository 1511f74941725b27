"""The ``pixelmock`` command as a user runs it: cost (table, JSON), serve (start, answer, SIGTERM), demo."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal

import httpx
import pytest

from contracts.openapi import PROVIDERS
from emulators.cli import main


def test_cost_json_lists_every_provider_with_the_documented_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["cost", "--provider", "all", "--model", "gpt-image-1.5", "--size", "1536x1024",
          "--quality", "high", "--prompt", "a lighthouse", "--json"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert [row["provider"] for row in rows] == list(PROVIDERS)
    for row in rows:
        assert set(row) >= {"provider", "model", "usd", "credits", "tokens", "resolved"}
        assert row["tokens"]["image_output"] == 6208  # OpenAI's table: 1536x1024 high
    by_provider = {row["provider"]: row for row in rows}
    assert by_provider["apiframe"]["credits"] == 24 and by_provider["apiframe"]["usd"] is None
    assert Decimal(by_provider["runware"]["usd"]).as_tuple().exponent == -5


def test_cost_reports_unsupported_combinations_per_provider(capsys: pytest.CaptureFixture[str]) -> None:
    main(["cost", "--provider", "all", "--model", "gpt-image-2", "--background", "transparent",
          "--prompt", "a sticker", "--json"])  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    errors = {row["provider"]: row["error"] for row in rows if "error" in row}
    assert "apiframe" in errors and "background" in errors["apiframe"]


def test_cost_table_is_printed_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    main(["cost", "--provider", "runware", "--provider", "apiframe", "--model", "gpt-image-2",
          "--quality", "medium", "--n", "4", "--size", "1024x1024", "--prompt", "a fox"])  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["provider", "model", "billed"]
    apiframe = next(line for line in lines if line.startswith("apiframe"))
    assert " 36 " in apiframe  # Apiframe's worked example: gpt-image-2 medium x 4 = 36 credits


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_prints_base_urls_answers_and_stops_on_sigterm() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/__health").json()
            except httpx.TransportError:
                time.sleep(0.1)
        assert health is not None and set(health["providers"]) == set(PROVIDERS)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    for prefix in health["providers"].values():
        assert f"http://127.0.0.1:{port}{prefix}" in out


def test_demo_exercises_every_provider_and_succeeds() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "emulators.cli", "demo"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout
    for provider in PROVIDERS:
        assert f"\n{provider} " in done.stdout
