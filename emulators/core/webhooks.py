"""Outbound delivery: webhooks (Apiframe, Runware) and uploads (Runware's ``uploadEndpoint``), with retries.

A provider flow calls ``Webhooks.send(...)``: the delivery is kept in the state store and its attempt is
a timer (``scheduler.py``), due at once (or at ``due``), made at the next tick (when a request arrives or
has been answered, when the clock is moved through the control plane) by exactly one of the apps sharing
the store. An attempt is a real HTTP request (httpx, no proxies from
the environment, redirects not followed, ``EmulatorConfig.outbound_timeout_seconds``); a 2xx answer
delivers it, anything else schedules the next attempt after the provider's retry schedule
(``contracts/data/webhooks.yaml``, or ``EmulatorConfig.webhook_retry_schedule``) on the virtual clock;
after the last one it has failed.

Only loopback targets are called (127.0.0.0/8, ::1, ``localhost``): a delivery to any other host is
refused without a connection and recorded as such, so no request can make the emulator reach elsewhere.
``EmulatorConfig.outbound_hosts`` widens it (host names, IP addresses or networks; ``"*"``: any).

Every attempt (refusals too) is a journal entry (``route`` ``"POST (outbound webhook)"``, ``path`` the
target URL with its credentials ``REDACTED`` (``pixelmock.contracts.secrets``: userinfo, ``?token=``...),
``status`` 0 when there was no answer) and is listed with its delivery at ``GET /__admin/webhooks``;
headers and bodies are scrubbed as the journal scrubs a request. Each attempt is also logged on
``pixelmock.outbound`` (``emulators/web/access_log.py``: INFO when delivered, WARNING otherwise).

Consistency across the apps (workers, hosts) sharing a store: each attempt is made by one app, at its
first tick at or after its moment; the app takes a lease on the delivery first (``LEASE_MARGIN_SECONDS``
past the attempt's timeout, on the virtual clock) and sets a timer for the lease's end, so that should
it stop during the attempt (killed, its host lost), another app makes the attempt again once the lease
has passed: every delivery is attempted at least once, as the providers deliver (a receiver can get the
same event twice when an app stopped after the receiver answered but before the answer was recorded;
match duplicates by the event's own id, as the providers' documents ask). A retry is scheduled only
after the attempt before it was recorded; ``GET /__admin/webhooks`` on any app lists every delivery with
the attempts recorded so far.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pixelmock.contracts.data import load
from pixelmock.contracts.secrets import replace_secrets, scrub_header, scrub_text, scrub_url
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.journal import Journal, scrub
from pixelmock.emulators.core.logs import OUTBOUND, emit, loggable
from pixelmock.emulators.core.scheduler import Scheduler
from pixelmock.emulators.core.store import Store, Usage

if TYPE_CHECKING:
    import httpx

DeliveryStatus = Literal["pending", "delivered", "failed", "refused"]
#: Store namespaces: deliveries still owed (never dropped for bytes), settled ones (counted against the
#: byte budget ``BUDGET``), and each group's count of deliveries by outcome.
PENDING, SETTLED, GROUPS = "webhooks.pending", "webhooks.settled", "webhooks.groups"
#: The store's counters of this service (``seq``: the order deliveries were made in).
COUNTERS = "webhooks"
#: The store's byte budget of settled deliveries (``EmulatorConfig.uploads_max_bytes``).
BUDGET = "uploads"
#: The timer handler of a delivery's due attempt (registered by the runtime: ``Webhooks.attempt``).
ATTEMPT = "webhooks.attempt"
#: Bytes of an answer body kept in an attempt's record.
MAX_ANSWER = 2048
#: Virtual seconds a lease on a delivery lasts past the attempt's timeout (pixelmock's choice).
LEASE_MARGIN_SECONDS = 5.0


def outbound_facts(provider: str, kind: str) -> dict[str, Any]:
    """The ``contracts/data/webhooks.yaml`` block of a provider's outbound ``kind`` (``webhook``,
    ``upload``). Raises ``KeyError`` when the provider makes no such request."""
    block: dict[str, Any] = load("webhooks")["providers"][provider][kind]
    return block


def _networks(hosts: Iterable[str]) -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for host in hosts:
        try:
            networks.append(ipaddress.ip_network(host.strip("[]"), strict=False))
        except ValueError:
            names.add(host.lower())
    return names, networks


def refusal(url: str, allowed_hosts: Iterable[str] = ()) -> str | None:
    """Why the emulator may not call ``url`` (``None``: it may). Loopback only, unless ``allowed_hosts``
    names the host (a name, an address or a network) or is ``"*"``. Never resolves a name."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a bad port)
    except ValueError as exc:
        return f"not a URL the emulator can call: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return "only http and https URLs with a host are called"
    names, networks = _networks(allowed_hosts)
    if "*" in names or host.lower() in names or is_loopback(host):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and any(address in net for net in networks):
        return None
    return (
        f"{host} is not a loopback address: pixelmock only calls 127.0.0.0/8, ::1 and localhost "
        "(the outbound_hosts setting widens this: --outbound-hosts, PIXELMOCK_OUTBOUND_HOSTS, "
        "PUT /__admin/settings or EmulatorConfig.outbound_hosts)"
    )


