"""Accounts, API keys and balances, kept in the state store (shared by every worker of one emulator).

Accounts are open by default: any non-empty credential is a key of its own account, created on first
use with the configured starting balances. Keys listed as invalid or inactive (config, or through the
control plane) get the provider's 401 / 403; with ``open_accounts`` off, only keys added as active (config
``api_keys`` or the control plane) are accepted. Every debit, credit and balance set is a ledger line.
Raw keys are never stored: an account is named by a hash of its key.

In the store: each account is a record of ``NAMESPACE`` (created once, whichever worker asks first; the
store's ``max_records`` bounds them like every namespace: a forgotten account starts again with the
starting balances), the ledger is the capped log ``LEDGER`` (``config.ledger_limit`` lines), and the key
statuses changed through the control plane are one record (``KEYS``; absent: the config's lists). A
balance moves with its ledger line in one atomic step (``Store.update_logged``), so no race takes a
balance below zero and every line's ``balance_after`` is exact.

Consistency across workers: balances and the ledger are linearizable per account (a debit never takes a
balance below zero); key statuses are control-plane state, seen by every worker from its first request
after the change was answered (``control.py``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pixelmock.emulators.config import EmulatorConfig
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.control import Cached, Control
from pixelmock.emulators.core.store import Put, Store

if TYPE_CHECKING:
    from pixelmock.contracts.canonical import CanonicalRequest

AuthStatus = Literal["ok", "missing", "invalid", "inactive"]
#: What the control plane can make of a key: accepted, answered 401, answered 403.
KeyStatus = Literal["active", "invalid", "inactive"]
KEY_STATUSES: tuple[KeyStatus, ...] = ("active", "invalid", "inactive")
#: How many accounts a worker remembers having seen in the store (``Accounts._ensure``).
_SEEN = 10_000
#: Memo of the ledger line written when the control plane sets a balance.
BALANCE_SET_MEMO = "pixelmock admin: balance set"
#: The store namespace of the accounts (keyed by account id) and the log of the ledger lines.
NAMESPACE, LEDGER = "accounts", "ledger"
#: Where the key statuses set through the control plane are kept (namespace, key).
KEYS = ("accounts.keys", "statuses")


@dataclass(frozen=True)
class Account:
    """An account: ``id`` (``acct_`` + 12 hex of the key's SHA-256) and balances per currency
    (``"credits"``, ``"USD"``) when it was read (``Accounts.balance`` reads the current one). Never
    changed in place (it may be the store's own record)."""

    id: str
    balances: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResult:
    """Outcome of ``Accounts.authenticate``: ``status`` and, when ``ok``, the ``account``."""

    status: AuthStatus
    account: Account | None = None


@dataclass(frozen=True)
class Charge:
    """What a balance movement pays for (or refunds): the ``provider`` whose request or job moved it, the
    canonical ``model`` (``None``: none was resolved), the ``job_id`` (job, task or request id; ``None``:
    none) and the ``images`` it asked for (``n``, on the debit that counts the request; 0 otherwise)."""

    provider: str
    model: str | None = None
    job_id: str | None = None
    images: int = 0

    @classmethod
    def of(cls, provider: str, canonical: CanonicalRequest, job_id: str | None = None) -> Charge:
        """The charge of a debit for ``canonical`` (its ``model``; its ``n`` images, 1 when unset)."""
        return cls(provider, canonical.model, job_id, canonical.n if isinstance(canonical.n, int) else 1)

    def refund(self) -> Charge:
        """The same charge for a refund: no images (it counts no request)."""
        return replace(self, images=0)


@dataclass(frozen=True)
class DebitAttempt:
    """A debit about to be tried (it may still be refused): ``amount`` (positive, in ``currency`` units)
    taken from ``account_id`` for ``memo``; ``charge``: what it pays for (``None``: no provider's)."""

    account_id: str
    currency: str
    amount: Decimal
    memo: str
    charge: Charge | None = None


@dataclass(frozen=True)
class LedgerLine:
    """One balance movement: positive ``amount`` is a credit, negative a debit (in ``currency`` units);
    ``provider``, ``model``, ``job_id`` and ``images`` say what it paid for (``Charge``; ``provider``
    ``None``: a movement of the control plane, such as a balance set)."""

    account_id: str
    currency: str
    amount: Decimal
    balance_after: Decimal
    memo: str
    at: str
    provider: str | None = None
    model: str | None = None
    job_id: str | None = None
    images: int = 0


@dataclass(frozen=True)
class KeyStatuses:
    """Account ids of the keys made ``active``, ``invalid`` (401) and ``inactive`` (403); each id is in
    at most one set."""

    active: frozenset[str] = frozenset()
    invalid: frozenset[str] = frozenset()
    inactive: frozenset[str] = frozenset()

    @classmethod
    def configured(cls, config: EmulatorConfig) -> KeyStatuses:
        """The statuses of ``config.api_keys``, ``invalid_keys`` and ``inactive_keys``."""

        def ids(keys: Iterable[str]) -> frozenset[str]:
            return frozenset(account_id(k) for k in keys)

        return cls(ids(config.api_keys), ids(config.invalid_keys), ids(config.inactive_keys))

    def of(self, ident: str, open_accounts: bool) -> KeyStatus:
        """How the key of account ``ident`` is answered (``open_accounts``: unknown keys are active)."""
        if ident in self.invalid:
            return "invalid"
        if ident in self.inactive:
            return "inactive"
        return "active" if ident in self.active or open_accounts else "invalid"

    def with_status(self, ident: str, status: KeyStatus) -> KeyStatuses:
        """A copy with ``ident`` in the set of ``status`` only."""
        sets = {name: getattr(self, name) - {ident} for name in KEY_STATUSES}
        sets[status] = sets[status] | {ident}
        return KeyStatuses(**sets)


def account_id(credential: str) -> str:
    """The account id for a key (never the key itself)."""
    return "acct_" + hashlib.sha256(credential.encode()).hexdigest()[:12]


class Accounts:
    """Accounts, keys and the ledger of one emulator, in ``store`` (thread- and process-safe).

    ``control``: the shared control record; the key statuses are cached per control generation.
    Ledger listeners (``subscribe``) belong to this process: they are called in the worker that moved
    the balance."""

    def __init__(self, config: EmulatorConfig, clock: Clock, store: Store, control: Control) -> None:
        self._config = config
        self._clock = clock
        self._store = store
        self._control = control
        self._configured = KeyStatuses.configured(config)
        #: The statuses set through the control plane (``None``: none, the configured ones apply).
        self._keys: Cached[KeyStatuses | None] = Cached(control, lambda: store.get(*KEYS))
        #: ``{id: account}``: the accounts this worker has seen in the store since the last control-plane
        #: change (a reset is one), as it last saw them; at most ``_SEEN`` of them.
        self._seen: Cached[OrderedDict[str, Account]] = Cached(control, OrderedDict)
        self._seen_lock = threading.Lock()
        self._listeners: list[Callable[[LedgerLine], None]] = []
        self._before_debit: list[Callable[[DebitAttempt], None]] = []
        self.reset()

    def reset(self) -> None:
        """Back to the configured state after the store was cleared: no accounts, an empty ledger (bounded
        by ``config.ledger_limit``), key statuses from the config."""
        self._store.bound_log(LEDGER, max(0, self._config.ledger_limit))
        self._keys.drop()

    def authenticate(self, provider: str, credential: str | None) -> AuthResult:
        """Check a credential as sent (the key itself, without ``Bearer``). ``provider`` is recorded for
        providers whose accounts differ; accounts are per key."""
        if not credential or not credential.strip():
            return AuthResult("missing")
        ident = account_id(credential)
        status = self.key_status(ident)
        if status != "active":
            return AuthResult(status)
        return AuthResult("ok", self._ensure(ident))

    def _statuses(self) -> KeyStatuses:
        return self._keys.get() or self._configured

    def _new(self, ident: str) -> Account:
        return Account(ident, dict(self._config.starting_balances))

    def _ensure(self, ident: str) -> Account:
        """The account ``ident``, created with the starting balances if the store has none. An account this
        worker has already seen since the last control-plane change is answered without reading the store,
        as it last saw it (read balances with ``balance``): should another worker's writes have evicted it
        since, its next balance move creates it again, as a store read would have."""
        with self._seen_lock:
            seen = self._seen.get()
            found = seen.get(ident)
        if found is None:
            found = self._store.get(NAMESPACE, ident)
        if found is None:
            found = self._store.update(NAMESPACE, ident, lambda old: old or self._new(ident))
        with self._seen_lock:
            seen[ident] = found
            seen.move_to_end(ident)
            while len(seen) > _SEEN:
                seen.popitem(last=False)
        return found

    def key_status(self, ident: str) -> KeyStatus:
        """How a key is answered, by its account id (``account_id(key)``)."""
        return self._statuses().of(ident, self._config.open_accounts)

    def set_key_status(self, credential: str, status: KeyStatus) -> Account:
        """Add (``active``) or revoke (``invalid``: 401, ``inactive``: 403) a key, for every worker
        (published through ``control``); returns its account (created with the starting balances if
        new). Raises ``ValueError`` for another status."""
        if status not in KEY_STATUSES:
            raise ValueError(f"unknown key status {status!r}; expected one of {KEY_STATUSES}")
        ident = account_id(credential)
        configured = self._configured
        self._store.update(*KEYS, lambda old: (old or configured).with_status(ident, status))
        self._keys.drop()
        self._control.changed()
        return self._ensure(ident)

    def for_key(self, credential: str) -> Account:
        """The account of a key whatever its status, created with the starting balances if new."""
        return self._ensure(account_id(credential))

    def get(self, ident: str) -> Account | None:
        """The account with id ``ident`` if it exists (as it is now)."""
        found: Account | None = self._store.get(NAMESPACE, ident)
        return found

    def snapshot(self) -> list[Account]:
        """Copies of every account, in creation order."""
        return [Account(a.id, dict(a.balances)) for a in self._store.values(NAMESPACE)]

    def lines(self) -> list[LedgerLine]:
        """The ledger lines kept (the last ``config.ledger_limit``), oldest first."""
        return [line for _, line in self._store.read_log(LEDGER)]

    def subscribe(self, listener: Callable[[LedgerLine], None]) -> None:
        """Call ``listener(line)`` for every ledger line this process writes, once the balance moved
        (keep it cheap: the request waits for it)."""
        self._listeners.append(listener)

    def subscribe_debits(self, listener: Callable[[DebitAttempt], None]) -> None:
        """Call ``listener(attempt)`` before each debit is tried; the debit may still be refused (keep it
        cheap: the request waits for it)."""
        self._before_debit.append(listener)

    def set_balance(
        self, account: Account, currency: str, amount: Decimal | int, memo: str = BALANCE_SET_MEMO
    ) -> LedgerLine | None:
        """Make the balance exactly ``amount``; the difference is one ledger line (``None`` when there is
        none)."""
        target = Decimal(amount)

        def difference(current: Account) -> Decimal | None:
            change = target - current.balances.get(currency, Decimal(0))
            return None if change == 0 and currency in current.balances else change

        return self._move(account.id, currency, difference, memo)

    def balance(self, account: Account, currency: str) -> Decimal:
        """Current balance in ``currency`` (read from the store; the starting balance for an account the
        store no longer holds)."""
        current = self.get(account.id) or self._new(account.id)
        return current.balances.get(currency, Decimal(0))

    def debit(
        self,
        account: Account,
        currency: str,
        amount: Decimal | int,
        memo: str,
        charge: Charge | None = None,
        claim: Put | None = None,
    ) -> bool:
        """Take ``amount`` if the balance covers it, for ``charge``; ``False`` (and no change) when it does
        not. ``claim``: a record (the job or task being paid for) written in the same atomic step when its
        key is absent, even when the balance does not cover the amount; raises ``Claimed`` (no change,
        nothing written) when it is there."""
        taken = Decimal(amount)
        if self._before_debit:
            attempt = DebitAttempt(account.id, currency, taken, memo, charge)
            for listener in tuple(self._before_debit):
                listener(attempt)

        def covered(current: Account) -> Decimal | None:
            return -taken if current.balances.get(currency, Decimal(0)) >= taken else None

        return self._move(account.id, currency, covered, memo, charge, claim) is not None

    def credit(
        self, account: Account, currency: str, amount: Decimal | int, memo: str, charge: Charge | None = None
    ) -> None:
        """Add ``amount`` (refunds, top-ups), for ``charge`` (a refund's: the debit's, with no images)."""
        added = Decimal(amount)
        self._move(account.id, currency, lambda _: added, memo, charge)

    def _move(
        self,
        ident: str,
        currency: str,
        change: Callable[[Account], Decimal | None],
        memo: str,
        charge: Charge | None = None,
        claim: Put | None = None,
    ) -> LedgerLine | None:
        """Move the balance of ``ident`` in ``currency`` by ``change(account as it is)`` (``None``: no
        move) and write its ledger line (and ``claim``, see ``debit``), in one atomic step; then tell the
        listeners."""
        moved: list[LedgerLine] = []

        def step(old: Account | None) -> tuple[Account, list[LedgerLine]]:
            moved.clear()  # a shared store may run the step again on a conflict
            current = old if old is not None else self._new(ident)
            amount = change(current)
            if amount is None:
                return current, []
            after = current.balances.get(currency, Decimal(0)) + amount
            line = LedgerLine(ident, currency, amount, after, memo, self._clock.now().isoformat())
            if charge is not None:
                line = replace(
                    line,
                    provider=charge.provider,
                    model=charge.model,
                    job_id=charge.job_id,
                    images=charge.images,
                )
            moved.append(line)
            return replace(current, balances={**current.balances, currency: after}), [line]

        self._store.update_logged(NAMESPACE, ident, step, LEDGER, claim)
        for line in moved:
            for listener in tuple(self._listeners):
                listener(line)
        return moved[0] if moved else None
