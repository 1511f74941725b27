"""Latency profiles: how long a generation takes, in real seconds (sync answers) or virtual seconds (jobs).

Profiles (``EmulatorConfig.latency_profile``, or ``PUT /__admin/latency``):

- ``instant`` (default): every duration is 0; async jobs finish on their first poll.
- ``realistic``: the provider's latency (``contracts/data/latency.yaml``, by billed quality) divided by
  the speed factor. Synchronous providers really wait (``Latency.wait``); async jobs need that much
  virtual time (``Latency.job_seconds``).
- ``manual``: the virtual clock is frozen; async jobs need the provider's latency (speed factor ignored)
  and move only when a test advances the clock; synchronous answers come at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from pixelmock.contracts.data import load
from pixelmock.emulators.runtime.clock import Clock

Profile = Literal["instant", "realistic", "manual"]
PROFILES: tuple[Profile, ...] = ("instant", "realistic", "manual")
#: Largest speed factor accepted (and smallest: its inverse is not accepted; factors are >= MIN_SPEED).
MAX_SPEED = 1_000_000.0
MIN_SPEED = 0.001


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


def documented_seconds(provider: str, quality: str | None) -> float:
    """The provider's latency for one request of ``quality`` (``contracts/data/latency.yaml``), in seconds.
    Raises ``KeyError`` for a provider the data does not cover."""
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
    factor = Decimal(str(data["quality_factors"][quality]))
    return float(Decimal(str(block["seconds"])) * factor)


def documented_queue_seconds(provider: str) -> float:
    """How long a job or record shows its queued state (``queued_seconds``; 0 when not given)."""
    block = load("latency")["providers"].get(provider, {})
    return float(Decimal(str(block.get("queued_seconds", 0))))


class Latency:
    """The latency profile of one emulator app (thread-safe)."""

    def __init__(self, clock: Clock, profile: str = "instant", speed_factor: float = 1.0) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._initial = check(profile, speed_factor)
        self._setting = self._initial
        self._apply()

    @property
    def setting(self) -> Setting:
        """The profile in force."""
        with self._lock:
            return self._setting

    def set(self, profile: str, speed_factor: float | None = None) -> Setting:
        """Switch profile (``speed_factor`` unchanged when ``None``). The clock freezes for ``manual`` and
        runs again, from the time it shows, otherwise. Raises ``ValueError`` (see ``check``)."""
        with self._lock:
            factor = self._setting.speed_factor if speed_factor is None else speed_factor
            self._setting = check(profile, factor)
        self._apply()
        return self.setting

    def configure(self, profile: str, speed_factor: float) -> Setting:
        """Change the configured profile (the one ``reset`` returns to) and switch to it. Raises
        ``ValueError`` (see ``check``)."""
        with self._lock:
            self._initial = check(profile, speed_factor)
            self._setting = self._initial
        self._apply()
        return self.setting

    def reset(self) -> None:
        """Back to the configured profile (the clock has been reset, running, just before)."""
        with self._lock:
            self._setting = self._initial
        self._apply()

    def _apply(self) -> None:
        if self.setting.profile == "manual":
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

    def job_seconds(self, provider: str, quality: str | None) -> float:
        """Virtual seconds an async job of ``provider`` needs (0 under ``instant``)."""
        return self._scaled(documented_seconds(provider, quality))

    def queue_seconds(self, provider: str) -> float:
        """Virtual seconds a job shows its queued state (0 under ``instant``)."""
        return self._scaled(documented_queue_seconds(provider))

    def sync_seconds(self, provider: str, quality: str | None) -> float:
        """Real seconds a synchronous answer waits: only under ``realistic``."""
        if self.setting.profile != "realistic":
            return 0.0
        return self._scaled(documented_seconds(provider, quality))

    def wait(self, provider: str, quality: str | None, share: float = 1.0) -> None:
        """Sleep ``share`` of ``sync_seconds`` (real time; returns at once unless ``realistic``)."""
        seconds = self.sync_seconds(provider, quality) * share
        if seconds > 0:
            time.sleep(seconds)
