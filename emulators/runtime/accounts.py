"""Accounts, API keys and balances.

Accounts are open by default: any non-empty credential is a key of its own account, created on first
use with the configured starting balances. Keys listed as invalid or inactive (config, or through the
control plane) get the provider's 401 / 403; with ``open_accounts`` off, only keys added as active (config
``api_keys`` or the control plane) are accepted. Every debit, credit and balance set is a ledger line.
Raw keys are never stored: an account is named by a hash of its key.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.runtime.clock import Clock

AuthStatus = Literal["ok", "missing", "invalid", "inactive"]
#: What the control plane can make of a key: accepted, answered 401, answered 403.
KeyStatus = Literal["active", "invalid", "inactive"]
KEY_STATUSES: tuple[KeyStatus, ...] = ("active", "invalid", "inactive")
#: Memo of the ledger line written when the control plane sets a balance.
BALANCE_SET_MEMO = "pixelmock admin: balance set"


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
        self._invalid: set[str] = set()
        self._inactive: set[str] = set()
        self._active: set[str] = set()
        self._listeners: list[Callable[[LedgerLine], None]] = []
        #: The last ``config.ledger_limit`` lines, oldest first.
        self.ledger: deque[LedgerLine] = deque(maxlen=max(0, config.ledger_limit))
        self.reset()

    def reset(self) -> None:
        """Back to the configured state: no accounts, an empty ledger, key statuses from the config."""
        with self._lock:
            self._accounts.clear()
            self.ledger.clear()
            self._active = {account_id(k) for k in self._config.api_keys}
            self._invalid = {account_id(k) for k in self._config.invalid_keys}
            self._inactive = {account_id(k) for k in self._config.inactive_keys}

    def authenticate(self, provider: str, credential: str | None) -> AuthResult:
        """Check a credential as sent (the key itself, without ``Bearer``). ``provider`` is recorded for
        providers whose accounts differ; accounts are per key."""
        if not credential or not credential.strip():
            return AuthResult("missing")
        ident = account_id(credential)
        with self._lock:
            status = self._status(ident)
            if status != "active":
                return AuthResult(status)
            return AuthResult("ok", self._ensure(ident))

    def _status(self, ident: str) -> KeyStatus:
        if ident in self._invalid:
            return "invalid"
        if ident in self._inactive:
            return "inactive"
        if ident in self._active or self._config.open_accounts:
            return "active"
        return "invalid"

    def _ensure(self, ident: str) -> Account:
        account = self._accounts.get(ident)
        if account is None:
            account = Account(ident, dict(self._config.starting_balances))
            self._accounts[ident] = account
        return account

    def key_status(self, ident: str) -> KeyStatus:
        """How a key is answered, by its account id (``account_id(key)``)."""
        with self._lock:
            return self._status(ident)

    def set_key_status(self, credential: str, status: KeyStatus) -> Account:
        """Add (``active``) or revoke (``invalid``: 401, ``inactive``: 403) a key; returns its account
        (created with the starting balances if new). Raises ``ValueError`` for another status."""
        if status not in KEY_STATUSES:
            raise ValueError(f"unknown key status {status!r}; expected one of {KEY_STATUSES}")
        ident = account_id(credential)
        with self._lock:
            for ids in (self._active, self._invalid, self._inactive):
                ids.discard(ident)
            {"active": self._active, "invalid": self._invalid, "inactive": self._inactive}[status].add(ident)
            return self._ensure(ident)

    def for_key(self, credential: str) -> Account:
        """The account of a key whatever its status, created with the starting balances if new."""
        with self._lock:
            return self._ensure(account_id(credential))

    def get(self, ident: str) -> Account | None:
        """The account with id ``ident`` if it exists."""
        with self._lock:
            return self._accounts.get(ident)

    def snapshot(self) -> list[Account]:
        """Copies of every account, in creation order."""
        with self._lock:
            return [Account(a.id, dict(a.balances)) for a in self._accounts.values()]

    def lines(self) -> list[LedgerLine]:
        """A copy of the ledger, oldest line first."""
        with self._lock:
            return list(self.ledger)

    def subscribe(self, listener: Callable[[LedgerLine], None]) -> None:
        """Call ``listener(line)`` for every new ledger line (under the accounts' lock: keep it cheap)."""
        with self._lock:
            self._listeners.append(listener)

    def set_balance(
        self, account: Account, currency: str, amount: Decimal | int, memo: str = BALANCE_SET_MEMO
    ) -> LedgerLine | None:
        """Make the balance exactly ``amount``; the difference is one ledger line (``None`` when there is
        none)."""
        amount = Decimal(amount)
        with self._lock:
            difference = amount - self.balance(account, currency)
            if difference == 0 and currency in account.balances:
                return None
            return self._move(account, currency, difference, memo)

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

    def _move(self, account: Account, currency: str, amount: Decimal, memo: str) -> LedgerLine:
        account.balances[currency] = after = account.balances.get(currency, Decimal(0)) + amount
        line = LedgerLine(account.id, currency, amount, after, memo, self._clock.now().isoformat())
        self.ledger.append(line)
        for listener in self._listeners:
            listener(line)
        return line
