"""Recording against the live providers with your own keys. Never runs unless asked (and never in CI):

    PIXELMOCK_RECORD_LIVE=1 OPENAI_API_KEY=sk-... pytest tests/cassettes/test_cassettes_live.py

Each provider whose key is set gets one cheap request per model it sells (low quality, 1024x1024, one
image), recorded to ``cassettes/recorded/live/<provider>/generate-<model>.yaml`` through
``pixelmock.client.recording`` (credentials scrubbed from headers and bodies; the key and account id also
replaced wherever they appear). Check a recording with ``pixelmock verify cassettes/recorded/live`` and commit
it only after test_cassettes_secrets.py passes. This costs real money at the provider.

Keys: ``OPENAI_API_KEY``, ``CLOUDFLARE_API_TOKEN`` with ``CLOUDFLARE_ACCOUNT_ID``, ``APIFRAME_API_KEY``,
``RUNWARE_API_KEY``, ``GMI_API_KEY``.
"""

from __future__ import annotations

import os

import pytest
from dialect_cases import OFFERED
from paths import RECORDED

from pixelmock.client import ImageClient, Provider
from pixelmock.client.recording import recording
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import get_dialect
from pixelmock.contracts.providers import entries

LIVE = os.environ.get("PIXELMOCK_RECORD_LIVE") == "1"
ROOT = RECORDED / "live"
#: provider -> the variable holding its key: the one its SDK reads (the provider registry), else
#: <PROVIDER>_API_KEY (Apiframe's SDKs read none).
KEY_VARIABLES = {
    entry.name: next(iter(entry.api_key_env), f"{entry.name.upper()}_API_KEY") for entry in entries()
}

pytestmark = pytest.mark.skipif(
    not LIVE, reason="live recording: set PIXELMOCK_RECORD_LIVE=1 and a provider key"
)


@pytest.mark.parametrize(("provider", "model"), OFFERED)
def test_record_live(provider: str, model: str) -> None:
    key = os.environ.get(KEY_VARIABLES[provider])
    if not key:
        pytest.skip(f"{KEY_VARIABLES[provider]} is not set")
    account = os.environ.get("CLOUDFLARE_ACCOUNT_ID") if provider == "cloudflare" else None
    caps = get_dialect(provider).capabilities(model)
    request = CanonicalRequest(
        model=model,  # type: ignore[arg-type]
        prompt="pixelmock live recording: a small red circle on white",
        size="1024x1024",
        quality="low" if "low" in caps.qualities else None,
    )
    path = ROOT / provider / f"generate-{model}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    secrets = [key, *([account] if account else [])]
    with recording(path, secrets=secrets, record_mode="all"), ImageClient() as images:
        result = images.generate(request, Provider(provider, key, account_id=account))
    assert result.images
    assert key not in path.read_text()
