"""The control plane: ``/__admin/`` on every emulator app (the name WireMock users know).

Reset the app's state, read and move the virtual clock, read the request journal and the credit ledger,
read the bill (what the requests cost, per provider and model), read and set balances, add and revoke
API keys, add and clear fault rules, list outbound deliveries (webhooks, uploads) with their attempts,
read and switch the latency profile, read what the app holds in memory and has evicted
(``GET /__admin/stats``), list the mounted providers as the provider registry describes them
(``GET /__admin/providers``), read every setting and change those that can change at run time. Moving the
clock runs the work that became due (job progress, webhook attempts) before answering. Its contract is
``contracts/openapi/admin.yaml`` (served at ``/__admin/openapi.json``); request bodies are validated against
it. Errors are ``{"error": "..."}`` with
400 (bad input) or 404 (unknown account). Provider prefixes never serve it, and the journal does not
record it.

API keys are the handle on accounts (a test tool's convenience); the emulator keeps only their hashes
(``acct_`` + 12 hex digits of SHA-256). Money is a decimal string in the currency's units (``"0.04"``
USD, ``"10"`` credits).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any, NoReturn, cast

from flask import Blueprint, Response, current_app, jsonify, request

from pixelmock.contracts.openapi import request_schema, served, validate
from pixelmock.contracts.providers import provider as registered
from pixelmock.emulators.admin.client import bill_rows_json
from pixelmock.emulators.config.settings import SERVER_KEY, SettingError, changes, settings_json
from pixelmock.emulators.core.accounts import Account, KeyStatus, LedgerLine, account_id
from pixelmock.emulators.core.bill import BillRow
from pixelmock.emulators.core.clock import Clock
from pixelmock.emulators.core.faults import FaultError, kinds_of
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.web.context import read_json, runtime
from pixelmock.emulators.web.provider import ProviderEmulator

PREFIX = "/__admin"
#: Name of the control plane's OpenAPI document (``contracts/openapi/admin.yaml``).
DOCUMENT = "admin"
#: Years the virtual clock may be set to (keeps every later date computation in range).
YEARS = (1971, 9998)
STATUS = re.compile(r"^[1-5]([0-9]{2}|[xX]{2})$")

bp = Blueprint("pixelmock_admin", __name__)


class AdminError(Exception):
    """A control-plane rejection: ``status`` (400, 404) and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(AdminError)
def _admin_error(exc: AdminError) -> Response:
    response = jsonify(error=exc.message)
    response.status_code = exc.status
    return response


def _bad(message: str) -> NoReturn:
    raise AdminError(400, message)


def _body(operation_id: str) -> dict[str, Any]:
    """The request's JSON body, validated against the operation's schema in the admin document."""
    body = read_json()
    violations = validate(DOCUMENT, request_schema(DOCUMENT, operation_id), body)
    if violations:
        first = violations[0]
        _bad(f"{first.param or 'body'}: {first.message}")
    return cast(dict[str, Any], body)


# --------------------------------------------------------------------------------------------------------
# JSON views


def money(amount: Decimal) -> str:
    """A decimal string without exponent (``Decimal("1E+1")`` -> ``"10"``)."""
    return format(amount, "f")


def clock_json(clock: Clock) -> dict[str, Any]:
    """``{"now", "date", "timestamp", "offset_seconds"}`` of the virtual clock (UTC)."""
    now = clock.now()
    return {
        "now": now.isoformat(),
        "date": now.date().isoformat(),
        "timestamp": int(now.timestamp()),
        "offset_seconds": clock.offset().total_seconds(),
    }


def account_json(rt: Runtime, account: Account) -> dict[str, Any]:
    """``{"id", "status", "balances"}``: balances (as they are now) as decimal strings per currency."""
    current = rt.accounts.get(account.id) or account
    balances = {currency: money(amount) for currency, amount in current.balances.items()}
    return {"id": account.id, "status": rt.accounts.key_status(account.id), "balances": balances}


def line_json(line: LedgerLine) -> dict[str, Any]:
    """A ledger line with its amounts as decimal strings."""
    return {
        "account_id": line.account_id,
        "currency": line.currency,
        "amount": money(line.amount),
        "balance_after": money(line.balance_after),
        "memo": line.memo,
        "at": line.at,
    }