@lru_cache(maxsize=256)  # asked for each request's Host (``web/context.url_root``): parsing it is ~5 us
def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is ``localhost`` or a
    loopback address (127.0.0.0/8, ::1). Never resolves a name."""
    name = host.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Attempt:
    """One try: ``at`` (virtual time), ``status`` (0: no answer), ``error`` (why it failed, when it
    did), ``duration_ms`` (real), ``journal_seq`` (its journal entry, ``None`` when the journal is off)."""

    at: dt.datetime
    status: int
    error: str | None
    duration_ms: float
    journal_seq: int | None

    def to_json(self) -> dict[str, Any]:
        """The attempt as the control plane shows it."""
        return {
            "at": self.at.isoformat(),
            "status": self.status,
            "error": self.error,
            "duration_ms": self.duration_ms,
            "journal_seq": self.journal_seq,
        }


@dataclass(frozen=True)
class Delivery:
    """One outbound request and its attempts.

    ``kind``: ``webhook`` or ``upload``; ``group``: what it belongs to (an Apiframe job id, a Runware
    taskUUID); ``event``: the event name where the provider has them; ``schedule``: virtual seconds
    between attempts after a failure; ``next_at``: when the next attempt is due (``None`` once settled);
    ``leased_until``: while an app makes an attempt, the end of its lease (see the module docstring).
    """

    id: str
    provider: str
    kind: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    group: str | None
    event: str | None
    schedule: tuple[float, ...]
    created_at: dt.datetime
    status: DeliveryStatus = "pending"
    next_at: dt.datetime | None = None
    attempts: tuple[Attempt, ...] = ()
    seq: int = 0
    leased_until: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The delivery as the control plane shows it (URL, headers and body scrubbed, body as JSON
        when it is JSON, else its size)."""
        secrets: set[str] = set()
        url, headers = scrub_url(self.url, secrets), _scrub_headers(self.headers, secrets)
        body: Any
        try:
            body = scrub(json.loads(self.body), secrets)
        except (UnicodeDecodeError, ValueError):
            body = {"bytes": len(self.body)}
        shown = {
            "id": self.id,
            "provider": self.provider,
            "kind": self.kind,
            "method": self.method,
            "url": url,
            "group": self.group,
            "event": self.event,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_at.isoformat() if self.next_at else None,
            "schedule": list(self.schedule),
            "headers": headers,
            "body": body,
            "attempts": [a.to_json() for a in self.attempts],
        }
        return replace_secrets(shown, secrets) if secrets else shown


#: Bytes a delivery holds besides its body, URL and headers (the record, its attempts), estimated.
_DELIVERY_OVERHEAD = 1024


class _NotMine(Exception):
    """A delivery this app does not attempt now (settled, not due, or leased by another app)."""

    def __init__(self, delivery: Delivery | None) -> None:
        super().__init__("not this app's attempt")
        self.delivery = delivery


def _size(delivery: Delivery) -> int:
    """Estimated bytes a delivery holds: its body, URL, headers and ``_DELIVERY_OVERHEAD``."""
    headers = sum(len(k) + len(v) for k, v in delivery.headers.items())
    return len(delivery.body) + len(delivery.url) + headers + _DELIVERY_OVERHEAD


