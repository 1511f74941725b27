"""The shared store on Redis (or Valkey): the ``Store`` of ``store.py`` for several processes and hosts.

Same semantics as ``MemoryStore`` (read its docstrings), with every value serialized by the tagged JSON
codec (``codec.py``: never pickle), so a value read is always a copy. Every write is one Lua script, run
atomically by the server with what it implies (eviction by ``max_records`` and byte budgets, log bounds),
so no reader ever sees half of it, whichever process wrote it:

- records: a hash per namespace (``{prefix}:r:{ns}``), the insertion order in a sorted set
  (``{prefix}:o:{ns}``, scored by a store-wide sequence) and a version per record (``{prefix}:v:{ns}``,
  the sequence number of its last write). ``update`` runs ``fn`` here on the record as this process
  last wrote or read it (a new key: absent) and writes only if its version is unchanged
  (compare-and-set in the script); otherwise the script answers the stored record and version and
  ``fn`` runs again on them: one round trip when this process holds the latest version, two when
  another wrote since. ``fn`` may run more than once and must not have side effects. ``get`` is one
  ``HGET``;
- byte budgets: a record's size is its serialized length; sizes and insertion order per budget
  (``{prefix}:bs:{name}``, ``{prefix}:bo:{name}``), usage in ``{prefix}:bu:{name}``;
- counters: ``HINCRBY`` on ``{prefix}:c:{ns}``;
- logs: a list of entries (``{prefix}:l:{log}``) beside a list of their sizes, seqs counted in
  ``{prefix}:lu:{log}`` (the entries kept always have consecutive seqs, so the first is known);
- due queues: a sorted set scored by the due moment (``{prefix}:q:{queue}``); ties go in scheduling
  order, as in memory. ``claim_due`` removes what it returns in one script: each key to one caller;
- writes (``put``, ``delete``, ``incr``, ``append``, ``write_many`` and a batch's held writes): one
  script call for all those made together (``_WRITES``), pipelined with the script that follows when a
  script call takes the held writes: redis-py packs and parses one command instead of one per write.

Bounds (byte budgets' ``max_bytes`` and their namespaces, log bounds) are kept in ``{prefix}:cfg:*`` and
survive ``clear``, as in memory; they are shared, so a bound set by one process applies to all. The
key ``{prefix}:seq`` (the store-wide sequence) also survives ``clear``, so a version read before a reset
never matches one written after it. ``clear`` deletes only this prefix's keys (several emulators, or
tests, may share one Redis under different prefixes). The scripts build the keys they touch from the
prefix, so the store needs a single Redis (or Valkey) server, not a cluster.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, urlencode

import redis
from redis.commands.core import Script

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
)
from pixelmock.emulators.core.store.codec import CODEC, Codec

DEFAULT_PREFIX = "pixelmock"
#: A key prefix: letters, digits and ``_.-`` (no ``:``, the separator of the key layout).
PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,100}")

# Helpers every script starts with. ARGV[1] is always the prefix.
_PRELUDE = r"""
local p = ARGV[1]
local function key(kind, name) return p .. ':' .. kind .. ':' .. name end

local function release(b, m, evicted)
  local bs = key('bs', b)
  local size = redis.call('HGET', bs, m)
  if not size then return end
  redis.call('HDEL', bs, m)
  redis.call('ZREM', key('bo', b), m)
  local u = key('bu', b)
  redis.call('HINCRBY', u, 'count', -1)
  redis.call('HINCRBY', u, 'bytes', -tonumber(size))
  if evicted then
    redis.call('HINCRBY', u, 'evicted', 1)
    redis.call('HINCRBY', u, 'evicted_bytes', size)
  end
end

local function forget(ns, k)
  local b = redis.call('HGET', p .. ':cfg:budget', ns)
  if b then release(b, ns .. '\0' .. k, false) end
end

local function remove(ns, k)
  redis.call('HDEL', key('r', ns), k)
  redis.call('ZREM', key('o', ns), k)
  redis.call('HDEL', key('v', ns), k)
end

