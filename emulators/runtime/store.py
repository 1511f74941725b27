"""The state store: namespaced key/value records behind one small interface, thread-safe.

The in-memory store is the default; another implementation (shared between processes) only has to
provide the same five methods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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


class MemoryStore:
    """The in-memory ``Store``: one re-entrant lock around plain dictionaries.

    ``max_records`` bounds every namespace: inserting a new key into a full one first drops its oldest
    inserted record (replacing or updating a record keeps its place). ``None``: unbounded.
    """

    def __init__(self, max_records: int | None = None) -> None:
        if max_records is not None and max_records < 1:
            raise ValueError("max_records must be at least 1 (or None for no bound)")
        self.max_records = max_records
        self._lock = threading.RLock()
        self._tables: dict[str, dict[str, Any]] = {}

    def _make_room(self, table: dict[str, Any], key: str) -> None:
        """Drop the oldest records so that inserting ``key`` keeps the table within the bound."""
        if self.max_records is None or key in table:
            return
        while len(table) >= self.max_records:
            del table[next(iter(table))]

    def put(self, ns: str, key: str, value: Any) -> None:
        with self._lock:
            table = self._tables.setdefault(ns, {})
            self._make_room(table, key)
            table[key] = value

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
            self._make_room(table, key)
            table[key] = new
            return new

    def delete(self, ns: str, key: str) -> None:
        with self._lock:
            self._tables.get(ns, {}).pop(key, None)

    def clear(self) -> None:
        """Drop every record (admin reset)."""
        with self._lock:
            self._tables.clear()
