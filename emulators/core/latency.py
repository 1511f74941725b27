"""Latency profiles: how long a generation takes, in real seconds (sync answers) or virtual seconds (jobs).

Profiles (``EmulatorConfig.latency_profile``, or ``PUT /__admin/latency``):

- ``instant`` (default): every duration is 0; async jobs finish on their first poll.
- ``realistic``: the provider's latency (``contracts/data/latency.yaml``, by billed quality) divided by
  the speed factor. Synchronous providers really wait (``Latency.wait``); async jobs need that much
  virtual time (``Latency.job_seconds``).
- ``manual``: the virtual clock is frozen; async jobs need the provider's latency (speed factor ignored)
  and move only when a test advances the clock; synchronous answers come at once.

The configured profile is ``config.latency_profile`` and ``config.speed_factor`` (run-time settings,
shared by ``Runtime.configure``); a profile switched through the control plane is a record of the state
store (``NAMESPACE``, ``KEY``) that every worker reads, cached per control generation (``control.py``).
Consistency across workers: a switch is seen by every worker from its first request after the switch
was answered; the clock's freeze travels with the control record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pixelmock.contracts.data import load
from pixelmock.emulators.config import PROFILES, EmulatorConfig, Profile
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.control import Cached, Control
from pixelmock.emulators.core.store import Store

#: Largest speed factor accepted (and smallest: its inverse is not accepted; factors are >= MIN_SPEED).
MAX_SPEED = 1_000_000.0
MIN_SPEED = 0.001
#: Where the profile switched through the control plane is kept (absent: the configured one).
NAMESPACE, KEY = "runtime", "latency"


@dataclass(frozen=True)
class Setting:
    """The profile in force and its speed factor."""

    profile: Profile
    speed_factor: float

    def to_json(self) -> dict[str, Any]:
        """``{"profile", "speed_factor"}``."""
        return {"profile": self.profile, "speed_factor": self.speed_factor}


def check(profile: str, speed_factor: float) -> Setting:
    """A valid setting. Raises ``ValueError`` for an unknown profile or a speed factor out of range."""
    if profile not in PROFILES:
        raise ValueError(f"unknown latency profile {profile!r}; expected one of {', '.join(PROFILES)}")
    if not MIN_SPEED <= speed_factor <= MAX_SPEED:
        raise ValueError(f"speed_factor must be between {MIN_SPEED} and {MAX_SPEED:g}, got {speed_factor}")
    return Setting(profile, float(speed_factor))


def documented_seconds(provider: str, quality: str | None, model: str | None = None) -> float:
    """The provider's latency for one request of ``quality`` (``contracts/data/latency.yaml``) of canonical
    ``model``, in seconds: a model's recorded duration (``models``: one quality's seconds, the others by
    ``quality_factors``) where the block has one, else the provider's figure. Raises ``KeyError`` for a
    provider the data does not cover."""
    data = load("latency")
    block = data["providers"][provider]
    seen = {provider}
    while "same_as" in block:
        name = str(block["same_as"])
        if name in seen:
            raise KeyError(f"latency.yaml: same_as loop at {name}")
        seen.add(name)
        block = data["providers"][name]
    quality = quality if quality in ("low", "medium", "high", "auto") else "auto"
    if "seconds_by_quality" in block:
        return float(Decimal(str(block["seconds_by_quality"][quality])))
    factors = data["quality_factors"]
    recorded = block.get("models", {}).get(model)
    if recorded is not None:
        base = Decimal(str(recorded["seconds"])) / Decimal(str(factors[recorded["quality"]]))
    else:
        base = Decimal(str(block["seconds"]))
    return float(base * Decimal(str(factors[quality])))


def documented_queue_seconds(provider: str) -> float:
    """How long a job or record shows its queued state (``queued_seconds``; 0 when not given)."""
    block = load("latency")["providers"].get(provider, {})
    return float(Decimal(str(block.get("queued_seconds", 0))))


class Latency:
    """The latency profile of one emulator: the configured one (``config``) unless switched through the
    control plane (a record of ``store``, read again when ``control``'s generation changes)."""

    def __init__(self, config: EmulatorConfig, clock: Clock, store: Store, control: Control) -> None:
        self._config = config
        self._clock = clock
        self._store = store
        self._control = control
        #: The profile switched to through the control plane (``None``: none, the configured one applies).
        self._switched: Cached[Setting | None] = Cached(control, lambda: store.get(NAMESPACE, KEY))
        self._apply(self.setting)

    def configured(self) -> Setting:
        """The configured profile (``config.latency_profile``, ``config.speed_factor``). Raises
        ``ValueError`` when they are not a valid setting (see ``check``)."""
        return check(self._config.latency_profile, self._config.speed_factor)

    @property
    def setting(self) -> Setting:
        """The profile in force."""
        return self._switched.get() or self.configured()

    def set(self, profile: str, speed_factor: float | None = None) -> Setting:
        """Switch profile for every worker (``speed_factor`` unchanged when ``None``). The clock freezes
        for ``manual`` and runs again, from the time it shows, otherwise; published through ``control``.
        Raises ``ValueError`` (see ``check``)."""
        factor = self.setting.speed_factor if speed_factor is None else speed_factor
        setting = check(profile, factor)
        self._store.put(NAMESPACE, KEY, setting)
        self._apply(setting)
        self._control.changed()
        return setting

    def reset(self) -> None:
        """Back to the configured profile (after a reset of the store or a change of the configured
        profile): the switched one is dropped, the clock frozen for ``manual``, running otherwise. The
        caller publishes the change (``control.changed``)."""
        self._store.delete(NAMESPACE, KEY)
        self._apply(self.configured())

    def _apply(self, setting: Setting) -> None:
        self._switched.drop()
        if setting.profile == "manual":
            self._clock.freeze()
        else:
            self._clock.thaw()

    def _scaled(self, seconds: float) -> float:
        setting = self.setting
        if setting.profile == "instant":
            return 0.0
        if setting.profile == "realistic":
            return seconds / setting.speed_factor
        return seconds

    def job_seconds(self, provider: str, quality: str | None, model: str | None = None) -> float:
        """Virtual seconds an async job of ``provider`` needs (0 under ``instant``)."""
        return self._scaled(documented_seconds(provider, quality, model))

    def queue_seconds(self, provider: str) -> float:
        """Virtual seconds a job shows its queued state (0 under ``instant``)."""
        return self._scaled(documented_queue_seconds(provider))

    def sync_seconds(self, provider: str, quality: str | None, model: str | None = None) -> float:
        """Real seconds a synchronous answer waits: only under ``realistic``."""
        if self.setting.profile != "realistic":
            return 0.0
        return self._scaled(documented_seconds(provider, quality, model))

    def wait(
        self, provider: str, quality: str | None, share: float = 1.0, *, model: str | None = None
    ) -> None:
        """Sleep ``share`` of ``sync_seconds`` (real time; returns at once unless ``realistic``)."""
        seconds = self.sync_seconds(provider, quality, model) * share
        if seconds > 0:
            time.sleep(seconds)
