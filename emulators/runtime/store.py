"""The state store: namespaced key/value records behind one small interface, thread-safe.

The in-memory store is the default; another implementation (shared between processes) only has to
provide the same methods.

Memory is bounded two ways: by count (``max_records`` per namespace) and by bytes (``budget``: the
records of some namespaces, such as Runware's tasks with their base64 results, counted against a byte
budget). Both drop the oldest inserted records first, and ``stats`` shows what is held and what was
evicted. An evicted record answers as one that never existed (the provider's own not-found).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol


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

    def clear(self) -> None:
        """Drop every record (admin reset); the eviction counts start again from 0."""
        with self._lock:
            self._tables.clear()
            self._dropped.clear()
            for budget in self._budgets.values():
                budget.usage = budget.usage.cleared()
                budget.sizes.clear()

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
