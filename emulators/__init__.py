"""pixelmock emulators: Flask apps that keep the providers' documented promises over HTTP."""

from emulators.app import create_app
from emulators.config import EmulatorConfig

__all__ = ["EmulatorConfig", "create_app"]
