"""Request rate limits: a sliding window on the virtual clock, counted in the state store.

``admit`` counts one request of a key (an account id) against a limit of requests per window, in a
store record shared by every worker: the Unix timestamps (float seconds, virtual clock) of the key's
admitted requests still inside the window. A refused request is not counted; its answer says how long
until the oldest counted request leaves the window (a ``Retry-After`` in whole seconds). Which limit
applies and how a refusal is worded stay with each provider (its options and contract).
"""

from __future__ import annotations

import math

from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.store import Store

#: The window the providers' limits are counted over (seconds): per minute.
WINDOW_SECONDS = 60.0


def admit(
    store: Store, clock: Clock, namespace: str, key: str, limit: int, window: float = WINDOW_SECONDS
) -> int | None:
    """Count a request of ``key`` (record ``namespace``/``key``) if fewer than ``limit`` of its requests
    were admitted in the last ``window`` seconds of ``clock``. Returns ``None`` when it is admitted, else
    the seconds until a slot frees (an int, at least 1). Raises ``ValueError`` when ``limit`` is below 1
    (no request could ever be admitted)."""
    if limit < 1:
        raise ValueError(f"a rate limit admits at least one request per window, not {limit}")
    now = clock.now().timestamp()
    admitted: list[bool] = []  # the verdict of the last run: a shared store may run ``count`` again

    def count(old: list[float] | None) -> list[float]:
        recent = [t for t in (old or []) if now - t < window]
        admitted.append(len(recent) < limit)
        return [*recent, now] if admitted[-1] else recent

    recent: list[float] = store.update(namespace, key, count)
    if admitted[-1]:
        return None
    return max(1, math.ceil(window - (now - min(recent))))
