"""The state store: every piece of runtime state behind one small interface, thread-safe.

Four kinds of state, each with its own primitives:

- **records**: namespaced key/value (``put``, ``get``, ``values``, ``update``, ``delete``), bounded by
  count and by byte budgets (below); ``update_logged`` replaces a record and appends to a log in one
  atomic step (a balance and its ledger line);
- **counters**: ``incr`` (sequence numbers, the n-th call of a fault rule);
- **logs**: append-only, capped by length and bytes (``bound_log``, ``append``, ``read_log``,
  ``trim_log``, ``log_usage``): the journal, the ledger;
- **due queues**: keys due at a moment (``schedule``, ``unschedule``, ``next_due``, ``claim_due``):
  timers and outbound deliveries; ``claim_due`` hands each due key to exactly one caller.

The in-memory store (``MemoryStore``) is the default; a shared store (Redis: ``redis_store.py``) provides
the same methods to several processes and hosts. ``shared`` tells the services which they run on: on a
shared store nothing may be kept only in a process's memory, and every value written is serialized.

Memory is bounded two ways: by count (``max_records`` per namespace) and by bytes (``budget``: the
records of some namespaces, such as Runware's tasks with their base64 results, counted against a byte
budget). Both drop the oldest inserted records first, and ``stats`` shows what is held and what was
evicted. An evicted record answers as one that never existed (the provider's own not-found).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol


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


Write = Put | Incr


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
        self, ns: str, key: str, fn: Callable[[Any | None], tuple[Any, Sequence[Any]]], log: str
    ) -> tuple[Any, list[int]]:
        """Atomically replace a record by ``fn(old)[0]`` and append the entries ``fn(old)[1]`` to ``log``
        (one step: no reader sees one without the other); returns the new record and the entries' seqs."""

    def incr(self, ns: str, key: str, by: int = 1) -> int:
        """Atomically add ``by`` to the counter ``key`` of ``ns`` (0 when absent); returns the new value."""

    def counters(self, ns: str) -> dict[str, int]:
        """Every counter of ``ns`` (``incr``), by key."""

    def write_many(self, writes: Sequence[Write]) -> None:
        """Make ``writes`` in order (``Put``, ``Incr``), in one round trip on a shared store. Each is atomic
        on its own, not all together; none answers its result."""

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


def approx_bytes(value: Any) -> int:
    """An estimate of the memory ``value`` holds, in bytes: ``sys.getsizeof`` of it and of every object
    it reaches through dicts, lists, tuples, sets and dataclass fields, each object once. Iterative (any
    nesting depth)."""
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            stack.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
    return total


@dataclasses.dataclass
class _Log:
    """A capped log: ``entries`` as ``(seq, entry, size)``, oldest first."""

    usage: Usage = dataclasses.field(default_factory=lambda: Usage(None))
    max_len: int | None = None
    entries: deque[tuple[int, Any, int]] = dataclasses.field(default_factory=deque)
    seq: int = 0

    def keep(self, entry: Any, size: int) -> int:
        self.seq += 1
        if self.max_len != 0:
            self.entries.append((self.seq, entry, size))
            self.usage.hold(size)
            self.shrink()
        return self.seq

    def shrink(self) -> None:
        """Drop the oldest entries while over a bound (the newest stays)."""
        while (self.max_len is not None and len(self.entries) > self.max_len) or (
            self.usage.over() and len(self.entries) > 1
        ):
            self.usage.release(self.entries.popleft()[2], evicted=True)


@dataclasses.dataclass
class _Queue:
    """Due keys: ``at`` per key, and a heap of ``(at, order, key)`` whose stale items are skipped."""

    at: dict[str, float] = dataclasses.field(default_factory=dict)
    heap: list[tuple[float, int, str]] = dataclasses.field(default_factory=list)

    def head(self) -> tuple[float, int, str] | None:
        """The earliest live item (stale ones dropped on the way)."""
        while self.heap and self.at.get(self.heap[0][2]) != self.heap[0][0]:
            heapq.heappop(self.heap)
        return self.heap[0] if self.heap else None


@dataclasses.dataclass
class _Budget:
    usage: Usage
    #: ``(ns, key)`` -> bytes, oldest inserted first.
    sizes: OrderedDict[tuple[str, str], int] = dataclasses.field(default_factory=OrderedDict)