local function count(ns, k, size, seq)
  local b = redis.call('HGET', p .. ':cfg:budget', ns)
  if not b then return end
  local m = ns .. '\0' .. k
  local u, bs, bo = key('bu', b), key('bs', b), key('bo', b)
  local old = redis.call('HGET', bs, m)
  if old then
    redis.call('HINCRBY', u, 'bytes', size - tonumber(old))
  else
    redis.call('HINCRBY', u, 'count', 1)
    redis.call('HINCRBY', u, 'bytes', size)
    redis.call('ZADD', bo, seq, m)
  end
  redis.call('HSET', bs, m, size)
  local max = tonumber(redis.call('HGET', p .. ':cfg:bmax', b) or '')
  if not max then return end
  while tonumber(redis.call('HGET', u, 'bytes')) > max and redis.call('ZCARD', bo) > 1 do
    local oldest = redis.call('ZRANGE', bo, 0, 1)
    local victim = oldest[1]
    if victim == m then victim = oldest[2] end
    local at = string.find(victim, '\0', 1, true)
    remove(string.sub(victim, 1, at - 1), string.sub(victim, at + 1))
    release(b, victim, true)
  end
end

local function store(ns, k, value, maxr)
  local rk, ok = key('r', ns), key('o', ns)
  local seq = redis.call('INCR', p .. ':seq')
  if redis.call('HEXISTS', rk, k) == 0 then
    if maxr > 0 then
      local n = redis.call('ZCARD', ok)
      while n >= maxr do
        local oldest = redis.call('ZRANGE', ok, 0, 0)[1]
        remove(ns, oldest)
        forget(ns, oldest)
        redis.call('HINCRBY', p .. ':dropped', ns, 1)
        n = n - 1
      end
    end
    redis.call('ZADD', ok, seq, k)
    redis.call('SADD', p .. ':ns', ns)
  end
  redis.call('HSET', rk, k, value)
  redis.call('HSET', key('v', ns), k, seq)
  count(ns, k, #value, seq)
  return seq
end

local function delete(ns, k)
  if redis.call('HEXISTS', key('r', ns), k) == 1 then
    remove(ns, k)
    forget(ns, k)
  end
end

local function incr(ns, k, by)
  redis.call('SADD', p .. ':counters', ns)
  return redis.call('HINCRBY', key('c', ns), k, by)
end

local function shrink(log)
  local l, ls, u = key('l', log), key('ls', log), key('lu', log)
  local maxlen = tonumber(redis.call('HGET', p .. ':cfg:llen', log) or '')
  local maxbytes = tonumber(redis.call('HGET', p .. ':cfg:lbytes', log) or '')
  local n = redis.call('LLEN', ls)
  while n > 0 and ((maxlen and n > maxlen)
      or (maxbytes and n > 1 and tonumber(redis.call('HGET', u, 'bytes')) > maxbytes)) do
    local size = tonumber(redis.call('LPOP', ls))
    redis.call('LTRIM', l, 1, -1)
    redis.call('HINCRBY', u, 'count', -1)
    redis.call('HINCRBY', u, 'bytes', -size)
    redis.call('HINCRBY', u, 'evicted', 1)
    redis.call('HINCRBY', u, 'evicted_bytes', size)
    n = n - 1
  end
end

local function append(log, payload, size)
  local u = key('lu', log)
  redis.call('SADD', p .. ':logs', log)
  local seq = redis.call('HINCRBY', u, 'seq', 1)
  if redis.call('HGET', p .. ':cfg:llen', log) ~= '0' then
    redis.call('RPUSH', key('l', log), payload)
    redis.call('RPUSH', key('ls', log), size)
    redis.call('HINCRBY', u, 'count', 1)
    redis.call('HINCRBY', u, 'bytes', size)
    shrink(log)
  end
  return seq
end
"""

# ARGV: prefix, ns, key, value, max_records (0: none), expected version ('*': any, '': absent), log
# ('': none), claim ns ('': none), claim key, claim value, then (entry, size) pairs. Returns {0, value,
# version} (what is stored) when the version differs, {2, value} when the claimed key exists, else
# {1, version, claim version (0: none), log seq...}.
_PUT = r"""
local ns, k, value, maxr, expected, log = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]
local cns, ck, cvalue = ARGV[8], ARGV[9], ARGV[10]
if expected ~= '*' then
  local version = redis.call('HGET', key('v', ns), k) or ''
  if version ~= expected then return {0, redis.call('HGET', key('r', ns), k) or false, version} end
end
if cns ~= '' then
  local taken = redis.call('HGET', key('r', cns), ck)
  if taken then return {2, taken} end