def ledger_json(rt: Runtime, lines: list[LedgerLine]) -> dict[str, Any]:
    """``{"lines", "totals"}``: totals per account id and currency over ``lines`` (``debited`` as a
    positive amount, ``credited``, ``net`` = credited - debited) and the account's ``balance`` now."""
    sums: dict[str, dict[str, list[Decimal]]] = {}
    for line in lines:
        pair = sums.setdefault(line.account_id, {}).setdefault(line.currency, [Decimal(0), Decimal(0)])
        pair[0 if line.amount < 0 else 1] += abs(line.amount)
    totals: dict[str, dict[str, dict[str, str]]] = {}
    for ident, currencies in sums.items():
        account = rt.accounts.get(ident)
        for currency, (debited, credited) in currencies.items():
            balance = account.balances.get(currency, Decimal(0)) if account is not None else Decimal(0)
            totals.setdefault(ident, {})[currency] = {
                "debited": money(debited),
                "credited": money(credited),
                "net": money(credited - debited),
                "balance": money(balance),
            }
    return {"lines": [line_json(line) for line in lines], "totals": totals}


def bill_json(rows: list[BillRow]) -> dict[str, Any]:
    """``{"rows": [{"provider", "model", "requests", "images", "cost": {currency: amount}}], "totals":
    {currency: amount}}``: the bill (``emulators/core/bill.py``), amounts as decimal strings, debits
    minus refunds in each provider's own ledger currency (``USD``, ``credits``)."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        for currency, amount in row.cost.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    return {
        "rows": bill_rows_json(rows),
        "totals": {currency: money(amount) for currency, amount in totals.items()},
    }


# --------------------------------------------------------------------------------------------------------
# Parsing


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        _bad(f"not an amount: {value!r}")
    if not amount.is_finite() or amount < 0:
        _bad(f"not an amount >= 0: {value!r}")
    return amount


def _in_range(moment: dt.datetime) -> dt.datetime:
    if not YEARS[0] <= moment.year <= YEARS[1]:
        _bad(f"the clock can be set to years {YEARS[0]}-{YEARS[1]} only")
    return moment


def _datetime(text: str, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        _bad(f"{name}: not an ISO 8601 date-time: {text!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _bool_arg(name: str) -> bool | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        _bad(f"{name}: expected true or false, got {raw!r}")
    return raw == "true"


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        _bad(f"{name}: expected an integer >= 0, got {raw!r}")
    return int(raw)


def _amounts(balances: dict[str, Any]) -> dict[str, Decimal]:
    return {currency: _amount(value) for currency, value in balances.items()}


def _set_balances(rt: Runtime, account: Account, amounts: dict[str, Decimal]) -> None:
    for currency, amount in amounts.items():
        rt.accounts.set_balance(account, currency, amount)


# --------------------------------------------------------------------------------------------------------
# Routes


@bp.get("/")
def index() -> Response:
    """What this control plane serves: the mounted providers (name -> prefix), its OpenAPI document and
    ``shared_store`` (true when the state store is shared, Redis: a reset then resets every worker and host
    on it; the inspector page says so before it resets)."""
    providers = {p.name: p.prefix for p in current_app.extensions.get("pixelmock.providers", [])}
    return jsonify(
        openapi=f"{request.host_url.rstrip('/')}{PREFIX}/openapi.json",
        providers=providers,
        shared_store=runtime().store.shared,
    )


def provider_json(provider: ProviderEmulator) -> dict[str, Any]:
    """``{"name", "title", "prefix", "base_url", "colour": {"background", "text"}}``: a mounted provider
    as the provider registry describes it (``contracts/data/providers.yaml``)."""
    entry = registered(provider.name)
    colour = {"background": entry.colour.background, "text": entry.colour.text}
    return {
        "name": provider.name,
        "title": entry.title,
        "prefix": provider.prefix,
        "base_url": entry.base_url.value,
        "colour": colour,
    }


@bp.get("/providers")
def get_providers() -> Response:
    """The mounted providers, in mount order, with their registry facts (the inspector page's names and
    colours)."""
    return jsonify(providers=[provider_json(p) for p in _mounted()])


@bp.get("/openapi.json")
def openapi() -> Response:
    """The admin document with this app as its server."""
    return jsonify(served(DOCUMENT, request.host_url.rstrip("/") + PREFIX))


@bp.post("/reset")
def reset() -> Response:
    """Everything back to a fresh app's state (see ``Runtime.reset``)."""
    rt = runtime()
    rt.reset()
    return jsonify(reset=True, clock=clock_json(rt.clock))


@bp.get("/clock")
def get_clock() -> Response:
    return jsonify(clock_json(runtime().clock))


