"""A client of the emulator's control plane (``/__admin/``), usable with or without pytest.

::

    from pixelmock.emulators.admin_client import PixelmockAdmin

    admin = PixelmockAdmin.for_url("http://127.0.0.1:8080")  # a running `pixelmock serve`
    admin.advance(30)                                          # the virtual clock, in seconds
    admin.balance("my-key", "USD")                             # Decimal

The pytest plugin's ``pixelmock_admin`` fixture is one of these, bound to the test's app in process.
Importing this module imports the standard library only; httpx is imported when a handle is made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import httpx
    from flask import Flask

__all__ = ["PixelmockAdmin", "PixelmockAdminError"]


class PixelmockAdminError(Exception):
    """The control plane refused a call: ``status`` (400, 404) and its ``error`` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def _decimal_text(amount: Decimal | int | str) -> str:
    return str(amount) if isinstance(amount, str) else format(Decimal(amount), "f")


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
    ) -> list[dict[str, Any]]:
        """Journal entries, oldest first (see ``GET /__admin/journal``): each has ``seq``, ``at``,
        ``provider``, ``method``, ``path``, ``route``, ``status``, ``request``, ``response``, ``notes``
        (canonical request, cost) and ``ledger``; credentials read ``REDACTED``."""
        query = {
            "provider": provider,
            "method": method,
            "status": status,
            "path": path,
            "since": since.isoformat() if isinstance(since, dt.datetime) else since,
            "after": after,
            "limit": limit,
        }
        params = {name: str(value) for name, value in query.items() if value is not None}
        return cast(list[dict[str, Any]], self._call("GET", "/journal", params=params)["entries"])

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

    def stats(self) -> dict[str, Any]:
        """``{"budgets": {name: {"max_bytes", "count", "bytes", "evicted", "evicted_bytes"}}, "store":
        {"max_records", "namespaces"}}``: what the app holds in memory and has evicted."""
        return cast(dict[str, Any], self._call("GET", "/stats"))