def _log_attempt(delivery: Delivery, status: int, error: str | None, duration_ms: float) -> None:
    """Log one attempt: ``<kind> <METHOD> <url without query> <status> <ms>ms <provider> job=<group>
    attempt=<n>`` and why it failed (INFO when delivered, WARNING otherwise)."""
    level = logging.INFO if error is None else logging.WARNING
    if not OUTBOUND.isEnabledFor(level):
        return
    fields = {
        "kind": delivery.kind,
        "method": delivery.method,
        "path": loggable(delivery.url),
        "status": status,
        "ms": round(duration_ms, 1),
        "provider": delivery.provider,
        "job": delivery.group,
        "attempt": len(delivery.attempts) + 1,
        "outcome": error or "delivered",
    }
    text = (
        f"outbound {delivery.kind} {delivery.method} {fields['path']} {status} {fields['ms']}ms "
        f"{delivery.provider} job={delivery.group or '-'} attempt={fields['attempt']} {fields['outcome']}"
    )
    emit(OUTBOUND, level, text, fields)


def _scrub_headers(headers: Mapping[str, str], secrets: set[str] | None = None) -> dict[str, str]:
    return {name: scrub_header(name, value, secrets) for name, value in headers.items()}


def _bucket(status: DeliveryStatus) -> str:
    """The group count a delivery in ``status`` is counted in: ``pending``, ``delivered`` or ``failed``."""
    return "failed" if status == "refused" else status


