"""Hostile input (issue 13): every input a provider or the control plane receives is parsed defensively.

First the 500s the issue measured, one regression test each (deep JSON, a lone surrogate, decompression
bomb and truncated input images, a chunked body over the size limit, a Runware array whose later task
fails); then a hypothesis property over every provider route and the admin API: hostile bodies, headers
and query strings give no 5xx, the provider's own error body, no charge and no job, and the journal stays
readable.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_invariant import check_ledger
from PIL import Image
from runware_tasks import image_task
from websockets.sync.client import connect

from pixelmock.contracts.canonical import MAX_INPUT_PIXELS, ImageInput, decode_image
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.accounts import NAMESPACE as ACCOUNTS
from pixelmock.emulators.core.accounts import Accounts
from pixelmock.emulators.core.journal import Journal
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.providers.runware import tasks as task_engine

OA = {"Authorization": "Bearer sk-hostile-test"}
CF = {"Authorization": "Bearer cf-hostile-token"}
AF = {"X-API-Key": "afk_hostile_test_key"}
RW = {"Authorization": "Bearer rw-hostile-key"}
GM = {"Authorization": "Bearer gmi-hostile-key"}

GENERATE = "/openai/v1/images/generations"
EDIT = "/openai/v1/images/edits"
CF_RUN = "/cloudflare/client/v4/accounts/acct/ai/run/openai/gpt-image-2"
CF_RUN_BODY = "/cloudflare/client/v4/accounts/acct/ai/run"
AF_GENERATE = "/apiframe/v2/images/generate"
RUNWARE = "/runware/v1"
GMI = "/gmicloud/api/v1/ie/requestqueue/apikey/requests"


# -- hostile images --------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny, well-formed PNG whose header declares ``width`` x ``height`` (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


def png(width: int = 64, height: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def truncated_png() -> bytes:
    """The first half of a real PNG: its header reads, its pixels do not."""
    whole = png(256, 256)
    return whole[: len(whole) // 2]


BAD_IMAGES = {"bomb": bomb_png(), "truncated": truncated_png(), "not-an-image": b"GIF89a but not really"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- helpers ---------------------------------------------------------------------------------------------


@pytest.fixture
def client(app: Flask) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        yield http


def _rt(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["pixelmock"]
    return rt


def _post_json_text(
    client: httpx.Client, path: str, text: str | bytes, headers: dict[str, str]
) -> httpx.Response:
    content = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return client.post(path, content=content, headers={**headers, "Content-Type": "application/json"})


def _journal_readable(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/__admin/journal")
    assert response.status_code == 200, response.text[:300]
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


JSON_ROUTES = [(GENERATE, OA), (CF_RUN, CF), (AF_GENERATE, AF), (RUNWARE, RW), (GMI, GM)]

#: Each provider's own malformed-JSON answer (status, a check of the body).
MALFORMED: dict[str, tuple[int, Callable[[Any], bool]]] = {
    GENERATE: (400, lambda b: "could not parse the JSON body" in b["error"]["message"]),
    CF_RUN: (400, lambda b: b["errors"][0]["code"] == 6007 and b["success"] is False),
    AF_GENERATE: (400, lambda b: isinstance(b["error"], str)),
    RUNWARE: (400, lambda b: b["errors"][0]["code"] == "invalidPayload"),
    GMI: (400, lambda b: isinstance(b["error"], str)),
}


# -- the 500s, one by one ------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "headers"), JSON_ROUTES)
@pytest.mark.parametrize("depth", [100_000, 500, 65])
def test_deeply_nested_json_gets_the_providers_malformed_json_answer(
    client: httpx.Client, app: Flask, path: str, headers: dict[str, str], depth: int
) -> None:
    response = _post_json_text(client, path, "[" * depth + "]" * depth, headers)
    status, shaped = MALFORMED[path]
    assert response.status_code == status
    assert shaped(response.json())
    assert _rt(app).accounts.lines() == []
    entries = _journal_readable(client)
    assert entries[-1]["request"]["body"] is None  # not kept as a value: too deep to be one
    assert entries[-1]["status"] == status


def test_nesting_within_the_limit_is_still_parsed(client: httpx.Client) -> None:
    nested = {"model": "gpt-image-2", "prompt": "a cat", "user": "u"}
    response = client.post(GENERATE, json=nested, headers=OA)
    assert response.status_code == 200


def test_journal_stays_readable_after_a_500_level_body(client: httpx.Client) -> None:
    """The issue: a 1 KB body nested 500 levels was refused, then GET /__admin/journal answered 500."""
    body = '{"model": "gpt-image-2", "prompt": ' + "[" * 500 + "]" * 500 + "}"
    assert _post_json_text(client, GENERATE, body, OA).status_code == 400
    for _ in range(2):
        assert len(_journal_readable(client)) == 1


SURROGATE_BODIES = {
    GENERATE: '{"model": "gpt-image-2", "prompt": "a cat \\ud800"}',
    CF_RUN: '{"prompt": "a cat \\ud800"}',
    AF_GENERATE: '{"model": "gpt-image-1.5", "prompt": "a cat \\ud800"}',
    RUNWARE: json.dumps([image_task(positivePrompt="PLACEHOLDER")]).replace("PLACEHOLDER", "a cat \\udc00"),
    GMI: '{"model": "gpt-image-2", "payload": {"prompt": "a cat \\ud800"}}',
}


@pytest.mark.parametrize(("path", "headers"), JSON_ROUTES)
def test_lone_surrogate_is_refused_and_not_charged(
    client: httpx.Client, app: Flask, path: str, headers: dict[str, str]
) -> None:
    response = _post_json_text(client, path, SURROGATE_BODIES[path], headers)
    status, shaped = MALFORMED[path]
    assert response.status_code == status
    assert shaped(response.json())
    assert _rt(app).accounts.lines() == []  # GMI answered 200 and charged nothing
    _journal_readable(client)


@pytest.mark.parametrize(("path", "headers"), JSON_ROUTES)
def test_lone_surrogate_replaced_when_the_option_says_so(path: str, headers: dict[str, str]) -> None:
    """The other alternative of ``<provider>.lone_surrogate``: U+FFFD in its place, the request goes on and
    is charged like any other, and the journal says the answer rested on the option."""
    app = create_app(EmulatorConfig(options={f"{p}.lone_surrogate": "replace" for p in PROVIDERS}))
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        response = _post_json_text(http, path, SURROGATE_BODIES[path], headers)
        assert response.status_code in (200, 202), response.text[:300]
        assert _rt(app).accounts.lines() != []
        [entry] = _journal_readable(http)
    option = next(n["choice"] for n in entry["notes"] if "choice" in n)
    assert option["option"].endswith(".lone_surrogate") and option["value"] == "replace"
    assert "\ufffd" in json.dumps(entry["request"]["body"], ensure_ascii=False)


def test_valid_surrogate_pairs_are_text(client: httpx.Client) -> None:
    body = '{"model": "gpt-image-2", "prompt": "a cat \\ud83d\\ude00"}'
    assert _post_json_text(client, GENERATE, body, OA).status_code == 200


# -- input images ----------------------------------------------------------------------------------------


def test_decode_image_refuses_bombs_truncation_and_over_budget_images() -> None:
    good = decode_image(png(40, 30))
    assert good is not None and (good.width, good.height, good.mime) == (40, 30, "image/png")
    assert decode_image(bomb_png()) is None
    assert decode_image(truncated_png()) is None
    side = int(MAX_INPUT_PIXELS**0.5) + 1  # just over the budget, still under Pillow's own limit
    assert decode_image(bomb_png(side, side)) is None
    assert ImageInput.from_bytes(truncated_png()).width is None


@pytest.mark.parametrize("bad", sorted(BAD_IMAGES))
def test_openai_edit_refuses_bad_images(client: httpx.Client, app: Flask, bad: str) -> None:
    files = [("image[]", ("a.png", BAD_IMAGES[bad], "image/png"))]
    response = client.post(EDIT, headers=OA, data={"model": "gpt-image-2", "prompt": "x"}, files=files)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "image[0]"
    # as clients quote the live answer ("Invalid image file or mode for image 1, please check ...")
    assert response.json()["error"]["code"] == "invalid_image_file"
    assert "Invalid image file or mode for image 1" in response.json()["error"]["message"]
    assert _rt(app).accounts.lines() == []


@pytest.mark.parametrize("bad", sorted(BAD_IMAGES))
def test_cloudflare_refuses_bad_images(client: httpx.Client, app: Flask, bad: str) -> None:
    response = client.post(CF_RUN, json={"prompt": "x", "images": [b64(BAD_IMAGES[bad])]}, headers=CF)
    assert response.status_code == 400
    # OpenAI's body for an unreadable image part, wrapped (contracts/openapi/openai.yaml file_not_image)
    assert "Invalid image file or mode for image 1" in response.json()["errors"][0]["message"]
    assert _rt(app).accounts.lines() == []


@pytest.mark.parametrize("bad", sorted(BAD_IMAGES))
def test_runware_refuses_bad_images(client: httpx.Client, app: Flask, bad: str) -> None:
    task = image_task(inputs={"referenceImages": ["data:image/png;base64," + b64(BAD_IMAGES[bad])]})
    response = client.post(RUNWARE, json=[task], headers=RW)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalidImage"
    assert _rt(app).accounts.lines() == []


@pytest.mark.parametrize("bad", sorted(BAD_IMAGES))
def test_gmi_refuses_bad_images(client: httpx.Client, app: Flask, bad: str) -> None:
    body = {"model": "gpt-image-1.5", "payload": {"prompt": "x", "image": b64(BAD_IMAGES[bad])}}
    response = client.post(GMI, json=body, headers=GM)
    assert response.status_code == 400
    assert set(response.json()) == {"error", "request_id"}
    assert _rt(app).accounts.lines() == []


def test_good_images_are_still_accepted(client: httpx.Client) -> None:
    body = {"model": "gpt-image-1.5", "payload": {"prompt": "x", "image": b64(png())}}
    assert client.post(GMI, json=body, headers=GM).status_code == 200
    task = image_task(inputs={"referenceImages": ["data:image/png;base64," + b64(png())]})
    assert client.post(RUNWARE, json=[task], headers=RW).status_code == 200


# -- chunked body over the size limit --------------------------------------------------------------------


@pytest.mark.parametrize("config", [EmulatorConfig(max_body_bytes=64 * 1024)])
@pytest.mark.parametrize(
    ("path", "headers", "shaped"),
    [
        (GENERATE, OA, lambda b: "Request body too large" in b["error"]["message"]),
        (CF_RUN, CF, lambda b: b["errors"][0]["code"] == 3006),
        (AF_GENERATE, AF, lambda b: isinstance(b["error"], str)),
        (RUNWARE, RW, lambda b: b["errors"][0]["code"] == "invalidPayloadSize"),
        (GMI, GM, lambda b: b["error"] == "request body too large"),
    ],
)
def test_chunked_body_over_the_limit_gets_the_providers_413(
    live_url: str, path: str, headers: dict[str, str], shaped: Callable[[Any], bool]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(40):
            yield b"a" * 4096
        yield b'"}'

    with httpx.Client(base_url=live_url, timeout=30) as http:
        response = http.post(path, content=chunks(), headers={**headers, "Content-Type": "application/json"})
        assert response.request.headers["Transfer-Encoding"] == "chunked"
        assert response.status_code == 413
        assert shaped(response.json())
        small = http.post(
            path, content=iter([b"{}"]), headers={**headers, "Content-Type": "application/json"}
        )
        assert small.status_code != 413
        assert http.get("/__admin/journal").status_code == 200


# -- Runware arrays: all or nothing for money ------------------------------------------------------------


def _usd_spent(app: Flask) -> Decimal:
    return -sum((line.amount for line in _rt(app).accounts.lines()), Decimal(0))


def test_runware_array_with_a_failing_later_task_answers_the_charged_task(
    client: httpx.Client, app: Flask
) -> None:
    first = image_task(includeCost=True)
    second = image_task(inputs={"referenceImages": ["data:image/png;base64," + b64(bomb_png())]})
    response = client.post(RUNWARE, json=[first, second], headers=RW)
    assert response.status_code == 200  # x-status-of-mixed-arrays: any data -> 200, with errors beside it
    body = response.json()
    assert [item["taskUUID"] for item in body["data"]] == [first["taskUUID"]]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [("invalidImage", second["taskUUID"])]
    assert _usd_spent(app) == Decimal(str(body["data"][0]["cost"])) > 0


def test_runware_task_failing_unexpectedly_is_refunded_and_the_others_kept(
    client: httpx.Client, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the second task (after its debit) must not lose the first task's answer nor keep the
    second task's money."""
    original = task_engine._result_item
    calls = {"n": 0}

    def failing_second(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("renderer broke")
        return original(*args, **kwargs)

    monkeypatch.setattr(task_engine, "_result_item", failing_second)
    first, second = image_task(includeCost=True), image_task()
    response = client.post(RUNWARE, json=[first, second], headers=RW)
    assert response.status_code == 200
    body = response.json()
    assert [item["taskUUID"] for item in body["data"]] == [first["taskUUID"]]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [
        ("internalServerError", second["taskUUID"])
    ]
    memos = [line.memo for line in _rt(app).accounts.lines()]
    assert memos[-1] == f"runware refund {second['taskUUID']}"
    assert _usd_spent(app) == Decimal(str(body["data"][0]["cost"]))
    poll = client.post(
        RUNWARE, json=[{"taskType": "getResponse", "taskUUID": second["taskUUID"]}], headers=RW
    )
    assert poll.json()["errors"][0]["code"] == "internalServerError"


# -- the ledger invariant can fail -----------------------------------------------------------------------


def test_ledger_invariant_catches_a_debit_that_is_no_reported_cost(
    client: httpx.Client, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Accounts.debit

    def overcharging(
        self: Accounts, account: Any, currency: str, amount: Any, memo: str, charge: Any = None
    ) -> bool:
        return original(self, account, currency, Decimal(amount) + Decimal("0.01"), memo, charge)

    monkeypatch.setattr(Accounts, "debit", overcharging)
    assert (
        client.post(GENERATE, json={"model": "gpt-image-2", "prompt": "a cat"}, headers=OA).status_code == 200
    )
    with pytest.raises(AssertionError, match="is no reported cost"):
        check_ledger(_rt(app))
    _rt(app).reset()  # so that the autouse check of this test passes


def test_ledger_invariant_catches_a_balance_moved_outside_the_ledger(
    client: httpx.Client, app: Flask
) -> None:
    assert (
        client.post(GENERATE, json={"model": "gpt-image-2", "prompt": "a cat"}, headers=OA).status_code == 200
    )
    check_ledger(_rt(app))
    account = _rt(app).accounts.snapshot()[0]
    live = _rt(app).accounts.get(account.id)
    assert live is not None
    short = replace(live, balances={**live.balances, "USD": live.balances["USD"] - Decimal("1")})
    _rt(app).store.put(ACCOUNTS, account.id, short)
    with pytest.raises(AssertionError, match="start - debits \\+ refunds"):
        check_ledger(_rt(app))
    _rt(app).reset()


def test_ledger_invariant_catches_a_refund_beyond_the_debits(client: httpx.Client, app: Flask) -> None:
    rt = _rt(app)
    account = rt.accounts.for_key("someone")
    rt.accounts.credit(account, "USD", Decimal("5"), "refund of nothing")
    with pytest.raises(AssertionError, match="refunds 5 exceed debits"):
        check_ledger(rt)
    rt.reset()


# -- the property: hostile bodies, headers and query strings ---------------------------------------------

#: Raw JSON tokens a hostile client may put where a value goes, by kind.
HOSTILE_TOKENS = {
    "deep": ["[" * 70 + "]" * 70, "[" * 100_000 + "]" * 100_000, '{"a": ' * 70 + "1" + "}" * 70],
    "surrogate": ['"\\ud800"', '"a cat \\udfff\\ud800"', '["\\udc00"]'],
    "number": [
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "1" * 4000,
        "1" * 5000,
        "1e-400",
        "18446744073709551616",
    ],
    "other": ["null", "true", "[]", "{}", '"\\u0000"', json.dumps("x" * 200_000)],
}


def _image_tokens(data_uri: bool) -> list[str]:
    return [
        json.dumps(("data:image/png;base64," if data_uri else "") + b64(img)) for img in BAD_IMAGES.values()
    ]


@st.composite
def json_value_text(draw: st.DrawFn) -> str:
    """A JSON value as text: a hostile token or a drawn (well-formed) value of any type."""
    drawn = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=8,
    ).map(json.dumps)
    kind = draw(st.sampled_from([*sorted(HOSTILE_TOKENS), "drawn"]))
    return draw(drawn if kind == "drawn" else st.sampled_from(HOSTILE_TOKENS[kind]))


#: Per JSON route: skeletons of valid bodies with ``@`` where a hostile value goes, and hostile image
#: tokens for each image field (``#``).
SKELETONS: dict[str, list[str]] = {
    GENERATE: [
        '{"model": "gpt-image-2", "prompt": @}',
        '{"model": @, "prompt": "a cat"}',
        '{"model": "gpt-image-2", "prompt": "a cat", "n": @}',
        '{"model": "gpt-image-2", "prompt": "a cat", "size": @, "quality": "low"}',
        '{"model": "gpt-image-2", "prompt": "a cat", "output_compression": @, "output_format": "jpeg"}',
        '{"model": "gpt-image-2", "prompt": "a cat", "stream": true, "partial_images": @}',
        "@",
    ],
    CF_RUN: [
        '{"prompt": @}',
        '{"prompt": "a cat", "images": [@]}',
        '{"prompt": "a cat", "images": [#]}',
        '{"prompt": "a cat", "size": @}',
        "@",
    ],
    CF_RUN_BODY: [
        '{"model": @, "input": {"prompt": "a cat"}}',
        '{"model": "openai/gpt-image-2", "input": @}',
        '{"model": "openai/gpt-image-2", "input": {"prompt": "a cat", "images": [#]}}',
    ],
    AF_GENERATE: [
        '{"model": "gpt-image-1.5", "prompt": @}',
        '{"model": "gpt-image-1.5", "prompt": "a cat", "aspect_ratio": @}',
        '{"model": "gpt-image-1.5", "prompt": "a cat", "input_images": [@]}',
        '{"model": "gpt-image-1.5", "prompt": "a cat", "input_images": [#]}',
        '{"model": "gpt-image-1.5", "prompt": "a cat", "webhookUrl": @}',
        "@",
    ],
    RUNWARE: [
        '[{"taskType": "imageInference", "taskUUID": "6a2b0c1e-4f8d-4e1a-9c3b-2d5e7f9a1b3c", '
        '"model": "openai:4@1", "positivePrompt": @, "width": 1024, "height": 1024}]',
        '[{"taskType": "imageInference", "taskUUID": "6a2b0c1e-4f8d-4e1a-9c3b-2d5e7f9a1b3c", '
        '"model": "openai:4@1", "positivePrompt": "a cat", "width": @, "height": 1024}]',
        '[{"taskType": "imageInference", "taskUUID": @, "model": "openai:4@1", "positivePrompt": "a cat"}]',
        '[{"taskType": "imageInference", "taskUUID": "6a2b0c1e-4f8d-4e1a-9c3b-2d5e7f9a1b3c", '
        '"model": "openai:4@1", "positivePrompt": "a cat", "width": 1024, "height": 1024, '
        '"inputs": {"referenceImages": [#]}}]',
        '[{"taskType": "authentication", "apiKey": @}]',
        '[{"taskType": "getResponse", "taskUUID": @}]',
        "[@]",
        "@",
    ],
    GMI: [
        '{"model": "gpt-image-2", "payload": {"prompt": @}}',
        '{"model": @, "payload": {"prompt": "a cat"}}',
        '{"model": "gpt-image-2", "payload": @}',
        '{"model": "gpt-image-1.5", "payload": {"prompt": "a cat", "image": #}}',
        '{"model": "gpt-image-1.5", "payload": {"prompt": "a cat", "image": @}}',
        '{"model": "gpt-image-2", "payload": {"prompt": "a cat", "size": @}}',
        "@",
    ],
    "/__admin/clock/advance": ['{"seconds": @}', "@"],
    "/__admin/clock": ['{"now": @}', '{"date": @}', "@"],
    "/__admin/latency": ['{"profile": "realistic", "speed_factor": @}', "@"],
    "/__admin/accounts/balances": ['{"account": "acct_000000000000", "balances": {"USD": @}}', "@"],
    "/__admin/faults": ['{"kind": @}', '{"kind": "rate_limit", "nth": @}', "@"],
}
METHODS = {"/__admin/clock": "PUT", "/__admin/latency": "PUT", "/__admin/accounts/balances": "PUT"}
HEADERS = {GENERATE: OA, CF_RUN: CF, CF_RUN_BODY: CF, AF_GENERATE: AF, RUNWARE: RW, GMI: GM}

#: Routes without a JSON body: hostile query strings and headers only.
READ_ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/openai/v1/models", OA),
    ("GET", "/openai/v1/models/gpt-image-2", OA),
    ("GET", "/apiframe/v2/jobs", AF),
    ("GET", "/apiframe/v2/jobs/00000000-0000-4000-8000-000000000000", AF),
    ("GET", "/apiframe/v2/me", AF),
    ("GET", GMI, GM),
    ("GET", GMI + "/00000000-0000-4000-8000-000000000000", GM),
    ("DELETE", GMI + "/00000000-0000-4000-8000-000000000000", GM),
    ("GET", "/__admin/journal", {}),
    ("GET", "/__admin/ledger", {}),
    ("GET", "/__admin/accounts", {}),
    ("GET", "/__admin/webhooks", {}),
    ("GET", "/__admin/", {}),
]


