"""One module (or package) per provider, each exporting ``PROVIDER`` (a ``ProviderEmulator``)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators.web.provider import ProviderEmulator


def load_providers(names: Iterable[str] | None = None) -> list[ProviderEmulator]:
    """The ``PROVIDER`` objects of the named provider modules (default: all of ``PROVIDERS``)."""
    return [
        importlib.import_module(f"{__package__}.{name}").PROVIDER
        for name in (PROVIDERS if names is None else names)
    ]
