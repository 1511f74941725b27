"""The store's interface (``Store``) and what every store shares: the writes of ``write_many``, the
``Usage`` of a byte budget, the byte estimate ``approx_bytes`` and ``StoreUnavailable``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Protocol


class StoreUnavailable(Exception):
    """A shared store cannot serve the call now: its server is unreachable, timed out, or refuses writes
    (Redis at its ``maxmemory``). Nothing of the call was written (each write is one atomic step).
    ``reason``: ``"unreachable"`` or ``"full"``. The web layer answers it with each provider's own 503
    (its ``unavailable`` fault answer); the store serves again as soon as its server does."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Claimed(Exception):
    """``Store.update_logged``'s ``claim`` found its key taken: nothing was written. ``existing``: the
    record there."""

    def __init__(self, existing: Any) -> None:
        super().__init__("the claimed record exists")
        self.existing = existing


@dataclasses.dataclass(frozen=True)
class Put:
    """A write for ``Store.write_many``: ``put(ns, key, value)``."""

    ns: str
    key: str
    value: Any


@dataclasses.dataclass(frozen=True)
class Incr:
    """A write for ``Store.write_many``: ``incr(ns, key, by)`` (its new value not returned)."""

    ns: str
    key: str
    by: int = 1


@dataclasses.dataclass(frozen=True)
class Append:
    """A write for ``Store.write_many``: ``append(log, entry, size)`` (its seq not returned)."""

    log: str
    entry: Any
    size: int | None = None


@dataclasses.dataclass(frozen=True)
class Delete:
    """A write for ``Store.write_many``: ``delete(ns, key)``."""

    ns: str
    key: str


Write = Put | Incr | Append | Delete


class Store(Protocol):
    """Namespaced records: ``ns`` is a table name (``"apiframe.jobs"``), ``key`` a record id."""

    def put(self, ns: str, key: str, value: Any) -> None:
        """Insert or replace a record."""

    def get(self, ns: str, key: str) -> Any | None:
        """The record, or ``None``."""

    def values(self, ns: str) -> list[Any]:
        """All records of a namespace, in insertion order."""

    def update(self, ns: str, key: str, fn: Callable[[Any | None], Any]) -> Any:
        """Atomically replace a record by ``fn(old)`` (``old``: ``None`` when absent); returns the new one."""

    def delete(self, ns: str, key: str) -> None:
        """Remove a record (no error when absent)."""

    def clear(self) -> None:
        """Drop every record (the control plane's reset)."""

    def budget(self, name: str, max_bytes: int | None, namespaces: Iterable[str]) -> None:
        """Count the records of ``namespaces`` against the byte budget ``name`` (``max_bytes``; ``None``:
        measured but unbounded). Calling again with the same name adds namespaces and sets the bound.
        Each record's size is measured when it is put or updated (the store's own measure: an estimate
        of its memory here, its serialized length in a store that serializes)."""

    def stats(self) -> dict[str, Any]:
        """``{"max_records", "namespaces": {ns: {"count", "evicted"}}, "budgets": {name: Usage JSON}}``:
        records held and evicted by count per namespace, and bytes per budget (``Usage.to_json``)."""

    #: Whether several processes share this store (values are serialized; nothing is process-local).
    shared: bool

    def update_logged(
        self,
        ns: str,
        key: str,
        fn: Callable[[Any | None], tuple[Any, Sequence[Any]]],
        log: str,
        claim: Put | None = None,
    ) -> tuple[Any, list[int]]:
        """Atomically replace a record by ``fn(old)[0]`` and append the entries ``fn(old)[1]`` to ``log``
        (one step: no reader sees one without the other); returns the new record and the entries' seqs.
        ``claim``: a record written in the same step only if its key is absent (a job or task id taken
        with the balance that pays for it); raises ``Claimed`` (nothing written) when it is there."""

    def incr(self, ns: str, key: str, by: int = 1) -> int:
        """Atomically add ``by`` to the counter ``key`` of ``ns`` (0 when absent); returns the new value."""

    def counters(self, ns: str) -> dict[str, int]:
        """Every counter of ``ns`` (``incr``), by key."""

    def write_many(self, writes: Sequence[Write]) -> None:
        """Make ``writes`` in order (``Put``, ``Incr``, ``Append``, ``Delete``), in one round trip on a shared
        store. Each is atomic on its own, not all together; none answers its result. Inside ``batch()`` a
        shared store makes them later, in one round trip: when the batch ends, or before the next call made
        in the same context (so this context always reads what it wrote); the memory store at once."""

    def batch(self) -> AbstractContextManager[None]:
        """A block whose ``write_many`` writes are held and made together at its end (see ``write_many``;
        a request's writes that its answer does not wait for: the bill, the journal entry, stored files).
        Blocks nest: each makes the writes held since it began. Per context (thread, greenlet)."""

    def bound_log(self, log: str, max_len: int | None, max_bytes: int | None = None) -> None:
        """Keep at most ``max_len`` entries (0: keep none) and ``max_bytes`` bytes in ``log`` (``None``:
        no bound); past either the oldest entries are dropped first, the newest is always kept (when
        ``max_len`` is not 0)."""

    def append(self, log: str, entry: Any, size: int | None = None) -> int:
        """Append ``entry`` to ``log``; returns its seq (1, 2, ... since the last ``clear``, counted even
        when the log keeps nothing). ``size``: the entry's bytes (default: the store's own measure)."""

    def read_log(self, log: str, after: int = 0) -> list[tuple[int, Any]]:
        """The entries kept with a seq greater than ``after``, oldest first, as ``(seq, entry)``."""

    def trim_log(self, log: str) -> None:
        """Drop every entry of ``log`` (seqs keep counting; the dropped are not counted as evicted)."""

    def log_usage(self, log: str) -> Usage:
        """What ``log`` holds and has dropped to stay within its bounds (a copy)."""

    def schedule(self, queue: str, key: str, at: float) -> None:
        """Make ``key`` due at ``at`` (POSIX seconds on the virtual clock); replaces an earlier moment."""

    def unschedule(self, queue: str, key: str) -> None:
        """Remove ``key`` from ``queue`` (no error when absent)."""

    def next_due(self, queue: str) -> float | None:
        """The earliest moment in ``queue`` (``None`` when empty)."""

    def claim_due(self, queue: str, now: float) -> list[str]:
        """Remove and return the keys due at or before ``now``, earliest first, keys due at the same moment
        in the order they were scheduled. Each key is returned to exactly one caller, whichever process
        asks."""

    def peek(self, ns: str, key: str, queue: str) -> tuple[Any | None, float | None]:
        """A record (``get``) and the earliest moment of a due queue (``next_due``), read together: one
        round trip on a shared store (what every request reads first)."""