@bp.put("/clock")
def set_clock() -> Response:
    """``{"date": "YYYY-MM-DD"}`` (same time of day) or ``{"now": "<ISO 8601>"}``."""
    body = _body("setClock")
    clock = runtime().clock
    if "date" in body:
        try:
            day = dt.date.fromisoformat(str(body["date"]))
        except ValueError:
            _bad(f"date: not an ISO 8601 date: {body['date']!r}")
        _in_range(dt.datetime.combine(day, dt.time(), dt.UTC))
        clock.set_date(day)
    else:
        clock.set_now(_in_range(_datetime(str(body["now"]), "now")))
    runtime().control.changed()
    runtime().tick(wait=True)
    return jsonify(clock_json(clock))


@bp.post("/clock/advance")
def advance_clock() -> Response:
    """``{"seconds": n}``: move the clock forward (``n`` >= 0)."""
    seconds = float(_body("advanceClock")["seconds"])
    clock = runtime().clock
    try:
        _in_range(clock.now() + dt.timedelta(seconds=seconds))
    except OverflowError:
        _bad("the clock cannot go that far")
    clock.advance(seconds)
    runtime().control.changed()
    runtime().tick(wait=True)
    return jsonify(clock_json(clock))


@bp.get("/journal")
def get_journal() -> Response:
    """Entries oldest first, filtered by ``provider``, ``method``, ``status`` (404 or 4xx), ``path``
    (substring), ``since`` (virtual time), ``after`` (seq), ``limit`` (most recent), ``unmatched``
    (``true``: only the requests no route matched)."""
    args = request.args
    status = args.get("status")
    if status is not None and not STATUS.match(status):
        _bad(f"status: expected a status such as 404 or a class such as 4xx, got {status!r}")
    since = args.get("since")
    journal = runtime().journal
    entries = journal.entries(
        provider=args.get("provider"),
        method=args.get("method"),
        status=status,
        path=args.get("path"),
        since=_datetime(since, "since") if since is not None else None,
        after=_int_arg("after"),
        limit=_int_arg("limit"),
        unmatched=_bool_arg("unmatched"),
    )
    return jsonify(entries=[e.to_json() for e in entries], count=len(entries), limit=journal.limit)


@bp.get("/journal/unanswered")
def get_unanswered() -> Response:
    """The requests charged whose answer was never recorded (``Journal.unanswered``), oldest first."""
    found = runtime().journal.unanswered()
    return jsonify(requests=found, count=len(found))


@bp.delete("/journal")
def clear_journal() -> Response:
    runtime().journal.clear()
    return Response(status=204)


@bp.get("/bill")
def get_bill() -> Response:
    """What the requests since the start (or the last reset) cost, per provider and model."""
    return jsonify(bill_json(runtime().bill.rows()))


@bp.get("/ledger")
def get_ledger() -> Response:
    """Ledger lines oldest first, filtered by ``key``, ``account`` and ``currency``, with totals."""
    rt = runtime()
    lines = rt.accounts.lines()
    key, ident, currency = (request.args.get(n) for n in ("key", "account", "currency"))
    if key:
        lines = [line for line in lines if line.account_id == account_id(key)]
    if ident:
        lines = [line for line in lines if line.account_id == ident]
    if currency:
        lines = [line for line in lines if line.currency == currency]
    return jsonify(ledger_json(rt, lines))


@bp.get("/accounts")
def get_accounts() -> Response:
    """Every account, or (``?key=``) the key's own, created with the starting balances if new."""
    rt = runtime()
    key = request.args.get("key")
    accounts = [rt.accounts.for_key(key)] if key else rt.accounts.snapshot()
    return jsonify(accounts=[account_json(rt, a) for a in accounts])


@bp.put("/accounts/balances")
def set_balances() -> Response:
    """``{"key" | "account", "balances": {currency: amount}}``; each change is a ledger line."""
    body = _body("setBalances")
    amounts = _amounts(body["balances"])
    rt = runtime()
    if "key" in body:
        account = rt.accounts.for_key(str(body["key"]))
    else:
        found = rt.accounts.get(str(body["account"]))
        if found is None:
            raise AdminError(404, f"no account {body['account']!r}")
        account = found
    _set_balances(rt, account, amounts)
    return jsonify(account_json(rt, account))


@bp.post("/keys")
def set_key() -> Response:
    """``{"key", "status": "active" | "invalid" | "inactive", "balances"?}``: add or revoke a key."""
    body = _body("setKey")
    amounts = _amounts(body.get("balances", {}))
    rt = runtime()
    status = cast(KeyStatus, body.get("status", "active"))
    account = rt.accounts.set_key_status(str(body["key"]), status)
    _set_balances(rt, account, amounts)
    return jsonify(account_json(rt, account))


# --------------------------------------------------------------------------------------------------------
# Faults, outbound deliveries, latency


