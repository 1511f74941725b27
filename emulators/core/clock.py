"""The virtual clock: real time shifted by an offset that tests (and config) can set and advance.

A frozen clock (the ``manual`` latency profile) stands still: it moves only when it is advanced or set.
"""

from __future__ import annotations

import datetime as dt
import threading


class Clock:
    """Aware UTC time = real time + offset. ``start`` (a date) sets the offset so that today is that date.

    ``freeze()`` stops the clock at its current time (``advance``/``set_now``/``set_date`` still move it);
    ``thaw()`` lets it run again from where it stands.
    """

    def __init__(self, start: dt.date | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = dt.timedelta(0)
        self._frozen: dt.datetime | None = None
        if start is not None:
            self.set_date(start)

    def now(self) -> dt.datetime:
        """Current virtual time (timezone-aware, UTC)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
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
            if self._frozen is not None:
                self._frozen += dt.timedelta(seconds=seconds)
            else:
                self._offset += dt.timedelta(seconds=seconds)
        return self.now()

    def offset(self) -> dt.timedelta:
        """How far the virtual clock is ahead of real time (negative: behind)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen - dt.datetime.now(dt.UTC)
            return self._offset

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        with self._lock:
            return self._frozen is not None

    def freeze(self) -> None:
        """Stop the clock at its current time (no-op when already frozen)."""
        with self._lock:
            if self._frozen is None:
                self._frozen = dt.datetime.now(dt.UTC) + self._offset

    def thaw(self) -> None:
        """Let a frozen clock run again from the time it shows (no-op when running)."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - dt.datetime.now(dt.UTC)
                self._frozen = None

    def set_now(self, moment: dt.datetime) -> None:
        """Shift the clock so that it is now ``moment`` (naive datetimes are taken as UTC)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        real = dt.datetime.now(dt.UTC)
        with self._lock:
            if self._frozen is not None:
                self._frozen = moment.astimezone(dt.UTC)
            else:
                self._offset = moment - real

    def setting(self) -> tuple[float, dt.datetime | None]:
        """What sets the clock, to share it (``restore``): seconds ahead of real time and, when frozen,
        the moment it stands at (else ``None``)."""
        with self._lock:
            return self._offset.total_seconds(), self._frozen

    def restore(self, offset: float, frozen: dt.datetime | None) -> None:
        """Set the clock as ``setting`` gave it (another worker's clock)."""
        with self._lock:
            self._offset = dt.timedelta(seconds=offset)
            self._frozen = frozen

    def reset(self, start: dt.date | None = None) -> None:
        """Back to the state of ``Clock(start)``: running, real time or today shifted to ``start``."""
        with self._lock:
            self._frozen = None
            self._offset = dt.timedelta(0)
        if start is not None:
            self.set_date(start)

    def set_date(self, day: dt.date) -> None:
        """Shift the clock so that it is now ``day`` (same time of day)."""
        real = dt.datetime.now(dt.UTC)
        with self._lock:
            if self._frozen is not None:
                self._frozen = dt.datetime.combine(day, self._frozen.timetz())
            else:
                self._offset = dt.datetime.combine(day, real.timetz()) - real
