"""One module (or package) per provider, each exporting ``PROVIDER`` (a ``ProviderEmulator``); which module
is whose is the registry's ``module`` (``contracts/data/providers.yaml``)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from pixelmock.contracts.providers import PROVIDERS, provider
from pixelmock.emulators.web.provider import ProviderEmulator


def load_providers(names: Iterable[str] | None = None) -> list[ProviderEmulator]:
    """The ``PROVIDER`` objects of the named providers' emulator modules (default: every provider of the
    registry, in its order). Raises ``UnknownProvider`` for a name the registry does not have."""
    return [
        importlib.import_module(f"{__package__}.{provider(name).module}").PROVIDER
        for name in (PROVIDERS if names is None else names)
    ]
