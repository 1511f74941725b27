"""GMI Cloud emulator over HTTP (in-process WSGI and a real socket, via the ``http`` fixture).

Oracles: the documented cassettes (replayed verbatim, host changed), the contract's response schemas,
the quickstart's defaults, GMI's published gpt-image-2 prices and the image bytes themselves (Pillow).
"""

from __future__ import annotations

import base64
import io
import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from flask import Flask
from paths import provider_cassettes
from PIL import Image
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from pixelmock.contracts.openapi import inlined, validate
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.core.runtime import Runtime
from pixelmock.emulators.tools.demo import fetch_image

EMULATED_PROVIDERS = ["gmicloud"]

PREFIX = "/gmicloud/api/v1/ie/requestqueue/apikey"
REAL_BASE = "https://console.gmicloud.ai/api/v1/ie/requestqueue/apikey"
KEY = {"Authorization": "Bearer gmi-test-key"}
REJECTED = "Generation rejected; please review the prompt and parameters then retry"
PIL_FORMAT = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def _rt(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["pixelmock"]
    return rt


def _schema(path: str, method: str, status: int) -> dict[str, Any]:
    op = inlined("gmicloud")["paths"][path][method]
    schema: dict[str, Any] = op["responses"][str(status)]["content"]["application/json"]["schema"]
    return schema


def _conforms(response: httpx.Response, path: str, method: str) -> Any:
    body = response.json()
    assert validate("gmicloud", _schema(path, method, response.status_code), body) == []
    return body


def _submit(
    http: httpx.Client, model: str, headers: dict[str, str] | None = None, **payload: Any
) -> httpx.Response:
    body = {"model": model, "payload": {"prompt": "a lighthouse at dawn", **payload}}
    return http.post(f"{PREFIX}/requests", json=body, headers=KEY if headers is None else headers)


def _b64_png(width: int, height: int, mode: str = "RGB") -> str:
    buf = io.BytesIO()
    Image.new(mode, (width, height)).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


# -- documented examples (cassettes) ---------------------------------------------------------------------


def _gpt_cassettes() -> list[tuple[str, Any, dict[str, Any]]]:
    cases = []
    for path in provider_cassettes("gmicloud"):
        requests, responses = deserialize(path.read_text(encoding="utf-8"), yamlserializer)
        for req, resp in zip(requests, responses, strict=True):
            if req.method == "POST" and req.body and json.loads(req.body)["model"].startswith("gpt-image"):
                cases.append((path.name, req, resp))
    return cases


GPT_CASSETTES = _gpt_cassettes()


@pytest.mark.parametrize(("name", "req", "resp"), GPT_CASSETTES, ids=[c[0] for c in GPT_CASSETTES])
def test_documented_examples_replay(http: httpx.Client, name: str, req: Any, resp: dict[str, Any]) -> None:
    """Each published GPT Image request, sent verbatim (host changed), gets the published status and shape."""
    path = PREFIX + urlsplit(req.uri).path.removeprefix(urlsplit(REAL_BASE).path)
    headers = {**{k: v for k, v in req.headers.items() if k.lower() != "authorization"}, **KEY}
    response = http.request(req.method, path, content=req.body, headers=headers)
    published = json.loads(resp["body"]["string"])
    assert response.status_code == resp["status"]["code"]
    body = _conforms(response, "/requests", "post")
    assert set(published) <= set(body)
    if response.status_code != 200:
        assert body["error"] == published["error"]
        return
    assert body["status"] == published["status"] == "success"
    assert body["payload"] == published["payload"]
    sent = json.loads(req.body)["payload"]
    assert len(body["outcome"]["media_urls"]) == len(published["outcome"]["media_urls"])
    for index, item in enumerate(body["outcome"]["media_urls"]):
        assert item["id"] == str(index)
        image = fetch_image(http, item["url"])
        assert image.size == tuple(int(x) for x in sent.get("size", "1024x1024").split("x"))
        assert image.format == PIL_FORMAT[sent.get("output_format", "png")]


# -- successful generation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "size", "fmt"),
    [
        ("gpt-image-1.5", "1024x1536", "jpeg"),
        ("gpt-image-1.5", "1536x1024", "webp"),
        ("gpt-image-2", "1536x1024", "png"),
        ("gpt-image-2", "1024x1024", "jpeg"),
    ],
)
def test_images_have_the_requested_size_and_format(
    http: httpx.Client, model: str, size: str, fmt: str
) -> None:
    response = _submit(http, model, size=size, output_format=fmt, quality="low")
    assert response.status_code == 200
    record = _conforms(response, "/requests", "post")
    [item] = record["outcome"]["media_urls"]
    image = fetch_image(http, item["url"])
    assert "x".join(map(str, image.size)) == size
    assert image.format == PIL_FORMAT[fmt]
    assert record["outcome"]["thumbnail_image_url"] == item["url"]