def _error_shape(path: str, body: Any) -> bool:
    """Whether ``body`` is the error envelope of the provider (or the control plane) serving ``path``."""
    if path.startswith("/openai/"):
        return isinstance(body.get("error"), dict) and isinstance(body["error"].get("message"), str)
    if path.startswith("/cloudflare/"):
        return body.get("success") is False and isinstance(body.get("errors"), list) and bool(body["errors"])
    if path.startswith("/runware/"):
        return isinstance(body.get("errors"), list) and all("code" in e for e in body["errors"])
    return isinstance(body.get("error"), str)  # Apiframe, GMI, the control plane


def _state(rt: Runtime) -> tuple[Any, ...]:
    """What a refused request must not change: the ledger, and the jobs, tasks and files kept (a GMI
    request refused at submission keeps a failed record: documented, so failed records are not jobs)."""
    gmi = [
        r for r in rt.store.values("gmicloud.requests") if "error" not in (r["record"].get("outcome") or {})
    ]
    jobs = (len(rt.store.values(ns)) for ns in ("apiframe.jobs", "runware.tasks", "files"))
    return (len(rt.accounts.lines()), *jobs, len(gmi))


hostile_header_value = st.binary(min_size=0, max_size=300).map(
    lambda raw: bytes(b for b in raw if 0x20 <= b < 0x7F)  # what httpx's WSGI transport can carry
)
hostile_query = st.lists(
    st.tuples(
        st.sampled_from(["limit", "after", "since", "status", "cursor", "key", "provider", "x"]),
        st.text(max_size=40) | st.sampled_from(["-1", "1e400", "99999999999999999999", "%ff%fe", "NaN"]),
    ),
    max_size=4,
)


