"""The recording, validating proxy (issue 16), entirely on 127.0.0.1: a second pixelmock stands in for
the real providers (with an injected fault where a test needs the provider to misbehave), the proxy
forwards to it, reports violations, records cassettes that replay offline, and the drift report names
the differences between the recorded answers and the emulators' own."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from flask import Flask
from PIL import Image
from runware import Runware
from runware_tasks import image_task
from simple_websocket import Client as WebSocketClient  # type: ignore[import-untyped]

from pixelmock.contracts.openapi import PROVIDERS, real_base_url
from pixelmock.contracts.verify import Disagreement, verify_paths
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.drift import body_shape, drift_paths, shape_differences
from pixelmock.emulators.tools.drift import run as run_drift
from pixelmock.emulators.tools.proxy import (
    ANSWERED_BY_HEADER,
    VIOLATIONS_HEADER,
    announce,
    create_proxy,
    image_urls,
    parse_upstreams,
    upstream_table,
    violations_json,
    websocket_upstreams,
)
from pixelmock.emulators.tools.replay import REPLAYED_HEADER, replaying
from pixelmock.emulators.tools.server import running

KEY = "sk-proxy-test-0123456789abcdef"
BEARER = {"Authorization": f"Bearer {KEY}"}
OPENAI_JOB = {"model": "gpt-image-2", "prompt": "a lighthouse", "size": "1024x1024", "quality": "low"}


@dataclass
class Session:
    upstream: Flask
    upstream_url: str
    proxy: Flask
    url: str
    record_dir: Path

    def upstream_requests(self) -> int:
        return len(self.upstream.extensions["pixelmock"].journal)

    def cassettes(self, provider: str = "") -> list[Path]:
        return sorted((self.record_dir / provider).rglob("*.yaml"))


@contextmanager
def session(record_dir: Path, **options: Any) -> Iterator[Session]:
    """A stand-in provider (every emulator) and a proxy forwarding every prefix to it, both served."""
    upstream = create_app(EmulatorConfig())
    with running(upstream) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        proxy = create_proxy(bases, record_dir=record_dir, **options)
        with running(proxy) as url:
            yield Session(upstream, upstream_url, proxy, url, record_dir)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Session]:
    with session(tmp_path / "live", fetch_images=True) as found:
        yield found


def _sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=KEY, base_url=url + "/openai/v1", max_retries=0)


def _eventually(found: Callable[[], list[Path]], limit: float = 20.0) -> list[Path]:
    """``found()`` once it is not empty (polled; for what a server thread finishes after answering).
    Raises ``AssertionError`` if it stays empty for ``limit`` real seconds (a hang, not a timing check)."""
    stop = time.monotonic() + limit
    while not (result := found()):
        assert time.monotonic() < stop, "nothing appeared"
        time.sleep(0.05)
    return result


def _all_text(paths: list[Path]) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def _interactions(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["interactions"])


# -- forwarding --------------------------------------------------------------------------------------------


def test_upstreams_default_to_the_contracts_servers_and_are_printed() -> None:
    table = upstream_table({"openai": "http://127.0.0.1:9/v1/"}, PROVIDERS)
    assert table["openai"] == "http://127.0.0.1:9/v1"
    assert table["runware"] == "https://api.runware.ai/v1"
    assert all(table[p] == real_base_url(p) for p in PROVIDERS if p != "openai")
    assert websocket_upstreams(None, PROVIDERS) == {"runware": "wss://ws-api.runware.ai/v1"}
    assert websocket_upstreams({"runware": "http://127.0.0.1:9/runware/v1/"}, ["runware"]) == {
        "runware": "ws://127.0.0.1:9/runware/v1"
    }
    assert websocket_upstreams({"runware": "https://staging.example/v1"}, ["runware", "openai"]) == {
        "runware": "wss://staging.example/v1"
    }
    with pytest.raises(ValueError, match="unknown provider"):
        upstream_table({"openia": "http://127.0.0.1:9"}, PROVIDERS)
    assert parse_upstreams(["openai=http://127.0.0.1:9/v1"]) == {"openai": "http://127.0.0.1:9/v1"}
    for bad in ("openai", "openai=ftp://x", "openia=http://127.0.0.1:9"):
        with pytest.raises(ValueError):
            parse_upstreams([bad])
    out = io.StringIO()
    announce(
        create_proxy({"openai": "http://127.0.0.1:9/v1"}, providers=["openai", "gmicloud", "runware"]), out
    )
    health = create_proxy({"openai": "http://127.0.0.1:9/v1"}).test_client().get("/__health").get_json()
    assert health["status"] == "ok" and health["upstreams"]["openai"] == "http://127.0.0.1:9/v1"
    assert "/runware/v1 (WebSocket)" in out.getvalue() and "-> wss://ws-api.runware.ai/v1" in out.getvalue()
    assert "/openai/v1" in out.getvalue() and "-> http://127.0.0.1:9/v1" in out.getvalue()
    assert "-> https://console.gmicloud.ai/api/v1/ie/requestqueue/apikey" in out.getvalue()


def test_the_openai_sdk_works_unchanged_through_the_proxy_and_the_exchange_is_recorded(live: Session) -> None:
    with _sdk(live.url) as sdk:
        result = sdk.images.generate(**OPENAI_JOB)  # type: ignore[arg-type]
    assert result.data is not None and result.data[0].b64_json is not None
    assert Image.open(io.BytesIO(base64.b64decode(result.data[0].b64_json))).size == (1024, 1024)
    assert live.upstream_requests() == 1
    [cassette] = live.cassettes("openai")
    assert cassette.name.endswith("-createImage.yaml")
    [interaction] = _interactions(cassette)
    assert interaction["request"]["uri"] == "https://api.openai.com/v1/images/generations"
    assert interaction["request"]["headers"]["authorization"] == ["Bearer REDACTED"]
    assert (
        json.loads(interaction["response"]["body"]["string"])["data"][0]["b64_json"]
        == result.data[0].b64_json
    )
    assert KEY not in cassette.read_text(encoding="utf-8")
    assert verify_paths([live.record_dir]).ok


def test_openai_streaming_passes_through_and_is_recorded_whole(live: Session) -> None:
    with _sdk(live.url) as sdk:
        events = list(sdk.images.generate(**OPENAI_JOB, stream=True, partial_images=1))  # type: ignore[call-overload]
    assert [e.type for e in events] == ["image_generation.partial_image", "image_generation.completed"]
    [cassette] = live.cassettes("openai")
    [interaction] = _interactions(cassette)
    assert interaction["response"]["headers"]["content-type"][0].startswith("text/event-stream")
    body = interaction["response"]["body"]["string"]
    assert "image_generation.partial_image" in body and "image_generation.completed" in body
    assert events[-1].b64_json in body
    assert verify_paths([cassette]).ok
    # verify checks every event of a recorded stream against the contract's event schema
    cassette.write_text(
        cassette.read_text(encoding="utf-8").replace('"quality": "low"', '"quality": "ultra"', 1)
    )
    [found] = verify_paths([cassette]).disagreements
    assert (found.where, found.path, found.found) == ("response", "$[0].data.quality", '"ultra"')


def test_a_streams_events_are_checked_when_it_ends(live: Session, caplog: pytest.LogCaptureFixture) -> None:
    fault = {"kind": "malformed", "provider": "openai", "times": 1}  # the stand-in cuts its answer in half
    assert httpx.post(live.upstream_url + "/__admin/faults", json=fault).status_code == 201
    with httpx.stream(
        "POST",
        live.url + "/openai/v1/images/generations",
        json={**OPENAI_JOB, "stream": True},
        headers=BEARER,
    ) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert VIOLATIONS_HEADER not in answer.headers  # sent before the body was known
        answer.read()
    assert 'response $[0].data: expected contentMediaType "JSON"' in caplog.text
    [found] = verify_paths([live.record_dir]).disagreements
    assert (found.where, found.path) == ("response", "$[0].data")


def test_an_edit_upload_passes_through_is_checked_as_a_form_and_replays(
    live: Session, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), (120, 40, 40)).save(buffer, "PNG")
    with _sdk(live.url) as sdk:
        edited = sdk.images.edit(
            model="gpt-image-2",
            image=("in.png", buffer.getvalue(), "image/png"),
            prompt="add a moon",
            quality="low",
        )
    assert edited.data is not None and edited.data[0].b64_json
    [cassette] = live.cassettes("openai")
    [interaction] = _interactions(cassette)
    assert interaction["request"]["headers"]["content-type"][0].startswith("multipart/form-data")
    assert buffer.getvalue() in interaction["request"]["body"]  # the upload, byte for byte (YAML !!binary)
    assert verify_paths([cassette]).ok
    with running(replaying(create_app(), live.record_dir)) as url, _sdk(url) as sdk:
        replayed = sdk.images.with_raw_response.edit(
            model="gpt-image-2",
            image=("in.png", buffer.getvalue(), "image/png"),
            prompt="add a moon",
            quality="low",
        )
        assert REPLAYED_HEADER in replayed.headers and replayed.parse().data == edited.data


def test_a_request_violation_is_reported_in_the_header_the_journal_and_the_log(
    live: Session, caplog: pytest.LogCaptureFixture
) -> None:
    answer = httpx.post(
        live.url + "/openai/v1/images/generations", json={**OPENAI_JOB, "quality": "ultra"}, headers=BEARER
    )
    assert answer.status_code == 400  # the stand-in provider's own refusal: it was forwarded
    assert answer.json()["error"]["param"] == "quality"
    assert live.upstream_requests() == 1
    [violation] = json.loads(answer.headers[VIOLATIONS_HEADER])
    assert (violation["where"], violation["path"], violation["found"]) == ("request", "$.quality", '"ultra"')
    [entry] = httpx.get(live.url + "/__admin/journal").json()["entries"]
    assert entry["notes"] == [{"answered_by": "upstream"}, {"violations": [violation]}]
    assert entry["request"]["headers"]["Authorization"] == "Bearer REDACTED"
    assert "$.quality" in caplog.text and "ultra" in caplog.text


def test_a_violating_credential_never_reaches_the_header_the_log_or_the_journal(
    live: Session, caplog: pytest.LogCaptureFixture
) -> None:
    tasks = [{"taskType": "authentication", "apiKey": KEY, "unexpected": True}]
    answer = httpx.post(live.url + "/runware/v1", json=tasks, headers=BEARER)
    shown = json.loads(answer.headers[VIOLATIONS_HEADER])
    assert shown and KEY not in answer.headers[VIOLATIONS_HEADER]
    journal = httpx.get(live.url + "/__admin/journal").text
    assert KEY not in caplog.text and KEY not in journal
    violations = violations_json(
        [Disagreement("", 0, "runware", None, "request", "$[0].apiKey", "a string", KEY)]
    )
    assert violations[0]["found"] == "REDACTED"


def test_a_valid_exchange_has_no_violations_header(live: Session) -> None:
    answer = httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
    assert answer.status_code == 200 and VIOLATIONS_HEADER not in answer.headers


def test_an_injected_response_violation_is_reported_in_the_header(live: Session) -> None:
    fault = {"kind": "malformed", "provider": "openai", "times": 1}
    assert httpx.post(live.upstream_url + "/__admin/faults", json=fault).status_code == 201
    answer = httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
    assert answer.status_code == 200
    [violation] = json.loads(answer.headers[VIOLATIONS_HEADER])
    assert (violation["where"], violation["path"], violation["expected"]) == ("response", "$", "JSON")
    report = verify_paths([live.record_dir])
    assert [(d.where, d.expected) for d in report.disagreements] == [("response", "JSON")]


def test_an_undocumented_route_is_a_violation(live: Session) -> None:
    answer = httpx.get(live.url + "/openai/v1/embeddings", headers=BEARER)
    assert answer.status_code == 404  # the stand-in's answer
    [violation] = json.loads(answer.headers[VIOLATIONS_HEADER])
    assert violation["where"] == "uri" and "GET https://api.openai.com/v1/embeddings" in violation["found"]


def test_errors_refuses_a_violating_request_with_the_providers_own_4xx_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    with session(tmp_path / "live", errors=True) as live:
        bad = httpx.post(
            live.url + "/openai/v1/images/generations", json={**OPENAI_JOB, "n": 11}, headers=BEARER
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "n" and bad.json()["error"]["type"] == "invalid_request_error"
        assert json.loads(bad.headers[VIOLATIONS_HEADER])[0]["path"] == "$.n"
        assert bad.headers[ANSWERED_BY_HEADER] == "emulator"
        assert live.upstream_requests() == 0 and live.cassettes() == []
        with _sdk(live.url) as sdk, pytest.raises(openai.BadRequestError) as refused:
            sdk.images.generate(**{**OPENAI_JOB, "background": "sparkly"})  # type: ignore[arg-type]
        assert refused.value.param == "background"
        assert live.upstream_requests() == 0
        good = httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
        assert good.status_code == 200 and live.upstream_requests() == 1


def test_an_unreachable_upstream_is_the_proxys_own_502_not_a_providers_answer(tmp_path: Path) -> None:
    proxy = create_proxy({"openai": "http://127.0.0.1:9/v1"}, providers=["openai"], record_dir=tmp_path)
    answer = proxy.test_client().post("/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
    assert answer.status_code == 502
    assert answer.get_json()["error"]["type"] == "pixelmock_proxy_error"
    assert "http://127.0.0.1:9/v1/images/generations unreachable" in answer.get_json()["error"]["message"]
    assert list(tmp_path.rglob("*.yaml")) == []


def test_an_upstream_that_drops_the_connection_is_the_proxys_502(live: Session) -> None:
    fault = {"kind": "drop", "provider": "openai", "times": 1}
    assert httpx.post(live.upstream_url + "/__admin/faults", json=fault).status_code == 201
    answer = httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER)
    assert answer.status_code == 502 and answer.json()["error"]["type"] == "pixelmock_proxy_error"
    assert live.cassettes() == []
    assert (
        httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER).status_code
        == 200
    )


# -- recording ---------------------------------------------------------------------------------------------


def test_runware_credentials_in_headers_and_bodies_never_reach_the_cassette(live: Session) -> None:
    tasks = [
        {"taskType": "authentication", "apiKey": KEY},
        image_task(model="openai:gpt-image@2", outputType="URL"),
    ]
    answer = httpx.post(live.url + "/runware/v1", json=tasks, headers={**BEARER, "X-Custom": f"echo {KEY}"})
    assert answer.status_code == 200
    text = _all_text(live.cassettes("runware"))
    assert KEY not in text and "REDACTED" in text
    request = _interactions(live.cassettes("runware")[0])[0]["request"]
    assert json.loads(request["body"])[0] == {"taskType": "authentication", "apiKey": "REDACTED"}
    assert request["headers"]["x-custom"] == ["echo REDACTED"]


def test_fetch_images_records_the_files_an_answer_names_and_verify_skips_them(live: Session) -> None:
    task = image_task(model="openai:gpt-image@2", outputType="URL")
    answer = httpx.post(live.url + "/runware/v1", json=[task], headers=BEARER)
    url = answer.json()["data"][0]["imageURL"]
    assert url.startswith(live.upstream_url + "/files/")
    [cassette] = live.cassettes("runware")
    first, fetched = _interactions(cassette)
    assert first["request"]["uri"] == "https://api.runware.ai/v1" and "x-fetched" not in first
    assert fetched["x-fetched"] is True and fetched["request"]["uri"] == url
    assert fetched["response"]["body"]["string"] == httpx.get(url).content
    assert verify_paths([cassette]).ok


def test_the_runware_sdk_over_websocket_works_unchanged_through_the_proxy(live: Session) -> None:
    task = {
        "taskType": "imageInference",
        "model": "openai:gpt-image@2",
        "positivePrompt": "a lighthouse at dusk, watercolor",
        "width": 1024,
        "height": 1024,
        "outputType": "base64Data",
        "includeCost": True,
        "deliveryMethod": "sync",
    }

    async def run() -> list[dict[str, Any]]:
        url = live.url.replace("http", "ws", 1) + "/runware/v1"
        async with Runware(api_key=KEY, transport="websocket", ws_base_url=url, validate=False) as client:
            return list(await client.run(task))

    [item] = asyncio.run(run())
    image = Image.open(io.BytesIO(base64.b64decode(item["imageBase64Data"])))
    assert image.size == (1024, 1024) and item["cost"] > 0
    [cassette] = _eventually(lambda: live.cassettes("runware"))  # written once the relay sees the close
    interactions = _interactions(cassette)
    assert all(i["x-websocket"] and i["request"]["uri"] == "wss://ws-api.runware.ai/v1" for i in interactions)
    assert json.loads(interactions[0]["request"]["body"])[0]["apiKey"] == "REDACTED"
    sent = [json.loads(i["request"]["body"]) for i in interactions]
    assert any(t.get("taskType") == "imageInference" for message in sent for t in message)
    assert item["imageBase64Data"] in cassette.read_text(encoding="utf-8")
    assert KEY not in cassette.read_text(encoding="utf-8")
    assert verify_paths([cassette]).ok


def test_a_websocket_messages_violations_are_logged_and_recorded(
    live: Session, caplog: pytest.LogCaptureFixture
) -> None:
    url = live.url.replace("http", "ws", 1) + "/runware/v1"
    ws = WebSocketClient.connect(url)
    try:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": KEY}]))
        assert "connectionSessionUUID" in ws.receive(timeout=10)
        ws.send(json.dumps([image_task(model="openai:gpt-image@2", positivePrompt="x")]))
        answer = json.loads(ws.receive(timeout=10))
        assert answer["errors"][0]["parameter"] == "positivePrompt"
    finally:
        ws.close()
    journal = httpx.get(live.url + "/__admin/journal").json()["entries"]
    authentication, task = [e for e in journal if e["method"] == "WEBSOCKET"]
    assert authentication["request"]["body"][0]["apiKey"] == "REDACTED" and not authentication["notes"]
    [violation] = task["notes"][0]["violations"]
    assert (violation["where"], violation["path"]) == ("request", "$[0].positivePrompt")
    assert "request $[0].positivePrompt: expected minLength 2" in caplog.text
    [cassette] = _eventually(lambda: live.cassettes("runware"))
    assert verify_paths([cassette]).ok  # a refused message is not checked, as for REST
    # verify checks each recorded frame against the operation's declared answers
    text = cassette.read_text(encoding="utf-8")
    cassette.write_text(text.replace('"code":"', '"code":1234,"was":"', 1), encoding="utf-8")
    found = {(d.interaction, d.where, d.path) for d in verify_paths([cassette]).disagreements}
    assert (1, "response", "$.errors[0].code") in found and {w for _, w, _ in found} == {"response"}


def test_image_urls_are_found_by_field_name_not_in_webhooks() -> None:
    answer = {
        "data": [{"imageURL": "https://im.runware.ai/a.jpg", "webhookURL": "https://me.example/hook"}],
        "outcome": {"media_urls": [{"url": "https://cdn.gmi.example/b.png"}]},
        "result": {"image_urls": ["https://cdn.apiframe.example/c.webp"]},
        "prompt": "https://not-an-image.example",
    }
    assert image_urls(answer) == [
        "https://im.runware.ai/a.jpg",
        "https://cdn.gmi.example/b.png",
        "https://cdn.apiframe.example/c.webp",
    ]


# -- replay ------------------------------------------------------------------------------------------------


def test_a_recorded_session_replays_offline_and_the_rest_comes_from_the_emulators(tmp_path: Path) -> None:
    with session(tmp_path / "live", fetch_images=True) as live:
        with _sdk(live.url) as sdk:
            recorded = sdk.images.generate(**OPENAI_JOB)  # type: ignore[arg-type]
        task = image_task(model="openai:gpt-image@2", outputType="URL")
        runware = httpx.post(live.url + "/runware/v1", json=[task], headers=BEARER).json()
        image = httpx.get(runware["data"][0]["imageURL"]).content
    # The stand-in provider and the proxy are gone: only the cassettes remain.
    app = replaying(create_app(), tmp_path / "live", "none")
    with running(app) as url, _sdk(url) as sdk:
        replayed = sdk.images.with_raw_response.generate(**OPENAI_JOB)  # type: ignore[arg-type]
        assert replayed.headers[REPLAYED_HEADER].endswith("-createImage.yaml#0")
        assert replayed.parse().data == recorded.data and replayed.parse().created == recorded.created
        other = sdk.images.with_raw_response.generate(**{**OPENAI_JOB, "prompt": "something else"})  # type: ignore[arg-type]
        assert REPLAYED_HEADER not in other.headers and other.parse().data
        again = httpx.post(url + "/runware/v1", json=[task], headers={"Authorization": "Bearer other-key-1"})
        assert again.json() == json.loads(
            json.dumps(runware).replace(runware["data"][0]["imageURL"], again.json()["data"][0]["imageURL"])
        )
        offline_url = again.json()["data"][0]["imageURL"]
        assert offline_url.startswith(url + "/__replay/files/")
        assert httpx.get(offline_url).content == image
    assert len(list((tmp_path / "live").rglob("*.yaml"))) == 2  # mode none writes nothing


@pytest.mark.parametrize(
    ("mode", "prerecorded", "written"), [("once", 0, 2), ("once", 1, 0), ("new_episodes", 1, 1)]
)
def test_record_modes(tmp_path: Path, mode: str, prerecorded: int, written: int) -> None:
    folder = tmp_path / "replay"
    if prerecorded:
        with session(folder) as live, _sdk(live.url) as sdk:
            sdk.images.generate(**OPENAI_JOB)  # type: ignore[arg-type]
    before = set(folder.rglob("*.yaml"))
    app = replaying(create_app(), folder, mode)
    with running(app) as url, _sdk(url) as sdk:
        sdk.images.generate(**OPENAI_JOB)  # type: ignore[arg-type]
        sdk.images.generate(**{**OPENAI_JOB, "prompt": "a new episode"})  # type: ignore[arg-type]
        again = sdk.images.with_raw_response.generate(**{**OPENAI_JOB, "prompt": "a new episode"})  # type: ignore[arg-type]
        assert (REPLAYED_HEADER in again.headers) == bool(written)  # what was recorded is replayed
    new = sorted(set(folder.rglob("*.yaml")) - before)
    assert len(new) == written
    assert KEY not in _all_text(new)
    assert verify_paths(new).ok


def test_an_unknown_record_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="record mode"):
        replaying(create_app(), tmp_path, "all")


# -- drift -------------------------------------------------------------------------------------------------


def test_a_recording_of_the_emulator_itself_has_no_drift(live: Session) -> None:
    with _sdk(live.url) as sdk:
        sdk.images.generate(**OPENAI_JOB)  # type: ignore[arg-type]
    httpx.post(live.url + "/runware/v1", json=[image_task(model="openai:gpt-image@2")], headers=BEARER)
    report = drift_paths([live.record_dir])
    assert report.disagreements == []


def test_drift_names_a_changed_status_body_shape_and_cost(live: Session) -> None:
    fault = {"kind": "rate_limit", "provider": "openai", "times": 1}
    assert httpx.post(live.upstream_url + "/__admin/faults", json=fault).status_code == 201
    assert (
        httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER).status_code
        == 429
    )
    assert (
        httpx.post(live.url + "/openai/v1/images/generations", json=OPENAI_JOB, headers=BEARER).status_code
        == 200
    )
    limited, served = live.cassettes("openai")
    # The provider changes its answer: another token count, a new field, a field gone.
    data = yaml.safe_load(served.read_text(encoding="utf-8"))
    body = json.loads(data["interactions"][0]["response"]["body"]["string"])
    body["usage"]["output_tokens"] += 100
    body["moderation_score"] = 0.1
    del body["quality"]
    data["interactions"][0]["response"]["body"]["string"] = json.dumps(body)
    served.write_text(yaml.safe_dump(data), encoding="utf-8")

    found = {
        (Path(d.cassette).name, d.where, d.path, d.expected, d.found)
        for d in drift_paths([live.record_dir]).disagreements
    }
    assert found == {
        (limited.name, "drift:status", "$", "the provider's 429", "the emulator's 200"),
        (limited.name, "drift:body", "$.error", "present", "absent"),
        *(
            (limited.name, "drift:body", f"$.{k}", "absent", "present")
            for k in ("created", "background", "output_format", "quality", "size", "data", "usage")
        ),
        (served.name, "drift:body", "$.moderation_score", "present", "absent"),
        (served.name, "drift:body", "$.quality", "absent", "present"),
        (
            served.name,
            "drift:cost",
            "$.usage.output_tokens",
            str(body["usage"]["output_tokens"]),
            str(body["usage"]["output_tokens"] - 100),
        ),
    }
    out = io.StringIO()
    assert run_drift([live.record_dir], out) == 1
    assert "drift:cost $.usage.output_tokens" in out.getvalue()


def test_drift_follows_a_job_by_the_emulators_own_id(live: Session) -> None:
    gmi = "/gmicloud/api/v1/ie/requestqueue/apikey"
    submitted = httpx.post(
        live.url + gmi + "/requests",
        json={"model": "gpt-image-2", "payload": {"prompt": "a fox"}},
        headers=BEARER,
    ).json()
    polled = httpx.get(live.url + gmi + f"/requests/{submitted['request_id']}", headers=BEARER)
    assert polled.status_code == 200
    assert len(live.cassettes("gmicloud")) == 2
    # One cassette holding both exchanges, as a user would keep a session.
    merged = live.record_dir / "gmicloud-session.yaml"
    interactions = [i for p in live.cassettes("gmicloud") for i in _interactions(p)]
    merged.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}), encoding="utf-8")
    assert drift_paths([merged]).disagreements == []


def test_body_shape_compares_keys_and_types_not_values() -> None:
    assert body_shape({"a": [1, 2], "b": None, "c": {"d": "x"}}) == {
        "a": ["number"],
        "b": "null",
        "c": {"d": "string"},
    }
    differences = list(
        shape_differences(body_shape({"a": 1, "b": "x"}), body_shape({"a": "1", "b": None, "c": True}))
    )
    assert differences == [("$.a", "number", "string"), ("$.c", "absent", "present")]