def test_defaults_are_the_seed_defaults(http: httpx.Client) -> None:
    record = _submit(http, "gpt-image-1.5").json()
    image = fetch_image(http, record["outcome"]["media_urls"][0]["url"])
    assert (image.size, image.format) == ((1024, 1024), "PNG")  # seed: 1024x1024, png, n 1
    assert len(record["outcome"]["media_urls"]) == 1


def test_transparent_background_has_alpha(wsgi: httpx.Client) -> None:
    record = _submit(wsgi, "gpt-image-1.5", background="transparent", output_format="png").json()
    image = fetch_image(wsgi, record["outcome"]["media_urls"][0]["url"])
    assert image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 0


def test_record_is_synchronous_and_kept(http: httpx.Client, app: Flask) -> None:
    _rt(app).clock.advance(1000)
    before = _rt(app).clock.timestamp()
    record = _submit(http, "gpt-image-2", n=2, quality="low").json()
    assert record["status"] == "success" and record["is_public"] is False
    assert record["payload"] == {"prompt": "a lighthouse at dawn", "n": 2, "quality": "low"}
    assert [m["id"] for m in record["outcome"]["media_urls"]] == ["0", "1"]
    assert before <= record["created_at"] == record["queued_at"] <= record["updated_at"] <= before + 5
    assert list(record)[:8] == [
        "request_id", "org_id", "user_id", "model", "status", "is_public", "payload", "outcome",
    ]  # fmt: skip
    again = http.get(f"{PREFIX}/requests/{record['request_id']}", headers=KEY)
    assert again.status_code == 200
    assert _conforms(again, "/requests/{request_id}", "get") == record


# -- rejections ------------------------------------------------------------------------------------------

FAILED_RECORD = [
    ("gpt-image-2", {"output_format": "webp"}),
    ("gpt-image-2", {"background": "transparent"}),
    ("gpt-image-2", {"output_compression": 50}),
    ("gpt-image-1.5", {"seed": 7}),
    ("gpt-image-1.5", {"size": "auto"}),
    ("gpt-image-1.5", {"n": 0}),
    ("gpt-image-1.5", {"n": 11}),
    ("gpt-image-1.5", {"quality": "ultra"}),
    ("gpt-image-1.5", {"output_compression": 101}),
    ("gpt-image-1.5", {"background": "transparent", "output_format": "jpeg"}),
    ("gpt-image-1.5", {"prompt": ""}),
    ("gpt-image-1.5", {"prompt": None}),
    ("gpt-image-1.5", {"mask": _b64_png(8, 8)}),
    ("gpt-image-1.5", {"image": "not base64!"}),
    ("gpt-image-1.5", {"image": base64.b64encode(b"not an image").decode()}),
    ("gpt-image-2", {"image": "https://example.com/a.png"}),
    ("gpt-image-2", {"image": _b64_png(16, 16), "mask": _b64_png(8, 8)}),
]


@pytest.mark.parametrize(("model", "payload"), FAILED_RECORD)
def test_rejected_generation_is_400_with_a_failed_record(
    wsgi: httpx.Client, app: Flask, model: str, payload: dict[str, Any]
) -> None:
    response = _submit(wsgi, model, **payload)
    assert response.status_code == 400
    body = _conforms(response, "/requests", "post")
    assert body["error"] == REJECTED and body["request_id"]
    record = wsgi.get(f"{PREFIX}/requests/{body['request_id']}", headers=KEY).json()
    assert record["status"] == "failed"
    assert record["outcome"] == {"error": {"code": 400, "message": REJECTED, "status": "INVALID_INPUT"}}
    listed = wsgi.get(f"{PREFIX}/requests", headers=KEY).json()
    assert [r["request_id"] for r in listed["requests"]] == [body["request_id"]]
    account = _rt(app).accounts.authenticate("gmicloud", "gmi-test-key").account
    assert account is not None and _rt(app).accounts.balance(account, "USD") == Decimal(100)  # not charged


