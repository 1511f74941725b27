"""Accounts, API keys and balances.

Accounts are open by default: any non-empty credential is a key of its own account, created on first
use with the configured starting balances. Keys listed as invalid or inactive (config, or later through
the control plane) get the provider's 401 / 403. Every debit and credit is a ledger line. Raw keys are
never stored: an account is named by a hash of its key.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from emulators.config import EmulatorConfig
from emulators.runtime.clock import Clock

AuthStatus = Literal["ok", "missing", "invalid", "inactive"]


@dataclass
class Account:
    """An account: ``id`` (``acct_`` + 12 hex of the key's SHA-256) and balances per currency
    (``"credits"``, ``"USD"``)."""

    id: str
    balances: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResult:
    """Outcome of ``Accounts.authenticate``: ``status`` and, when ``ok``, the ``account``."""

    status: AuthStatus
    account: Account | None = None


@dataclass(frozen=True)
class LedgerLine:
    """One balance movement: positive ``amount`` is a credit, negative a debit (in ``currency`` units)."""

    account_id: str
    currency: str
    amount: Decimal
    balance_after: Decimal
    memo: str
    at: str


def account_id(credential: str) -> str:
    """The account id for a key (never the key itself)."""
    return "acct_" + hashlib.sha256(credential.encode()).hexdigest()[:12]


class Accounts:
    """Thread-safe accounts, keys and the ledger."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._invalid = {account_id(k) for k in config.invalid_keys}
        self._inactive = {account_id(k) for k in config.inactive_keys}
        self.ledger: list[LedgerLine] = []

    def authenticate(self, provider: str, credential: str | None) -> AuthResult:
        """Check a credential as sent (the key itself, without ``Bearer``). ``provider`` is recorded for
        providers whose accounts differ; accounts are per key."""
        if not credential or not credential.strip():
            return AuthResult("missing")
        ident = account_id(credential)
        if ident in self._invalid:
            return AuthResult("invalid")
        if ident in self._inactive:
            return AuthResult("inactive")
        with self._lock:
            account = self._accounts.get(ident)
            if account is None:
                account = Account(ident, dict(self._config.starting_balances))
                self._accounts[ident] = account
        return AuthResult("ok", account)

    def balance(self, account: Account, currency: str) -> Decimal:
        """Current balance in ``currency``."""
        with self._lock:
            return account.balances.get(currency, Decimal(0))

    def debit(self, account: Account, currency: str, amount: Decimal | int, memo: str) -> bool:
        """Take ``amount`` if the balance covers it; ``False`` (and no change) when it does not."""
        amount = Decimal(amount)
        with self._lock:
            if self.balance(account, currency) < amount:
                return False
            self._move(account, currency, -amount, memo)
            return True

    def credit(self, account: Account, currency: str, amount: Decimal | int, memo: str) -> None:
        """Add ``amount`` (refunds, top-ups)."""
        with self._lock:
            self._move(account, currency, Decimal(amount), memo)

    def _move(self, account: Account, currency: str, amount: Decimal, memo: str) -> None:
        account.balances[currency] = after = account.balances.get(currency, Decimal(0)) + amount
        self.ledger.append(
            LedgerLine(account.id, currency, amount, after, memo, self._clock.now().isoformat())
        )
