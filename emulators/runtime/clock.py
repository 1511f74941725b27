"""The virtual clock: real time shifted by an offset that tests (and config) can set and advance."""

from __future__ import annotations

import datetime as dt
import threading


class Clock:
    """Aware UTC time = real time + offset. ``start`` (a date) sets the offset so that today is that date."""

    def __init__(self, start: dt.date | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = dt.timedelta(0)
        if start is not None:
            self.set_date(start)

    def now(self) -> dt.datetime:
        """Current virtual time (timezone-aware, UTC)."""
        with self._lock:
            return dt.datetime.now(dt.UTC) + self._offset

    def today(self) -> dt.date:
        """Current virtual date (UTC)."""
        return self.now().date()

    def timestamp(self) -> int:
        """Current virtual time in whole Unix seconds."""
        return int(self.now().timestamp())

    def advance(self, seconds: float) -> dt.datetime:
        """Move the clock forward by ``seconds``; returns the new time."""
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)
        return self.now()

    def set_date(self, day: dt.date) -> None:
        """Shift the clock so that it is now ``day`` (same time of day)."""
        real = dt.datetime.now(dt.UTC)
        with self._lock:
            self._offset = dt.datetime.combine(day, real.timetz()) - real
