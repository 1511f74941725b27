"""The credit ledger through the control plane: every debit adds up to what the provider reported.

Oracles: Apiframe's published credit table (gpt-image-1.5 high x 1 = 24 credits, the documented
cassette's ``creditCost``) and Runware's published per-image cost of the documented example
"Retro-Futurist Metro Poster" (0.19984 USD), plus the costs the emulators report on the wire.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import yaml
from paths import DOCUMENTED as CASSETTES

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.accounts import account_id

APIFRAME_KEY = "afk_ledger_0001"
RUNWARE_KEY = "rw_ledger_0001"


def _interaction(provider: str, name: str, index: int = 0) -> dict[str, Any]:
    return dict(yaml.safe_load((CASSETTES / provider / name).read_text())["interactions"][index])


def _ledger(http: httpx.Client, **params: str) -> dict[str, Any]:
    response = http.get("/__admin/ledger", params=params)
    assert response.status_code == 200
    return dict(response.json())


def _apiframe_job(http: httpx.Client, body: dict[str, Any], key: str = APIFRAME_KEY) -> dict[str, Any]:
    headers = {"X-API-Key": key}
    submitted = http.post("/apiframe/v2/images/generate", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job = http.get(f"/apiframe/v2/jobs/{submitted.json()['jobId']}", headers=headers).json()
    assert job["status"] in ("COMPLETED", "FAILED")
    return dict(job)


def _runware(http: httpx.Client, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = http.post("/runware/v1", json=tasks, headers={"Authorization": f"Bearer {RUNWARE_KEY}"})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_apiframe_debits_equal_the_published_credit_cost(http: httpx.Client) -> None:
    documented = _interaction("apiframe", "gpt_image_1_5_generate_and_poll.yaml")
    published = json.loads(
        _interaction("apiframe", "gpt_image_1_5_generate_and_poll.yaml", 1)["response"]["body"]["string"]
    )
    job = _apiframe_job(http, json.loads(documented["request"]["body"]))
    assert job["creditCost"] == published["creditCost"] == 24

    ledger = _ledger(http, key=APIFRAME_KEY)
    [line] = ledger["lines"]
    assert line["account_id"] == account_id(APIFRAME_KEY)
    assert (line["currency"], Decimal(line["amount"]), Decimal(line["balance_after"])) == (
        "credits",
        -24,
        10_000 - 24,
    )
    assert ledger["totals"] == {
        account_id(APIFRAME_KEY): {
            "credits": {"debited": "24", "credited": "0", "net": "-24", "balance": "9976"}
        }
    }
    me = http.get("/apiframe/v2/me", headers={"X-API-Key": APIFRAME_KEY}).json()
    assert me["team"]["credits"] == 9976


def test_apiframe_jobs_add_up_over_several_requests(http: httpx.Client) -> None:
    bodies = [
        {"model": "gpt-image-1.5", "prompt": "a", "gptImageParams": {"quality": q, "number_of_images": n}}
        for q, n in (("low", 1), ("medium", 2), ("high", 3))
    ]
    costs = [_apiframe_job(http, body)["creditCost"] for body in bodies]
    totals = _ledger(http, key=APIFRAME_KEY)["totals"][account_id(APIFRAME_KEY)]["credits"]
    assert Decimal(totals["debited"]) == sum(costs)
    assert Decimal(totals["balance"]) == 10_000 - sum(costs)


def test_a_failed_apiframe_job_is_refunded_in_the_ledger() -> None:
    app = create_app(EmulatorConfig(options={"apiframe.job_failure": "Provider returned an error"}))
    client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1")
    body = {"model": "gpt-image-1.5", "prompt": "a", "gptImageParams": {"quality": "high"}}
    job = _apiframe_job(client, body)
    assert (job["status"], job["creditCost"]) == ("FAILED", 0)
    ledger = _ledger(client, key=APIFRAME_KEY)
    assert [Decimal(line["amount"]) for line in ledger["lines"]] == [-24, 24]
    assert ledger["totals"][account_id(APIFRAME_KEY)]["credits"] == {
        "debited": "24",
        "credited": "24",
        "net": "0",
        "balance": "10000",
    }


def test_runware_debit_equals_the_published_cost_of_the_documented_example(http: httpx.Client) -> None:
    documented = _interaction("runware", "openai-4-1-retro-futurist-metro-poster.yaml")
    published = json.loads(documented["response"]["body"]["string"])["data"][0]["cost"]
    tasks = json.loads(documented["request"]["body"])
    tasks[0]["includeCost"] = True
    [item] = _runware(http, tasks)
    assert item["cost"] == published == 0.19984
    [line] = _ledger(http, key=RUNWARE_KEY)["lines"]
    assert (line["currency"], Decimal(line["amount"])) == ("USD", -Decimal("0.19984"))


def test_runware_debits_add_up_to_the_item_costs(http: httpx.Client) -> None:
    reported: list[Decimal] = []
    for model, n, size in (("openai:4@1", 3, (1024, 1024)), ("openai:gpt-image@2", 2, (1536, 1024))):
        task = {
            "taskType": "imageInference",
            "taskUUID": str(uuid.uuid4()),
            "model": model,
            "positivePrompt": "a red fox",
            "width": size[0],
            "height": size[1],
            "numberResults": n,
            "includeCost": True,
        }
        items = _runware(http, [task])
        assert len(items) == n
        reported += [Decimal(str(item["cost"])) for item in items]
    ledger = _ledger(http, key=RUNWARE_KEY, currency="USD")
    assert sum(-Decimal(line["amount"]) for line in ledger["lines"]) == sum(reported)
    totals = ledger["totals"][account_id(RUNWARE_KEY)]["USD"]
    assert Decimal(totals["debited"]) == sum(reported)
    assert Decimal(totals["balance"]) == Decimal(100) - sum(reported)


def test_ledger_filters(http: httpx.Client) -> None:
    _apiframe_job(http, {"model": "gpt-image-2", "prompt": "a", "gptImage2Params": {"quality": "low"}})
    _runware(http, [{"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "model": "openai:4@1",
                     "positivePrompt": "a fox", "width": 1024, "height": 1024}])  # fmt: skip
    everything = _ledger(http)
    assert {line["account_id"] for line in everything["lines"]} == {
        account_id(APIFRAME_KEY),
        account_id(RUNWARE_KEY),
    }
    assert [line["currency"] for line in _ledger(http, currency="USD")["lines"]] == ["USD"]
    assert _ledger(http, account=account_id(RUNWARE_KEY))["lines"] == _ledger(http, key=RUNWARE_KEY)["lines"]
    assert _ledger(http, key="nobody")["lines"] == []
    text = json.dumps(everything)
    assert APIFRAME_KEY not in text and RUNWARE_KEY not in text