@st.composite
def hostile_request(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], bytes | None, list[tuple[str, str]]]:
    """``(method, path, headers, body, query)``."""
    if draw(st.integers(0, 4)) == 0:
        method, path, auth = draw(st.sampled_from(READ_ROUTES))
        body = None
    else:
        path = draw(st.sampled_from(sorted(SKELETONS)))
        method, auth = METHODS.get(path, "POST"), HEADERS.get(path, {})
        skeleton = draw(st.sampled_from(SKELETONS[path]))
        kind = draw(st.sampled_from(["value"] * 4 + ["binary"]) if "#" not in skeleton else st.just("image"))
        if kind == "binary":
            body = draw(st.binary(max_size=300))
        elif kind == "image":
            body = skeleton.replace("#", draw(st.sampled_from(_image_tokens(path != CF_RUN)))).encode()
        else:
            body = skeleton.replace("@", draw(json_value_text())).encode("utf-8", "surrogatepass")
    headers: dict[str, Any] = {**auth}
    if body is not None:
        headers["Content-Type"] = draw(
            st.sampled_from(["application/json"] * 4 + ["text/plain", "application/json; charset=latin-1"])
        )
    extra = draw(
        st.sampled_from(
            ["", "Authorization", "X-API-Key", "X-Pixelmock-Fault", "Idempotency-Key", "X-Anything"]
        )
    )
    if extra:
        headers[extra] = draw(hostile_header_value)
    return method, path, headers, body, draw(hostile_query)


