"""Balances and API keys through the control plane, observed through the providers' own routes.

Oracles: Apiframe's documented 402 body (``creditsRequired``/``creditsAvailable``) and 401/403 answers,
Runware's ``invalidApiKey``; the balances the test set itself.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.accounts import BALANCE_SET_MEMO, account_id

KEY = "afk_accounts_0001"
HIGH = {"model": "gpt-image-1.5", "prompt": "a lighthouse", "gptImageParams": {"quality": "high"}}


def _submit(http: httpx.Client, key: str = KEY) -> httpx.Response:
    return http.post("/apiframe/v2/images/generate", json=HIGH, headers={"X-API-Key": key})


def _account(http: httpx.Client, key: str) -> dict[str, Any]:
    response = http.get("/__admin/accounts", params={"key": key})
    assert response.status_code == 200
    [account] = response.json()["accounts"]
    return dict(account)


def test_a_key_reads_as_its_account_with_the_starting_balances(http: httpx.Client) -> None:
    account = _account(http, KEY)
    assert account == {
        "id": account_id(KEY),
        "status": "active",
        "balances": {"credits": "10000", "USD": "100"},
    }
    assert [a["id"] for a in http.get("/__admin/accounts").json()["accounts"]] == [account_id(KEY)]


def test_a_short_balance_is_apiframes_402(http: httpx.Client) -> None:
    response = http.put("/__admin/accounts/balances", json={"key": KEY, "balances": {"credits": "5"}})
    assert response.status_code == 200
    assert response.json()["balances"]["credits"] == "5"

    refused = _submit(http)
    assert refused.status_code == 402
    assert refused.json()["creditsRequired"] == 24
    assert refused.json()["creditsAvailable"] == 5
    me = http.get("/apiframe/v2/me", headers={"X-API-Key": KEY}).json()
    assert me["team"]["credits"] == 5

    [line] = http.get("/__admin/ledger", params={"key": KEY}).json()["lines"]
    assert (line["amount"], line["balance_after"], line["memo"]) == ("-9995", "5", BALANCE_SET_MEMO)

    http.put("/__admin/accounts/balances", json={"account": account_id(KEY), "balances": {"credits": 24}})
    assert _submit(http).status_code == 202
    assert _account(http, KEY)["balances"]["credits"] == "0"


def test_usd_balances_take_decimal_strings_and_numbers(http: httpx.Client) -> None:
    body = {"key": "rw_accounts", "balances": {"USD": "0.00001", "credits": 2.5}}
    balances = http.put("/__admin/accounts/balances", json=body).json()["balances"]
    assert (Decimal(balances["USD"]), Decimal(balances["credits"])) == (Decimal("0.00001"), Decimal("2.5"))
    task = {
        "taskType": "imageInference",
        "taskUUID": "6a3bd0b1-6f0e-4b39-9c9f-0d8f7e1c2a11",
        "model": "openai:4@1",
        "positivePrompt": "a fox",
        "width": 1024,
        "height": 1024,
    }
    refused = http.post("/runware/v1", json=[task], headers={"Authorization": "Bearer rw_accounts"})
    assert refused.json()["errors"][0]["code"] == "insufficientCredits"


@pytest.mark.parametrize(("status", "http_status"), [("invalid", 401), ("inactive", 403)])
def test_revoked_keys_get_the_providers_answer_and_can_come_back(
    http: httpx.Client, status: str, http_status: int
) -> None:
    assert _submit(http).status_code == 202
    revoked = http.post("/__admin/keys", json={"key": KEY, "status": status})
    assert revoked.status_code == 200
    assert revoked.json()["status"] == status
    assert _submit(http).status_code == http_status
    assert http.get("/apiframe/v2/me", headers={"X-API-Key": KEY}).status_code == http_status

    restored = http.post("/__admin/keys", json={"key": KEY})  # status defaults to active
    assert restored.json()["status"] == "active"
    assert _submit(http).status_code == 202


def test_a_revoked_runware_key_is_invalid_api_key(http: httpx.Client) -> None:
    http.post("/__admin/keys", json={"key": "rw_revoked_key", "status": "invalid"})
    response = http.post(
        "/runware/v1",
        json=[{"taskType": "ping", "ping": True}],
        headers={"Authorization": "Bearer rw_revoked_key"},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "invalidApiKey"


def test_with_open_accounts_off_only_added_keys_work() -> None:
    app = create_app(EmulatorConfig(open_accounts=False, api_keys=frozenset({"afk_configured"})))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
    assert _submit(client, "afk_configured").status_code == 202
    assert _submit(client, "afk_stranger").status_code == 401
    added = client.post("/__admin/keys", json={"key": "afk_stranger", "balances": {"credits": "30"}})
    assert added.json() == {
        "id": account_id("afk_stranger"),
        "status": "active",
        "balances": {"credits": "30", "USD": "100"},
    }
    assert _submit(client, "afk_stranger").status_code == 202
    assert "afk_stranger" not in client.get("/__admin/accounts").text
    client.post("/__admin/reset")
    assert _submit(client, "afk_stranger").status_code == 401  # a reset forgets added keys
    assert _submit(client, "afk_configured").status_code == 202


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/__admin/keys", {"key": KEY, "status": "banned"}, 400),
        ("POST", "/__admin/keys", {"key": ""}, 400),
        ("POST", "/__admin/keys", {"status": "active"}, 400),
        ("PUT", "/__admin/accounts/balances", {"key": KEY, "balances": {"credits": "-1"}}, 400),
        ("PUT", "/__admin/accounts/balances", {"key": KEY, "balances": {"credits": -1}}, 400),
        ("PUT", "/__admin/accounts/balances", {"key": KEY, "balances": {}}, 400),
        ("PUT", "/__admin/accounts/balances", {"key": KEY, "balances": {"USD": "1e3"}}, 400),
        (
            "PUT",
            "/__admin/accounts/balances",
            {"key": KEY, "account": "acct_x", "balances": {"USD": "1"}},
            400,
        ),
        (
            "PUT",
            "/__admin/accounts/balances",
            {"account": "acct_000000000000", "balances": {"USD": "1"}},
            404,
        ),
    ],
)
def test_bad_account_requests(http: httpx.Client, method: str, path: str, body: Any, status: int) -> None:
    response = http.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert http.get("/__admin/ledger").json()["lines"] == []


def test_no_raw_key_is_kept_anywhere_the_control_plane_shows(http: httpx.Client) -> None:
    http.post("/__admin/keys", json={"key": KEY, "status": "inactive", "balances": {"USD": "3"}})
    http.put("/__admin/accounts/balances", json={"key": KEY, "balances": {"credits": "7"}})
    _submit(http)
    for path in ("/__admin/accounts", "/__admin/ledger", "/__admin/journal"):
        assert KEY not in http.get(path).text, path
    assert json.loads(http.get("/__admin/accounts").text)["accounts"][0]["status"] == "inactive"
