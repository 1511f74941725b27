"""The bill of a test run: what the requests cost per provider and model (``GET /__admin/bill``,
``PixelmockAdmin.bill()``), checked against the prices published in ``contracts/data/pricing.yaml`` for
known requests, and the pytest plugin's session summary, run by ``pytester`` as a user's session."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from runware_tasks import image_task

from pixelmock.contracts.openapi import inlined, validate
from pixelmock.emulators.admin.client import Bill, BillRow, PixelmockAdmin
from pixelmock.emulators.core.accounts import LedgerLine
from pixelmock.emulators.core.bill import BillRecorder
from pixelmock.emulators.core.store import MemoryStore

pytest_plugins = ["pytester"]

APIFRAME = {"X-API-Key": "afk_bill_key"}
GMI = {"Authorization": "Bearer gmi-bill-key"}
RUNWARE = {"Authorization": "Bearer rw-bill-key"}
GMI_REQUESTS = "/gmicloud/api/v1/ie/requestqueue/apikey/requests"


@pytest.fixture
def client(app: Flask) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")


@pytest.fixture
def admin(app: Flask) -> PixelmockAdmin:
    return PixelmockAdmin.for_app(app)


def _apiframe(client: httpx.Client, **params: Any) -> httpx.Response:
    body = {"model": "gpt-image-2", "prompt": "a lighthouse", "gptImage2Params": params}
    return client.post("/apiframe/v2/images/generate", json=body, headers=APIFRAME)


def test_known_requests_cost_the_published_prices(client: httpx.Client, admin: PixelmockAdmin) -> None:
    # Apiframe gpt-image-2: 9 credits per medium image, "medium x 4 = 36" (pricing.yaml, documented)
    assert _apiframe(client, quality="medium", number_of_images=4).status_code == 202
    # GMI gpt-image-2: $0.010 per low 1024x1024 image, times n (pricing.yaml, reported)
    body = {
        "model": "gpt-image-2",
        "payload": {"prompt": "a fox", "quality": "low", "size": "1024x1024", "n": 2},
    }
    assert client.post(GMI_REQUESTS, json=body, headers=GMI).status_code == 200
    bill = admin.bill()
    assert bill.rows == (
        BillRow("apiframe", "gpt-image-2", requests=1, images=4, cost={"credits": Decimal(36)}),
        BillRow("gmicloud", "gpt-image-2", requests=1, images=2, cost={"USD": Decimal("0.020")}),
    )
    assert bill.cost("USD") == Decimal("0.02") and bill.cost("credits", provider="apiframe") == 36
    assert bill.cost("USD", provider="apiframe") == 0
    assert (bill.requests(), bill.images(), bill.images(provider="gmicloud")) == (2, 6, 2)
    assert bill.totals() == {"USD": Decimal("0.020"), "credits": Decimal(36)}


def test_the_bill_adds_up_to_the_ledger_debits_and_follows_refunds(
    client: httpx.Client, admin: PixelmockAdmin
) -> None:
    ok = _apiframe(client, quality="low")
    failing = _apiframe(
        client, quality="low", input_images=[f"https://example.com/{i}.png" for i in range(17)]
    )
    assert ok.status_code == failing.status_code == 202
    # The failing job is charged at submission (4 + 4 credits) and refunded when a poll finds it FAILED.
    assert admin.bill().cost("credits") == 8
    job = client.get(f"/apiframe/v2/jobs/{failing.json()['jobId']}", headers=APIFRAME).json()
    assert job["status"] == "FAILED"
    [row] = admin.bill().rows
    assert (row.requests, row.images, row.cost) == (2, 2, {"credits": Decimal(4)})
    debits = sum(-Decimal(line["amount"]) for line in admin.ledger()["lines"])
    assert debits == 4  # the bill is the ledger's movements, attributed


def test_a_runware_batch_bills_each_task_to_its_model(client: httpx.Client, admin: PixelmockAdmin) -> None:
    tasks = [
        image_task(includeCost=True),
        image_task(model="openai:gpt-image@2", includeCost=True, numberResults=2),
    ]
    answer = client.post("/runware/v1", json=tasks, headers=RUNWARE)
    assert answer.status_code == 200, answer.text
    costs: dict[str, Decimal] = {}
    for item in answer.json()["data"]:
        model = "gpt-image-1.5" if item["taskUUID"] == tasks[0]["taskUUID"] else "gpt-image-2"
        costs[model] = costs.get(model, Decimal(0)) + Decimal(str(item["cost"]))
    bill = admin.bill()
    assert [(r.model, r.requests, r.images) for r in bill.rows] == [
        ("gpt-image-1.5", 1, 1),
        ("gpt-image-2", 1, 2),
    ]
    for model, cost in costs.items():  # what Runware reports on each item is what its row was charged
        assert bill.cost("USD", model=model) == cost


def test_balances_set_through_the_control_plane_are_not_billed_and_reset_clears(
    client: httpx.Client, admin: PixelmockAdmin
) -> None:
    admin.set_balance(APIFRAME["X-API-Key"], "credits", 500)
    assert admin.bill().rows == ()
    _apiframe(client, quality="high")
    assert admin.bill().cost("credits") == 23  # gpt-image-2 high: 23 credits (pricing.yaml)
    admin.reset()
    assert admin.bill() == Bill()


def test_the_bill_route_conforms_to_the_admin_contract(client: httpx.Client) -> None:
    _apiframe(client, quality="low")
    answer = client.get("/__admin/bill")
    answers = inlined("admin")["paths"]["/bill"]["get"]["responses"]
    schema = answers["200"]["content"]["application/json"]["schema"]
    assert validate("admin", schema, answer.json()) == []
    assert answer.json() == {
        "rows": [
            {
                "provider": "apiframe",
                "model": "gpt-image-2",
                "requests": 1,
                "images": 1,
                "cost": {"credits": "4"},
            }
        ],
        "totals": {"credits": "4"},
    }


def test_bills_add_up_and_print_as_a_table() -> None:
    a = Bill((BillRow("runware", "gpt-image-2", 1, 1, {"USD": Decimal("0.011")}),))
    b = Bill(
        (
            BillRow("apiframe", "gpt-image-2", 1, 4, {"credits": Decimal(36)}),
            BillRow("runware", "gpt-image-2", 2, 3, {"USD": Decimal("0.033")}),
        )
    )
    total = a + b
    assert total.rows == (
        BillRow("apiframe", "gpt-image-2", 1, 4, {"credits": Decimal(36)}),
        BillRow("runware", "gpt-image-2", 3, 4, {"USD": Decimal("0.044")}),
    )
    assert total.table() == [
        "provider  model        requests  images  cost",
        "apiframe  gpt-image-2         1       4  36 credits",
        "runware   gpt-image-2         3       4  0.044 USD",
        "total                         4       8  0.044 USD, 36 credits",
    ]


# -- the session summary -----------------------------------------------------------------------------------

_SESSION = """
    import httpx
    from decimal import Decimal

    BODY = {"model": "gpt-image-2", "prompt": "a fox", "gptImage2Params": {"quality": "medium"}}

    def _generate(server, n):
        params = {**BODY["gptImage2Params"], "number_of_images": n}
        answer = httpx.post(server.base_url("apiframe") + "/v2/images/generate",
                            json={**BODY, "gptImage2Params": params}, headers={"X-API-Key": "afk_user"})
        assert answer.status_code == 202

    def test_one(pixelmock_server, pixelmock_admin):
        _generate(pixelmock_server, 2)
        assert pixelmock_admin.bill().cost("credits", provider="apiframe") == 18

    def test_two(pixelmock_server, pixelmock_admin):
        _generate(pixelmock_server, 1)
        gmi = pixelmock_server.base_url("gmicloud") + "/requests"
        body = {"model": "gpt-image-2", "payload": {"prompt": "x", "quality": "high", "size": "1536x1024"}}
        assert httpx.post(gmi, json=body, headers={"Authorization": "Bearer k"}).status_code == 200
        assert pixelmock_admin.bill().cost("USD") < Decimal("0.50")
