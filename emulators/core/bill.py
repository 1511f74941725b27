"""The bill of an emulator app: what its requests cost, per provider and model, from the ledger.

Every ledger line (``accounts.py``) is attributed to the provider and model of the request that moved it:
the provider whose prefix the request's path is under, the model of the last canonical request the
provider module noted (``journal_note(canonical=...)``; a Runware task array notes one per task, so each
task's debit goes to its own model). A debit counts its note's job or task once as a request with its
``n`` images. A line moved later, outside that request (a failed Apiframe job's refund on a timer or on
a poll), goes where the line it answers went: matched by account and by the job or task id its memo ends
with. Lines that belong to no request (balances set through the control plane) are not billed.

The recorder keeps totals only (no per-request list), so it is bounded whatever the traffic: store
counters per provider and model (``NAMESPACE``: requests, images, and each currency's cost as integer
mantissas per decimal exponent, so sums stay exact with no read-modify-write), added by whichever worker
bills a line in one ``write_many`` with the job or task id remembered for later refunds
(``REFERENCES``, bounded by the store's ``max_records``, oldest forgotten first). Both are in the state
store, so ``GET /__admin/bill`` through any worker shows the whole emulator's bill; a reset
(``Runtime.reset``) empties it with the ledger.

Consistency across workers: every counter is added to atomically (no line is lost or counted twice); a
read sees every line billed before it started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context

from pixelmock.emulators.core.journal import request_records
from pixelmock.emulators.core.store import Incr, Put, Write

if TYPE_CHECKING:
    from pixelmock.emulators.core.accounts import LedgerLine
    from pixelmock.emulators.core.runtime import ProviderEmulator, Runtime
    from pixelmock.emulators.core.store import Store

__all__ = ["BillRecorder", "BillRow", "install"]

#: ``g`` key: the notes whose request was already counted (kept alive so their ``id`` stays unique).
_COUNTED = "pixelmock_bill_counted"
#: Model of a line moved in a provider's request that noted no canonical request.
NO_MODEL = "(no model)"
#: Store namespaces: the rows' counters (keyed as ``_SEP`` says) and the job or task ids they were billed
#: to (records keyed ``account_id job_id``, valued ``(provider, model)``).
NAMESPACE, REFERENCES = "bill", "bill.references"
#: Separates the parts of a counter's key in ``NAMESPACE``: provider, model, part (``cost``, ``requests``,
#: ``images``) and, for a cost, its currency and the exponent its mantissa is counted at.
_SEP = "\x1f"


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
        writes: list[Write] = []
        if provider is not None and note is not None:
            key = (provider, _model(note))
            writes.append(Put(REFERENCES, reference, key))
        else:
            found: tuple[str, str] | None = self._store.get(REFERENCES, reference)
            if found is None:
                if provider is None:
                    return
                found = (provider, NO_MODEL)
                writes.append(Put(REFERENCES, reference, found))
            key = (found[0], found[1])
        row = _SEP.join(key)
        sign, digits, exponent = (-line.amount).as_tuple()
        mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
        writes.append(Incr(NAMESPACE, _SEP.join((row, "cost", line.currency, str(exponent))), mantissa))
        if first and note is not None and line.amount <= 0:
            writes.append(Incr(NAMESPACE, _SEP.join((row, "requests", "", "")), 1))
            writes.append(Incr(NAMESPACE, _SEP.join((row, "images", "", "")), _images(note)))
        self._store.write_many(writes)

    def rows(self) -> list[BillRow]:
        """The rows, by provider then model."""
        totals: dict[tuple[str, str], BillRow] = {}
        for name, value in self._store.counters(NAMESPACE).items():
            provider, model, part, currency, exponent = name.split(_SEP)
            row = totals.get((provider, model)) or BillRow(provider, model)
            if part == "cost":
                amount = _decimal(value, int(exponent))
                row = replace(row, cost={**row.cost, currency: row.cost.get(currency, Decimal(0)) + amount})
            elif part == "requests":
                row = replace(row, requests=row.requests + value)
            else:
                row = replace(row, images=row.images + value)
            totals[(provider, model)] = row
        return [totals[key] for key in sorted(totals)]


def _decimal(mantissa: int, exponent: int) -> Decimal:
    """``mantissa`` x 10^``exponent``, exactly."""
    return Decimal((int(mantissa < 0), tuple(int(d) for d in str(abs(mantissa))), exponent))


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
