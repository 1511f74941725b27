"""Identifiers the emulators mint: job and request ids, image UUIDs, file ids, rule ids.

They are random version-4 UUIDs drawn from a ``random.Random`` generator, not from ``uuid.uuid4()``:
``uuid4`` reads ``os.urandom``, a system call that releases the GIL, and under the threaded server every
release hands the GIL to another request's thread (measured: about +6% requests per second on the
Runware mix, BENCHMARKS.md). These ids must be unique and shaped like the providers' (a UUID, a hex
string), not unguessable: an emulator holds no secrets. The generator is seeded from the operating system
when this module is imported and again in every forked child, so server workers never share a sequence.
"""

from __future__ import annotations

import os
import random
import uuid

_GENERATOR = random.Random()
if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_GENERATOR.seed)


def new_uuid() -> uuid.UUID:
    """A random version-4 UUID (RFC 4122 variant)."""
    return uuid.UUID(int=_GENERATOR.getrandbits(128), version=4)
