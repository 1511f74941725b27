"""The request journal, read through the control plane (``GET /__admin/journal``).

Oracles: the requests the test itself sent (their keys must not come back), the providers' published
figures (Apiframe's 24 credits for gpt-image-1.5 high x 1, via the documented cassette), and the
virtual clock the test set.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import yaml
from flask import Flask, Response
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import DOCUMENTED as CASSETTES
from PIL import Image

from pixelmock.contracts.secrets import is_credential_field, replace_secrets
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.exchange import journal_note
from pixelmock.emulators.core.journal import REDACTED, Journal, _may_hold, scrub
from pixelmock.emulators.core.store import MemoryStore

RUNWARE = "/runware/v1"
APIFRAME = "/apiframe"
OPENAI = "/openai/v1"
CLOUDFLARE = "/cloudflare/client/v4"
SECRET = "rw-secret-3f9a1c77d2e84b6b"


def _journal(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/__admin/journal", params={k: str(v) for k, v in params.items()})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["entries"])
    return list(body["entries"])


def _apiframe_documented_body() -> dict[str, Any]:
    cassette = yaml.safe_load((CASSETTES / "apiframe" / "gpt_image_1_5_generate_and_poll.yaml").read_text())
    return dict(json.loads(cassette["interactions"][0]["request"]["body"]))


def _runware_task(**extra: Any) -> dict[str, Any]:
    return {
        "taskType": "imageInference",
        "taskUUID": str(uuid.uuid4()),
        "model": "openai:4@1",
        "positivePrompt": "a red fox",
        "width": 1024,
        "height": 1024,
        **extra,
    }


# ------------------------------------------------------------------------------------------- scrubbing


def test_runware_key_in_the_authentication_task_and_bearer_header_never_reaches_the_journal(
    http: httpx.Client,
) -> None:
    tasks = [{"taskType": "authentication", "apiKey": SECRET}, _runware_task(includeCost=True)]
    response = http.post(RUNWARE, json=tasks, headers={"Authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200, response.text

    [entry] = _journal(http)
    assert SECRET not in json.dumps(entry)
    assert entry["request"]["headers"]["Authorization"] == "Bearer REDACTED"
    assert entry["request"]["body"][0] == {"taskType": "authentication", "apiKey": REDACTED}
    assert entry["request"]["body"][1]["positivePrompt"] == "a red fox"
    assert entry["provider"] == "runware"
    assert entry["response"]["body"]["data"][0]["taskType"] == "imageInference"
    # Nothing else the control plane shows holds the key either.
    for path in ("/__admin/ledger", "/__admin/accounts"):
        assert SECRET not in http.get(path).text


def test_cloudflare_auth_headers_are_scrubbed(http: httpx.Client) -> None:
    headers = {
        "X-Auth-Email": "someone@example.com",
        "X-Auth-Key": "cf-global-key-0123456789",
        "X-Auth-User-Service-Key": "v1.0-service-key-abcdef",
        "cf-aig-authorization": "Bearer aig-token-9876543210",
    }
    http.post(f"{CLOUDFLARE}/accounts/acct/ai/run/openai/gpt-image-2", json={"prompt": "x"}, headers=headers)
    [entry] = _journal(http)
    recorded = {k.lower(): v for k, v in entry["request"]["headers"].items()}
    assert recorded["x-auth-email"] == REDACTED
    assert recorded["x-auth-key"] == REDACTED
    assert recorded["x-auth-user-service-key"] == REDACTED
    assert recorded["cf-aig-authorization"] == "Bearer REDACTED"
    text = json.dumps(entry)
    for value in headers.values():
        assert value.split()[-1] not in text
    # The pair authenticated (Cloudflare's contract: securitySchemes apiEmail + apiKey); the key is the
    # account handle, and the control plane does not show it either.
    assert entry["status"] == 200
    for path in ("/__admin/ledger", "/__admin/accounts"):
        assert headers["X-Auth-Key"] not in http.get(path).text


def test_credential_fields_are_scrubbed_at_any_depth_and_in_the_query(http: httpx.Client) -> None:
    body = {
        "model": "gpt-image-1.5",
        "prompt": "p",
        "nested": {
            "password": "hunter2-hunter2",
            "list": [{"token": "tok-1234567890"}, {"api_key": "k" * 12}],
        },
    }
    http.post(
        f"{APIFRAME}/v2/images/generate?key=query-key-123456", json=body, headers={"X-API-Key": "afk_x" * 3}
    )
    [entry] = _journal(http)
    assert entry["request"]["query"] == {"key": REDACTED}
    nested = entry["request"]["body"]["nested"]
    assert nested == {"password": REDACTED, "list": [{"token": REDACTED}, {"api_key": REDACTED}]}
    assert entry["request"]["headers"]["X-Api-Key"] == REDACTED
    text = json.dumps(entry)
    for secret in ("hunter2-hunter2", "tok-1234567890", "k" * 12, "query-key-123456", "afk_x" * 3):
        assert secret not in text


def test_credential_names() -> None:
    for name in ("apiKey", "api_key", "API-KEY", "key", "token", "password", "accessToken", "webhookSecret"):
        assert is_credential_field(name), name
    for name in ("input_tokens", "max_tokens", "idempotency_key", "taskType", "keyword", "monkey"):
        assert not is_credential_field(name), name


def test_scrub_shortens_long_strings_and_leaves_other_values() -> None:
    long = "A" * 5000
    assert scrub({"image": long, "n": 2, "ok": True, "none": None, "apiKey": None}) == {
        "image": "A" * 64 + "…[5000 chars]",
        "n": 2,
        "ok": True,
        "none": None,
        "apiKey": None,
    }


# --------------------------------------------------------------------------------------------- entries


def test_an_apiframe_submit_is_recorded_with_its_canonical_view_cost_and_ledger(http: httpx.Client) -> None:
    moved = dt.datetime.fromisoformat(
        http.post("/__admin/clock/advance", json={"seconds": 7200}).json()["now"]
    )
    response = http.post(
        f"{APIFRAME}/v2/images/generate", json=_apiframe_documented_body(), headers={"X-API-Key": "afk_j"}
    )
    assert response.status_code == 202
    [entry] = _journal(http)

    assert entry["provider"] == "apiframe"
    assert entry["method"] == "POST"
    assert entry["path"] == "/apiframe/v2/images/generate"
    assert entry["route"] == "POST /apiframe/v2/images/generate"
    assert entry["status"] == 202
    at = dt.datetime.fromisoformat(entry["at"])
    assert dt.timedelta(0) <= at - moved < dt.timedelta(seconds=5)  # the virtual clock, not real time
    assert entry["request"]["body"] == _apiframe_documented_body()
    assert entry["request"]["content_type"] == "application/json"
    assert entry["response"]["body"] == response.json()
    assert entry["response"]["status"] == 202

    [note] = entry["notes"]
    assert note["canonical"]["model"] == "gpt-image-1.5"
    assert note["canonical"]["quality"] == "high"
    assert note["canonical"]["output_format"] == "png"
    assert note["cost"] == {"credits": 24}  # Apiframe's credit table: gpt-image-1.5 high, 1 image
    [line] = entry["ledger"]
    assert (line["currency"], line["amount"]) == ("credits", "-24")


def test_an_openai_generation_notes_the_quote_that_priced_it(http: httpx.Client) -> None:
    body = {"model": "gpt-image-1.5", "prompt": "a red fox", "size": "1024x1024", "quality": "low"}
    response = http.post(f"{OPENAI}/images/generations", json=body, headers={"Authorization": "Bearer sk-j"})
    assert response.status_code == 200
    [entry] = _journal(http, provider="openai")
    [note] = [n for n in entry["notes"] if "canonical" in n]
    assert note["canonical"]["size"] == "1024x1024"
    assert note["cost"]["provider"] == "openai"
    assert "resolved" not in note["cost"]  # the canonical view is noted once
    assert (
        note["cost"]["tokens"]["image_output"]
        == response.json()["usage"]["output_tokens_details"]["image_tokens"]
    )
    # The response's base64 image is shortened, not kept whole.
    b64 = entry["response"]["body"]["data"][0]["b64_json"]
    assert b64.endswith("chars]") and len(b64) < 100
    # ... and the image is noted as a file the inspector page can show: the same bytes
    [image] = [n["image"] for n in entry["notes"] if "image" in n]
    assert http.get(image).content == base64.b64decode(response.json()["data"][0]["b64_json"])
    assert entry["response"]["size"] == len(response.content)


def test_a_multipart_edit_is_recorded_as_its_form(http: httpx.Client) -> None:
    image = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(image, "PNG")
    response = http.post(
        f"{OPENAI}/images/edits",
        data={"model": "gpt-image-1.5", "prompt": "make it red", "quality": "low"},
        files=[("image[]", ("a.png", image.getvalue(), "image/png"))],
        headers={"Authorization": "Bearer sk-j"},
    )
    assert response.status_code == 200, response.text
    [entry] = _journal(http)
    assert entry["request"]["body"] is None
    assert entry["request"]["form"]["prompt"] == ["make it red"]
    assert entry["request"]["files"] == [
        {"field": "image[]", "filename": "a.png", "content_type": "image/png"}
    ]
    assert entry["request"]["size"] == int(response.request.headers["Content-Length"])


def test_an_event_stream_is_recorded_by_size_without_a_body(wsgi_app: Flask) -> None:
    client = wsgi_app.test_client()
    body = {"model": "gpt-image-1.5", "prompt": "x", "size": "1024x1024", "quality": "low", "stream": True}
    response = client.post(
        f"{OPENAI}/images/generations", json=body, headers={"Authorization": "Bearer sk-j"}
    )
    assert response.status_code == 200
    [entry] = client.get("/__admin/journal").get_json()["entries"]
    assert entry["response"]["content_type"].startswith("text/event-stream")
    assert entry["response"]["body"] is None
    assert entry["response"]["size"] == len(response.get_data())


def test_a_streamed_response_is_not_consumed_by_the_journal(wsgi_app: Flask) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"data: one\n\n"
        yield b"data: two\n\n"

    wsgi_app.add_url_rule(
        f"{OPENAI}/x-stream", "x_stream", lambda: Response(chunks(), mimetype="text/event-stream")
    )
    client = wsgi_app.test_client()
    assert client.get(f"{OPENAI}/x-stream").get_data() == b"data: one\n\ndata: two\n\n"
    [entry] = client.get("/__admin/journal").get_json()["entries"]
    assert entry["response"]["streamed"] is True
    assert (entry["response"]["size"], entry["response"]["body"]) == (None, None)
    assert entry["route"] == "GET /openai/v1/x-stream"


def test_unknown_routes_are_recorded_but_admin_health_and_files_are_not(http: httpx.Client) -> None:
    http.get(f"{OPENAI}/no/such/route", headers={"Authorization": "Bearer sk-j"})
    http.get("/__health")
    http.get("/__admin/clock")
    http.get("/files/nothing.png")
    http.get("/elsewhere")
    recorded = [(e["provider"], e["path"], e["status"], e["route"], e["unmatched"]) for e in _journal(http)]
    assert recorded == [
        ("openai", f"{OPENAI}/no/such/route", 404, None, False),
        ("", "/elsewhere", 404, None, True),  # under no provider's prefix: journaled as unmatched
    ]


@pytest.fixture
def wsgi_app() -> Flask:
    return create_app(EmulatorConfig())


# --------------------------------------------------------------------------------------------- filters


def test_filters(http: httpx.Client) -> None:
    key = {"X-API-Key": "afk_filters"}
    http.post(f"{APIFRAME}/v2/images/generate", json=_apiframe_documented_body(), headers=key)  # 202
    http.get(f"{APIFRAME}/v2/me", headers=key)  # 200
    http.get(f"{APIFRAME}/v2/me")  # 401
    http.post(
        RUNWARE, json=[{"taskType": "ping", "ping": True}], headers={"Authorization": "Bearer rw_filters"}
    )
    later = http.post("/__admin/clock/advance", json={"seconds": 3600}).json()["now"]
    http.get(f"{APIFRAME}/v2/jobs", headers=key)  # 200, an hour later

    assert [e["seq"] for e in _journal(http)] == [1, 2, 3, 4, 5]
    assert [e["seq"] for e in _journal(http, provider="apiframe")] == [1, 2, 3, 5]
    assert [e["seq"] for e in _journal(http, method="get")] == [2, 3, 5]
    assert [e["seq"] for e in _journal(http, status="4xx")] == [3]
    assert [e["seq"] for e in _journal(http, status=202)] == [1]
    assert [e["seq"] for e in _journal(http, status="2xx", provider="apiframe")] == [1, 2, 5]
    assert [e["seq"] for e in _journal(http, path="/v2/me")] == [2, 3]
    assert [e["seq"] for e in _journal(http, since=later)] == [5]
    assert [e["seq"] for e in _journal(http, after=3)] == [4, 5]
    assert [e["seq"] for e in _journal(http, limit=2)] == [4, 5]
    assert _journal(http, limit=0) == []
    for bad in ({"status": "4x"}, {"after": "-1"}, {"limit": "many"}, {"since": "yesterday"}):
        response = http.get("/__admin/journal", params=bad)
        assert response.status_code == 400
        assert set(response.json()) == {"error"}

    assert http.delete("/__admin/journal").status_code == 204
    assert _journal(http) == []
    http.get(f"{APIFRAME}/v2/me", headers=key)
    assert [e["seq"] for e in _journal(http)] == [6]  # seq keeps counting after a clear


def test_the_journal_is_bounded_by_journal_limit() -> None:
    client = create_app(EmulatorConfig(journal_limit=3)).test_client()
    for _ in range(5):
        client.get(f"{APIFRAME}/v2/me", headers={"X-API-Key": "afk_bounded"})
    body = client.get("/__admin/journal").get_json()
    assert body["limit"] == 3
    assert [e["seq"] for e in body["entries"]] == [3, 4, 5]


def test_journal_limit_zero_turns_it_off() -> None:
    client = create_app(EmulatorConfig(journal_limit=0)).test_client()
    client.get(f"{APIFRAME}/v2/me", headers={"X-API-Key": "afk_off"})
    assert client.get("/__admin/journal").get_json()["entries"] == []


def test_journal_unit_filters_by_status_class_and_time() -> None:
    store = MemoryStore()
    journal = Journal(10, store=store)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for i, status in enumerate((200, 404, 503)):
        journal.record(
            at=base + dt.timedelta(minutes=i),
            provider="p",
            method="GET",
            path=f"/p/{i}",
            route=None,
            status=status,
            duration_ms=0.0,
            request={},
            response={},
        )
    assert [e.status for e in journal.entries(status="5xx")] == [503]
    assert [e.status for e in journal.entries(since=dt.datetime(2026, 1, 1, 0, 1))] == [404, 503]
    store.clear()  # the emulator's reset
    assert len(journal) == 0


def test_journal_note_outside_a_request_does_nothing() -> None:
    journal_note(canonical={"model": "gpt-image-2"}, cost={"usd": "0.01"})


# ------------------------------------------------------------------------------ charged, never answered


def _unanswered(client: httpx.Client) -> list[dict[str, Any]]:
    body = client.get("/__admin/journal/unanswered").json()
    assert body["count"] == len(body["requests"])
    return list(body["requests"])


def test_answered_requests_leave_no_unanswered_note(app: Flask) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        tasks = [_runware_task(model="openai:gpt-image@2"), _runware_task(model="openai:gpt-image@2")]
        assert http.post(RUNWARE, json=tasks, headers={"Authorization": "Bearer rw-a"}).status_code == 200
        submit = http.post(
            f"{APIFRAME}/v2/images/generate", json=_apiframe_documented_body(), headers={"X-API-Key": "afk_a"}
        )
        assert submit.status_code == 202
        poor = {"Authorization": "Bearer rw-poor"}
        http.put("/__admin/accounts/balances", json={"key": "rw-poor", "balances": {"USD": "0"}})
        refused = http.post(RUNWARE, json=[_runware_task(model="openai:gpt-image@2")], headers=poor)
        assert refused.status_code == 402  # Runware's insufficient-credits error: tried, not charged
        assert _unanswered(http) == []
        assert len([e for e in _journal(http) if e["ledger"]]) == 2  # charged, and recorded with answers


def test_a_request_whose_worker_stops_after_the_debit_is_listed_unanswered(app: Flask) -> None:
    """A worker that stops between the debit and the answer (gunicorn aborts a stuck worker with
    ``SystemExit``; a kill is the same without the exception): the request is charged, has no journal
    entry, and ``GET /__admin/journal/unanswered`` names it with what it was charged."""
    rt = app.extensions["pixelmock"]

    def stop_after_the_debit(line: Any) -> None:
        raise SystemExit("worker aborted")

    rt.accounts.subscribe(stop_after_the_debit)
    tasks = [_runware_task(model="openai:gpt-image@2")]
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        with pytest.raises(SystemExit):
            http.post(RUNWARE, json=tasks, headers={"Authorization": "Bearer rw-stopped"})
        rt.accounts._listeners.remove(stop_after_the_debit)
        [note] = _unanswered(http)
        assert (note["provider"], note["method"], note["path"]) == ("runware", "POST", RUNWARE)
        [charge] = note["charges"]
        [line] = [
            line for line in http.get("/__admin/ledger").json()["lines"] if line["memo"] == charge["memo"]
        ]
        assert (charge["job_id"], charge["amount"], charge["currency"]) == (
            tasks[0]["taskUUID"],
            line["amount"],
            "USD",
        )
        assert charge["account_id"] == line["account_id"] and Decimal(line["amount"]) < 0
        assert _journal(http, provider="runware") == []  # no answer was recorded for it

        # the next request is answered as usual and leaves its own note behind no more
        again = [_runware_task(model="openai:gpt-image@2")]
        assert (
            http.post(RUNWARE, json=again, headers={"Authorization": "Bearer rw-stopped"}).status_code == 200
        )
        assert [n["charges"][0]["job_id"] for n in _unanswered(http)] == [tasks[0]["taskUUID"]]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON, secrets=st.sets(st.text(min_size=1, max_size=4), min_size=1, max_size=3))
def test_an_entry_skips_the_replacing_walk_only_when_no_secret_is_left_in_it(
    value: Any, secrets: set[str]
) -> None:
    """``finish`` walks the entry to replace the credentials found unless ``_may_hold`` says none is
    left: whenever it says so, the walk would have changed nothing (short secrets, quotes, backslashes
    and control characters included, which JSON text escapes)."""
    if not _may_hold(value, secrets):
        assert replace_secrets(value, secrets) == value
    entry = {"headers": {"authorization": f"Bearer {next(iter(secrets))}"}, "body": value}
    assert _may_hold(entry, secrets)  # a secret still in the entry is always found
