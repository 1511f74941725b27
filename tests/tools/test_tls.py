"""``pixelmock serve --tls`` and ``proxy --tls``: HTTPS with a certificate from a local CA made at start,
whose certificate ``--tls-ca-out`` writes for clients; answers then name ``https://`` URLs that download
over the same trust. Each test starts ``pixelmock serve`` (or ``proxy``) as a subprocess on 127.0.0.1
and stops it."""

from __future__ import annotations

import base64
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from served import CLI, pixelmock_process

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.config import today_from_env
from pixelmock.emulators.tools.demo import exercise
from pixelmock.emulators.tools.proxy import VIOLATIONS_HEADER
from pixelmock.emulators.tools.server import running
from pixelmock.emulators.tools.tls import local_names

pytest.importorskip("trustme", reason="the [tls] extra (trustme) is part of [test]")


def test_a_client_trusting_the_written_ca_generates_and_downloads_over_https(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    serving = pixelmock_process(tmp_path / "port", "serve", "--tls", "--tls-ca-out", str(ca), scheme="https")
    with serving as (root, process):
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
        trust = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(verify=trust, timeout=60) as http:
            health = http.get(f"{root}/__health").json()
            for provider, prefix in health["providers"].items():
                outcome = exercise(http, root, prefix, provider, "gpt-image-2", today_from_env())
                assert outcome.ok and outcome.images >= 1, outcome
            task = {"taskType": "imageInference", "taskUUID": "4f1c3b9e-0d7a-4a59-9a59-3d2b2f1e6c11",
                    "model": "openai:gpt-image@2", "positivePrompt": "a lighthouse", "width": 1024,
                    "height": 1024, "outputType": "URL"}  # fmt: skip
            answer = http.post(f"{root}/runware/v1", json=[task], headers={"Authorization": "Bearer k"})
            url = answer.json()["data"][0]["imageURL"]
            assert url.startswith(f"{root}/files/"), url
            assert http.get(url).content[:3] in (b"\xff\xd8\xff", b"\x89PN")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{root}/__health")  # the system's trust store does not know the local CA
    out = process.stdout.read() if process.stdout else ""
    assert f"pixelmock listening on {root} " in out


def test_a_client_trusting_the_written_ca_generates_through_the_https_proxy(tmp_path: Path) -> None:
    """``pixelmock proxy --tls``: the same local CA as ``serve``'s; upstream a second pixelmock on
    127.0.0.1 (plain HTTP), the client on HTTPS to the proxy."""
    ca = tmp_path / "ca.pem"
    with running(create_app(EmulatorConfig(), providers=["openai"])) as upstream:
        args = ["proxy", "--provider", "openai", "--upstream", f"openai={upstream}/openai/v1"]
        serving = pixelmock_process(
            tmp_path / "port", *args, "--tls", "--tls-ca-out", str(ca), scheme="https"
        )
        with (
            serving as (root, process),
            httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as http,
        ):
            body = {"model": "gpt-image-2", "prompt": "a fox", "size": "1024x1024", "quality": "low"}
            answer = http.post(
                f"{root}/openai/v1/images/generations",
                json=body,
                headers={"Authorization": "Bearer k"},
                timeout=60,
            )
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                httpx.get(f"{root}/__health")  # the system's trust store does not know the local CA
    assert answer.status_code == 200, answer.text
    assert VIOLATIONS_HEADER not in answer.headers
    image = base64.b64decode(answer.json()["data"][0]["b64_json"])
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    out = process.stdout.read() if process.stdout else ""
    assert f"pixelmock listening on {root} " in out and "pixelmock proxy forwards:" in out


@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_a_certificate_without_its_key_is_refused_at_once(tmp_path: Path, command: str) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    done = subprocess.run(
        [sys.executable, *CLI, command, "--tls-cert", str(cert), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--tls-cert and --tls-key go together" in done.stderr


def test_the_local_certificate_names_this_machine_but_no_wildcard_address() -> None:
    assert local_names("0.0.0.0")[:3] == ["localhost", "127.0.0.1", "::1"]
    assert "0.0.0.0" not in local_names("0.0.0.0") and "::" not in local_names("::")
    assert local_names("10.1.2.3")[-1] == "10.1.2.3"
