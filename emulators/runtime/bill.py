"""The bill of an emulator app: what its requests cost, per provider and model, from the ledger.

Every ledger line (``accounts.py``) is attributed to the provider and model of the request that moved it:
the provider whose prefix the request's path is under, the model of the last canonical request the
provider module noted (``journal_note(canonical=...)``; a Runware task array notes one per task, so each
task's debit goes to its own model). A debit counts its note's job or task once as a request with its
``n`` images. A line moved later, outside that request (a failed Apiframe job's refund on a timer or on
a poll), goes where the line it answers went: matched by account and by the job or task id its memo ends
with. Lines that belong to no request (balances set through the control plane) are not billed.

The recorder keeps totals only (no per-request list), so it is bounded whatever the traffic: one record
per provider and model (``NAMESPACE``), updated atomically by whichever worker bills a line, and the
job and task ids remembered for later refunds (``REFERENCES``, bounded by the store's ``max_records``,
oldest forgotten first). Both are in the state store, so ``GET /__admin/bill`` through any worker shows
the whole emulator's bill; a reset (``Runtime.reset``) empties it with the ledger.

Consistency across workers: every row is updated atomically (no line is lost or counted twice); a read
sees every line billed before it started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context

from pixelmock.emulators.runtime.journal import request_records

if TYPE_CHECKING:
    from pixelmock.emulators.runtime import ProviderEmulator, Runtime
    from pixelmock.emulators.runtime.accounts import LedgerLine
    from pixelmock.emulators.runtime.store import Store

__all__ = ["BillRecorder", "BillRow", "install"]

#: ``g`` key: the notes whose request was already counted (kept alive so their ``id`` stays unique).
_COUNTED = "pixelmock_bill_counted"
#: Model of a line moved in a provider's request that noted no canonical request.
NO_MODEL = "(no model)"
#: Store namespaces: the rows (keyed ``provider/model``) and the job or task ids they were billed to
#: (keyed ``account_id job_id``, valued ``(provider, model)``).
NAMESPACE, REFERENCES = "bill", "bill.references"


@dataclass(frozen=True)
class BillRow:
    """One provider and model: ``requests`` charged (jobs, tasks), ``images`` they asked for (``n``)
    and ``cost`` per ledger currency (``"USD"``, ``"credits"``): debits minus refunds, as ``Decimal``."""

    provider: str
    model: str
    requests: int = 0
    images: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)


class BillRecorder:
    """Totals per (provider, model), kept in ``store`` (shared by every worker of one emulator)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self, line: LedgerLine, provider: str | None, note: dict[str, Any] | None, first: bool
    ) -> None:
        """Attribute one ledger line. ``provider``: the provider of the request it was moved in (``None``
        outside a provider's request); ``note``: the last note with a canonical request in that request;
        ``first``: whether this is the first line of that note (a debit then counts the request)."""
        reference = f"{line.account_id} {line.memo.rsplit(' ', 1)[-1]}"
        if provider is not None and note is not None:
            key = (provider, _model(note))
            self._store.put(REFERENCES, reference, key)
        else:
            found: tuple[str, str] | None = self._store.get(REFERENCES, reference)
            if found is None:
                if provider is None:
                    return
                found = (provider, NO_MODEL)
                self._store.put(REFERENCES, reference, found)
            key = (found[0], found[1])
        counted = first and note is not None and line.amount <= 0
        images = _images(note) if counted and note is not None else 0

        def add(old: BillRow | None) -> BillRow:
            row = old if old is not None else BillRow(*key)
            cost = {**row.cost, line.currency: row.cost.get(line.currency, Decimal(0)) - line.amount}
            return replace(row, requests=row.requests + int(counted), images=row.images + images, cost=cost)

        self._store.update(NAMESPACE, "/".join(key), add)

    def rows(self) -> list[BillRow]:
        """Copies of the rows, by provider then model."""
        return [
            BillRow(r.provider, r.model, r.requests, r.images, dict(r.cost))
            for r in sorted(self._store.values(NAMESPACE), key=lambda r: (r.provider, r.model))
        ]


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