def test_empty_payload_probe_is_400(wsgi: httpx.Client) -> None:
    # genblaze's liveness probe (genblaze_gmicloud/_probe.py): {"model": slug, "payload": {}} -> 400 if live.
    response = wsgi.post(f"{PREFIX}/requests", json={"model": "gpt-image-2", "payload": {}}, headers=KEY)
    assert response.status_code == 400 and response.json()["error"] == REJECTED


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"model": "gpt-image-9", "payload": {"prompt": "p"}}, 404),
        ({"model": "Flux2-Klein", "payload": {}}, 404),
        ({"payload": {"prompt": "p"}}, 400),
        ({"model": 5, "payload": {"prompt": "p"}}, 400),
        ({"model": "gpt-image-2"}, 400),
        ({"model": "gpt-image-2", "payload": "prompt"}, 400),
        ({"model": "gpt-image-2", "payload": {"prompt": "p"}, "webhook": "x"}, 400),
        (["gpt-image-2"], 400),
    ],
)
def test_envelope_errors_create_no_record(wsgi: httpx.Client, body: Any, status: int) -> None:
    response = wsgi.post(f"{PREFIX}/requests", json=body, headers=KEY)
    assert response.status_code == status
    assert set(_conforms(response, "/requests", "post")) == {"error"}
    assert wsgi.get(f"{PREFIX}/requests", headers=KEY).json()["total"] == 0


def test_malformed_json_and_content_type(http: httpx.Client) -> None:
    headers = {**KEY, "Content-Type": "application/json"}
    malformed = http.post(f"{PREFIX}/requests", content=b'{"model": ', headers=headers)
    assert malformed.status_code == 400 and set(malformed.json()) == {"error"}
    empty = http.post(f"{PREFIX}/requests", content=b"", headers=headers)
    assert empty.status_code == 400 and set(empty.json()) == {"error"}
    text = http.post(f"{PREFIX}/requests", content=b"{}", headers={**KEY, "Content-Type": "text/plain"})
    assert text.status_code == 415 and set(text.json()) == {"error"}


def test_unknown_route_and_method(http: httpx.Client) -> None:
    missing = http.get(f"{PREFIX}/models/gpt-image-2", headers=KEY)
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    wrong = http.put(f"{PREFIX}/requests", headers=KEY)
    assert wrong.status_code == 405 and set(wrong.json()) == {"error"}


@pytest.mark.parametrize("config", [EmulatorConfig(max_body_bytes=1024)], indirect=True)
def test_too_large_body(wsgi: httpx.Client) -> None:
    response = _submit(wsgi, "gpt-image-2", prompt="x" * 4096)
    assert response.status_code == 413 and set(response.json()) == {"error"}


# -- auth ------------------------------------------------------------------------------------------------


