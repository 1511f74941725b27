"""Operations per second of the state store's primitives: ``python -m benchmarks.store_ops [URL ...]``.

Each URL is a store as ``--store`` takes it (``memory`` for the in-memory store; e.g.
``redis://127.0.0.1:6379/0?prefix=bench``; default: memory only). For each, one thread runs put, get,
update, append (a capped log) and schedule+claim_due on records shaped like an Apiframe job (about 600
bytes serialized), then ``--threads`` threads run update on distinct keys and on one key (contention:
compare-and-set retries on Redis). Prints one table; the store's keys are cleared at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal

from pixelmock.emulators.core.images import ImageSpec
from pixelmock.emulators.core.store import Store, open_store
from pixelmock.emulators.core.store.codec import CODEC

RECORD = {
    "id": "job-0000",
    "status": "PROCESSING",
    "progress": 40,
    "created_at": dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    "cost": Decimal("0.0425"),
    "spec": ImageSpec("apiframe", "gpt-image-2", 1024, 1024, "webp", prompt="a lighthouse at dawn " * 8),
    "images": ("https://127.0.0.1/files/a.webp", "https://127.0.0.1/files/b.webp"),
}


def _rate(n: int, step: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(n):
        step(i)
    return n / (time.perf_counter() - start)


def _threaded(store: Store, threads: int, n: int, key: Callable[[int, int], str]) -> float:
    def work(t: int) -> None:
        for i in range(n):
            store.update("bench.t", key(t, i), lambda old: (old or 0) + 1)

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return threads * n / (time.perf_counter() - start)


def measure(store: Store, n: int, threads: int) -> dict[str, float]:
    """ops/s of each primitive on ``store`` (``n`` operations each)."""
    store.bound_log("bench.log", 1000)
    figures = {
        "put": _rate(n, lambda i: store.put("bench", f"k{i}", {**RECORD, "id": f"job-{i}"})),
        "get": _rate(n, lambda i: store.get("bench", f"k{i}")),
        "update": _rate(n, lambda i: store.update("bench", f"k{i}", lambda old: {**old, "progress": 100})),
        "append": _rate(
            n, lambda i: store.append("bench.log", {"seq": i, "path": "/v2/jobs", "status": 200})
        ),
        "schedule": _rate(n, lambda i: store.schedule("bench.q", f"k{i}", float(i))),
        "claim_due (1 key)": _rate(n, lambda i: store.claim_due("bench.q", float(i))),
        f"update, {threads} threads, own keys": _threaded(store, threads, n // threads, lambda t, i: f"t{t}"),
        f"update, {threads} threads, one key": _threaded(store, threads, n // threads, lambda t, i: "one"),
    }
    store.clear()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stores", nargs="*", default=["memory"], help="store URLs, or 'memory'")
    parser.add_argument("-n", type=int, default=5000, help="operations per primitive (default 5000)")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    results = {
        url: measure(open_store(None if url == "memory" else url), args.n, args.threads)
        for url in args.stores
    }
    names = list(next(iter(results.values())))
    print(f"{'ops/s':<34}" + "".join(f"{url.split('?')[0]:>28}" for url in results))
    for name in names:
        print(f"{name:<34}" + "".join(f"{figures[name]:>28,.0f}" for figures in results.values()))
    print(f"n={args.n} per primitive; record: {len(CODEC.dumps(RECORD))} bytes serialized")


if __name__ == "__main__":
    main()
