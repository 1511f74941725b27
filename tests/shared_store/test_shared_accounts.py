"""Accounts, keys, ledger, bill, latency profile and run-time settings shared by the apps of one store
(``twin_apps``: two workers, or two hosts, of one emulator): what is done through app A is seen, exactly
once, through app B; concurrent debits through both never take a balance below zero and leave every
ledger line exact; a reset through A resets B."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask
from ledger_invariant import check_ledger

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.accounts import account_id
from pixelmock.emulators.core.runtime import Runtime

EMULATED_PROVIDERS = ["apiframe", "gmicloud"]

KEY = "afk_shared_accounts"
APIFRAME = {"X-API-Key": KEY}
GMI = {"Authorization": "Bearer gmi-shared-accounts"}
GMI_REQUESTS = "/gmicloud/api/v1/ie/requestqueue/apikey/requests"
JOB = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "gptImageParams": {"quality": "low"}}


def _client(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


def _rt(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["pixelmock"]
    return runtime


def _submit(app: Flask) -> int:
    """One Apiframe job through ``app`` (a fresh test client: safe from any thread); its status."""
    return app.test_client().post("/apiframe/v2/images/generate", json=JOB, headers=APIFRAME).status_code


def _gmi(app: Flask) -> int:
    body = {"model": "gpt-image-2", "payload": {"prompt": "a fox", "quality": "low", "size": "1024x1024"}}
    return app.test_client().post(GMI_REQUESTS, json=body, headers=GMI).status_code


@pytest.fixture
def admins(twin_apps: tuple[Flask, Flask]) -> tuple[PixelmockAdmin, PixelmockAdmin]:
    a, b = twin_apps
    return PixelmockAdmin.for_app(a), PixelmockAdmin.for_app(b)


# -- balances, ledger, bill --------------------------------------------------------------------------------


def test_a_debit_on_one_app_is_one_ledger_line_and_one_balance_on_the_other(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    admin_a, admin_b = admins
    start = admin_b.balance(KEY, "credits")
    assert _submit(a) == 202
    [line] = admin_b.ledger(key=KEY)["lines"]
    cost = -Decimal(line["amount"])
    assert cost > 0 and Decimal(line["balance_after"]) == start - cost
    assert admin_b.balance(KEY, "credits") == admin_a.balance(KEY, "credits") == start - cost
    assert [acct["id"] for acct in admin_b.accounts()] == [account_id(KEY)]  # created once, on A
    assert _submit(b) == 202
    assert [Decimal(x["balance_after"]) for x in admin_a.ledger(key=KEY)["lines"]] == [
        start - cost,
        start - 2 * cost,
    ]


def test_a_balance_set_on_one_app_decides_what_the_other_accepts(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a = twin_apps[0]
    admin_a, admin_b = admins
    assert _submit(a) == 202
    cost = -Decimal(admin_a.ledger(key=KEY)["lines"][0]["amount"])
    admin_b.set_balance(KEY, "credits", cost)
    assert _submit(a) == 202  # exactly what B left
    answer = a.test_client().post("/apiframe/v2/images/generate", json=JOB, headers=APIFRAME)
    assert answer.status_code == 402 and answer.get_json()["creditsAvailable"] == 0
    assert admin_b.balance(KEY, "credits") == 0
    assert [line["memo"].split(" ")[0] for line in admin_b.ledger(key=KEY)["lines"]] == [
        "apiframe",
        "pixelmock",
        "apiframe",
    ]


def test_the_bill_through_either_app_is_the_whole_emulators(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    assert _submit(a) == _submit(b) == 202
    assert _gmi(b) == 200
    bill_a, bill_b = (admin.bill() for admin in admins)
    assert bill_a == bill_b
    assert [(r.provider, r.model, r.requests, r.images) for r in bill_a.rows] == [
        ("apiframe", "gpt-image-1.5", 2, 2),
        ("gmicloud", "gpt-image-2", 1, 1),
    ]
    debits = {
        currency: -sum(Decimal(x["amount"]) for x in admins[0].ledger(currency=currency)["lines"])
        for currency in ("credits", "USD")
    }
    assert bill_a.totals() == debits


def test_a_refund_made_on_the_other_app_goes_to_the_job_s_row(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    # Charged at submission on A, refunded on B when its poll finds the job FAILED (as in test_bill.py).
    images = [f"https://example.com/{i}.png" for i in range(17)]
    failing = {
        "model": "gpt-image-2",
        "prompt": "a fox",
        "gptImage2Params": {"quality": "low", "input_images": images},
    }
    answer = _client(a).post("/apiframe/v2/images/generate", json=failing, headers=APIFRAME)
    assert answer.status_code == 202 and admins[1].bill().cost("credits") > 0
    job = _client(b).get(f"/apiframe/v2/jobs/{answer.json()['jobId']}", headers=APIFRAME).json()
    assert job["status"] == "FAILED"
    [row] = admins[0].bill().rows
    assert (row.provider, row.model, row.requests, row.cost) == ("apiframe", "gpt-image-2", 1, {"credits": 0})


# -- keys -----------------------------------------------------------------------------------------------


def test_a_key_revoked_on_one_app_is_refused_by_the_other(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    assert _submit(b) == 202
    admins[0].revoke_key(KEY, "inactive")
    assert _submit(b) == 403
    admins[0].revoke_key(KEY, "invalid")
    assert _submit(b) == 401
    assert admins[1].account(KEY)["status"] == "invalid"
    admins[1].add_key(KEY)
    assert _submit(a) == 202


def test_a_key_added_on_one_app_is_accepted_by_the_other_when_accounts_are_closed(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    b = twin_apps[1]
    admins[1].set_settings(open_accounts=False)
    assert _submit(b) == 401
    admins[0].add_key(KEY, {"credits": 100})
    assert _submit(b) == 202
    assert admins[1].account(KEY)["status"] == "active"


# -- latency and settings ------------------------------------------------------------------------------


def test_a_latency_switch_on_one_app_holds_on_the_other_until_a_reset(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    admin_a, admin_b = admins
    admin_a.set_latency("realistic", 50)
    assert admin_b.latency() == {"profile": "realistic", "speed_factor": 50.0, "clock_frozen": False}
    assert _rt(twin_apps[1]).latency.job_seconds("apiframe", "low") == pytest.approx(15 / 50)
    admin_b.set_latency("manual")
    assert admin_a.latency() == {"profile": "manual", "speed_factor": 50.0, "clock_frozen": True}
    assert admin_a.now() == admin_b.now()  # one frozen clock
    admin_b.reset()
    assert admin_a.latency() == {"profile": "instant", "speed_factor": 1.0, "clock_frozen": False}


def test_settings_changed_on_one_app_are_in_force_on_the_other_and_survive_a_reset(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    admin_a, admin_b = admins
    admin_a.set_settings(starting_balances="credits=12,USD=3", latency_profile="manual", open_accounts=False)
    shown = admin_b.settings()
    assert (shown["starting_balances"], shown["latency_profile"], shown["open_accounts"]) == (
        {"credits": "12", "USD": "3"},
        "manual",
        False,
    )
    assert admin_b.latency()["clock_frozen"] is True
    assert _submit(b) == 401  # accounts closed on B too
    admin_b.add_key(KEY)
    assert admin_a.balance(KEY, "credits") == 12  # the new starting balance, account made on B
    admin_b.reset()
    assert admin_a.settings()["starting_balances"] == {"credits": "12", "USD": "3"}
    assert admin_a.latency() == {"profile": "manual", "speed_factor": 1.0, "clock_frozen": True}
    assert _submit(a) == 401  # the key added before the reset is gone, accounts still closed


def test_a_worker_started_later_on_the_store_answers_as_the_others(
    config: EmulatorConfig,
    twin_apps: tuple[Flask, Flask],
    admins: tuple[PixelmockAdmin, PixelmockAdmin],
) -> None:
    a, _ = twin_apps
    admin_a = admins[0]
    admin_a.set_settings(starting_balances="credits=12,USD=3")
    admin_a.set_latency("realistic", 20)
    admin_a.revoke_key("afk_revoked", "inactive")
    assert _submit(a) == 202
    # A restarted process, or another host: its own config as read at start, the same store.
    late = PixelmockAdmin.for_app(create_app(replace(config), EMULATED_PROVIDERS, _rt(a).store))
    assert late.settings()["starting_balances"] == {"credits": "12", "USD": "3"}
    assert late.latency() == {"profile": "realistic", "speed_factor": 20.0, "clock_frozen": False}
    assert late.account("afk_revoked")["status"] == "inactive"
    assert late.balance(KEY, "credits") == admin_a.balance(KEY, "credits") < 12
    assert late.ledger() == admin_a.ledger() and late.bill() == admin_a.bill()


# -- races ------------------------------------------------------------------------------------------------


def _race(twins: tuple[Flask, Flask], calls: int, call: Callable[[Flask], Any]) -> list[Any]:
    """``calls`` calls of ``call(app)`` from 8 threads, alternating the two apps, released together."""
    gate = threading.Barrier(8)

    def one(i: int) -> Any:
        if i < 8:
            gate.wait()
        return call(twins[i % 2])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(calls)))


def test_concurrent_jobs_through_both_apps_never_overdraw_and_leave_the_ledger_exact(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    assert _submit(a) == 202
    cost = -Decimal(admins[0].ledger(key=KEY)["lines"][0]["amount"])
    admins[1].set_balance(KEY, "credits", cost * 12)
    statuses = _race(twin_apps, 40, _submit)
    assert sorted(set(statuses)) == [202, 402] and statuses.count(202) == 12
    lines = _rt(b).accounts.lines()
    assert [line.balance_after for line in lines[2:]] == [cost * (11 - i) for i in range(12)]
    assert admins[0].balance(KEY, "credits") == 0
    for app in twin_apps:
        check_ledger(_rt(app))


def test_concurrent_debits_and_credits_through_both_runtimes_are_exact(
    twin_apps: tuple[Flask, Flask],
) -> None:
    runtimes = [_rt(app) for app in twin_apps]
    account = runtimes[0].accounts.for_key("sk-race")
    runtimes[1].accounts.set_balance(account, "USD", Decimal("1.00"))

    def move(app: Flask) -> bool:
        accounts = _rt(app).accounts
        if accounts.debit(account, "USD", Decimal("0.03"), "race debit"):
            accounts.credit(account, "USD", Decimal("0.01"), "race refund")
            return True
        return False

    taken = _race(twin_apps, 120, move).count(True)
    while move(twin_apps[taken % 2]):  # whatever the interleaving, drained one by one afterwards
        taken += 1
    # Each success nets 0.02; a debit needs 0.03 on hand: 1.00 allows exactly 49 before going short.
    assert taken == 49
    balance = runtimes[1].accounts.balance(account, "USD")
    assert balance == Decimal("1.00") - Decimal("0.02") * taken >= 0
    running = Decimal("1.00")
    for line in runtimes[0].accounts.lines()[1:]:
        running += line.amount
        assert line.balance_after == running >= 0


# -- reset ------------------------------------------------------------------------------------------------


def test_a_reset_on_one_app_empties_the_other(
    twin_apps: tuple[Flask, Flask], admins: tuple[PixelmockAdmin, PixelmockAdmin]
) -> None:
    a, b = twin_apps
    assert _submit(b) == 202 and _gmi(b) == 200
    admins[1].revoke_key("afk_revoked")
    admins[1].set_latency("realistic", 1000)
    admins[0].reset()
    admin_b = admins[1]
    assert admin_b.ledger()["lines"] == [] and admin_b.accounts() == [] and admin_b.bill().rows == ()
    assert admin_b.latency()["profile"] == "instant"
    assert admin_b.account("afk_revoked")["status"] == "active"
    start = admin_b.balance(KEY, "credits")
    assert _submit(a) == 202
    assert admin_b.balance(KEY, "credits") < start == _rt(a).config.starting_balances["credits"]