def test_missing_key_is_401(http: httpx.Client) -> None:
    cases = [
        {},
        {"Authorization": "gmi-test-key"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
    ]
    for headers in cases:
        for response in (
            _submit(http, "gpt-image-2", headers=headers),
            http.get(f"{PREFIX}/requests", headers=headers),
        ):
            assert response.status_code == 401, headers
            assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    "config",
    [EmulatorConfig(invalid_keys=frozenset({"bad"}), inactive_keys=frozenset({"off"}))],
    indirect=True,
)
def test_invalid_and_inactive_keys_are_401(wsgi: httpx.Client) -> None:
    for key in ("bad", "off"):
        response = _submit(wsgi, "gpt-image-2", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401 and set(response.json()) == {"error"}
    assert _submit(wsgi, "gpt-image-2", headers={"Authorization": "bearer fine"}).status_code == 200


def test_requests_are_private_to_their_account(wsgi: httpx.Client) -> None:
    record = _submit(wsgi, "gpt-image-2", quality="low").json()
    other = {"Authorization": "Bearer someone-else"}
    assert wsgi.get(f"{PREFIX}/requests/{record['request_id']}", headers=other).status_code == 404
    assert wsgi.delete(f"{PREFIX}/requests/{record['request_id']}", headers=other).status_code == 404
    assert wsgi.get(f"{PREFIX}/requests", headers=other).json() == {
        "requests": [],
        "total": 0,
        "has_more": False,
    }


# -- list, get, cancel -----------------------------------------------------------------------------------


def test_unknown_request_id_is_404(wsgi: httpx.Client) -> None:
    response = wsgi.get(f"{PREFIX}/requests/550e8400-e29b-41d4-a716-446655440000", headers=KEY)
    assert response.status_code == 404
    assert set(_conforms(response, "/requests/{request_id}", "get")) == {"error"}


def test_list_filters_pages_and_orders_newest_first(http: httpx.Client) -> None:
    ids = [
        _submit(http, model, quality="low").json()["request_id"] for model in ("gpt-image-2", "gpt-image-1.5")
    ]
    ids.append(_submit(http, "gpt-image-2", output_format="webp").json()["request_id"])  # failed
    everything = http.get(f"{PREFIX}/requests", headers=KEY)
    listed = _conforms(everything, "/requests", "get")
    assert [r["request_id"] for r in listed["requests"]] == ids[::-1]
    assert (listed["total"], listed["has_more"]) == (3, False)
    only2 = http.get(f"{PREFIX}/requests", params={"model_id": "gpt-image-2"}, headers=KEY).json()
    assert [r["request_id"] for r in only2["requests"]] == [ids[2], ids[0]]
    assert only2["total"] == 2
    page = http.get(f"{PREFIX}/requests", params={"limit": 1, "offset": 1}, headers=KEY).json()
    assert [r["request_id"] for r in page["requests"]] == [ids[1]]
    assert (page["total"], page["has_more"]) == (3, True)
    for bad in ({"limit": 0}, {"limit": "ten"}, {"offset": -1}):
        response = http.get(f"{PREFIX}/requests", params=bad, headers=KEY)
        assert response.status_code == 400 and set(response.json()) == {"error"}


def test_cancel_leaves_a_terminal_request_as_it_is(http: httpx.Client) -> None:
    record = _submit(http, "gpt-image-2", quality="low").json()
    response = http.delete(f"{PREFIX}/requests/{record['request_id']}", headers=KEY)
    assert response.status_code == 200
    assert _conforms(response, "/requests/{request_id}", "delete") == record
    assert http.delete(f"{PREFIX}/requests/nope", headers=KEY).status_code == 404


# -- costs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "usd"),
    [
        ({}, "0.060"),  # default quality medium, 1024x1024 (the reported price table)
        ({"quality": "low", "size": "1024x1536"}, "0.020"),
        ({"quality": "high", "size": "1536x1024", "n": 2}, "0.880"),  # 0.440 x 2
        ({"quality": "auto"}, "0.220"),  # auto billed at the top tier (reported)
    ],
)
def test_gpt_image_2_is_precharged_the_published_price(
    wsgi: httpx.Client, app: Flask, payload: dict[str, Any], usd: str
) -> None:
    assert _submit(wsgi, "gpt-image-2", **payload).status_code == 200
    account = _rt(app).accounts.authenticate("gmicloud", "gmi-test-key").account
    assert account is not None
    assert _rt(app).accounts.balance(account, "USD") == Decimal(100) - Decimal(usd)


def test_gpt_image_15_is_precharged_openai_token_price(wsgi: httpx.Client, app: Flask) -> None:
    # No GMI price published: OpenAI's 1056 output tokens (medium 1024x1024) x $32/M = 0.033792.
    assert _submit(wsgi, "gpt-image-1.5").status_code == 200
    account = _rt(app).accounts.authenticate("gmicloud", "gmi-test-key").account
    assert account is not None
    assert _rt(app).accounts.balance(account, "USD") == Decimal(100) - Decimal("0.033792")


@pytest.mark.parametrize(
    "config", [EmulatorConfig(starting_balances={"USD": Decimal("0.05")})], indirect=True
)
def test_short_balance_is_402_without_record_or_charge(wsgi: httpx.Client, app: Flask) -> None:
    response = _submit(wsgi, "gpt-image-2")  # 0.060 > 0.05
    assert response.status_code == 402
    assert set(_conforms(response, "/requests", "post")) == {"error"}
    assert wsgi.get(f"{PREFIX}/requests", headers=KEY).json()["total"] == 0
    assert _submit(wsgi, "gpt-image-2", quality="low").status_code == 200  # 0.010 fits
    account = _rt(app).accounts.authenticate("gmicloud", "gmi-test-key").account
    assert account is not None and _rt(app).accounts.balance(account, "USD") == Decimal("0.04")


