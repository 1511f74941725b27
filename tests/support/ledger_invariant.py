"""The ledger invariant, checked after every test that built an emulator app (``tests/conftest.py``).

Per account and currency: every debit made while answering a request is a cost the provider reported
for that request (a ``cost`` noted in its journal entry: ``usd`` for USD, ``credits`` for credits;
each noted cost pays for at most one debit), refunds never exceed debits, and balance = start - debits +
refunds (+ balances set through the control plane), line by line (``balance_after``) and at the end.
Parts that a full ledger or journal would need are skipped when it may have dropped lines (its limit
reached, or turned off).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from pixelmock.emulators.core.accounts import BALANCE_SET_MEMO
from pixelmock.emulators.core.runtime import Runtime

_COST_FIELDS = {"USD": "usd", "credits": "credits"}


def check_ledger(rt: Runtime) -> None:
    """Raise ``AssertionError`` naming the first broken part of the invariant in ``rt`` (synced first to
    the settings other workers sharing its store may have changed, as its next request would be)."""
    rt.sync()
    lines = rt.accounts.lines()
    if not lines:
        return
    if len(lines) < rt.config.ledger_limit:
        _check_balances(rt, lines)
    _check_refunds(lines)
    if rt.journal.limit:
        for entry in rt.journal.entries():
            if entry.ledger:
                _check_debits_reported(entry.seq, entry.ledger, entry.notes)


def _check_balances(rt: Runtime, lines: list[Any]) -> None:
    start = rt.config.starting_balances
    running: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        key = (line.account_id, line.currency)
        before = running.get(key, Decimal(start.get(line.currency, 0)))
        running[key] = before + line.amount
        assert running[key] == line.balance_after, f"ledger line out of step: {line}"
    for account in rt.accounts.snapshot():
        for currency in set(account.balances) | set(start):
            expected = running.get((account.id, currency), Decimal(start.get(currency, 0)))
            actual = account.balances.get(currency, Decimal(0))
            assert actual == expected, (
                f"{account.id} {currency}: balance {actual} != start - debits + refunds = {expected}"
            )


def _check_refunds(lines: list[Any]) -> None:
    debits: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    refunds: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.memo == BALANCE_SET_MEMO:
            continue
        key = (line.account_id, line.currency)
        if line.amount < 0:
            debits[key] -= line.amount
        else:
            refunds[key] += line.amount
            assert refunds[key] <= debits[key], f"{key}: refunds {refunds[key]} exceed debits {debits[key]}"


def _check_debits_reported(seq: int, ledger: tuple[dict[str, Any], ...], notes: tuple[Any, ...]) -> None:
    reported: Counter[tuple[str, Decimal]] = Counter()
    for note in notes:
        cost = note.get("cost") if isinstance(note, dict) else None
        for currency, name in _COST_FIELDS.items():
            if isinstance(cost, dict) and cost.get(name) is not None:
                reported[(currency, Decimal(str(cost[name])))] += 1
    for line in ledger:
        amount = Decimal(line["amount"])
        if amount >= 0 or line["memo"] == BALANCE_SET_MEMO:
            continue
        key = (line["currency"], -amount)
        assert reported[key] > 0, f"journal entry {seq}: debit {-amount} {key[0]} is no reported cost"
        reported[key] -= 1
