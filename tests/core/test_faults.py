"""Fault injection: rules (provider, operation, model, nth call, seeded probability) and the one-off
X-Pixelmock-Fault header, flow faults through the provider's flow (a failed Apiframe job with its refund,
a GMI request left queued, a Runware task that times out), and the reference client seeing a 429 and then
succeeding.

Each provider's own answer to each fault (statuses and codes as the public sources document them, checked
independently of the contracts' x-faults) is tested in its own folder,
``tests/providers/<name>/test_<name>_faults.py`` (``ANSWERS``, with ``tests/support/fault_answers.py``);
this file checks every provider of the registry has that file. Requests are built by ``fault_answers``
the way the reference client sends them (a gpt-image-1.5 generation unless a test says otherwise)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fault_answers import KEY, in_process, send
from flask import Flask
from paths import ROOT as REPO
from runware_tasks import image_task

from pixelmock.client import ImageClient, PollPolicy, Provider
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.openapi import PROVIDERS, document
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin, PixelmockAdminError
from pixelmock.emulators.core.faults import GENERIC_KINDS, FaultError, parse_header

BEARER = {"Authorization": f"Bearer {KEY}"}
APIFRAME_KEY = {"X-API-Key": KEY}
GMI = "/gmicloud/api/v1/ie/requestqueue/apikey"
GPT_IMAGE_2 = CanonicalRequest(model="gpt-image-2", prompt="a fox", quality="low", size="1024x1024")


def _runware_task(**fields: Any) -> dict[str, Any]:
    return image_task(**{"model": "openai:gpt-image@2", "positivePrompt": "a fox", **fields})


@pytest.fixture
def admin(app: Flask) -> PixelmockAdmin:
    return PixelmockAdmin.for_app(app)


# -- each provider's own answer ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_has_its_own_answers_to_faults_tested(provider: str) -> None:
    path = REPO / "tests" / "providers" / provider / f"test_{provider}_faults.py"
    assert path.is_file(), f"{path.relative_to(REPO)} checks {provider}'s answers to faults: it is missing"
    assert "check_answer(" in path.read_text(), f"{path.name} checks no answer"


def test_the_kinds_on_offer_are_the_documented_ones_and_others_are_refused(admin: PixelmockAdmin) -> None:
    kinds = admin.fault_kinds()
    assert set(kinds) == set(PROVIDERS)
    for provider, offered in kinds.items():
        declared = {k for k in document(provider)["x-faults"] if not k.startswith("x-")}
        assert set(offered) == declared | set(GENERIC_KINDS)
    refused = [
        ({"kind": "content_policy", "provider": "cloudflare"}, "no documented answer"),
        ({"kind": "stuck", "provider": "openai"}, "no documented answer"),
        ({"kind": "rate_limit"}, None),  # every provider answers it
        ({"kind": "stuck"}, "no documented answer"),  # only GMI does
        ({"kind": "rate_limit", "operation": "getJob"}, "needs provider"),
        ({"kind": "rate_limit", "provider": "apiframe", "operation": "nope"}, "no operation"),
        ({"kind": "content_policy", "provider": "apiframe", "operation": "getJob"}, "generateImage only"),
        ({"kind": "slow", "retry_after": 1}, "takes no parameter"),
        ({"kind": "rate_limit", "nth": 1, "probability": 0.5}, "not both"),
    ]
    for body, message in refused:
        if message is None:
            assert admin.add_fault(**body)["kind"] == body["kind"]
            continue
        with pytest.raises(PixelmockAdminError) as info:
            admin.add_fault(**body)
        assert info.value.status == 400 and message in info.value.message, body


def test_a_header_the_provider_cannot_honour_is_a_400_from_pixelmock(app: Flask) -> None:
    client = in_process(app)
    for provider, value, reason in [
        ("cloudflare", "content_policy", "no documented answer"),
        ("openai", "earthquake", "unknown fault kind"),
        ("apiframe", "rate_limit; seconds=3", "takes no parameter"),
        ("apiframe", "slow; seconds=lots", "not a number"),
    ]:
        answer = send(client, provider, {"X-Pixelmock-Fault": value})
        assert answer.status_code == 400
        assert answer.json()["error"].startswith("pixelmock: ") and reason in answer.json()["error"]
    jobs = client.get("/apiframe/v2/jobs/00000000-0000-4000-8000-000000000000", headers=APIFRAME_KEY.copy())
    assert jobs.status_code == 404  # no header, no fault
    refused = client.get(
        "/apiframe/v2/jobs/00000000-0000-4000-8000-000000000000",
        headers={**APIFRAME_KEY, "X-Pixelmock-Fault": "content_policy"},
    )
    assert refused.status_code == 400 and "generateImage only" in refused.json()["error"]
    assert parse_header("rate_limit; retry_after=3") == ("rate_limit", {"retry_after": 3})
    with pytest.raises(FaultError):
        parse_header("drop; after")


# -- rule matching -------------------------------------------------------------------------------------


def test_an_nth_call_rule_fires_on_that_call_only_and_counts(app: Flask, admin: PixelmockAdmin) -> None:
    client = in_process(app)
    rule = admin.add_fault("rate_limit", provider="apiframe", operation="generateImage", nth=2, retry_after=9)
    statuses = [send(client, "apiframe").status_code for _ in range(3)]
    assert statuses == [202, 429, 202]
    limited = [e for e in admin.journal(status=429)]
    assert limited[0]["response"]["headers"]["Retry-After"] == "9"
    assert client.get("/apiframe/v2/me", headers=APIFRAME_KEY).status_code == 200  # another operation
    [seen] = admin.faults()
    assert (seen["id"], seen["calls"], seen["fired"]) == (rule["id"], 3, 1)
    admin.remove_fault(rule["id"])
    assert admin.faults() == []
    with pytest.raises(PixelmockAdminError) as info:
        admin.remove_fault(rule["id"])
    assert info.value.status == 404


def test_times_caps_an_every_call_rule_and_reset_clears_rules(app: Flask, admin: PixelmockAdmin) -> None:
    client = in_process(app)
    admin.add_fault("server_error", provider="gmicloud", times=2)
    assert [send(client, "gmicloud").status_code for _ in range(3)] == [500, 500, 200]
    admin.add_fault("server_error", provider="gmicloud")
    admin.reset()
    assert admin.faults() == [] and send(client, "gmicloud").status_code == 200


def test_a_seeded_probability_rule_fires_the_same_calls_in_every_run() -> None:
    def run() -> list[int]:
        app = create_app(EmulatorConfig())
        PixelmockAdmin.for_app(app).add_fault("unavailable", provider="openai", probability=0.3, seed=42)
        client = in_process(app)
        return [send(client, "openai").status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert 3 <= first.count(503) <= 18 and first.count(200) + first.count(503) == 30


def test_a_model_rule_matches_native_and_canonical_ids(app: Flask, admin: PixelmockAdmin) -> None:
    client = in_process(app)
    admin.add_fault("server_error", model="gpt-image-2")
    openai_15 = send(client, "openai")
    openai_2 = client.post(
        "/openai/v1/images/generations", json={"model": "gpt-image-2", "prompt": "a fox"}, headers=BEARER
    )
    assert (openai_15.status_code, openai_2.status_code) == (200, 500)
    assert send(client, "runware", request=GPT_IMAGE_2).status_code == 500  # openai:gpt-image@2
    gmi = client.post(
        f"{GMI}/requests", json={"model": "gpt-image-2-generate", "payload": {"prompt": "a"}}, headers=BEARER
    )
    assert gmi.status_code == 500  # a variant of GMI's gpt-image-2
    admin.clear_faults()
    admin.add_fault("server_error", provider="runware", model="openai:4@1")
    assert send(client, "runware", request=GPT_IMAGE_2).status_code == 200
    task = _runware_task(model="openai:4@1", numberResults=1)
    assert client.post("/runware/v1", json=[task], headers=BEARER).status_code == 500


# -- generic kinds: slow, drop, malformed -------------------------------------------------------------------


def test_slow_answers_after_the_given_seconds(app: Flask) -> None:
    started = time.perf_counter()
    answer = send(in_process(app), "gmicloud", {"X-Pixelmock-Fault": "slow; seconds=0.2"})
    assert answer.status_code == 200 and time.perf_counter() - started >= 0.2


def test_malformed_cuts_the_body_in_half(app: Flask) -> None:
    answer = send(in_process(app), "apiframe", {"X-Pixelmock-Fault": "malformed"})
    assert answer.status_code == 202 and answer.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        answer.json()


def test_a_dropped_connection_gets_no_answer_and_after_processing_the_work_is_done(
    live_url: str, app: Flask, admin: PixelmockAdmin
) -> None:
    with httpx.Client(base_url=live_url, timeout=5) as client:
        with pytest.raises(httpx.TransportError):
            send(client, "gmicloud", {"X-Pixelmock-Fault": "drop"})
        assert client.get(f"{GMI}/requests", headers=BEARER).json()["total"] == 0
        admin.add_fault("drop", provider="gmicloud", operation="submitRequest", nth=1, after=True)
        with pytest.raises(httpx.TransportError):
            send(client, "gmicloud")
        # The request was created and charged although its answer never came (third-party live tests).
        listed = client.get(f"{GMI}/requests", headers=BEARER).json()
        assert listed["total"] == 1 and listed["requests"][0]["status"] == "success"
        assert admin.balance(KEY, "USD") < Decimal(100)
        assert send(client, "gmicloud").status_code == 200
    dropped = admin.journal(path="/requests", method="POST")[:2]
    assert [e["status"] for e in dropped] == [0, 0]
    faults = [next(n["fault"] for n in e["notes"] if "fault" in n) for e in dropped]
    assert [f["params"] for f in faults] == [{}, {"after": True}]


def test_a_dropped_connection_in_process_raises_a_connection_error(app: Flask) -> None:
    with pytest.raises(ConnectionError):
        send(in_process(app), "openai", {"X-Pixelmock-Fault": "drop"})


# -- flow faults -----------------------------------------------------------------------------------------


def test_apiframe_content_policy_fails_the_job_with_the_documented_message_and_refunds(
    app: Flask, admin: PixelmockAdmin
) -> None:
    client = in_process(app)
    admin.add_fault("content_policy", provider="apiframe", nth=2)
    ids = [send(client, "apiframe").json()["jobId"] for _ in range(3)]
    jobs = [client.get(f"/apiframe/v2/jobs/{i}", headers=APIFRAME_KEY).json() for i in ids]
    assert [j["status"] for j in jobs] == ["COMPLETED", "FAILED", "COMPLETED"]
    failed = jobs[1]
    # docs-v2.apiframe.ai/docs/jobs/get: the documented FAILED example
    assert failed["error"] == "Provider returned an error: content policy violation"
    assert (failed["creditCost"], failed["progress"], failed["result"]) == (0, 0, None)
    ledger = admin.ledger(key=KEY)
    cost = jobs[0]["creditCost"]
    assert [line["amount"] for line in ledger["lines"]] == [f"-{cost}", f"-{cost}", f"-{cost}", str(cost)]
    [totals] = ledger["totals"].values()
    assert totals["credits"]["net"] == str(-(jobs[0]["creditCost"] + jobs[2]["creditCost"]))
    assert Decimal(totals["credits"]["balance"]) == 10_000 - jobs[0]["creditCost"] - jobs[2]["creditCost"]


def test_apiframe_insufficient_credits_quotes_the_real_cost_and_takes_nothing(app: Flask) -> None:
    client = in_process(app)
    answer = send(client, "apiframe", {"X-Pixelmock-Fault": "insufficient_credits"})
    assert answer.status_code == 402
    body = answer.json()
    assert body["error"] == "Insufficient credits"  # the v2 spec's InsufficientCredits
    assert body["creditsAvailable"] == 10_000 and body["creditsRequired"] > 0
    assert PixelmockAdmin.for_app(app).ledger(key=KEY)["lines"] == []


def test_gmi_content_policy_keeps_a_failed_record_and_charges_nothing(
    app: Flask, admin: PixelmockAdmin
) -> None:
    client = in_process(app)
    answer = send(client, "gmicloud", {"X-Pixelmock-Fault": "content_policy"})
    assert answer.status_code == 400
    body = answer.json()
    record = client.get(f"{GMI}/requests/{body['request_id']}", headers=BEARER).json()
    assert record["status"] == "failed" and record["outcome"]["error"]["code"] == 400
    # genblaze recognises a refusal by these markers (genblaze_gmicloud/_errors.py)
    assert "content_policy" in body["error"] and "safety" in body["error"]
    assert admin.ledger(key=KEY)["lines"] == []


def test_a_stuck_gmi_request_is_charged_and_stays_queued(app: Flask, admin: PixelmockAdmin) -> None:
    client = in_process(app)
    admin.add_fault("stuck", provider="gmicloud", nth=1)
    answer = send(client, "gmicloud")
    assert answer.status_code == 200
    record = answer.json()
    assert (record["status"], record["outcome"]) == ("queued", None)
    admin.advance(86_400)
    again = client.get(f"{GMI}/requests/{record['request_id']}", headers=BEARER).json()
    assert again["status"] == "queued"
    assert len(admin.ledger(key=KEY)["lines"]) == 1  # pre-charged at creation (reported)
    assert send(client, "gmicloud").json()["status"] == "success"


def test_runware_task_faults_are_scoped_to_tasks_and_not_charged(app: Flask, admin: PixelmockAdmin) -> None:
    client = in_process(app)
    refused = client.post(
        "/runware/v1", json=[_runware_task()], headers={**BEARER, "X-Pixelmock-Fault": "content_policy"}
    ).json()
    [item] = refused["errors"]
    assert item["code"] == "providerBadRequest" and "rejected by the safety system" in item["message"]
    task = _runware_task(deliveryMethod="async")
    ack = client.post("/runware/v1", json=[task], headers={**BEARER, "X-Pixelmock-Fault": "provider_timeout"})
    assert ack.json() == {"data": [{"taskType": "imageInference", "taskUUID": task["taskUUID"]}]}
    poll = client.post(
        "/runware/v1", json=[{"taskType": "getResponse", "taskUUID": task["taskUUID"]}], headers=BEARER
    )
    assert poll.status_code == 200
    [failed] = poll.json()["errors"]
    # runware.ai/docs/platform/task-polling: the documented getResponse error item
    assert (failed["code"], failed["status"], failed["taskUUID"]) == (
        "timeoutProvider",
        "error",
        task["taskUUID"],
    )
    assert failed["message"].startswith("The external provider did not respond within the timeout window.")
    assert admin.ledger(key=KEY)["lines"] == []


# -- the reference client sees a 429, then succeeds --------------------------------------------------------


def test_the_reference_client_sees_a_429_then_succeeds(app: Flask, admin: PixelmockAdmin) -> None:
    admin.add_fault("rate_limit", provider="apiframe", operation="generateImage", nth=1)
    clock = app.extensions["pixelmock"].clock
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    transport = httpx.WSGITransport(app=app)
    with ImageClient(transport=transport, sleep=sleep, polling=PollPolicy(initial=0, max_polls=5)) as images:
        result = images.generate(
            CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality="low"),
            Provider("apiframe", api_key=KEY, base_url="http://127.0.0.1/apiframe"),
        )
    assert result.images and result.job_id
    assert waits[0] == 5.0  # the Retry-After of Apiframe's 429 (x-faults default)
    posts = admin.journal(method="POST", path="/images/generate")
    assert [e["status"] for e in posts] == [429, 202]
    assert admin.faults()[0]["fired"] == 1