class MemoryStore:
    """The in-memory ``Store``: one re-entrant lock around plain dictionaries.

    ``max_records`` bounds every namespace: inserting a new key into a full one first drops its oldest
    inserted record (replacing or updating a record keeps its place). ``None``: unbounded. A namespace
    counted against a byte budget (``budget``) also drops its budget's oldest inserted records while the
    budget holds more than its ``max_bytes``, never the record being written (one record larger than the
    whole budget is kept alone). ``measure`` gives a record's size in bytes (default ``approx_bytes``).
    """

    def __init__(self, max_records: int | None = None, measure: Callable[[Any], int] = approx_bytes) -> None:
        if max_records is not None and max_records < 1:
            raise ValueError("max_records must be at least 1 (or None for no bound)")
        self.max_records = max_records
        self._measure = measure
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Any]] = {}
        self._dropped: dict[str, int] = {}
        self._budgets: dict[str, _Budget] = {}
        self._budget_of: dict[str, _Budget] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._logs: dict[str, _Log] = {}
        self._queues: dict[str, _Queue] = {}
        self._order = itertools.count()

    shared = False

    def _make_room(self, ns: str, table: dict[str, Any], key: str) -> None:
        """Drop the oldest records so that inserting ``key`` keeps the table within the bound."""
        if self.max_records is None or key in table:
            return
        while len(table) >= self.max_records:
            oldest = next(iter(table))
            del table[oldest]
            self._forget(ns, oldest)
            self._dropped[ns] = self._dropped.get(ns, 0) + 1

    def _forget(self, ns: str, key: str, evicted: bool = False) -> None:
        """Stop counting a record that left its table against its budget."""
        budget = self._budget_of.get(ns)
        size = budget.sizes.pop((ns, key), None) if budget is not None else None
        if budget is not None and size is not None:
            budget.usage.release(size, evicted)

    def _count(self, ns: str, key: str, value: Any) -> None:
        """Measure the record just written and evict its budget's oldest others while over budget."""
        budget = self._budget_of.get(ns)
        if budget is None:
            return
        size = self._measure(value)
        old = budget.sizes.get((ns, key))
        if old is None:
            budget.usage.hold(size)
        else:
            budget.usage.bytes += size - old
        budget.sizes[(ns, key)] = size
        while budget.usage.over() and len(budget.sizes) > 1:
            victim = next(k for k in budget.sizes if k != (ns, key))
            self._tables[victim[0]].pop(victim[1], None)
            self._forget(victim[0], victim[1], evicted=True)

    def put(self, ns: str, key: str, value: Any) -> None:
        with self._lock:
            table = self._tables.setdefault(ns, {})
            self._make_room(ns, table, key)
            table[key] = value
            self._count(ns, key, value)

    def get(self, ns: str, key: str) -> Any | None:
        with self._lock:
            return self._tables.get(ns, {}).get(key)

    def values(self, ns: str) -> list[Any]:
        with self._lock:
            return list(self._tables.get(ns, {}).values())

    def update(self, ns: str, key: str, fn: Callable[[Any | None], Any]) -> Any:
        with self._lock:
            table = self._tables.setdefault(ns, {})
            new = fn(table.get(key))
            self._make_room(ns, table, key)
            table[key] = new
            self._count(ns, key, new)
            return new

    def delete(self, ns: str, key: str) -> None:
        with self._lock:
            if self._tables.get(ns, {}).pop(key, None) is not None:
                self._forget(ns, key)

    def update_logged(
        self, ns: str, key: str, fn: Callable[[Any | None], tuple[Any, Sequence[Any]]], log: str
    ) -> tuple[Any, list[int]]:
        with self._lock:
            table = self._tables.setdefault(ns, {})
            new, entries = fn(table.get(key))
            self._make_room(ns, table, key)
            table[key] = new
            self._count(ns, key, new)
            target = self._log(log)
            return new, [target.keep(entry, self._measure(entry)) for entry in entries]

    def clear(self) -> None:
        """Drop every record, counter, log entry and due key (admin reset); eviction counts and log seqs
        start again from 0 (bounds are kept)."""
        with self._lock:
            self._tables.clear()
            self._dropped.clear()
            for budget in self._budgets.values():
                budget.usage = budget.usage.cleared()
                budget.sizes.clear()
            self._counters.clear()
            for name, old in self._logs.items():
                self._logs[name] = _Log(old.usage.cleared(), old.max_len)
            self._queues.clear()

    def incr(self, ns: str, key: str, by: int = 1) -> int:
        with self._lock:
            value = self._counters[(ns, key)] = self._counters.get((ns, key), 0) + by
            return value

    def counters(self, ns: str) -> dict[str, int]:
        with self._lock:
            return {key: value for (space, key), value in self._counters.items() if space == ns}

    def write_many(self, writes: Sequence[Write]) -> None:
        with self._lock:
            for write in writes:
                if isinstance(write, Put):
                    self.put(write.ns, write.key, write.value)
                else:
                    self.incr(write.ns, write.key, write.by)

    def _log(self, log: str) -> _Log:
        found = self._logs.get(log)
        if found is None:
            found = self._logs[log] = _Log()
        return found

    def bound_log(self, log: str, max_len: int | None, max_bytes: int | None = None) -> None:
        with self._lock:
            target = self._log(log)
            target.max_len = None if max_len is None else max(0, max_len)
            target.usage.max_bytes = max_bytes
            target.shrink()

    def append(self, log: str, entry: Any, size: int | None = None) -> int:
        with self._lock:
            return self._log(log).keep(entry, self._measure(entry) if size is None else size)

    def read_log(self, log: str, after: int = 0) -> list[tuple[int, Any]]:
        with self._lock:
            found = self._logs.get(log)
            return [] if found is None else [(seq, entry) for seq, entry, _ in found.entries if seq > after]

    def trim_log(self, log: str) -> None:
        with self._lock:
            target = self._log(log)
            target.entries.clear()
            usage = target.usage
            target.usage = Usage(usage.max_bytes, evicted=usage.evicted, evicted_bytes=usage.evicted_bytes)

    def log_usage(self, log: str) -> Usage:
        with self._lock:
            return dataclasses.replace(self._log(log).usage)

    def schedule(self, queue: str, key: str, at: float) -> None:
        with self._lock:
            target = self._queues.setdefault(queue, _Queue())
            target.at[key] = at
            heapq.heappush(target.heap, (at, next(self._order), key))

    def unschedule(self, queue: str, key: str) -> None:
        with self._lock:
            target = self._queues.get(queue)
            if target is not None:
                target.at.pop(key, None)

    def next_due(self, queue: str) -> float | None:
        target = self._queues.get(queue)
        if target is None or not target.at:  # no lock when nothing waits: ``due`` checks are per request
            return None
        with self._lock:
            head = target.head()
            return None if head is None else head[0]

    def peek(self, ns: str, key: str, queue: str) -> tuple[Any | None, float | None]:
        return self.get(ns, key), self.next_due(queue)

    def claim_due(self, queue: str, now: float) -> list[str]:
        with self._lock:
            target = self._queues.get(queue)
            claimed: list[str] = []
            while target is not None and (head := target.head()) is not None and head[0] <= now:
                heapq.heappop(target.heap)
                del target.at[head[2]]
                claimed.append(head[2])
            return claimed

    def budget(self, name: str, max_bytes: int | None, namespaces: Iterable[str]) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"budget {name}: max_bytes must be at least 1 (or None for no bound)")
        with self._lock:
            budget = self._budgets.setdefault(name, _Budget(Usage(max_bytes)))
            budget.usage.max_bytes = max_bytes
            for ns in namespaces:
                self._budget_of[ns] = budget

    def stats(self) -> dict[str, Any]:
        with self._lock:
            names = sorted(set(self._tables) | set(self._dropped))
            return {
                "max_records": self.max_records,
                "namespaces": {
                    ns: {"count": len(self._tables.get(ns, {})), "evicted": self._dropped.get(ns, 0)}
                    for ns in names
                },
                "budgets": {name: budget.usage.to_json() for name, budget in self._budgets.items()},
            }


#: URL schemes of a Redis (or Valkey) server, as redis-py reads them.
REDIS_SCHEMES = ("redis", "rediss", "unix")


def open_store(url: str | None, max_records: int | None = None) -> Store:
    """The store ``url`` names: ``None`` or ``""`` for a new ``MemoryStore``; ``redis://``, ``rediss://``
    or ``unix://`` for a ``RedisStore`` (``redis_store.py``). ``max_records`` bounds every namespace.
    Raises ``ValueError`` for another scheme, or a store that cannot be reached."""
    if not url:
        return MemoryStore(max_records)
    if url.split("://", 1)[0].lower() in REDIS_SCHEMES:
        from pixelmock.emulators.core.store.redis import open_redis  # redis-py only when used

        return open_redis(url, max_records)
    scheme = url.split("://", 1)[0] if "://" in url else url
    raise ValueError(
        f"unsupported store {scheme!r}: expected a redis://, rediss:// or unix:// URL, or none (this "
        "process's memory)"
    )
