"""Where the provider cassettes are: ``cassettes/documented/<provider>/`` holds only published examples and
recordings of real answers; ``cassettes/reconstructed/<provider>/`` holds exchanges rebuilt from reports
with inferred parts (each file's header says which). Tests that replay the providers' examples read both.

And where the rest of the repository is, for a test at any depth of ``tests/``: ``ROOT`` (the repository,
the package ``pixelmock`` once installed), its ``README``, ``cassettes/recorded/`` (the interactions
recorded from the emulators by each ``tests/providers/<name>/test_<name>_recorded.py``)."""

from __future__ import annotations

from pathlib import Path

#: The repository root (this file is ``tests/support/paths.py``).
ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CASSETTES = ROOT / "cassettes"
KINDS = ("documented", "reconstructed")
DOCUMENTED = CASSETTES / "documented"
RECORDED = CASSETTES / "recorded"


def provider_cassettes(provider: str, pattern: str = "*.yaml") -> list[Path]:
    """Every documented, then reconstructed cassette of ``provider`` matching ``pattern``."""
    return [path for kind in KINDS for path in sorted((CASSETTES / kind / provider).glob(pattern))]


def cassette(provider: str, name: str) -> Path:
    """The cassette ``name`` (with its ``.yaml``) of ``provider``, documented or reconstructed. Raises
    ``FileNotFoundError``."""
    for kind in KINDS:
        path = CASSETTES / kind / provider / name
        if path.exists():
            return path
    raise FileNotFoundError(f"no cassette {provider}/{name}")