# -- rate limiting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [EmulatorConfig(options={"gmicloud.rate_limit": 2})], indirect=True)
def test_rate_limit_answers_429_with_retry_after(wsgi: httpx.Client, app: Flask) -> None:
    assert wsgi.get(f"{PREFIX}/requests", headers=KEY).status_code == 200
    _rt(app).clock.advance(20)
    assert wsgi.get(f"{PREFIX}/requests", headers=KEY).status_code == 200
    limited = _submit(wsgi, "gpt-image-2")
    assert limited.status_code == 429
    assert set(_conforms(limited, "/requests", "post")) == {"error"}
    assert limited.headers["Retry-After"] == "40"
    _rt(app).clock.advance(40)
    assert wsgi.get(f"{PREFIX}/requests", headers=KEY).status_code == 200


# -- documented slugs, wider sizes and image forms (docs.gmicloud.ai quickstarts; reported live tests) -----


def _balance(app: Flask) -> Decimal:
    account = _rt(app).accounts.authenticate("gmicloud", "gmi-test-key").account
    assert account is not None
    return _rt(app).accounts.balance(account, "USD")


def _notes(app: Flask) -> list[dict[str, Any]]:
    entries = PixelmockAdmin.for_app(app).journal(provider="gmicloud")
    return list(entries[-1]["notes"])


def test_generate_slug_runs_as_gpt_image_2_at_its_published_price(http: httpx.Client, app: Flask) -> None:
    # docs.gmicloud.ai .../gpt-image-2-generate: size, quality, n, output_format png/jpeg.
    response = _submit(
        http, "gpt-image-2-generate", size="1536x1024", quality="low", output_format="jpeg", n=2
    )
    assert response.status_code == 200
    record = _conforms(response, "/requests", "post")
    assert (record["model"], record["status"]) == ("gpt-image-2-generate", "success")
    for item in record["outcome"]["media_urls"]:
        assert fetch_image(http, item["url"]).size == (1536, 1024)
    assert _balance(app) == Decimal(100) - 2 * Decimal("0.020")  # low 1536x1024, reported price table


@pytest.mark.parametrize("image", [_b64_png(64, 64), "https://example.com/photo.png"])
def test_edit_slug_takes_base64_or_a_public_url(wsgi: httpx.Client, app: Flask, image: str) -> None:
    # docs.gmicloud.ai .../gpt-image-2-edit: image required, "base64 string or public URL".
    response = _submit(wsgi, "gpt-image-2-edit", image=image, quality="high")
    assert response.status_code == 200, response.headers.get("X-Pixelmock-Detail")
    record = _conforms(response, "/requests", "post")
    assert record["model"] == "gpt-image-2-edit"
    assert fetch_image(wsgi, record["outcome"]["media_urls"][0]["url"]).format == "PNG"
    assert _balance(app) == Decimal(100) - Decimal("0.220")  # high 1024x1024


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        ("gpt-image-2-generate", {"image": _b64_png(16, 16)}),  # no image on -generate
        ("gpt-image-2-generate", {"output_format": "webp"}),
        ("gpt-image-2-generate", {"size": "2048x2048"}),  # documented sizes only by default
        ("gpt-image-2-edit", {}),  # image is required
        ("gpt-image-2-edit", {"image": _b64_png(16, 16), "output_format": "png"}),  # no such field
        ("gpt-image-2-edit", {"image": "https://example.com/a.png", "mask": "https://example.com/m.png"}),
        ("gpt-image-2-edit", {"image": _b64_png(16, 16), "mask": _b64_png(8, 8)}),  # mask size
        ("gpt-image-2-edit", {"image": "ftp://example.com/a.png"}),
        ("gpt-image-2", {"image": "data:image/png;base64," + _b64_png(16, 16)}),  # base64 only there
        ("gpt-image-2", {"size": "2048x2048"}),
    ],
)
def test_documented_slug_rules_reject_with_a_failed_record(
    wsgi: httpx.Client, app: Flask, model: str, payload: dict[str, Any]
) -> None:
    response = _submit(wsgi, model, **payload)
    assert response.status_code == 400
    assert _conforms(response, "/requests", "post")["error"] == REJECTED
    assert _balance(app) == Decimal(100)


