"""No cassette in the repository holds a credential, and recording scrubs them by default.

The scan is independent of the scrubber (``pixelmock.client.recording``): it looks for key-shaped strings
anywhere in a cassette's text (OpenAI ``sk-...``, Apiframe ``afk_...``) and for long hex or base64 tokens in
the places credentials travel: the Authorization and X-API-Key headers (after ``Bearer``) and JSON body fields
named like keys (Runware's ``authentication`` task ``apiKey``...), at any depth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from paths import ROOT as REPO

from pixelmock.client import ImageClient, Provider
from pixelmock.client.recording import recording
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.emulators import create_app
from pixelmock.emulators.app import mounted_providers

CASSETTES = sorted(p for p in (REPO / "cassettes").rglob("*") if p.suffix in (".yaml", ".yml"))
KEY_SHAPES = (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), re.compile(r"\bafk_[A-Za-z0-9]{8,}"))
TOKEN = re.compile(r"^(?:[A-Fa-f0-9]{24,}|[A-Za-z0-9+/_.=-]{24,})$")
AUTH_HEADERS = {
    "authorization", "x-api-key", "api-key", "x-auth-key", "cf-aig-authorization", "ocp-apim-subscription-key"
}  # fmt: skip
KEY_FIELDS = re.compile(r"^(api[_-]?key|apikey|token|secret|password|access[_-]?token)$", re.I)


def _json(text: Any) -> Any:
    if isinstance(text, dict):
        text = text.get("string")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _fields(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}", value
            yield from _fields(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _fields(value, f"{path}[{index}]")


def leaks(text: str) -> list[str]:
    """Where a cassette's YAML text holds something credential-shaped."""
    found = [
        f"{m.group(0)[:12]}... ({pattern.pattern})" for pattern in KEY_SHAPES for m in pattern.finditer(text)
    ]
    data = yaml.safe_load(text) or {}
    for index, interaction in enumerate(data.get("interactions") or []):
        for side in ("request", "response"):
            part = interaction.get(side) or {}
            for name, values in (part.get("headers") or {}).items():
                for value in values if isinstance(values, list) else [values]:
                    token = str(value).removeprefix("Bearer ").strip()
                    if str(name).lower() in AUTH_HEADERS and TOKEN.match(token):
                        found.append(f"#{index} {side} header {name}")
            for path, value in _fields(_json(part.get("body"))):
                if (
                    KEY_FIELDS.match(path.rsplit(".", 1)[-1])
                    and isinstance(value, str)
                    and TOKEN.match(value)
                ):
                    found.append(f"#{index} {side} body {path}")
    return found


@pytest.mark.parametrize("path", CASSETTES, ids=[str(p.relative_to(REPO)) for p in CASSETTES])
def test_no_cassette_holds_a_credential(path: Path) -> None:
    assert leaks(path.read_text(encoding="utf-8")) == []


def test_the_scan_finds_leaked_keys() -> None:
    leaked = {
        "interactions": [
            {
                "request": {
                    "method": "POST",
                    "uri": "https://api.runware.ai/v1",
                    "headers": {"X-API-Key": ["Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MDEyMzQ1"]},
                    "body": json.dumps(
                        [{"taskType": "authentication", "apiKey": "3f9c0d2b7a41e8c5f6a9b0d1e2c3f4a5"}]
                    ),
                },
                "response": {"body": {"string": '{"note": "key sk-proj-AbCdEfGhIjKlMnOpQr was used"}'}},
            }
        ]
    }
    found = leaks(yaml.safe_dump(leaked))
    assert any("sk-proj-" in f for f in found)
    assert any("header X-API-Key" in f for f in found)
    assert any("body $[0].apiKey" in f for f in found)


@pytest.mark.parametrize("provider", ["openai", "apiframe", "runware"])
def test_recording_scrubs_headers_and_bodies_by_default(tmp_path: Path, provider: str) -> None:
    """Recorded against an emulator with real-looking keys, without telling the recorder what they are:
    none survives, in headers or in bodies (a Runware authentication task carries it in the body)."""
    key = {"openai": "sk-live-0123456789abcdefABCDEF", "apiframe": "afk_live0123456789abcdef"}.get(
        provider, "0123456789abcdef0123456789abcdef"
    )
    app = create_app(providers=[provider])
    base = "http://127.0.0.1:8080" + mounted_providers(app)[0].prefix
    path = tmp_path / "recorded.yaml"
    with recording(path, record_mode="all"), ImageClient(transport=httpx.WSGITransport(app=app)) as images:
        target = Provider(provider, key, base)
        if provider == "runware":  # the key in the body (authentication task) and in the header
            images.call(
                target,
                "runTasks",
                json=[{"taskType": "authentication", "apiKey": key}, {"taskType": "ping", "ping": True}],
            )
        else:
            images.generate(CanonicalRequest(model="gpt-image-2", prompt="a red fox", quality="low"), target)
    text = path.read_text()
    assert key not in text and leaks(text) == []
    assert "REDACTED" in text


def test_recording_scrubs_cloudflares_global_api_key(tmp_path: Path) -> None:
    """The X-Auth-Email + X-Auth-Key pair (cloudflare-python's ``api_email`` / ``api_key``) is a credential
    of Cloudflare's contract (securitySchemes): recorded without telling the recorder, neither survives."""
    email, key = "someone@example.com", "0123456789abcdef0123456789abcdef01234"
    app = create_app(providers=["cloudflare"])
    path = tmp_path / "recorded.yaml"
    headers = {"X-Auth-Email": email, "X-Auth-Key": key}
    body = {"model": "openai/gpt-image-2", "input": {"prompt": "a red fox", "quality": "low"}}
    with (
        recording(path, record_mode="all"),
        httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1:8080") as http,
    ):
        response = http.post("/cloudflare/client/v4/accounts/acct/ai/run", json=body, headers=headers)
    assert response.status_code == 200
    text = path.read_text()
    assert key not in text and email not in text and leaks(text) == []
    [interaction] = yaml.safe_load(text)["interactions"]
    recorded = {name.lower(): values for name, values in interaction["request"]["headers"].items()}
    assert recorded["x-auth-key"] == ["REDACTED"] and recorded["x-auth-email"] == ["REDACTED"]


def test_recording_scrubs_an_ai_gateway_token_and_a_webhook_url_token(tmp_path: Path) -> None:
    """Cloudflare AI Gateway's ``cf-aig-authorization`` (an authenticated gateway) and a token in a
    webhook URL's query are credentials too: recorded without telling the recorder, neither survives."""
    gateway, hook = "gw0123456789abcdef0123456789abcdef", "hk0123456789abcdef"
    app = create_app(providers=["runware"])
    path = tmp_path / "recorded.yaml"
    headers = {
        "Authorization": "Bearer 0123456789abcdef0123456789abcdef",
        "cf-aig-authorization": f"Bearer {gateway}",
    }
    task = {
        "taskType": "imageInference",
        "taskUUID": "5f0c1b9e-3f51-4d83-9a40-6f1b5d0c2a11",
        "model": "openai:4@1",
        "positivePrompt": "a red fox",
        "width": 1024,
        "height": 1024,
        "webhookURL": f"http://127.0.0.1:9/hook?token={hook}",
    }
    with (
        recording(path, record_mode="all"),
        httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1:8080") as http,
    ):
        assert http.post("/runware/v1", json=[task], headers=headers).status_code == 200
    text = path.read_text()
    assert gateway not in text and hook not in text and leaks(text) == []
    assert "token=REDACTED" in text
