"""The bill of an emulator app: what its requests cost, per provider and model, from the ledger.

Every ledger line (``accounts.py``) says what it paid for: its ``provider``, canonical ``model``,
``job_id`` and ``images`` (``accounts.Charge``, given by the provider module that moved it; a refund made
later, on a timer or a poll, carries its job's). A debit with ``images`` counts its job or task once as a
request with that many images. Lines of no provider (balances set through the control plane) are not
billed.

The recorder keeps totals only (no per-request list), so it is bounded whatever the traffic: store
counters per provider and model (``NAMESPACE``: requests, images, and each currency's cost as integer
mantissas per decimal exponent, so sums stay exact with no read-modify-write), added by whichever worker
bills a line in one ``write_many``. They are in the state store, so ``GET /__admin/bill`` through any
worker shows the whole emulator's bill; a reset (``Runtime.reset``) empties it with the ledger.

Consistency across workers: every counter is added to atomically (no line is lost or counted twice); a
read sees every line billed before it started.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from pixelmock.emulators.core.store import Incr, Write

if TYPE_CHECKING:
    from pixelmock.emulators.core.accounts import LedgerLine
    from pixelmock.emulators.core.store import Store

__all__ = ["BillRecorder", "BillRow"]

#: Model of a line whose charge names none.
NO_MODEL = "(no model)"
#: Store namespace of the rows' counters (keyed as ``_SEP`` says).
NAMESPACE = "bill"
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

    def record(self, line: LedgerLine) -> None:
        """Bill one ledger line to its provider and model (``NO_MODEL`` when it names none); nothing for a
        line of no provider."""
        if line.provider is None:
            return
        row = _SEP.join((line.provider, line.model or NO_MODEL))
        sign, digits, exponent = (-line.amount).as_tuple()
        mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
        writes: list[Write] = [
            Incr(NAMESPACE, _SEP.join((row, "cost", line.currency, str(exponent))), mantissa)
        ]
        if line.images and line.amount <= 0:
            writes.append(Incr(NAMESPACE, _SEP.join((row, "requests", "", "")), 1))
            writes.append(Incr(NAMESPACE, _SEP.join((row, "images", "", "")), line.images))
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
