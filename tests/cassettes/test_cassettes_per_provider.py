"""Every provider's cassettes are replayed by its own test file: a new provider's cassettes cannot go
unreplayed.

- ``cassettes/documented/<name>/`` and ``cassettes/reconstructed/<name>/`` hold the published examples,
  replayed through the reference client by ``tests/providers/<name>/test_<name>_cassettes.py`` (its
  ``SCENARIOS``, with the shared machinery of ``tests/support/cassette_replay.py``), which checks that
  each cassette of the provider has a scenario.
- ``cassettes/recorded/<name>/`` holds the examples recorded from the emulators, recorded again
  (``PIXELMOCK_RECORD_CASSETTES=1``) and replayed by ``tests/providers/<name>/test_<name>_recorded.py``
  (its ``KEY`` and ``SCENARIOS``, with ``tests/support/cassette_recording.py``), which checks that each
  recorded cassette of the provider belongs to a scenario. ``cassettes/recorded/live/`` is no provider's:
  test_cassettes_live.py writes the live providers' recordings there, replayed by no scenario.

Each folder is named after a provider of the registry (``contracts/data/providers.yaml``), so every
registered provider with such a folder has that file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import CASSETTES, KINDS, RECORDED
from paths import ROOT as REPO

from pixelmock.contracts.providers import names

PROVIDERS = REPO / "tests" / "providers"


def _folders(root: Path) -> list[str]:
    return sorted(path.name for path in root.iterdir() if path.is_dir()) if root.is_dir() else []


def _test_file(provider: str, suffix: str) -> Path:
    return PROVIDERS / provider / f"test_{provider}_{suffix}.py"


#: Every provider with documented or reconstructed cassettes.
DOCUMENTED = sorted({name for kind in KINDS for name in _folders(CASSETTES / kind)})
#: The folder of cassettes/recorded/ written by test_cassettes_live.py (the real providers' answers).
LIVE = "live"
#: Every provider with examples recorded from its emulator.
RECORDED_BY = [name for name in _folders(RECORDED) if name != LIVE]


def test_the_cassette_folders_are_named_after_registered_providers() -> None:
    assert DOCUMENTED and set(DOCUMENTED) <= set(names())
    assert RECORDED_BY and set(RECORDED_BY) <= set(names())


@pytest.mark.parametrize("provider", DOCUMENTED)
def test_every_documented_cassette_folder_has_its_providers_replay_file(provider: str) -> None:
    path = _test_file(provider, "cassettes")
    assert path.is_file(), f"{path.relative_to(REPO)} replays cassettes/*/{provider}/: it is missing"
    text = path.read_text()
    assert "missing_and_unknown(" in text and "replay(" in text, f"{path.name} checks and replays nothing"


@pytest.mark.parametrize("provider", RECORDED_BY)
def test_every_recorded_cassette_folder_has_its_providers_recording_file(provider: str) -> None:
    path = _test_file(provider, "recorded")
    assert path.is_file(), f"{path.relative_to(REPO)} records cassettes/recorded/{provider}/: it is missing"
    text = path.read_text()
    assert "unused(" in text and "record_or_replay(" in text, f"{path.name} checks and replays nothing"
