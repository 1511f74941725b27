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

The in-memory store (``MemoryStore``) is the default; a shared store (Redis: ``redis.py``) provides
the same methods to several processes and hosts. ``shared`` tells the services which they run on: on a
shared store nothing may be kept only in a process's memory, and every value written is serialized.

Memory is bounded two ways: by count (``max_records`` per namespace) and by bytes (``budget``: the
records of some namespaces, such as Runware's tasks with their base64 results, counted against a byte
budget). Both drop the oldest inserted records first, and ``stats`` shows what is held and what was
evicted. An evicted record answers as one that never existed (the provider's own not-found).

A shared store that cannot serve a call (its server stopped, or full) raises ``StoreUnavailable``.
"""

from __future__ import annotations

from pixelmock.emulators.core.store.base import (
    Append,
    Claimed,
    Delete,
    Incr,
    Put,
    Store,
    StoreUnavailable,
    Usage,
    Write,
    approx_bytes,
)
from pixelmock.emulators.core.store.memory import MemoryStore

__all__ = [
    "REDIS_SCHEMES",
    "Append",
    "Claimed",
    "Delete",
    "Incr",
    "MemoryStore",
    "Put",
    "Store",
    "StoreUnavailable",
    "Usage",
    "Write",
    "approx_bytes",
    "open_store",
]


#: URL schemes of a Redis (or Valkey) server, as redis-py reads them.
REDIS_SCHEMES = ("redis", "rediss", "unix")


def open_store(url: str | None, max_records: int | None = None) -> Store:
    """The store ``url`` names: ``None`` or ``""`` for a new ``MemoryStore``; ``redis://``, ``rediss://``
    or ``unix://`` for a ``RedisStore`` (``redis.py``). ``max_records`` bounds every namespace.
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