@pytest.fixture(scope="module")
def hostile_app() -> Flask:
    return create_app(EmulatorConfig(max_body_bytes=4 * 1024 * 1024))


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(request=hostile_request())
def test_hostile_requests_get_the_providers_own_errors_and_change_nothing(
    hostile_app: Flask, request: tuple[str, str, dict[str, Any], bytes | None, list[tuple[str, str]]]
) -> None:
    method, path, headers, body, query = request
    rt = _rt(hostile_app)
    before = _state(rt)
    with httpx.Client(transport=httpx.WSGITransport(app=hostile_app), base_url="http://127.0.0.1") as http:
        response = http.request(method, path, content=body, headers=headers, params=query)
        assert response.status_code < 500, response.text[:500]
        if response.status_code >= 400:
            shaped = _error_shape(path, response.json())
            # A malformed X-Pixelmock-Fault (pixelmock's own test header, not the provider's) is answered
            # by pixelmock, naming the fault kinds.
            own = "X-Pixelmock-Fault" in headers and response.json().get("error", "").startswith("pixelmock:")
            assert shaped or own, response.text[:500]
            assert _state(rt) == before
        elif not path.startswith("/__admin/"):
            # a hostile body is never a valid request; reads with odd queries/headers may be answered
            assert body is None, (path, body[:200] if body else body, response.text[:300])
        assert http.get("/__admin/journal", params={"limit": 3}).status_code == 200
    check_ledger(rt)
    rt.reset()  # faults, clock or latency a hostile admin body may have set do not carry over


