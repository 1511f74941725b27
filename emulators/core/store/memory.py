"""``MemoryStore``: the store in this process's memory (the default; ``pixelmock.emulators.core.store``)."""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pixelmock.emulators.core.store.base import Claimed, Delete, Incr, Put, Usage, Write, approx_bytes


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
    """Due keys: ``(at, order)`` per key (its latest scheduling), and a heap of ``(at, order, key)`` whose
    stale items (an earlier scheduling of a key scheduled again) are skipped."""

    at: dict[str, tuple[float, int]] = dataclasses.field(default_factory=dict)
    heap: list[tuple[float, int, str]] = dataclasses.field(default_factory=list)

    def head(self) -> tuple[float, int, str] | None:
        """The earliest live item (stale ones dropped on the way)."""
        while self.heap and self.at.get(self.heap[0][2]) != self.heap[0][:2]:
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
        self,
        ns: str,
        key: str,
        fn: Callable[[Any | None], tuple[Any, Sequence[Any]]],
        log: str,
        claim: Put | None = None,
    ) -> tuple[Any, list[int]]:
        with self._lock:
            if claim is not None and (taken := self._tables.get(claim.ns, {}).get(claim.key)) is not None:
                raise Claimed(taken)
            table = self._tables.setdefault(ns, {})
            new, entries = fn(table.get(key))
            self._make_room(ns, table, key)
            table[key] = new
            self._count(ns, key, new)
            if claim is not None:
                self.put(claim.ns, claim.key, claim.value)
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
                elif isinstance(write, Incr):
                    self.incr(write.ns, write.key, write.by)
                elif isinstance(write, Delete):
                    self.delete(write.ns, write.key)
                else:
                    self.append(write.log, write.entry, write.size)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        yield  # in memory every write is made at once: nothing to hold

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
            order = next(self._order)
            target.at[key] = (at, order)
            heapq.heappush(target.heap, (at, order, key))

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
