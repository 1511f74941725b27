"""The provider registry: ``contracts/data/providers.yaml`` as typed, frozen records.

Every list of the providers reads it (``pixelmock.contracts.openapi.PROVIDERS`` is ``names()``): which
emulator, dialect and client flow module each one has, where it is mounted, its real base URL, the
environment variables its SDKs read, its lifecycle rule and its colour on the inspector page. Adding a
provider is its own files plus one entry in the data file (``docs/adding-a-provider.md``).

Pure data: importing this module loads PyYAML and the standard library only (no Flask, no httpx, nothing of
``pixelmock.emulators`` or ``pixelmock.client``).

``python -m pixelmock.contracts.generated providers [--write README.md]`` prints the README's providers
table (``providers_table``; this module is imported by the package itself, so it is not run on its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pixelmock.contracts.data import load
from pixelmock.contracts.errors import UnknownProvider

__all__ = [
    "LIFECYCLES",
    "PROVIDERS",
    "Colour",
    "Lifecycle",
    "ProviderEntry",
    "Sdk",
    "Sourced",
    "entries",
    "names",
    "provider",
    "providers_table",
]

Lifecycle = Literal["owner", "contract", "reseller"]
#: Where a provider's shutdown dates are read (``contracts/lifecycle.py``).
LIFECYCLES: tuple[Lifecycle, ...] = ("owner", "contract", "reseller")


@dataclass(frozen=True)
class Sourced:
    """A provider fact with its ``source`` and ``evidence`` rung (``contracts/evidence.py``)."""

    value: str
    source: str
    evidence: str


@dataclass(frozen=True)
class Colour:
    """The inspector page's tag of a provider: ``background`` and ``text`` (CSS colours)."""

    background: str
    text: str


@dataclass(frozen=True)
class Sdk:
    """One SDK a test points at the emulator: ``package`` (``openai (PyPI)``), whether it is the
    provider's ``official`` one, the variables it reads for its base URL and key (``None``: none), the
    constructor arguments that take the base URL, and ``cleared_env``: variables it prefers to the key
    variable (removed by the pytest plugin so that the key is used)."""

    package: str
    official: bool
    base_url_env: str | None
    api_key_env: str | None
    base_url_arguments: tuple[str, ...]
    cleared_env: tuple[str, ...]
    source: str
    evidence: str


@dataclass(frozen=True)
class ProviderEntry:
    """One provider of the registry (see ``contracts/data/providers.yaml`` for each field)."""

    name: str
    title: str
    prefix: str
    module: str
    dialect: str
    client: str
    document: str
    lifecycle: Lifecycle
    colour: Colour
    base_url: Sourced
    sdks: tuple[Sdk, ...]

    @property
    def base_url_env(self) -> tuple[str, ...]:
        """Every variable one of its SDKs reads for the base URL."""
        return tuple(sdk.base_url_env for sdk in self.sdks if sdk.base_url_env)

    @property
    def api_key_env(self) -> tuple[str, ...]:
        """Every variable one of its SDKs reads for the key."""
        return tuple(sdk.api_key_env for sdk in self.sdks if sdk.api_key_env)

    @property
    def cleared_env(self) -> tuple[str, ...]:
        """Every variable one of its SDKs would use instead of the key variable."""
        return tuple(name for sdk in self.sdks for name in sdk.cleared_env)


def _sdk(raw: dict[str, Any]) -> Sdk:
    return Sdk(
        package=str(raw["package"]),
        official=bool(raw["official"]),
        base_url_env=None if raw.get("base_url_env") is None else str(raw["base_url_env"]),
        api_key_env=None if raw.get("api_key_env") is None else str(raw["api_key_env"]),
        base_url_arguments=tuple(str(a) for a in raw.get("base_url_arguments", [])),
        cleared_env=tuple(str(v) for v in raw.get("cleared_env", [])),
        source=" ".join(str(raw["source"]).split()),
        evidence=str(raw["evidence"]),
    )


def _entry(name: str, raw: dict[str, Any]) -> ProviderEntry:
    lifecycle = str(raw["lifecycle"])
    if lifecycle not in LIFECYCLES:
        raise ValueError(f"providers.yaml {name}: lifecycle {lifecycle!r} is not one of {LIFECYCLES}")
    base = raw["base_url"]
    return ProviderEntry(
        name=name,
        title=str(raw["title"]),
        prefix=str(raw["prefix"]),
        module=str(raw["module"]),
        dialect=str(raw["dialect"]),
        client=str(raw["client"]),
        document=str(raw["document"]),
        lifecycle=lifecycle,
        colour=Colour(str(raw["colour"]["background"]), str(raw["colour"]["text"])),
        base_url=Sourced(str(base["url"]), " ".join(str(base["source"]).split()), str(base["evidence"])),
        sdks=tuple(_sdk(sdk) for sdk in raw.get("sdks", [])),
    )


@cache
def entries() -> tuple[ProviderEntry, ...]:
    """Every provider of the registry, in display order (the data file's)."""
    providers: dict[str, dict[str, Any]] = load("providers")["providers"]
    return tuple(_entry(str(name), raw) for name, raw in providers.items())


@cache
def names() -> tuple[str, ...]:
    """The providers' names, in display order."""
    return tuple(entry.name for entry in entries())


def provider(name: str) -> ProviderEntry:
    """The registry entry of ``name``. Raises ``UnknownProvider``."""
    for entry in entries():
        if entry.name == name:
            return entry
    raise UnknownProvider(name)


#: Every provider pixelmock emulates, in display order (``names()``).
PROVIDERS: tuple[str, ...] = names()


def providers_table() -> str:
    """The README's table: each provider's title, its base URL under ``pixelmock serve`` (default port)
    and its real base URL."""
    lines = ["| provider | base URL under pixelmock | real base URL |", "|---|---|---|"]
    for entry in entries():
        local = f"http://127.0.0.1:8080{entry.prefix}"
        lines.append(f"| {entry.title} | `{local}` | `{entry.base_url.value}` |")
    return "\n".join(lines)