FORM_FIELDS = [
    "model",
    "prompt",
    "n",
    "size",
    "quality",
    "output_compression",
    "input_fidelity",
    "background",
]
hostile_form_value = st.sampled_from(
    [
        b"1" * 5000,
        b"1e400",
        b"NaN",
        b"-1",
        b"\xff\xfe",
        "\ud800".encode("utf-8", "surrogatepass"),
        b"[" * 1000,
    ]
) | st.binary(max_size=100)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    fields=st.lists(st.tuples(st.sampled_from(FORM_FIELDS), hostile_form_value), max_size=4),
    images=st.lists(
        st.tuples(
            st.sampled_from(["image", "image[]", "mask"]), st.sampled_from([*BAD_IMAGES.values(), b""])
        ),
        max_size=3,
    ),
)
def test_hostile_edit_forms_get_openais_own_errors_and_change_nothing(
    hostile_app: Flask, fields: list[tuple[str, bytes]], images: list[tuple[str, bytes]]
) -> None:
    """OpenAI edits (multipart): hostile text parts and bad image files, beside a valid prompt and image
    when the draw leaves them out, are refused with OpenAI's error body."""
    rt = _rt(hostile_app)
    before = _state(rt)
    named = {name for name, _ in fields}
    parts: list[tuple[str, Any]] = [(name, (None, value)) for name, value in fields]
    parts += [(name, ("in.png", data, "image/png")) for name, data in images]
    parts += [("prompt", (None, b"a cat"))] if "prompt" not in named else []
    parts += [("model", (None, b"gpt-image-2"))] if "model" not in named else []
    with httpx.Client(transport=httpx.WSGITransport(app=hostile_app), base_url="http://127.0.0.1") as http:
        response = http.post(EDIT, headers=OA, files=parts)
        assert response.status_code < 500, response.text[:500]
        if response.status_code >= 400:
            assert _error_shape(EDIT, response.json()), response.text[:500]
            assert _state(rt) == before
        else:  # hostile text can still make a valid edit (say, any prompt) only with no bad image in it
            assert not images, response.text[:300]
        assert http.get("/__admin/journal", params={"limit": 3}).status_code == 200
    check_ledger(rt)
    rt.reset()


