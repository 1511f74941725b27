"""Conformance of the stores (``MemoryStore``, ``RedisStore`` on a real ``redis-server``) for every
primitive of ``Store``, and races on Redis across real processes.

Oracles: the order and sizes the tests write in (sizes as the codec serializes, which is the Redis
store's measure and the measure these memory stores are given), and arithmetic for the races (N
processes x M increments leave exactly N*M; every due key is claimed by exactly one process).
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis_server
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis_server import RedisServer, redis_stores

from pixelmock.emulators.core.store import Delete, Incr, MemoryStore, Put, Store, Usage, open_store
from pixelmock.emulators.core.store.codec import CODEC
from pixelmock.emulators.core.store.redis import RedisStore

MakeStore = Callable[..., Store]


def _size(value: Any) -> int:
    return len(CODEC.dumps(value))


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """``(max_records=None, prefix=None) -> Store``: a new store of the kind; on Redis, under the prefix
    (default: one of this test's own), so two calls with one prefix are two processes' views."""
    own = f"test-{uuid.uuid4().hex}"
    if request.param == "memory":
        yield lambda max_records=None, prefix=None: MemoryStore(max_records, measure=_size)
        return
    with redis_stores(request.getfixturevalue("redis_url")) as open_redis:
        yield lambda max_records=None, prefix=None: open_redis(prefix or own, max_records)


# -------------------------------------------------------------------------------------------- records


def test_records_keep_insertion_order_and_replacing_keeps_the_place(make_store: MakeStore) -> None:
    store = make_store()
    store.put("a", "x", 1)
    store.put("a", "y", {"k": (1, 2)})
    store.put("b", "x", "other namespace")
    store.put("a", "x", 10)
    assert store.values("a") == [10, {"k": (1, 2)}] and store.get("a", "x") == 10
    assert store.get("a", "missing") is None and store.get("nowhere", "x") is None
    assert store.values("nowhere") == []
    store.delete("a", "x")
    store.delete("a", "never")
    store.put("a", "x", 11)  # deleted then put again: now the newest
    assert store.values("a") == [{"k": (1, 2)}, 11]


def test_max_records_drops_the_oldest_and_counts_it(make_store: MakeStore) -> None:
    store = make_store(max_records=2)
    for i in range(4):
        store.put("a", f"k{i}", i)
    assert store.update("a", "k2", lambda old: old + 100) == 102  # an update keeps its place
    assert store.update("a", "new", lambda old: "new" if old is None else old) == "new"
    assert store.values("a") == [3, "new"]
    stats = store.stats()
    assert stats["max_records"] == 2 and stats["namespaces"] == {"a": {"count": 2, "evicted": 3}}


def test_a_byte_budget_evicts_its_oldest_never_the_record_written(make_store: MakeStore) -> None:
    store = make_store()
    store.budget("results", 100, ["a", "b"])
    store.budget("payloads", None, ["p"])
    store.put("a", "1", "x" * 38)  # 40 bytes serialized
    store.put("b", "2", "x" * 38)
    store.put("other", "o", "x" * 1000)  # no budget
    store.put("p", "p", "x" * 8)
    store.put("a", "3", "x" * 38)  # 120 > 100: ("a", "1") goes
    assert store.get("a", "1") is None and store.values("b") == ["x" * 38] and store.get("a", "3")
    store.update("b", "2", lambda old: "x" * 93)  # grows to 95: ("a", "3") goes, not the one written
    assert store.values("a") == [] and store.get("b", "2") == "x" * 93
    store.put("a", "huge", "x" * 500)  # larger than the whole budget: kept alone
    assert store.values("b") == [] and store.values("a") == ["x" * 500]
    stats = store.stats()
    assert stats["budgets"] == {
        "results": Usage(100, 1, 502, 3, 40 + 40 + 95).to_json(),
        "payloads": Usage(None, 1, 10).to_json(),
    }
    assert stats["namespaces"]["a"] == {"count": 1, "evicted": 0}  # budget evictions: in the budget
    store.delete("a", "huge")
    assert store.stats()["budgets"]["results"] == Usage(100, 0, 0, 3, 175).to_json()


def test_update_sees_the_old_record_and_update_logged_writes_both(make_store: MakeStore) -> None:
    store = make_store()
    seen: list[Any] = []

    def debit(old: Any) -> tuple[Any, list[Any]]:
        seen.append(old)
        balance = 100 if old is None else old
        return balance - 30, [{"debit": 30}, {"balance": balance - 30}]

    assert store.update_logged("acct", "a", debit, "ledger") == (70, [1, 2])
    assert store.update_logged("acct", "a", debit, "ledger") == (40, [3, 4])
    assert seen == [None, 70] and store.get("acct", "a") == 40
    assert store.read_log("ledger", 2) == [(3, {"debit": 30}), (4, {"balance": 40})]
    assert store.update_logged("acct", "b", lambda old: ("b", []), "ledger") == ("b", [])


def test_counters(make_store: MakeStore) -> None:
    store = make_store()
    assert [store.incr("faults", "r1"), store.incr("faults", "r1", 5), store.incr("faults", "r2")] == [
        1,
        6,
        1,
    ]
    assert store.incr("other", "r1", -2) == -2


def test_write_many_puts_and_adds_in_order_and_counters_lists_them(make_store: MakeStore) -> None:
    store = make_store()
    store.incr("bill", "a", 2)
    store.write_many([Put("refs", "k", ("p", "m")), Incr("bill", "a", 5), Incr("bill", "b", -3)])
    store.write_many([Put("refs", "k", ("p", "n"))])
    assert store.get("refs", "k") == ("p", "n")
    assert store.counters("bill") == {"a": 7, "b": -3} and store.counters("other") == {}
    assert store.update("refs", "k", lambda old: old[1]) == "n"  # an update after write_many sees it


def test_write_many_deletes_in_order_and_a_batch_holds_the_delete(make_store: MakeStore) -> None:
    store = make_store()
    store.write_many(
        [Put("notes", "a", 1), Put("notes", "b", 2), Delete("notes", "a"), Delete("notes", "none")]
    )
    assert store.values("notes") == [2] and store.get("notes", "a") is None
    store.write_many([Delete("notes", "b"), Put("notes", "b", 3)])  # deleted, then written again
    assert store.get("notes", "b") == 3
    with store.batch():
        store.write_many([Delete("notes", "b")])
    assert store.values("notes") == []


def test_write_many_loads_the_scripts_again_when_the_server_lost_them(redis_url: str) -> None:
    store = open_store(f"{redis_url}?prefix=test-{uuid.uuid4().hex}")
    assert isinstance(store, RedisStore)
    store.client.script_flush()  # as after a restart of Redis
    store.write_many([Put("refs", "k", 1), Incr("bill", "a", 1)])
    assert store.get("refs", "k") == 1 and store.counters("bill") == {"a": 1}
    store.clear()


# ----------------------------------------------------------------------------------------------- logs


def test_logs_are_capped_by_length_and_bytes_newest_kept(make_store: MakeStore) -> None:
    store = make_store()
    store.bound_log("j", 3, 40)
    seqs = [store.append("j", {"i": i}) for i in range(5)]  # {"i":0} is 7 bytes
    assert seqs == [1, 2, 3, 4, 5]
    assert store.read_log("j") == [(3, {"i": 2}), (4, {"i": 3}), (5, {"i": 4})]
    assert store.read_log("j", 4) == [(5, {"i": 4})] and store.read_log("j", 5) == []
    assert store.log_usage("j") == Usage(40, 3, 21, 2, 14)
    assert store.append("j", "x" * 100) == 6  # alone over the byte bound: kept, every other goes
    assert store.read_log("j") == [(6, "x" * 100)]
    assert store.log_usage("j") == Usage(40, 1, 102, 5, 35)
    assert store.append("j", "small", size=1) == 7  # an explicit size
    assert store.log_usage("j") == Usage(40, 1, 1, 6, 137)
    store.trim_log("j")
    assert store.read_log("j") == [] and store.log_usage("j") == Usage(40, 0, 0, 6, 137)
    assert store.append("j", 1) == 8


def test_a_log_bounded_to_nothing_still_counts_seqs(make_store: MakeStore) -> None:
    store = make_store()
    store.append("j", "a")
    store.append("j", "b")
    store.bound_log("j", 1)
    assert store.read_log("j") == [(2, "b")] and store.log_usage("j").evicted == 1
    store.bound_log("j", 0)
    assert store.append("j", "c") == 3 and store.read_log("j") == [] and store.log_usage("j").count == 0
    store.bound_log("j", None, None)
    assert store.append("j", "d") == 4 and store.read_log("j") == [(4, "d")]
    assert store.log_usage("never") == Usage(None)


# ----------------------------------------------------------------------------------------- due queues


def test_a_key_scheduled_again_at_the_same_moment_takes_its_latest_place(make_store: MakeStore) -> None:
    # found by the stores' model test: the memory store kept a key's first place among equal moments,
    # Redis its latest (base.Store.claim_due: "in the order they were scheduled")
    store = make_store()
    for key in ("a", "c", "a"):
        store.schedule("q", key, 2.0)
    assert store.claim_due("q", 2.0) == ["c", "a"]


def test_due_queues_earliest_first_ties_in_scheduling_order(make_store: MakeStore) -> None:
    store = make_store()
    assert store.next_due("q") is None and store.claim_due("q", 1e12) == []
    for key, at in [("a", 5.5), ("c", 3.0), ("b", 3.0), ("d", 9.0), ("e", 1.0)]:
        store.schedule("q", key, at)
    store.schedule("q", "e", 7.0)  # rescheduled: the earlier moment is replaced
    store.unschedule("q", "d")
    store.unschedule("q", "never")
    assert store.next_due("q") == 3.0
    assert store.claim_due("q", 5.5) == ["c", "b", "a"]
    assert store.claim_due("q", 5.5) == [] and store.next_due("q") == 7.0
    assert store.claim_due("q", 100) == ["e"] and store.next_due("q") is None


# ---------------------------------------------------------------------------------------------- clear


def test_clear_empties_everything_and_keeps_the_bounds(make_store: MakeStore) -> None:
    store = make_store(max_records=1)
    store.budget("results", 50, ["a"])
    store.bound_log("j", 2)
    store.put("a", "1", "x" * 10)
    store.put("a", "2", "x" * 10)
    store.incr("c", "k")
    store.append("j", 1)
    store.schedule("q", "k", 1.0)
    store.clear()
    assert store.values("a") == [] and store.next_due("q") is None and store.read_log("j") == []
    assert store.stats() == {
        "max_records": 1,
        "namespaces": {},
        "budgets": {"results": Usage(50).to_json()},
    }
    assert store.incr("c", "k") == 1 and store.append("j", 1) == 1
    for i in range(3):
        store.append("j", i)
    assert [seq for seq, _ in store.read_log("j")] == [3, 4] and store.log_usage("j") == Usage(
        None, 2, 2, 2, 2
    )


# ------------------------------------------------------------------------------------------ Redis only


def test_redis_values_are_copies_and_every_view_of_one_prefix_is_one_store(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    first = open_store(f"{redis_url}?prefix={prefix}")
    second = open_store(f"{redis_url}?prefix={prefix}")
    other = open_store(f"{redis_url}?prefix={prefix}-other")
    assert first.shared and not MemoryStore().shared
    value = {"list": [1]}
    first.put("a", "k", value)
    got = second.get("a", "k")
    assert got == value and got is not value
    other.put("a", "k", "other's")
    second.clear()  # clears only its own prefix
    assert first.get("a", "k") is None and other.get("a", "k") == "other's"
    other.clear()


def test_open_store_reaches_redis_over_a_unix_socket(redis_instance: RedisServer) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    over_socket = open_store(f"{redis_instance.unix_url}&prefix={prefix}")
    over_tcp = open_store(f"{redis_instance.url}?prefix={prefix}")
    over_socket.put("a", "k", b"bytes")
    assert over_tcp.get("a", "k") == b"bytes"
    over_socket.clear()


def test_open_store_names_what_it_cannot_open(redis_url: str) -> None:
    with pytest.raises(ValueError, match="unsupported store 'postgres'"):
        open_store("postgres://user:secret@db/x")
    with pytest.raises(ValueError, match=r"cannot reach the store at redis://127\.0\.0\.1:1/0") as raised:
        open_store("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(raised.value)
    with pytest.raises(ValueError, match="prefix"):
        open_store(f"{redis_url}?prefix=a:b")
    with pytest.raises(ValueError, match=r"cannot reach the store at unix:///nonexistent/redis\.sock"):
        open_store("unix:///nonexistent/redis.sock?db=0&prefix=x")


# ---------------------------------------------------------------------------- races across processes


def _hammer(url: str, prefix: str, worker: int, rounds: int) -> None:
    store = open_store(f"{url}?prefix={prefix}")
    for i in range(rounds):
        store.update("race", "counter", lambda old: (old or 0) + 1)
        store.update_logged("race", "balance", _debit, "ledger")
        store.incr("race", "hits")
        store.schedule("due", f"w{worker}-{i}", float(i))


def _debit(old: Any) -> tuple[Any, list[Any]]:
    balance = 10_000 if old is None else old
    return balance - 1, [balance - 1]


def _claim(url: str, prefix: str, rounds: int, out: Any) -> None:
    store = open_store(f"{url}?prefix={prefix}")
    claimed: list[str] = []
    for i in range(rounds * 2):
        claimed += store.claim_due("due", float(i // 2))
    out.put(claimed)


def test_races_across_processes_lose_no_update_and_claim_each_due_key_once(redis_url: str) -> None:
    prefix, workers, rounds = f"test-{uuid.uuid4().hex}", 4, 150
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_hammer, args=(redis_url, prefix, w, rounds)) for w in range(workers)]
    results = context.Queue()
    claimers = [context.Process(target=_claim, args=(redis_url, prefix, rounds, results)) for _ in range(3)]
    for process in processes + claimers:
        process.start()
    claimed = [results.get(timeout=300) for _ in claimers]
    for process in processes + claimers:
        process.join(300)
        assert process.exitcode == 0
    store = open_store(f"{redis_url}?prefix={prefix}")
    total = workers * rounds
    assert store.get("race", "counter") == total
    assert store.get("race", "balance") == 10_000 - total
    assert store.incr("race", "hits", 0) == total
    ledger = store.read_log("ledger")
    assert [seq for seq, _ in ledger] == list(range(1, total + 1))
    assert sorted(entry for _, entry in ledger) == list(range(10_000 - total, 10_000))  # each balance once
    late = store.claim_due("due", float(rounds))  # due keys scheduled after the claimers stopped
    everything = [key for keys in claimed for key in keys] + late
    assert sorted(everything) == sorted(f"w{w}-{i}" for w in range(workers) for i in range(rounds))
    store.clear()


# ------------------------------------------------------------------------------ same answers, any order

_names = st.sampled_from(["a", "b", "c"])
_small = st.integers(0, 3) | st.text(max_size=30) | st.tuples(st.integers(), st.text(max_size=5))
_operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), _names, _names, _small),
        st.tuples(st.just("get"), _names, _names),
        st.tuples(st.just("values"), _names),
        st.tuples(st.just("update"), _names, _names, _small),
        st.tuples(st.just("update_logged"), _names, _names, st.lists(_small, max_size=3)),
        st.tuples(st.just("delete"), _names, _names),
        st.tuples(st.just("incr"), _names, st.integers(-3, 3)),
        st.tuples(st.just("append"), _names, _small),
        st.tuples(st.just("read_log"), _names, st.integers(0, 8)),
        st.tuples(
            st.just("bound_log"), _names, st.none() | st.integers(0, 4), st.none() | st.integers(1, 60)
        ),
        st.tuples(st.just("trim_log"), _names),
        st.tuples(st.just("schedule"), _names, st.integers(0, 3)),
        st.tuples(st.just("claim_due"), st.integers(0, 3)),
        st.tuples(
            st.just("clear"),
        ),
    ),
    min_size=20,
    max_size=60,
)


def _apply(store: Store, operation: tuple[Any, ...]) -> Any:
    name, *args = operation
    if name == "update":
        return store.update(args[0], args[1], lambda old: [old, args[2]])
    if name == "update_logged":
        return store.update_logged(args[0], args[1], lambda old: ([old], args[2]), "log")
    if name == "incr":
        return store.incr("counters", args[0], args[1])
    if name in ("schedule", "claim_due"):
        return getattr(store, name)("q", *args)
    if name == "log_usage":
        return store.log_usage(args[0])
    return getattr(store, name)(*args)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=_operations)
def test_both_stores_answer_any_sequence_of_operations_alike(redis_url: str, operations: list[Any]) -> None:
    memory = MemoryStore(max_records=3, measure=_size)
    shared = open_store(f"{redis_url}?prefix=test-{uuid.uuid4().hex}", 3)
    try:
        for store in (memory, shared):
            store.budget("results", 80, ["a", "b"])
        for operation in operations:
            assert _apply(memory, operation) == _apply(shared, operation), operation
        assert memory.stats() == shared.stats()
        assert [memory.log_usage(n) for n in "abc"] == [shared.log_usage(n) for n in "abc"]
    finally:
        shared.clear()


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_without_redis_server_ci_fails_and_elsewhere_skips_visibly(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(redis_server, "CANDIDATES", ())
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="redis-server is not installed"):
        redis_server.require_redis_server()


def test_twin_apps_share_one_store_and_app_runs_on_the_kind_asked(
    twin_apps: tuple[Flask, Flask], app: Flask, store_kind: str
) -> None:
    first, second = (a.extensions["pixelmock"].store for a in twin_apps)
    first.put("shared", "k", ("written", "by", "A"))
    assert second.get("shared", "k") == ("written", "by", "A")
    assert (
        first.shared is second.shared is app.extensions["pixelmock"].store.shared is (store_kind == "redis")
    )
