"""Replaying a provider's documented and reconstructed cassettes through the reference client: what each
``tests/providers/<name>/test_<name>_cassettes.py`` shares.

The cassettes (``cassettes/documented/<name>/`` and ``cassettes/reconstructed/<name>/``) hold the
providers' published examples at the real providers' URLs. vcrpy replays them (matching method and path,
nothing recorded) while the client, pointed at the real base URL, runs the flow the cassette documents; a
scenario of the provider's test file checks that the client read the published values, and ``replay``
checks that the client consumed every interaction of the cassette, in order.

A provider's test file holds ``SCENARIOS``: cassette key (``documented/<name>/<file>.yaml``, the path
relative to ``cassettes/``) -> ``scenario(path, images)``; ``missing_and_unknown(name, SCENARIOS)`` must be
empty (every cassette of the provider has a scenario, and every scenario a cassette), and
``tests/cassettes/test_cassettes_per_provider.py`` checks that every provider with such cassettes has that
file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml
from paths import CASSETTES, provider_cassettes

from pixelmock.client import ImageClient, ImageClientError, PollPolicy, Provider, RetryPolicy
from pixelmock.client.recording import MATCH_ON
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import NativeRequest, get_dialect

#: What a provider's scenario does with one cassette: ``scenario(path, images)``.
Scenario = Callable[[Path, ImageClient], None]

REPLAY = vcr.VCR(record_mode="none", match_on=MATCH_ON)
#: A valid 1x1 PNG (for requests that upload an image).
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0"
    "00000301010018dd8db00000000049454e44ae426082"
)


def cassette_key(path: Path) -> str:
    """``documented/<name>/<file>.yaml``: the cassette's path relative to ``cassettes/`` (the test id)."""
    return str(path.relative_to(CASSETTES))


def cassettes_of(provider: str) -> list[Path]:
    """Every documented, then reconstructed cassette of ``provider``."""
    return provider_cassettes(provider)


def missing_and_unknown(provider: str, scenarios: Mapping[str, Scenario]) -> tuple[list[str], list[str]]:
    """``(cassettes of provider without a scenario, scenarios without a cassette)``: both empty when the
    provider's ``SCENARIOS`` replays each of its cassettes."""
    keys = [cassette_key(path) for path in cassettes_of(provider)]
    return [k for k in keys if k not in scenarios], sorted(set(scenarios) - set(keys))


def replay(path: Path, scenarios: Mapping[str, Scenario]) -> None:
    """Run the cassette's scenario with the client replaying ``path``; every interaction must be played."""
    with REPLAY.use_cassette(str(path)) as cassette, client() as images:
        scenarios[cassette_key(path)](path, images)
    assert cassette.all_played, (
        f"the client did not make every documented call ({cassette.play_count} played)"
    )


def interactions(path: Path) -> list[dict[str, Any]]:
    """The cassette's interactions, as vcrpy wrote them."""
    return yaml.safe_load(path.read_text())["interactions"]  # type: ignore[no-any-return]


def request_body(path: Path, index: int = 0) -> Any:
    """The JSON body of the cassette's ``index``-th request."""
    return json.loads(interactions(path)[index]["request"]["body"])


def response_body(path: Path, index: int = 0) -> Any:
    """The JSON body of the cassette's ``index``-th response."""
    return json.loads(interactions(path)[index]["response"]["body"]["string"])


def canonical(provider: str, operation_id: str, body: Any) -> CanonicalRequest:
    """The canonical request the provider's dialect reads from a native body."""
    return get_dialect(provider).from_native(NativeRequest(provider, operation_id, body))


def client() -> ImageClient:
    """The reference client, without retries and with instant polls (a replay never waits)."""
    return ImageClient(retries=RetryPolicy(max_retries=0), polling=PollPolicy(initial=0, max_polls=5))


def target(provider: str) -> Provider:
    """The real provider (its real base URL, as the cassettes hold it), with a replayed key."""
    return Provider(provider, api_key="replayed-key-0000", account_id="$CLOUDFLARE_ACCOUNT_ID")


def raises(kind: type[ImageClientError], run: Callable[[], Any]) -> Any:
    """The error of type ``kind`` that ``run()`` raises (fails when it raises none)."""
    with pytest.raises(kind) as info:
        run()
    return info.value