@pytest.mark.parametrize(
    "message",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps([image_task(positivePrompt="PLACEHOLDER")]).replace("PLACEHOLDER", "a cat \\ud800"),
        '["\ud800"]'.encode("utf-8", "surrogatepass"),  # a lone surrogate's bytes, in a binary frame
        b"\xff\xfe\x00binary",
    ],
    ids=["deep", "escaped-surrogate", "surrogate-bytes", "binary"],
)
def test_runware_websocket_answers_hostile_messages_with_invalid_payload(
    live_url: str, app: Flask, message: str | bytes
) -> None:
    url = live_url.replace("http://", "ws://") + RUNWARE
    with connect(url, open_timeout=5, close_timeout=2) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "ws-hostile-key"}]))
        assert "data" in json.loads(ws.recv(timeout=10))
        ws.send(message)
        frame = json.loads(ws.recv(timeout=10))
        assert frame == {"errors": [{"code": "invalidPayload", "message": frame["errors"][0]["message"]}]}
        ws.send(json.dumps([{"taskType": "ping", "ping": True}]))
        assert json.loads(ws.recv(timeout=10)) == {"data": [{"taskType": "ping", "pong": True}]}
    assert _rt(app).accounts.lines() == []
    with httpx.Client(base_url=live_url) as http:
        assert http.get("/__admin/journal").status_code == 200


def test_a_journal_entry_that_cannot_be_built_says_so_and_the_journal_stays_readable() -> None:
    journal = Journal(10)

    def broken() -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
        raise RecursionError("what a request held")

    fields = {"at": dt.datetime(2026, 11, 21, tzinfo=dt.UTC), "provider": "openai", "method": "POST"}
    journal.record_lazy(broken, path="/x", route=None, status=400, duration_ms=1.0, **fields)
    (entry,) = journal.entries()
    assert entry.request == entry.response == {"unrecorded": "RecursionError while recording this entry"}
    assert entry.to_json()["status"] == 400


@pytest.mark.parametrize(("path", "headers"), JSON_ROUTES)
def test_python_only_constants_are_not_json(client: httpx.Client, path: str, headers: dict[str, str]) -> None:
    body = SURROGATE_BODIES[path].replace('"a cat \\ud800"', "NaN").replace('"a cat \\udc00"', "Infinity")
    assert "\\u" not in body and ("NaN" in body or "Infinity" in body)
    response = _post_json_text(client, path, body, headers)
    status, shaped = MALFORMED[path]
    assert response.status_code == status
    assert shaped(response.json())