"""


def _plugin_args() -> list[str]:
    """The inner sessions run in a subprocess: run in-process, pytester's restore of ``sys.modules`` drops
    the ``httpcore`` modules they loaded, and a later test's ``httpx`` then meets exception classes it does
    not map (``tests/core/test_faults.py`` right after this file saw a raw ``httpcore`` error)."""
    from importlib.metadata import entry_points

    plugin = "pixelmock.emulators.tools.pytest_plugin"
    installed = any(ep.value == plugin for ep in entry_points(group="pytest11"))
    return ["-p", "no:cacheprovider"] + ([] if installed else ["-p", plugin])


def test_the_session_prints_its_bill(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_spending=_SESSION)
    result = pytester.runpytest_subprocess(*_plugin_args())
    result.assert_outcomes(passed=2)
    # Apiframe gpt-image-2 medium: 9 credits x (2 + 1); GMI gpt-image-2 high 1536x1024: $0.440 (pricing.yaml)
    result.stdout.fnmatch_lines(
        [
            "*= pixelmock bill =*",
            "what the requests of 2 test apps would have cost at the providers (ledger)",
            "provider  model        requests  images  cost",
            "apiframe  gpt-image-2         2       3  27 credits",
            "gmicloud  gpt-image-2         1       1  0.440 USD",
            "total                         3       4  0.440 USD, 27 credits",
        ]
    )
    lines = result.stdout.lines
    assert lines.index("total                         3       4  0.440 USD, 27 credits") < len(lines) - 1
    assert "passed" in lines[-1]  # pytest's own closing line stays last


def test_the_bill_can_be_left_out_and_needs_a_pixelmock_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_spending=_SESSION, test_plain="def test_plain():\n    assert True\n")
    quiet = pytester.runpytest_subprocess(*_plugin_args(), "--no-pixelmock-bill")
    quiet.assert_outcomes(passed=3)
    assert not any("pixelmock bill" in line for line in quiet.stdout.lines)
    plain = pytester.runpytest_subprocess(*_plugin_args(), "test_plain.py")
    plain.assert_outcomes(passed=1)
    assert not any("pixelmock bill" in line for line in plain.stdout.lines)


def test_the_access_log_stays_out_of_the_terminal(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_spending=_SESSION)
    result = pytester.runpytest_subprocess(*_plugin_args(), "-s")
    result.assert_outcomes(passed=2)
    assert not any("/v2/images/generate" in line for line in result.stdout.lines + result.stderr.lines)
    live = pytester.runpytest_subprocess(*_plugin_args(), "--log-cli-level=INFO")
    live.stdout.fnmatch_lines(["*POST /apiframe/v2/images/generate 202 *apiframe job=* cost=18 credits*"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.decimals(min_value=-1000, max_value=1000, allow_nan=False, allow_infinity=False, places=7),
        min_size=1,
        max_size=12,
    )
)
def test_a_row_costs_exactly_the_sum_of_its_lines_whatever_their_exponents(amounts: list[Decimal]) -> None:
    """The bill counts each line's cost as an integer mantissa at its own decimal exponent (store counters,
    no read-modify-write): the row must still hold the exact sum, refunds included."""
    recorder = BillRecorder(MemoryStore())
    for n, amount in enumerate(amounts):
        images = 1 if amount <= 0 else 0  # a debit counts its task, a refund none
        line = LedgerLine("acct_x", "USD", amount.normalize(), Decimal(0), f"task {n}", "2026-11-21T00:00:00")
        recorder.record(replace(line, provider="runware", job_id=f"task {n}", images=images))
    (row,) = recorder.rows()
    assert row.cost == {"USD": -sum(amounts, Decimal(0))}
    assert row.requests == sum(1 for a in amounts if a <= 0)
