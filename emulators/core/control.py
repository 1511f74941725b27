"""Control-plane state every worker of one emulator shares: the virtual clock's setting and a generation.

A worker (a process of ``pixelmock serve --workers N``, or another host on the same shared store) keeps
copies of what the control plane sets: the clock's offset, fault rules, key statuses, settings. Each
change made through the control plane is published (``Control.changed``): the clock's setting is written
to the store with a new generation (a random token, so that a reset, which empties the store, is a
change too). Every worker reads that one record when a request arrives and when it ticks
(``Runtime.sync``, then ``Control.apply``): it takes the clock's setting, and a service that keeps a copy
of control-plane state (``Cached``) loads it again when the generation is not the one it loaded at.

Consistency: a change is seen by every worker from the first request it handles after the change's
answer was sent.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.store import Store

#: Where the shared control record lives in the store.
NAMESPACE, KEY = "runtime", "control"
T = TypeVar("T")


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

    def apply(self, state: ControlState | None) -> str:
        """Take the shared record as read from the store (``Runtime.sync`` reads it with the earliest due
        timer): set this worker's clock from it; returns the generation. With no record yet (``None``: a
        fresh store, or one just reset), publishes this worker's clock as the first."""
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


class Cached(Generic[T]):
    """Control-plane state this worker keeps a copy of: ``load()`` (a store read) called again on the
    first ``get`` after the control generation changed (a change through any worker, or a reset), or
    after ``drop``."""

    def __init__(self, control: Control, load: Callable[[], T]) -> None:
        self._control = control
        self._load = load
        self._held: tuple[str, T] | None = None

    def get(self) -> T:
        """The copy for the current generation (loaded now if there is none)."""
        generation, held = self._control.generation, self._held
        if held is None or held[0] != generation:
            held = self._held = (generation, self._load())
        return held[1]

    def drop(self) -> None:
        """Load again at the next ``get`` (this worker changed the state and has not yet published it)."""
        self._held = None
