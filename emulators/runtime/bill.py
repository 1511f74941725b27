"""The bill of an emulator app: what its requests cost, per provider and model, from the ledger.

Every ledger line (``accounts.py``) is attributed to the provider and model of the request that moved it:
the provider whose prefix the request's path is under, the model of the last canonical request the
provider module noted (``journal_note(canonical=...)``; a Runware task array notes one per task, so each
task's debit goes to its own model). A debit counts its note's job or task once as a request with its
``n`` images. A line moved later, outside that request (a failed Apiframe job's refund on a timer or on
a poll), goes where the line it answers went: matched by account and by the job or task id its memo ends
with. Lines that belong to no request (balances set through the control plane) are not billed.

The recorder keeps totals only (no per-request list), so it is bounded whatever the traffic; a reset of
the app (``Runtime.reset``) clears it with the ledger. Read it through ``GET /__admin/bill``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context

from pixelmock.emulators.runtime.journal import request_records

if TYPE_CHECKING:
    from pixelmock.emulators.runtime import ProviderEmulator, Runtime
    from pixelmock.emulators.runtime.accounts import LedgerLine

__all__ = ["BillRecorder", "BillRow", "install"]

#: ``g`` key: the notes whose request was already counted (kept alive so their ``id`` stays unique).
_COUNTED = "pixelmock_bill_counted"
#: Model of a line moved in a provider's request that noted no canonical request.
NO_MODEL = "(no model)"


@dataclass
class BillRow:
    """One provider and model: ``requests`` charged (jobs, tasks), ``images`` they asked for (``n``)
    and ``cost`` per ledger currency (``"USD"``, ``"credits"``): debits minus refunds, as ``Decimal``."""

    provider: str
    model: str
    requests: int = 0
    images: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)


class BillRecorder:
    """Totals per (provider, model), thread-safe. ``references``: how many job/task ids are remembered
    to attribute later refunds (oldest forgotten first)."""

    def __init__(self, references: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], BillRow] = {}
        self._references: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()
        self._limit = max(1, references)

    def record(
        self, line: LedgerLine, provider: str | None, note: dict[str, Any] | None, first: bool
    ) -> None:
        """Attribute one ledger line. ``provider``: the provider of the request it was moved in (``None``
        outside a provider's request); ``note``: the last note with a canonical request in that request;
        ``first``: whether this is the first line of that note (a debit then counts the request)."""
        reference = (line.account_id, line.memo.rsplit(" ", 1)[-1])
        with self._lock:
            key = self._references.get(reference)
            if provider is not None and note is not None:
                key = (provider, _model(note))
            elif key is None and provider is not None:
                key = (provider, NO_MODEL)
            if key is None:
                return
            self._references[reference] = key
            self._references.move_to_end(reference)
            while len(self._references) > self._limit:
                self._references.popitem(last=False)
            row = self._rows.setdefault(key, BillRow(*key))
            row.cost[line.currency] = row.cost.get(line.currency, Decimal(0)) - line.amount
            if first and note is not None and line.amount <= 0:
                row.requests += 1
                row.images += _images(note)

    def rows(self) -> list[BillRow]:
        """Copies of the rows, by provider then model."""
        with self._lock:
            return [
                BillRow(r.provider, r.model, r.requests, r.images, dict(r.cost))
                for _, r in sorted(self._rows.items())
            ]

    def clear(self) -> None:
        """Forget everything (the app's reset)."""
        with self._lock:
            self._rows.clear()
            self._references.clear()


def _model(note: dict[str, Any]) -> str:
    return str(getattr(note["canonical"], "model", None) or NO_MODEL)


def _images(note: dict[str, Any]) -> int:
    n = getattr(note["canonical"], "n", None)
    return int(n) if isinstance(n, int) else 1


def install(rt: Runtime, owner: Callable[[], ProviderEmulator | None]) -> None:
    """Feed ``rt.bill`` every ledger line of ``rt.accounts``, attributed with ``owner()`` (the provider
    of the current request) and the request's notes."""

    def listener(line: LedgerLine) -> None:
        provider = owner() if has_request_context() else None
        notes, _ = request_records()
        note = next((n for n in reversed(notes) if "canonical" in n), None)
        first = False
        if note is not None:
            counted: list[dict[str, Any]] = g.setdefault(_COUNTED, [])
            first = not any(n is note for n in counted)
            if first:
                counted.append(note)
        rt.bill.record(line, provider.name if provider is not None else None, note, first)

    rt.accounts.subscribe(listener)
