"""pixelmock emulators: Flask apps that keep the providers' documented promises over HTTP.

``create_app`` (and with it Flask and the contracts) is imported on first use, so that loading the pytest
plugin or the admin client, both in this package, imports only the standard library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pixelmock.emulators.config import EmulatorConfig

if TYPE_CHECKING:
    from pixelmock.emulators.app import create_app

__all__ = ["EmulatorConfig", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from pixelmock.emulators.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
