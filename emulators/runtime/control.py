"""Control-plane state every worker of one emulator shares: the virtual clock's setting and a generation.

A worker (a process of ``pixelmock serve --workers N``, or another host on the same shared store) keeps
copies of what the control plane sets: the clock's offset, fault rules, key statuses, settings. Each
change made through the control plane is published (``Control.changed``): the clock's setting is written
to the store with a new generation (a random token, so that a reset, which empties the store, is a
change too). Every worker reads that one record when a request arrives and when it ticks
(``Control.sync``): it takes the clock's setting, and a service that caches control-plane state reloads
it when the generation is not the one it loaded at.

Consistency: a change is seen by every worker from the first request it handles after the change's
answer was sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from pixelmock.emulators.runtime.clock import Clock
from pixelmock.emulators.runtime.store import Store

#: Where the shared control record lives in the store.
NAMESPACE, KEY = "runtime", "control"


@dataclass(frozen=True)
class ControlState:
    """The shared control record: ``generation`` (a token, new at every change) and the clock's setting
    (``Clock.setting``: ``offset`` seconds ahead of real time, or the ``frozen`` moment)."""

    generation: str
    offset: float
    frozen: dt.datetime | None


class Control:
    """This worker's view of the shared control record (``store``), applied to its ``clock``."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        #: The generation this worker last synced to ("" before the first sync or change).
        self.generation = ""

    def sync(self) -> str:
        """Read the shared record and set this worker's clock from it; returns the generation. With no
        record yet (a fresh store, or one just reset), publishes this worker's clock as the first."""
        return self.apply(self._store.get(NAMESPACE, KEY))

    def apply(self, state: ControlState | None) -> str:
        """``sync`` with the shared record already read (``None``: there is none); returns the
        generation."""
        if state is None:
            return self.changed()
        if state.generation != self.generation:
            self._clock.restore(state.offset, state.frozen)
            self.generation = state.generation
        return self.generation

    def changed(self) -> str:
        """Publish a control-plane change made by this worker: its clock's setting, a new generation
        (returned)."""
        offset, frozen = self._clock.setting()
        state = ControlState(uuid.uuid4().hex, offset, frozen)
        self._store.put(NAMESPACE, KEY, state)
        self.generation = state.generation
        return state.generation