def _mounted() -> list[ProviderEmulator]:
    return list(current_app.extensions.get("pixelmock.providers", []))


@bp.get("/faults")
def get_faults() -> Response:
    """The rules, in the order they are tried, and the kinds each mounted provider answers."""
    kinds = {p.name: sorted(kinds_of(p)) for p in _mounted()}
    return jsonify(rules=runtime().faults.rules(), kinds=kinds)


@bp.post("/faults")
def add_fault() -> Response:
    """``{"kind", "provider"?, "operation"?, "model"?, "nth"?, "times"?, "probability"?, "seed"?,
    "params"?}``: a rule; 400 for a kind the provider has no documented answer for."""
    body = _body("addFault")
    try:
        rule = runtime().faults.add(_mounted(), **body)
    except FaultError as exc:
        _bad(str(exc))
    response = jsonify(rule.to_json())
    response.status_code = 201
    return response


@bp.delete("/faults")
def clear_faults() -> Response:
    runtime().faults.clear()
    return Response(status=204)


@bp.delete("/faults/<rule_id>")
def remove_fault(rule_id: str) -> Response:
    if not runtime().faults.remove(rule_id):
        raise AdminError(404, f"no fault rule {rule_id!r}")
    return Response(status=204)


@bp.get("/webhooks")
def get_webhooks() -> Response:
    """Outbound deliveries (webhooks, uploads) oldest first, with their attempts; filtered by
    ``provider``, ``group`` (job id, taskUUID) and ``status``."""
    args = request.args
    found = runtime().webhooks.deliveries(
        provider=args.get("provider"), group=args.get("group"), status=args.get("status")
    )
    return jsonify(deliveries=[d.to_json() for d in found])


def latency_json(rt: Runtime) -> dict[str, Any]:
    """``{"profile", "speed_factor", "clock_frozen"}``."""
    return {**rt.latency.setting.to_json(), "clock_frozen": rt.clock.frozen}


@bp.get("/latency")
def get_latency() -> Response:
    return jsonify(latency_json(runtime()))


@bp.put("/latency")
def set_latency() -> Response:
    """``{"profile": "instant" | "realistic" | "manual", "speed_factor"?}``."""
    body = _body("setLatency")
    rt = runtime()
    try:
        rt.latency.set(str(body["profile"]), body.get("speed_factor"))
    except ValueError as exc:
        _bad(str(exc))
    return jsonify(latency_json(rt))


@bp.get("/stats")
def get_stats() -> Response:
    """Held and evicted counts and bytes per byte budget and per store namespace (``Runtime.stats``)."""
    return jsonify(runtime().stats())


# --------------------------------------------------------------------------------------------------------
# Inspector page: ``GET /__admin/ui`` and its two files, shipped in ``emulators/admin/ui`` (package
# data). The page reads this control plane only;
# it draws every piece of request content as text (``emulators/admin/ui/app.js``).

#: The page's files under ``/__admin/ui/``, with their media types; nothing else is served there.
UI_FILES = {"app.js": "text/javascript", "style.css": "text/css"}
#: The page loads its own files and images only, and talks to this control plane only.
UI_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _ui_file(name: str, media_type: str) -> Response:
    """One of the page's files (read from the installed package), with the page's content policy."""
    data = resources.files("pixelmock.emulators.admin").joinpath("ui").joinpath(name).read_bytes()
    response = Response(data, mimetype=media_type)
    response.headers["Content-Security-Policy"] = UI_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/ui")
def inspector() -> Response:
    """The inspector page (HTML): journal, jobs and tasks, ledger, webhooks, faults, clock buttons."""
    return _ui_file("index.html", "text/html")


@bp.get("/ui/<name>")
def inspector_file(name: str) -> Response:
    """The page's script or style sheet; 404 for any other name."""
    media_type = UI_FILES.get(name)
    if media_type is None:
        raise AdminError(404, f"no inspector file {name!r}")
    return _ui_file(name, media_type)


# --------------------------------------------------------------------------------------------------------
# Settings


def _settings_view() -> Response:
    return jsonify(settings_json(runtime().config, current_app.extensions.get(SERVER_KEY)))


@bp.get("/settings")
def get_settings() -> Response:
    """Every setting in force (``pixelmock.emulators.config.settings.settings_json``)."""
    return _settings_view()


@bp.put("/settings")
def set_settings() -> Response:
    """``{name: value}``: change settings that can change at run time; 400 (nothing changed) for an
    unknown one, one that cannot change at run time, or a bad value."""
    body = _body("setSettings")
    try:
        runtime().configure(changes(body))
    except (SettingError, ValueError) as exc:
        _bad(str(exc))
    return _settings_view()
