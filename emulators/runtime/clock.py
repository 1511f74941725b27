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

    def offset(self) -> dt.timedelta:
        """How far the virtual clock is ahead of real time (negative: behind)."""
        with self._lock:
            return self._offset

    def set_now(self, moment: dt.datetime) -> None:
        """Shift the clock so that it is now ``moment`` (naive datetimes are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        real = dt.datetime.now(dt.UTC)
        with self._lock:
            self._offset = moment - real

    def reset(self, start: dt.date | None = None) -> None:
        """Back to the state of ``Clock(start)``: real time, or today shifted to ``start``."""
        if start is None:
            with self._lock:
                self._offset = dt.timedelta(0)
        else:
            self.set_date(start)

    def set_date(self, day: dt.date) -> None:
        """Shift the clock so that it is now ``day`` (same time of day)."""
        real = dt.datetime.now(dt.UTC)
        with self._lock:
            self._offset = dt.datetime.combine(day, real.timetz()) - real
