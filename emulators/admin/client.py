"""A client of the emulator's control plane (``/__admin/``), usable with or without pytest.

::

    from pixelmock.emulators.admin.client import PixelmockAdmin

    admin = PixelmockAdmin.for_url("http://127.0.0.1:8080")  # a running `pixelmock serve`
    admin.advance(30)                                          # the virtual clock, in seconds
    admin.balance("my-key", "USD")                             # Decimal

The pytest plugin's ``pixelmock_admin`` fixture is one of these, bound to the test's app in process.
Importing this module imports the standard library only; httpx is imported when a handle is made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import httpx
    from flask import Flask

__all__ = ["Bill", "BillRow", "PixelmockAdmin", "PixelmockAdminError"]


class PixelmockAdminError(Exception):
    """The control plane refused a call: ``status`` (400, 404) and its ``error`` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def bill_rows_json(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """The ``rows`` of ``GET /__admin/bill``'s answer from bill rows (this module's ``BillRow`` or the
    runtime's: ``provider``, ``model``, ``requests``, ``images``, ``cost`` per currency), amounts as
    decimal strings without exponent."""
    return [
        {
            "provider": row.provider,
            "model": row.model,
            "requests": row.requests,
            "images": row.images,
            "cost": {currency: format(amount, "f") for currency, amount in row.cost.items()},
        }
        for row in rows
    ]


def _decimal_text(amount: Decimal | int | str) -> str:
    return str(amount) if isinstance(amount, str) else format(Decimal(amount), "f")


@dataclass(frozen=True)
class BillRow:
    """One provider and model of a ``Bill``: ``requests`` charged (jobs, tasks), ``images`` they asked for
    and ``cost`` per currency (``"USD"``, ``"credits"``: each provider's own), debits minus refunds."""

    provider: str
    model: str
    requests: int = 0
    images: int = 0
    cost: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Bill:
    """What requests would have cost at the providers, per provider and model (``GET /__admin/bill``; the
    pytest plugin adds up its tests' bills). Bills add up with ``+``.

    ::

        bill = pixelmock_admin.bill()
        assert bill.cost("USD", provider="runware") < Decimal("0.50")
    """

    rows: tuple[BillRow, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bill:
        """A bill from ``GET /__admin/bill``'s answer (``{"rows": [...], "totals": {...}}``)."""
        return cls(
            tuple(
                BillRow(
                    provider=str(row["provider"]),
                    model=str(row["model"]),
                    requests=int(row["requests"]),
                    images=int(row["images"]),
                    cost={currency: Decimal(str(v)) for currency, v in row["cost"].items()},
                )
                for row in data["rows"]
            )
        )

    def to_json(self) -> dict[str, Any]:
        """``{"rows": [...]}`` as ``from_json`` reads it (amounts as decimal strings): a bill sent between
        processes (the pytest plugin's xdist workers)."""
        return {"rows": bill_rows_json(self.rows)}

    def _chosen(self, provider: str | None, model: str | None) -> list[BillRow]:
        return [
            row
            for row in self.rows
            if (provider is None or row.provider == provider) and (model is None or row.model == model)
        ]

    def cost(self, currency: str, *, provider: str | None = None, model: str | None = None) -> Decimal:
        """The cost in ``currency`` (``"USD"``, ``"credits"``) of the rows of ``provider`` and ``model``
        (default: all); ``Decimal(0)`` when none moved that currency."""
        return sum((row.cost.get(currency, Decimal(0)) for row in self._chosen(provider, model)), Decimal(0))

    def requests(self, *, provider: str | None = None, model: str | None = None) -> int:
        """How many jobs and tasks were charged (of ``provider`` and ``model``, default all)."""
        return sum(row.requests for row in self._chosen(provider, model))

    def images(self, *, provider: str | None = None, model: str | None = None) -> int:
        """How many images the charged jobs and tasks asked for (of ``provider`` and ``model``)."""
        return sum(row.images for row in self._chosen(provider, model))

    def totals(self) -> dict[str, Decimal]:
        """Currency -> the whole bill's cost in it."""
        currencies = sorted({currency for row in self.rows for currency in row.cost})
        return {currency: self.cost(currency) for currency in currencies}

    def __add__(self, other: Bill) -> Bill:
        merged: dict[tuple[str, str], BillRow] = {}
        for row in (*self.rows, *other.rows):
            old = merged.get((row.provider, row.model))
            if old is None:
                merged[(row.provider, row.model)] = row
                continue
            cost = dict(old.cost)
            for currency, amount in row.cost.items():
                cost[currency] = cost.get(currency, Decimal(0)) + amount
            merged[(row.provider, row.model)] = BillRow(
                row.provider, row.model, old.requests + row.requests, old.images + row.images, cost
            )
        return Bill(tuple(merged[key] for key in sorted(merged)))

    def table(self) -> list[str]:
        """The bill as aligned text lines: a header, one line per provider and model, the total."""
        body = [
            (row.provider, row.model, str(row.requests), str(row.images), _amounts(row.cost.items()))
            for row in self.rows
        ]
        total = ("total", "", str(self.requests()), str(self.images()), _amounts(self.totals().items()))
        lines = [("provider", "model", "requests", "images", "cost"), *body, total]
        widths = [max(len(line[i]) for line in lines) for i in range(4)]
        return [
            f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d:>{widths[3]}}  {e}".rstrip()
            for a, b, c, d, e in lines
        ]


def _amounts(costs: Iterable[tuple[str, Decimal]]) -> str:
    shown = [f"{format(amount, 'f')} {currency}" for currency, amount in costs]
    return ", ".join(shown) or "0"


class PixelmockAdmin:
    """The control plane (``/__admin/``) of one emulator app, over HTTP.

    ``PixelmockAdmin.for_app(app)`` talks to an app in process; ``PixelmockAdmin.for_url(root)`` to a
    running server (``"http://127.0.0.1:8080"``, e.g. ``pixelmock serve``). Amounts are ``Decimal`` in the
    currency's units (``"USD"``, ``"credits"``); keys are the API keys clients send. Every method raises
    ``PixelmockAdminError`` when the control plane answers 4xx.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    @classmethod
    def for_app(cls, app: Flask) -> PixelmockAdmin:
        """A handle on an app in process (no socket)."""
        import httpx

        return cls(httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1"))

    @classmethod
    def for_url(cls, root: str, timeout: float = 30) -> PixelmockAdmin:
        """A handle on the server at ``root`` (the emulator root, without ``/__admin``)."""
        import httpx

        return cls(httpx.Client(base_url=root.rstrip("/"), timeout=timeout))

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    @property
    def root(self) -> str:
        """The emulator's root URL, without ``/__admin`` (``http://127.0.0.1`` for an app in process)."""
        return str(self._client.base_url).rstrip("/")

    def health(self) -> dict[str, Any]:
        """``GET /__health``: ``{"status", "version", "providers": {name: prefix}}``."""
        return cast(dict[str, Any], self._client.get("/__health").json())

    def is_proxy(self) -> bool:
        """Whether the server is a ``pixelmock proxy`` (its ``/__health`` names its ``upstreams``)."""
        return "upstreams" in self.health()

    def set_session(self, name: str | None) -> None:
        """A proxy's ``PUT /__admin/session``: record every later exchange that names no session of its
        own (``X-Pixelmock-Session``) in the cassette of session ``name`` (``None``: each in a cassette of
        its own). Raises ``PixelmockAdminError`` (404) on a server that is not a proxy."""
        self._call("PUT", "/session", json={"name": name})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._client.request(method, f"/__admin{path}", **kwargs)
        if response.status_code >= 400:
            try:
                message = str(response.json().get("error"))
            except ValueError:
                message = response.text
            raise PixelmockAdminError(response.status_code, message)
        return response.json() if response.content else None

    # state and clock

    def reset(self) -> None:
        """Forget every job, task, file, journal entry, ledger line, account and key change; the clock goes
        back to the configured start."""
        self._call("POST", "/reset")

    def clock(self) -> dict[str, Any]:
        """``{"now", "date", "timestamp", "offset_seconds"}`` of the virtual clock."""
        return cast(dict[str, Any], self._call("GET", "/clock"))

    def now(self) -> dt.datetime:
        """The virtual time (aware, UTC)."""
        return dt.datetime.fromisoformat(self.clock()["now"])

    def advance(self, seconds: float) -> dt.datetime:
        """Move the virtual clock forward by ``seconds`` (>= 0); returns the new virtual time."""
        return dt.datetime.fromisoformat(
            self._call("POST", "/clock/advance", json={"seconds": seconds})["now"]
        )

    def set_date(self, day: dt.date | str) -> dt.datetime:
        """Make the virtual date ``day`` (same time of day); returns the new virtual time."""
        text = day if isinstance(day, str) else day.isoformat()
        return dt.datetime.fromisoformat(self._call("PUT", "/clock", json={"date": text})["now"])

    def set_now(self, moment: dt.datetime | str) -> dt.datetime:
        """Make the virtual time ``moment`` (a naive datetime is taken as UTC; a string must be RFC 3339
        with its offset); returns the new virtual time (the clock keeps running from there)."""
        if isinstance(moment, dt.datetime) and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        text = moment if isinstance(moment, str) else moment.isoformat()
        return dt.datetime.fromisoformat(self._call("PUT", "/clock", json={"now": text})["now"])

    # journal

    def journal(
        self,
        *,
        provider: str | None = None,
        method: str | None = None,
        status: int | str | None = None,
        path: str | None = None,
        since: dt.datetime | str | None = None,
        after: int | None = None,
        limit: int | None = None,
        unmatched: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Journal entries, oldest first (see ``GET /__admin/journal``): each has ``seq``, ``at``,
        ``provider``, ``method``, ``path``, ``route``, ``status``, ``request``, ``response``, ``notes``
        (canonical request, cost), ``ledger`` and ``unmatched`` (no route matched: answered 404 with a
        near-miss); credentials read ``REDACTED``. ``unmatched=True`` keeps only those."""
        query = {
            "provider": provider,
            "method": method,
            "status": status,
            "path": path,
            "since": since.isoformat() if isinstance(since, dt.datetime) else since,
            "after": after,
            "limit": limit,
            "unmatched": None if unmatched is None else str(unmatched).lower(),
        }
        params = {name: str(value) for name, value in query.items() if value is not None}
        return cast(list[dict[str, Any]], self._call("GET", "/journal", params=params)["entries"])

    def bill(self) -> Bill:
        """What the requests since the start (or the last reset) would have cost at the providers, per
        provider and model, from the ledger (``GET /__admin/bill``): debits minus refunds in each
        provider's own currency (USD; credits at Apiframe)."""
        return Bill.from_json(self._call("GET", "/bill"))

    def unanswered(self) -> list[dict[str, Any]]:
        """The requests charged whose answer was never recorded, oldest first (``GET
        /__admin/journal/unanswered``): each ``{"at", "provider", "method", "path", "charges": [{"account_id",
        "currency", "amount", "memo", "provider", "model", "job_id"}]}``. Once no request is in flight,
        each was charged by a worker that stopped before answering."""
        return cast(list[dict[str, Any]], self._call("GET", "/journal/unanswered")["requests"])

    def clear_journal(self) -> None:
        """Empty the journal."""
        self._call("DELETE", "/journal")

    # ledger, accounts, keys

    def ledger(
        self, *, key: str | None = None, account: str | None = None, currency: str | None = None
    ) -> dict[str, Any]:
        """``{"lines": [...], "totals": {account id: {currency: {debited, credited, net, balance}}}}``,
        amounts as decimal strings, optionally for one key, account id or currency."""
        query = {"key": key, "account": account, "currency": currency}
        params = {name: value for name, value in query.items() if value is not None}
        return cast(dict[str, Any], self._call("GET", "/ledger", params=params))

    def account(self, key: str) -> dict[str, Any]:
        """``{"id", "status", "balances"}`` of a key's account (created with the starting balances if
        new)."""
        return cast(dict[str, Any], self._call("GET", "/accounts", params={"key": key})["accounts"][0])

    def accounts(self) -> list[dict[str, Any]]:
        """Every account the app knows."""
        return cast(list[dict[str, Any]], self._call("GET", "/accounts")["accounts"])

    def balance(self, key: str, currency: str) -> Decimal:
        """A key's balance in ``currency`` (``Decimal(0)`` when it has none)."""
        return Decimal(self.account(key)["balances"].get(currency, "0"))

    def set_balance(self, key: str, currency: str, amount: Decimal | int | str) -> dict[str, Any]:
        """Make a key's balance exactly ``amount`` (a ledger line records the change); returns the
        account."""
        body = {"key": key, "balances": {currency: _decimal_text(amount)}}
        return cast(dict[str, Any], self._call("PUT", "/accounts/balances", json=body))

    def add_key(self, key: str, balances: Mapping[str, Decimal | int | str] | None = None) -> dict[str, Any]:
        """Make ``key`` active (needed when the app runs with ``open_accounts=False``), optionally with
        balances; returns the account."""
        return self.set_key_status(key, "active", balances)

    def revoke_key(self, key: str, status: str = "invalid") -> dict[str, Any]:
        """Make ``key`` answer the provider's 401 (``"invalid"``) or 403 (``"inactive"``)."""
        return self.set_key_status(key, status)

    def set_key_status(
        self, key: str, status: str, balances: Mapping[str, Decimal | int | str] | None = None
    ) -> dict[str, Any]:
        """Set a key's status (``active``, ``invalid``, ``inactive``); returns the account."""
        body: dict[str, Any] = {"key": key, "status": status}
        if balances:
            body["balances"] = {currency: _decimal_text(v) for currency, v in balances.items()}
        return cast(dict[str, Any], self._call("POST", "/keys", json=body))

    # faults

    def add_fault(
        self,
        kind: str,
        *,
        provider: str | None = None,
        operation: str | None = None,
        model: str | None = None,
        nth: int | None = None,
        times: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Add a fault rule; returns it (``id``, ``calls``, ``fired``...). ``kind``: ``rate_limit``,
        ``server_error``, ``unavailable``, ``gateway_timeout``, ``insufficient_credits``,
        ``content_policy``, ``provider_timeout``, ``stuck``, ``slow``, ``drop``, ``malformed``;
        ``params``: ``retry_after=``, ``seconds=``, ``after=``. Raises ``PixelmockAdminError`` (400) for a
        kind the provider has no documented answer for."""
        fields = {
            "kind": kind,
            "provider": provider,
            "operation": operation,
            "model": model,
            "nth": nth,
            "times": times,
            "probability": probability,
            "seed": seed,
        }
        body: dict[str, Any] = {name: value for name, value in fields.items() if value is not None}
        if params:
            body["params"] = params
        return cast(dict[str, Any], self._call("POST", "/faults", json=body))

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules, in the order they are tried, with their ``calls`` and ``fired`` counts."""
        return cast(list[dict[str, Any]], self._call("GET", "/faults")["rules"])

    def fault_kinds(self) -> dict[str, list[str]]:
        """Provider -> the fault kinds it has an answer for."""
        return cast(dict[str, list[str]], self._call("GET", "/faults")["kinds"])

    def remove_fault(self, rule_id: str) -> None:
        """Drop one fault rule (404 when unknown)."""
        self._call("DELETE", f"/faults/{rule_id}")

    def clear_faults(self) -> None:
        """Drop every fault rule."""
        self._call("DELETE", "/faults")

    # outbound deliveries and latency

    def webhooks(
        self, *, provider: str | None = None, group: str | None = None, status: str | None = None
    ) -> list[dict[str, Any]]:
        """Outbound deliveries (webhooks, uploads), oldest first: ``id``, ``kind``, ``url``, ``group`` (job
        id, taskUUID), ``event``, ``status`` (pending, delivered, failed, refused), ``attempts``..."""
        query = {"provider": provider, "group": group, "status": status}
        params = {name: value for name, value in query.items() if value is not None}
        return cast(list[dict[str, Any]], self._call("GET", "/webhooks", params=params)["deliveries"])

    def deliver(self) -> None:
        """Run the work due now (job timers, webhook attempts) without moving the clock."""
        self.advance(0)

    def latency(self) -> dict[str, Any]:
        """``{"profile", "speed_factor", "clock_frozen"}``."""
        return cast(dict[str, Any], self._call("GET", "/latency"))

    def set_latency(self, profile: str, speed_factor: float | None = None) -> dict[str, Any]:
        """Switch to ``instant``, ``realistic`` (``speed_factor`` divides the latencies) or ``manual``
        (the virtual clock stands still until advanced)."""
        body: dict[str, Any] = {"profile": profile}
        if speed_factor is not None:
            body["speed_factor"] = speed_factor
        return cast(dict[str, Any], self._call("PUT", "/latency", json=body))

    def providers(self) -> list[dict[str, Any]]:
        """The mounted providers, in mount order: ``name``, ``title``, ``prefix``, ``base_url`` (the real
        one) and ``colour`` (the inspector page's), from the provider registry."""
        return cast(list[dict[str, Any]], self._call("GET", "/providers")["providers"])

    def stats(self) -> dict[str, Any]:
        """``{"budgets": {name: {"max_bytes", "count", "bytes", "evicted", "evicted_bytes"}}, "store":
        {"max_records", "namespaces"}}``: what the app holds in memory and has evicted."""
        return cast(dict[str, Any], self._call("GET", "/stats"))

    # settings

    def settings(self) -> dict[str, Any]:
        """Every setting in force, by name (JSON: amounts as decimal strings, sets as sorted lists); the
        server's (``host``, ``port``...) too when served by ``pixelmock serve``."""
        return cast(dict[str, Any], self._call("GET", "/settings")["settings"])

    def set_settings(self, **changes: Any) -> dict[str, Any]:
        """Change settings that can change at run time (``outbound_hosts=["app"]``,
        ``options={"apiframe.polls_to_complete": 3}``, ``latency_profile="manual"``...); values as JSON
        or the strings the flags take; ``Decimal`` amounts and sets are accepted. Returns every setting
        in force. Raises ``PixelmockAdminError`` (400, nothing changed) for an unknown setting, one that
        cannot change at run time, or a bad value."""
        from pixelmock.emulators.config.settings import to_json  # not at import: the plugin loads this module

        body = {name: to_json(value) for name, value in changes.items()}
        return cast(dict[str, Any], self._call("PUT", "/settings", json=body)["settings"])