@dataclass
class Webhooks:
    """The outbound deliveries of one emulator, kept in ``store`` (thread-safe; every app on the store
    shares them). Each due attempt is a timer of ``scheduler`` (handler ``ATTEMPT``, registered by the
    runtime to call ``attempt``): the store hands it to exactly one app, whichever ticks first.

    Records: a pending delivery in ``PENDING``, never dropped for bytes (it is the provider's outstanding
    work; like every namespace it is bounded by ``max_records``); once settled it moves to ``SETTLED``,
    counted against the store's byte budget ``uploads`` (``max_bytes``, estimated; ``None``: unbounded):
    past it the oldest settled deliveries are dropped first. ``GROUPS`` counts each group's deliveries
    by outcome (``group_status``). Sequence numbers come from the store's counter, so the listing is in
    the order deliveries were made across apps. ``usage()`` says what is held and was dropped.
    """

    store: Store
    clock: Clock
    journal: Journal
    scheduler: Scheduler
    allowed_hosts: frozenset[str] = frozenset()
    timeout_seconds: float | None = None
    retry_schedule: tuple[float, ...] | None = None
    max_bytes: int | None = None

    def __post_init__(self) -> None:
        self.store.budget(BUDGET, self.max_bytes, (SETTLED,))

    def send(
        self,
        provider: str,
        url: str,
        body: bytes,
        *,
        kind: str = "webhook",
        headers: Mapping[str, str] | None = None,
        group: str | None = None,
        event: str | None = None,
        due: dt.datetime | None = None,
    ) -> Delivery:
        """Queue a delivery of ``body`` to ``url``, due at ``due`` (default: now). Method and retry
        schedule are the provider's (``outbound_facts``). A URL the emulator may not call is refused at
        once: the delivery is ``refused`` and its one attempt journaled. Raises ``KeyError`` for an
        outbound ``kind`` the provider does not make."""
        facts = outbound_facts(provider, kind)
        schedule = self.retry_schedule
        if schedule is None or kind != "webhook":
            schedule = tuple(float(s) for s in facts.get("retry_schedule_seconds", ()))
        now = self.clock.now()
        delivery = Delivery(
            id="whd_" + new_uuid().hex[:16],
            provider=provider,
            kind=kind,
            method=str(facts.get("method", "POST")),
            url=url,
            headers=dict(headers or {}),
            body=body,
            group=group,
            event=event,
            schedule=schedule,
            created_at=now,
            next_at=due or now,
            seq=self.store.incr(COUNTERS, "seq"),
        )
        reason = refusal(url, self.allowed_hosts)
        if reason is not None:
            error = f"refused: {reason}"
            _log_attempt(delivery, 0, error, 0.0)
            seq = self._journal(delivery, now, 0, error, 0.0, None)
            return self._settle(delivery, Attempt(now, 0, error, 0.0, seq), "refused", owed=False)
        self._count(group, None, "pending")  # counted first: its group is never seen settled too early
        self.store.put(PENDING, delivery.id, delivery)
        self._schedule(delivery, due or now)
        return delivery

    def _schedule(self, delivery: Delivery, at: dt.datetime) -> None:
        """Make the delivery's next attempt a timer due at ``at``."""
        self.scheduler.at(at, f"{delivery.kind} {delivery.id}", ATTEMPT, delivery.id)

    def get(self, delivery_id: str) -> Delivery | None:
        """A delivery by id (``None``: unknown, or dropped)."""
        # Pending first: a delivery being settled is written to SETTLED before it leaves PENDING.
        found: Delivery | None = self.store.get(PENDING, delivery_id) or self.store.get(SETTLED, delivery_id)
        return found

    def deliveries(
        self, *, provider: str | None = None, group: str | None = None, status: str | None = None
    ) -> list[Delivery]:
        """Deliveries, oldest first, filtered by provider, group and status."""
        found: dict[str, Delivery] = {d.id: d for d in self.store.values(PENDING)}
        found.update((d.id, d) for d in self.store.values(SETTLED))  # settled meanwhile: the newer record
        return [
            d
            for d in sorted(found.values(), key=lambda d: d.seq)
            if (provider is None or d.provider == provider)
            and (group is None or d.group == group)
            and (status is None or d.status == status)
        ]

    def group_status(self, group: str) -> DeliveryStatus | None:
        """One word for a group's deliveries: ``failed`` if any failed or was refused, ``pending`` if any
        is pending, ``delivered`` when all were, ``None`` when there are none. One store read."""
        counts: dict[str, int] | None = self.store.get(GROUPS, group)
        if not counts:
            return None
        if counts.get("failed"):
            return "failed"
        if counts.get("pending"):
            return "pending"
        return "delivered" if counts.get("delivered") else None

    def _count(self, group: str | None, left: DeliveryStatus | None, joined: DeliveryStatus) -> None:
        """Move one delivery of ``group`` from the count of ``left`` (``None``: a new one) to ``joined``."""
        if group is None:
            return

        def move(old: dict[str, int] | None) -> dict[str, int]:
            counts = dict(old or {})
            if left is not None:
                counts[_bucket(left)] = counts.get(_bucket(left), 0) - 1
            counts[_bucket(joined)] = counts.get(_bucket(joined), 0) + 1
            return counts

        self.store.update(GROUPS, group, move)

    def attempt(self, delivery_id: str) -> Delivery | None:
        """Make one attempt now (real HTTP), record and journal it, and settle it or schedule the next
        after the delivery's retry schedule (virtual seconds). Called for a claimed due attempt (the
        handler of ``ATTEMPT`` timers, also at the end of a lease): the app that takes the lease makes it;
        nothing is attempted for a delivery that is not due or leased by another app. Returns the delivery
        as recorded, ``None`` when it is unknown (or the store was reset during the attempt)."""
        at = self.clock.now()
        lease = at + dt.timedelta(seconds=self._timeout() + LEASE_MARGIN_SECONDS)

        def take(old: Delivery | None) -> Delivery:
            if old is None or old.status != "pending" or (old.next_at is not None and old.next_at > at):
                raise _NotMine(old)
            if old.leased_until is not None and old.leased_until > at:
                raise _NotMine(old)
            return replace(old, leased_until=lease)

        try:
            delivery: Delivery = self.store.update(PENDING, delivery_id, take)
        except _NotMine as mine:
            return mine.delivery if mine.delivery is not None else self.get(delivery_id)
        self._schedule(delivery, lease)  # should this app stop during the attempt, another makes it
        delivery = replace(delivery, leased_until=None)
        started = time.perf_counter()
        status, error, answer = 0, None, None
        reason = refusal(delivery.url, self.allowed_hosts)
        if reason is not None:
            error = f"refused: {reason}"
        else:
            try:
                import httpx

                with httpx.Client(trust_env=False, follow_redirects=False, timeout=self._timeout()) as client:
                    answer = client.request(
                        delivery.method, delivery.url, content=delivery.body, headers=dict(delivery.headers)
                    )
                status = answer.status_code
                if not 200 <= status < 300:
                    error = f"answered {status}"
            except Exception as exc:  # any failure to get an answer is a failed attempt (InvalidURL too)
                error = scrub_text(f"{type(exc).__name__}: {exc}") if str(exc) else type(exc).__name__
        duration = round((time.perf_counter() - started) * 1000, 3)
        _log_attempt(delivery, status, error, duration)
        seq = self._journal(delivery, at, status, error, duration, answer)
        record = Attempt(at, status, error, duration, seq)
        if self.store.get(PENDING, delivery_id) is None:  # reset (or evicted) during the attempt
            return None
        if error is None:
            return self._settle(delivery, record, "delivered")
        if reason is not None:
            return self._settle(delivery, record, "refused")
        retries = len(delivery.attempts)  # attempts made before this one
        if retries >= len(delivery.schedule):
            return self._settle(delivery, record, "failed")
        next_at = self.clock.now() + dt.timedelta(seconds=delivery.schedule[retries])
        retried = replace(delivery, next_at=next_at, attempts=(*delivery.attempts, record))
        self.store.put(PENDING, delivery_id, retried)
        self._schedule(retried, next_at)
        return retried

    def _timeout(self) -> float:
        if self.timeout_seconds is not None:
            return self.timeout_seconds
        return float(load("webhooks")["outbound"]["attempt_timeout_seconds"])

    def _settle(
        self, delivery: Delivery, record: Attempt, status: DeliveryStatus, *, owed: bool = True
    ) -> Delivery:
        """Record the last attempt of ``delivery`` and move it to ``SETTLED`` (``owed``: it was pending;
        false for one refused when sent). It is written there before it leaves ``PENDING``, so a reader
        always finds it."""
        settled = replace(delivery, status=status, next_at=None, attempts=(*delivery.attempts, record))
        self.store.put(SETTLED, delivery.id, settled)
        if owed:
            self.store.delete(PENDING, delivery.id)
        self._count(delivery.group, "pending" if owed else None, status)
        return settled

    def usage(self) -> Usage:
        """What the deliveries hold and have dropped (``Usage``: deliveries, estimated bytes): the settled
        ones' byte budget (``uploads``) and the pending ones (``_size``), which it never drops."""
        usage = Usage(**self.store.stats()["budgets"][BUDGET])
        for delivery in self.store.values(PENDING):
            usage.hold(_size(delivery))
        return usage

    def _journal(
        self,
        delivery: Delivery,
        at: dt.datetime,
        status: int,
        error: str | None,
        duration_ms: float,
        answer: httpx.Response | None,
    ) -> int | None:
        if not self.journal.limit:
            return None
        secrets: set[str] = set()
        path, headers = scrub_url(delivery.url, secrets), _scrub_headers(delivery.headers, secrets)
        body: Any = None
        with contextlib.suppress(UnicodeDecodeError, ValueError):
            body = scrub(json.loads(delivery.body), secrets)
        response: dict[str, Any] = {"status": status, "error": error, "body": None}
        if answer is not None:
            response["content_type"] = answer.headers.get("content-type")
            response["headers"] = _scrub_headers(dict(answer.headers), secrets)
            response["size"] = len(answer.content)
            with contextlib.suppress(UnicodeDecodeError, ValueError):
                response["body"] = scrub(json.loads(answer.content[:MAX_ANSWER]), secrets)
        request_part: dict[str, Any] = {
            "headers": headers,
            "query": {},
            "content_type": delivery.headers.get("Content-Type"),
            "size": len(delivery.body),
            "body": body,
        }
        if secrets:
            path, request_part, response = replace_secrets([path, request_part, response], secrets)
        entry = self.journal.record(
            at=at,
            provider=delivery.provider,
            method=delivery.method,
            path=path,
            route=f"{delivery.method} (outbound {delivery.kind})",
            status=status,
            duration_ms=duration_ms,
            request=request_part,
            response=response,
            notes=(
                {
                    "outbound": {
                        "delivery": delivery.id,
                        "kind": delivery.kind,
                        "attempt": len(delivery.attempts) + 1,
                        "group": delivery.group,
                        "event": delivery.event,
                    }
                },
            ),
            ledger=(),
        )
        return entry.seq