DATA_URI = "data:image/png;base64," + _b64_png(32, 32)


def test_edit_slug_takes_a_data_uri_by_default_and_says_so(wsgi: httpx.Client, app: Flask) -> None:
    # A third party's live tests (2026-09, reported): the journal says the answer rested on it.
    assert _submit(wsgi, "gpt-image-2-edit", image=DATA_URI).status_code == 200
    choices = [note["choice"] for note in _notes(app) if "choice" in note]
    assert {"option": "gmicloud.gpt_image_2_edit_data_uri", "value": True, "evidence": "reported"} in choices


@pytest.mark.parametrize(
    "config", [EmulatorConfig(options={"gmicloud.gpt_image_2_edit_data_uri": False})], indirect=True
)
def test_edit_slug_refuses_a_data_uri_when_told_to(wsgi: httpx.Client, app: Flask) -> None:
    assert _submit(wsgi, "gpt-image-2-edit", image=DATA_URI).status_code == 400
    assert _submit(wsgi, "gpt-image-2-edit", image=_b64_png(32, 32)).status_code == 200


FLEXIBLE = EmulatorConfig(options={"gmicloud.gpt_image_2_sizes": "flexible"})


@pytest.mark.parametrize("config", [FLEXIBLE], indirect=True)
@pytest.mark.parametrize("model", ["gpt-image-2", "gpt-image-2-generate"])
def test_flexible_sizes_render_and_are_not_charged(wsgi: httpx.Client, app: Flask, model: str) -> None:
    # Live tests saw 2048x2048 accepted (third party, 2026-09); GMI publishes no price for it.
    response = _submit(wsgi, model, size="2048x2048", quality="low")
    assert response.status_code == 200, response.headers.get("X-Pixelmock-Detail")
    record = _conforms(response, "/requests", "post")
    assert fetch_image(wsgi, record["outcome"]["media_urls"][0]["url"]).size == (2048, 2048)
    assert _balance(app) == Decimal(100)
    notes = _notes(app)
    assert any("no price" in str(note.get("unpriced", "")) for note in notes)
    assert {"option": "gmicloud.gpt_image_2_sizes", "value": "flexible", "evidence": "configured"} in [
        note["choice"] for note in notes if "choice" in note
    ]


@pytest.mark.parametrize("config", [FLEXIBLE], indirect=True)
@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("gpt-image-2", "auto"),  # never auto (third-party live tests)
        ("gpt-image-2", "1000x1000"),  # not multiples of 16
        ("gpt-image-2", "3856x1280"),  # longest edge over 3840
        ("gpt-image-2", "3840x1024"),  # ratio over 3
        ("gpt-image-2", "768x768"),  # under 655,360 pixels
        ("gpt-image-1.5", "2048x2048"),  # no wider sizes seen for gpt-image-1.5
    ],
)
def test_flexible_sizes_keep_the_live_rules(wsgi: httpx.Client, model: str, size: str) -> None:
    assert _submit(wsgi, model, size=size).status_code == 400


@pytest.mark.parametrize(
    ("options", "absent", "auto"),
    [
        ({}, "0.060", "0.220"),  # documented default medium; auto at the top tier (reported)
        ({"gmicloud.absent_quality_billing": "top_tier"}, "0.220", "0.220"),  # the third party's report
    ],
)
def test_absent_and_auto_quality_billing(options: dict[str, Any], absent: str, auto: str) -> None:
    app = create_app(EmulatorConfig(options=options), providers=EMULATED_PROVIDERS)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
        assert _submit(client, "gpt-image-2").status_code == 200
        assert _balance(app) == Decimal(100) - Decimal(absent)
        assert _submit(client, "gpt-image-2", quality="auto").status_code == 200
        assert _balance(app) == Decimal(100) - Decimal(absent) - Decimal(auto)
        cost_notes = [note["cost"]["notes"] for note in _notes(app) if "cost" in note]
        assert any("quality auto billed as high rests on reported evidence" in n for n in cost_notes[-1])


def test_gpt_image_15_cost_is_labelled_an_estimate_in_the_journal(wsgi: httpx.Client, app: Flask) -> None:
    assert _submit(wsgi, "gpt-image-1.5").status_code == 200
    [cost] = [note["cost"] for note in _notes(app) if "cost" in note]
    assert any(note.startswith("estimate") for note in cost["notes"])