end
local result = {1, store(ns, k, value, maxr), 0}
if cns ~= '' then result[3] = store(cns, ck, cvalue, maxr) end
if log ~= '' then
  for i = 11, #ARGV, 2 do result[#result + 1] = append(log, ARGV[i], tonumber(ARGV[i + 1])) end
end
return result
"""

_READ = r"""
return {redis.call('HGET', key('r', ARGV[2]), ARGV[3]), redis.call('HGET', key('v', ARGV[2]), ARGV[3])}
"""

# Writes (``write_many``'s, a batch's held ones, and ``put``, ``delete``, ``incr`` and ``append``) in one
# script call. ARGV: prefix, max_records (0: none), then each write as
# 4 values: 'p' ns key value (put) | 'i' ns key by (incr) | 'a' log payload size (append) | 'd' ns key ''
# (delete). Returns each write's answer in order: a put's version, an incr's value, an append's seq, 0.
_WRITES = r"""
local maxr = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV, 4 do
  local op, a, b, c = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if op == 'p' then out[#out + 1] = store(a, b, c, maxr)
  elseif op == 'i' then out[#out + 1] = incr(a, b, c)
  elseif op == 'a' then out[#out + 1] = append(a, b, tonumber(c))
  else delete(a, b); out[#out + 1] = 0 end
end
return out
"""

# ARGV: prefix, log, max_len ('': none), max_bytes ('': none)
_BOUND = r"""
local log = ARGV[2]
redis.call('SADD', p .. ':logs', log)
for i, field in ipairs({'llen', 'lbytes'}) do
  if ARGV[2 + i] == '' then redis.call('HDEL', p .. ':cfg:' .. field, log)
  else redis.call('HSET', p .. ':cfg:' .. field, log, ARGV[2 + i]) end
end
shrink(log)
"""

# Returns {seq of the first entry returned, entries}.
_READ_LOG = r"""
local l = key('l', ARGV[2])
local seq = tonumber(redis.call('HGET', key('lu', ARGV[2]), 'seq') or '0')
local n = redis.call('LLEN', l)
local first = seq - n + 1
local start = math.max(0, tonumber(ARGV[3]) - first + 1)
if start >= n then return {seq + 1, {}} end
return {first + start, redis.call('LRANGE', l, start, -1)}
"""

_TRIM_LOG = r"""
local log = ARGV[2]
redis.call('SADD', p .. ':logs', log)
redis.call('UNLINK', key('l', log), key('ls', log))
redis.call('HSET', key('lu', log), 'count', 0, 'bytes', 0)
"""

_SCHEDULE = r"""
redis.call('SADD', p .. ':queues', ARGV[2])
redis.call('ZADD', key('q', ARGV[2]), ARGV[4], ARGV[3])
redis.call('HSET', key('qo', ARGV[2]), ARGV[3], redis.call('INCR', p .. ':seq'))
"""

_UNSCHEDULE = r"""
redis.call('ZREM', key('q', ARGV[2]), ARGV[3])
redis.call('HDEL', key('qo', ARGV[2]), ARGV[3])
"""

_CLAIM = r"""
local q, qo = key('q', ARGV[2]), key('qo', ARGV[2])
local items = redis.call('ZRANGEBYSCORE', q, '-inf', ARGV[3], 'WITHSCORES')
local due = {}
for i = 1, #items, 2 do
  due[#due + 1] = {items[i], tonumber(items[i + 1]), tonumber(redis.call('HGET', qo, items[i]) or '0')}
end
table.sort(due, function(a, b) if a[2] ~= b[2] then return a[2] < b[2] end return a[3] < b[3] end)
local keys = {}
for i, d in ipairs(due) do
  keys[i] = d[1]
  redis.call('ZREM', q, d[1])
  redis.call('HDEL', qo, d[1])
end
return keys
"""

_CLEAR = r"""
local function drop(set, kinds)
  for _, name in ipairs(redis.call('SMEMBERS', p .. ':' .. set)) do
    for _, kind in ipairs(kinds) do redis.call('UNLINK', key(kind, name)) end
  end
  redis.call('UNLINK', p .. ':' .. set)
end
drop('ns', {'r', 'o', 'v'})
drop('counters', {'c'})
drop('logs', {'l', 'ls', 'lu'})
drop('queues', {'q', 'qo'})
redis.call('UNLINK', p .. ':dropped')
for _, b in ipairs(redis.call('HKEYS', p .. ':cfg:bmax')) do
  redis.call('UNLINK', key('bu', b), key('bs', b), key('bo', b))
end
"""

# ARGV: prefix, name, max_bytes ('': none), namespaces...
_BUDGET = r"""
redis.call('HSET', p .. ':cfg:bmax', ARGV[2], ARGV[3])
for i = 4, #ARGV do redis.call('HSET', p .. ':cfg:budget', ARGV[i], ARGV[2]) end
"""

# Returns {{ns, count, evicted}...}, {{name, max_bytes, count, bytes, evicted, evicted_bytes}...}
_STATS = r"""
local names = redis.call('SMEMBERS', p .. ':ns')
for _, ns in ipairs(redis.call('HKEYS', p .. ':dropped')) do names[#names + 1] = ns end
local namespaces = {}
for _, ns in ipairs(names) do
  namespaces[#namespaces + 1] = {ns, redis.call('ZCARD', key('o', ns)),
    tonumber(redis.call('HGET', p .. ':dropped', ns) or '0')}
end
local budgets = {}
for _, b in ipairs(redis.call('HKEYS', p .. ':cfg:bmax')) do
  local u = redis.call('HMGET', key('bu', b), 'count', 'bytes', 'evicted', 'evicted_bytes')
  budgets[#budgets + 1] = {b, redis.call('HGET', p .. ':cfg:bmax', b), u[1] or '0', u[2] or '0',
    u[3] or '0', u[4] or '0'}
end
return {namespaces, budgets}
"""


_Cls = TypeVar("_Cls", bound=type)


def _unavailable(exc: redis.exceptions.RedisError) -> StoreUnavailable | None:
    """The ``StoreUnavailable`` a Redis error means, or ``None`` for another error: the server unreachable
    or too slow (``ConnectionError``, ``TimeoutError``, still loading its data after a restart) or at its
    ``maxmemory`` (an ``OOM`` reply: Redis refuses a script at its first write, so nothing of it is
    written)."""
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return StoreUnavailable("unreachable", f"the Redis store is unreachable: {exc}")
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        return StoreUnavailable("full", f"the Redis store is full (maxmemory): {exc}")
    return None


#: The ``Store`` methods whose first call to Redis is a plain command, not a script (``_run`` makes the
#: held writes in the script's own round trip): they make the held writes first (``_flush``).
_DIRECT = frozenset({"get", "values", "counters", "log_usage", "next_due", "peek"})


def _translating(cls: _Cls) -> _Cls:
    """Wrap every ``Store`` method of ``cls`` so that a Redis error meaning "not now" is raised as
    ``StoreUnavailable`` (``_unavailable``; other errors propagate unchanged), and, for those of
    ``_DIRECT``, the writes held in the context's batch are made first (``_flush``)."""

    def wrap(method: Callable[..., Any], flush: bool) -> Callable[..., Any]:
        @functools.wraps(method)
        def translated(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                if flush:
                    self._flush()
                return method(self, *args, **kwargs)
            except redis.exceptions.RedisError as exc:
                raise (_unavailable(exc) or exc) from exc

        return translated

    for name, member in vars(Store).items():
        if callable(member) and not name.startswith("_") and name != "batch":
            setattr(cls, name, wrap(getattr(cls, name), flush=name in _DIRECT))
    return cls


@_translating
class RedisStore:
    """The ``Store`` on one Redis server, under the key prefix ``prefix``. ``max_records`` bounds every
    namespace (``None``: unbounded); ``codec`` serializes values (``codec.CODEC``). Thread-safe (redis-py's
    connection pool) and safe across processes and hosts. A server that is unreachable, too slow or full
    raises ``StoreUnavailable`` (nothing written); other Redis errors propagate as
    ``redis.exceptions.RedisError``; a value the codec cannot encode raises ``codec.CodecError`` and is
    not written."""

    shared = True

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = DEFAULT_PREFIX,
        max_records: int | None = None,
        codec: Codec = CODEC,
    ) -> None:
        if max_records is not None and max_records < 1:
            raise ValueError("max_records must be at least 1 (or None for no bound)")
        if not PREFIX.fullmatch(prefix):
            raise ValueError(f"store key prefix {prefix!r}: use 1-100 letters, digits, '_', '.' or '-'")
        self.client = client
        self.prefix = prefix
        self.max_records = max_records
        self._codec = codec
        self._known = _Versions()
        #: The writes ``write_many`` holds in this context's ``batch`` (``None``: no batch open).
        self._held: contextvars.ContextVar[list[Write] | None] = contextvars.ContextVar(
            f"pixelmock-redis-batch-{id(self)}", default=None
        )

        def script(body: str) -> Script:
            return client.register_script(_PRELUDE + body)

        self._put, self._read, self._bound = script(_PUT), script(_READ), script(_BOUND)
        self._read_log, self._trim_log = script(_READ_LOG), script(_TRIM_LOG)
        self._schedule, self._unschedule, self._claim = script(_SCHEDULE), script(_UNSCHEDULE), script(_CLAIM)
        self._clear, self._budget, self._stats = script(_CLEAR), script(_BUDGET), script(_STATS)
        self._writes = script(_WRITES)

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def _run(self, script: Script, *args: Any) -> Any:
        """``script`` with ``args`` (after the prefix); the writes held in this context's batch go first,
        in the same pipeline (one round trip)."""
        held = self._take_held()
        if held:
            return self._write_now(held, (script, list(args)))[-1]
        return script(keys=[], args=[self.prefix, *args], client=self.client)

    def _make(self, write: Write) -> Any:
        """Make one write now, after the writes held in this context's batch, in one script call; its
        answer (see ``_write_now``)."""
        return self._write_now([*self._take_held(), write])[-1]

    # ------------------------------------------------------------------------------------------ records

    def put(self, ns: str, key: str, value: Any) -> None:
        self._make(Put(ns, key, value))

    def get(self, ns: str, key: str) -> Any | None:
        raw = self.client.hget(self._key("r", ns), key)
        return None if raw is None else self._codec.loads(cast(bytes, raw))

    def values(self, ns: str) -> list[Any]:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrange(self._key("o", ns), 0, -1)
        pipe.hgetall(self._key("r", ns))
        order, records = pipe.execute()
        return [self._codec.loads(records[k]) for k in order]

    def update(self, ns: str, key: str, fn: Callable[[Any | None], Any]) -> Any:
        return self.update_logged(ns, key, lambda old: (fn(old), ()), "")[0]

    def update_logged(
        self,
        ns: str,
        key: str,
        fn: Callable[[Any | None], tuple[Any, Sequence[Any]]],
        log: str,
        claim: Put | None = None,
    ) -> tuple[Any, list[int]]:
        """Compare-and-set: ``fn`` on the record as this process last wrote or read it (``_known``; a new
        key is guessed absent), written if its version is still that one; else the script answers what is
        stored, and ``fn`` runs again on that. One round trip when the guess holds. Should ``fn`` raise on
        a guess, it runs again on the record read; its exception propagates only from what is stored."""
        guess = self._known.get((ns, key))
        raw, version, verified = (None, b"", False) if guess is None else (*guess, False)
        while True:
            try:
                new, entries = fn(None if raw is None else self._codec.loads(raw))
            except Exception:
                if verified:
                    raise
                raw, version = self._run(self._read, ns, key)
                verified = True
                continue
            logged: list[Any] = []
            for entry in entries:
                payload = self._codec.dumps(entry)
                logged += [payload, len(payload)]
            value = self._codec.dumps(new)
            claimed = ("", "", "") if claim is None else (claim.ns, claim.key, self._codec.dumps(claim.value))
            maxr = self.max_records or 0
            done = self._run(self._put, ns, key, value, maxr, version or b"", log, *claimed, *logged)
            if done[0] == 2:
                raise Claimed(self._codec.loads(done[1]))
            if done[0] == 1:
                self._known.remember((ns, key), value, done[1])
                if claim is not None:
                    self._known.remember((claim.ns, claim.key), claimed[2], done[2])
                return new, [int(seq) for seq in done[3:]]
            raw, version, verified = done[1], done[2], True

    def delete(self, ns: str, key: str) -> None:
        self._make(Delete(ns, key))

    def clear(self) -> None:
        """Drop every record, counter, log entry and due key of this prefix (admin reset); eviction counts
        and log seqs start again from 0 (bounds are kept)."""
        self._known.clear()
        self._run(self._clear)

    def budget(self, name: str, max_bytes: int | None, namespaces: Iterable[str]) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"budget {name}: max_bytes must be at least 1 (or None for no bound)")
        self._run(self._budget, name, "" if max_bytes is None else max_bytes, *namespaces)

    def stats(self) -> dict[str, Any]:
        namespaces, budgets = self._run(self._stats)
        return {
            "max_records": self.max_records,
            "namespaces": {
                ns.decode(): {"count": int(count), "evicted": int(evicted)}
                for ns, count, evicted in sorted(namespaces)
            },
            "budgets": {
                name.decode(): Usage(int(bound) if bound else None, *map(int, usage)).to_json()
                for name, bound, *usage in budgets
            },
        }

    # ----------------------------------------------------------------------------------------- counters

    def incr(self, ns: str, key: str, by: int = 1) -> int:
        return int(self._make(Incr(ns, key, by)))

    def counters(self, ns: str) -> dict[str, int]:
        found = cast(dict[bytes, bytes], self.client.hgetall(self._key("c", ns)))
        return {key.decode(): int(value) for key, value in found.items()}

    def write_many(self, writes: Sequence[Write]) -> None:
        held = self._held.get()
        if held is not None:
            held.extend(writes)
        else:
            self._write_now(writes)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        outer = self._held.get()
        token = self._held.set([])
        try:
            yield
        finally:
            held = self._held.get() or []
            self._held.reset(token)
            if held:
                if outer is not None:
                    outer.extend(held)  # still within a batch: its end makes them
                else:
                    self._write_now(held)

    def _take_held(self) -> list[Write]:
        """The writes held in this context's batch, no longer held (they are being made)."""
        held = self._held.get()
        if not held:
            return []
        writes = list(held)
        held.clear()
        return writes

    def _flush(self) -> None:
        """Make the writes held in this context's batch now (before a command that is not a script reads
        or writes; a script call takes them in its own round trip: ``_run``)."""
        writes = self._take_held()
        if writes:
            self._write_now(writes)

    def _write_now(self, writes: Sequence[Write], then: tuple[Script, list[Any]] | None = None) -> list[Any]:
        """``writes`` in one script call (``_WRITES``), followed in the same pipeline by the script call
        ``then`` (``(script, args)`` without the prefix) when given; returns each write's answer (a put's
        version, an incr's value, an append's seq, 0 for a delete), then ``then``'s."""
        args: list[Any] = [self.max_records or 0]
        puts: list[tuple[int, tuple[str, str], bytes]] = []
        for n, write in enumerate(writes):
            if isinstance(write, Put):
                raw = self._codec.dumps(write.value)
                args += ["p", write.ns, write.key, raw]
                puts.append((n, (write.ns, write.key), raw))
            elif isinstance(write, Incr):
                args += ["i", write.ns, write.key, write.by]
            elif isinstance(write, Delete):
                self._known.forget((write.ns, write.key))
                args += ["d", write.ns, write.key, ""]
            else:
                payload = self._codec.dumps(write.entry)
                args += ["a", write.log, payload, len(payload) if write.size is None else write.size]
        commands: list[tuple[Script, list[Any]]] = [(self._writes, args)] if writes else []
        if then is not None:
            commands.append(then)
        try:
            try:
                answers = self._pipelined(commands)
            except redis.exceptions.NoScriptError:  # the server lost its scripts (restarted, SCRIPT FLUSH)
                for script, _ in commands:
                    self.client.script_load(script.script)
                answers = self._pipelined(commands)
        except redis.exceptions.RedisError as exc:  # also when a batch ends, outside the wrapped methods
            raise (_unavailable(exc) or exc) from exc
        made: list[Any] = answers[0] if writes else []
        for n, record, raw in puts:
            self._known.remember(record, raw, made[n])
        return [*made, answers[-1]] if then is not None else made

    def _pipelined(self, commands: Sequence[tuple[Script, list[Any]]]) -> list[Any]:
        """Run scripts by their SHA in one pipeline (redis-py's ``Script`` would first ask the server
        whether it has them: a round trip more)."""
        pipe = self.client.pipeline(transaction=False)
        for script, args in commands:
            pipe.evalsha(script.sha, 0, self.prefix, *args)
        answers: list[Any] = pipe.execute()
        return answers

    # --------------------------------------------------------------------------------------------- logs

    def bound_log(self, log: str, max_len: int | None, max_bytes: int | None = None) -> None:
        bound = "" if max_len is None else max(0, max_len)
        self._run(self._bound, log, bound, "" if max_bytes is None else max_bytes)

    def append(self, log: str, entry: Any, size: int | None = None) -> int:
        return int(self._make(Append(log, entry, size)))

    def read_log(self, log: str, after: int = 0) -> list[tuple[int, Any]]:
        first, entries = self._run(self._read_log, log, after)
        return [(int(first) + i, self._codec.loads(raw)) for i, raw in enumerate(entries)]

    def trim_log(self, log: str) -> None:
        self._run(self._trim_log, log)

    def log_usage(self, log: str) -> Usage:
        pipe = self.client.pipeline(transaction=True)
        pipe.hget(f"{self.prefix}:cfg:lbytes", log)
        pipe.hmget(self._key("lu", log), "count", "bytes", "evicted", "evicted_bytes")
        bound, usage = pipe.execute()
        return Usage(None if bound is None else int(bound), *(int(v or 0) for v in usage))

    # --------------------------------------------------------------------------------------- due queues

    def schedule(self, queue: str, key: str, at: float) -> None:
        self._run(self._schedule, queue, key, repr(float(at)))

    def unschedule(self, queue: str, key: str) -> None:
        self._run(self._unschedule, queue, key)

    def next_due(self, queue: str) -> float | None:
        head = self.client.zrange(self._key("q", queue), 0, 0, withscores=True)
        return float(head[0][1]) if head else None

    def peek(self, ns: str, key: str, queue: str) -> tuple[Any | None, float | None]:
        pipe = self.client.pipeline(transaction=False)
        pipe.hget(self._key("r", ns), key)
        pipe.zrange(self._key("q", queue), 0, 0, withscores=True)
        raw, head = pipe.execute()
        return (None if raw is None else self._codec.loads(raw)), (float(head[0][1]) if head else None)

    def claim_due(self, queue: str, now: float) -> list[str]:
        return [key.decode() for key in self._run(self._claim, queue, repr(float(now)))]


class _Versions:
    """What this process last wrote or read of the records it updates: ``(ns, key)`` -> ``(serialized
    value, version)``, the guess ``RedisStore.update`` tries first. At most ``limit`` records, each at
    most ``max_bytes`` serialized (larger ones are not kept: a miss only costs a round trip), most
    recently used kept. Thread-safe. A stale guess is safe: the version check refuses it."""

    def __init__(self, limit: int = 4096, max_bytes: int = 16 * 1024) -> None:
        self._limit = limit
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._known: OrderedDict[tuple[str, str], tuple[bytes, bytes]] = OrderedDict()

    def get(self, record: tuple[str, str]) -> tuple[bytes, bytes] | None:
        with self._lock:
            found = self._known.get(record)
            if found is not None:
                self._known.move_to_end(record)
            return found

    def remember(self, record: tuple[str, str], raw: bytes | str, version: bytes | int) -> None:
        with self._lock:
            if len(raw) > self._max_bytes:
                self._known.pop(record, None)
                return
            data = raw.encode() if isinstance(raw, str) else raw
            self._known[record] = (data, str(version).encode() if isinstance(version, int) else version)
            self._known.move_to_end(record)
            while len(self._known) > self._limit:
                self._known.popitem(last=False)

    def forget(self, record: tuple[str, str]) -> None:
        with self._lock:
            self._known.pop(record, None)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


def open_redis(url: str, max_records: int | None = None) -> RedisStore:
    """The ``RedisStore`` at ``url`` (``redis://[user:password@]host:port/db``, ``rediss://`` for TLS,
    ``unix:///path.sock?db=N``; redis-py's URL options), under the key prefix of its query parameter
    ``prefix`` (default ``pixelmock``). Raises ``ValueError`` when the URL is invalid or the server does
    not answer a ping (the message never shows a password)."""
    base, _, raw_query = url.partition("?")  # not urlunsplit: it turns unix:///path into unix:/path
    query = parse_qsl(raw_query, keep_blank_values=True)
    prefix = next((v for k, v in reversed(query) if k == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    rest = f"{base}?{rest}" if rest else base
    scheme, _, location = base.partition("://")
    netloc, slash, path = location.partition("/")
    shown = f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"  # without user and password
    try:
        client = redis.Redis.from_url(rest, socket_connect_timeout=5, socket_timeout=30)
        client.ping()
    except (redis.exceptions.RedisError, ValueError, OSError) as exc:
        raise ValueError(f"cannot reach the store at {shown}: {exc}") from None
    return RedisStore(client, prefix, max_records)