@dataclasses.dataclass
class Usage:
    """What a byte budget holds and has evicted: ``max_bytes`` (``None``: unbounded), ``count`` and
    ``bytes`` held, ``evicted`` and ``evicted_bytes`` since the start or the last reset. Bytes are
    estimates (``approx_bytes``)."""

    max_bytes: int | None
    count: int = 0
    bytes: int = 0
    evicted: int = 0
    evicted_bytes: int = 0

    def hold(self, size: int) -> None:
        """One more item of ``size`` bytes held."""
        self.count += 1
        self.bytes += size

    def release(self, size: int, evicted: bool) -> None:
        """One item of ``size`` bytes no longer held; ``evicted``: dropped to stay within a bound."""
        self.count -= 1
        self.bytes -= size
        if evicted:
            self.evicted += 1
            self.evicted_bytes += size

    def over(self) -> bool:
        """Whether more bytes are held than the budget allows."""
        return self.max_bytes is not None and self.bytes > self.max_bytes

    def cleared(self) -> Usage:
        """A fresh usage with the same bound (after a reset)."""
        return Usage(self.max_bytes)

    def to_json(self) -> dict[str, Any]:
        """``{"max_bytes", "count", "bytes", "evicted", "evicted_bytes"}``."""
        return dataclasses.asdict(self)


#: Types ``approx_bytes`` counts without looking inside (they reach no other object it counts).
_LEAVES = frozenset({str, bytes, int, float, bool, type(None), Decimal, dt.datetime, dt.date})


def approx_bytes(value: Any) -> int:
    """An estimate of the memory ``value`` holds, in bytes: ``sys.getsizeof`` of it and of every object
    it reaches through dicts, lists, tuples, sets and dataclass fields. Containers are counted once each
    (shared or cyclic ones too); a leaf (string, bytes, number, date) reached twice is counted twice, an
    over-estimate that spares a set lookup per leaf. Iterative (any nesting depth)."""
    getsizeof, leaves = sys.getsizeof, _LEAVES
    seen: set[int] = set()
    total = 0
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        obj = pop()
        kind = type(obj)
        if kind in leaves:
            total += getsizeof(obj)
            continue
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += getsizeof(obj)
        if isinstance(obj, dict):
            extend(obj.keys())
            extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            extend(obj)
        else:
            names = _field_names(kind)
            if names:
                extend([getattr(obj, name) for name in names])
    return total


#: ``_field_names``'s answers, by type.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    """The field names of a dataclass type (none for another type), cached."""
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = (
            tuple(f.name for f in dataclasses.fields(kind)) if dataclasses.is_dataclass(kind) else ()
        )
    return found
