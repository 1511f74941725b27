"""The inspector page (``GET /__admin/ui``) in a real headless browser.

Debian's ``chromium`` (``/usr/bin/chromium``, or ``$PIXELMOCK_CHROMIUM``) is driven by Playwright with the
system browser (Playwright never downloads one here). The emulator runs on a real socket of 127.0.0.1
(``live_url``) with the ``manual`` latency profile, so an Apiframe job moves only when the page's clock
buttons move the virtual clock. Outside CI the browser tests skip, with the reason, when chromium or
Playwright is missing; with ``CI=true`` they fail instead (``.ci/run`` installs chromium).
"""

from __future__ import annotations

import base64
import importlib.resources as resources
import io
import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from flask import Flask
from PIL import Image
from runware_tasks import image_task
from websockets.sync.client import connect

from pixelmock.contracts.providers import PROVIDERS, provider
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.providers import load_providers
from pixelmock.emulators.tools.proxy import create_proxy
from pixelmock.emulators.tools.pytest_plugin import WebhookReceiver
from pixelmock.emulators.tools.replay import replaying
from pixelmock.emulators.tools.server import running

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Dialog, Page

CHROMIUM = os.environ.get("PIXELMOCK_CHROMIUM", "/usr/bin/chromium")
#: Flags that keep a headless chromium quiet and offline on a CI machine (Playwright adds --headless).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # how long the page may take to show something (it polls every 1.5 s)
RUNWARE = {"Authorization": "Bearer inspector-test-key"}
OPENAI = {"Authorization": "Bearer inspector-test-key"}
APIFRAME = {"X-API-Key": "inspector-test-key"}
GMI = {"Authorization": "Bearer inspector-test-key"}
MARKUP = '<script>window.__pixelmock_xss = 1</script><img src="x" onerror="window.__pixelmock_xss = 2">'


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(latency_profile="manual")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _missing_browser() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install '.[test]')"
    return None


@contextmanager
def _inspector(profile: Path, url: str) -> Iterator[Page]:
    """The inspector page of the emulator at ``url``, loaded in a fresh headless chromium profile (under
    ``profile``); fails the test on any script error or console error (a blocked resource, a failed
    call)."""
    reason = _missing_browser()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"CI=true and the inspector page cannot be tested in a browser: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            opened = context.new_page()
            opened.set_default_timeout(WAIT_MS)
            opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            opened.on("console", lambda message: _console(message, problems))
            opened.goto(f"{url}/__admin/ui")
            opened.wait_for_selector("body[data-ready=true]")
            yield opened
        finally:
            context.close()
    assert problems == []


@pytest.fixture
def page(tmp_path: Path, live_url: str) -> Iterator[Page]:
    """The inspector page of the ``live_url`` emulator (``_inspector``)."""
    with _inspector(tmp_path / "profile", live_url) as opened:
        yield opened


def _console(message: ConsoleMessage, problems: list[str]) -> None:
    if message.type == "error":
        problems.append(f"console: {message.text}")


def _runware(live_url: str, prompt: str = "a lighthouse, inspected") -> dict[str, Any]:
    task = image_task(model="openai:gpt-image@2", positivePrompt=prompt, numberResults=1)
    answer = httpx.post(f"{live_url}/runware/v1", json=[task], headers=RUNWARE)
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"][0])


def _journal(live_url: str, **query: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{live_url}/__admin/journal", params=query).json()["entries"])


def _shows(page: Page, providers: list[str]) -> None:
    """Wait until the journal table lists requests of exactly these providers, top to bottom."""
    page.wait_for_function(
        """expected => JSON.stringify([...document.querySelectorAll('#journal tbody .provider')]
             .map(cell => cell.textContent)) === JSON.stringify(expected)""",
        arg=providers,
    )


def _row(page: Page, seq: int) -> Any:
    return page.locator(f"#journal tbody tr[data-seq='{seq}']")


# -- served as package data, with a content policy, drawing text only --------------------------------------


def test_the_page_and_its_two_files_are_served_with_a_strict_content_policy(app: Flask) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as http:
        html = http.get("/__admin/ui")
        script = http.get("/__admin/ui/app.js")
        style = http.get("/__admin/ui/style.css")
        unknown = http.get("/__admin/ui/secrets.js")
    assert html.status_code == script.status_code == style.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    policy = html.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert (unknown.status_code, set(unknown.json())) == (404, {"error"})
    # nothing from elsewhere: no CDN, no web font, works offline
    for text in (html.text, script.text, style.text):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text, re.I)
    # no markup is ever parsed from data
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", script.text)


def test_the_page_ships_in_the_package() -> None:
    folder = resources.files("pixelmock.emulators.admin").joinpath("ui")
    assert all(folder.joinpath(name).is_file() for name in ("index.html", "app.js", "style.css"))


# -- in the browser ------------------------------------------------------------------------------------


def test_a_generated_image_shows_as_a_thumbnail_with_its_request_cost_and_canonical_request(
    page: Page, live_url: str
) -> None:
    image_url = _runware(live_url)["imageURL"]
    [entry] = _journal(live_url, provider="runware")
    [cost] = [note["cost"] for note in entry["notes"] if "cost" in note]

    row = _row(page, entry["seq"])
    thumbnail = row.locator("img")
    thumbnail.wait_for()
    assert thumbnail.get_attribute("src") == httpx.URL(image_url).path
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())
    assert row.locator(".cost").inner_text() == f"${cost['usd']}"

    row.click()
    detail = page.locator("#detail")
    detail.locator("img").first.wait_for()
    canonical = detail.locator("[data-part=canonical]")
    assert "a lighthouse, inspected" in canonical.inner_text()
    assert "gpt-image-2" in canonical.inner_text()
    native = detail.locator("[data-part=request] pre").inner_text()
    assert '"positivePrompt": "a lighthouse, inspected"' in native


def _rgb(colour: str) -> str:
    """``#e6f4ef`` as the browser computes it: ``rgb(230, 244, 239)``."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_provider_tags_wear_the_registrys_colours(page: Page, live_url: str) -> None:
    _runware(live_url)
    _shows(page, ["runware"])
    tag = page.locator("#journal tbody .provider").first
    computed = tag.evaluate("tag => [getComputedStyle(tag).backgroundColor, getComputedStyle(tag).color]")
    colour = provider("runware").colour
    assert computed == [_rgb(colour.background), _rgb(colour.text)]
    page.click(".tabs button[data-tab=faults]")
    page.locator("#fault-kinds .provider").first.wait_for()
    listed = [tag.inner_text() for tag in page.locator("#fault-kinds .provider").all()]
    assert listed == list(PROVIDERS)  # the faults tab's providers, each tagged, in registry order


def test_base64_images_show_as_thumbnails_of_the_same_bytes(page: Page, live_url: str) -> None:
    """OpenAI answers with base64, which the journal keeps only the start of: the page shows the copies
    the emulator noted, and they are the bytes the client received."""
    answer = httpx.post(
        f"{live_url}/openai/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "a fox in base64", "n": 2, "quality": "low"},
        headers=OPENAI,
    )
    assert answer.status_code == 200, answer.text
    [entry] = _journal(live_url, provider="openai")
    row = _row(page, entry["seq"])
    row.locator("img").nth(1).wait_for()
    sources = [img.get_attribute("src") for img in row.locator("img").all()]
    assert len(sources) == 2 and all(src and src.startswith("/files/") for src in sources)
    assert row.locator(".thumb-missing").count() == 0
    for src, item in zip(sources, answer.json()["data"], strict=True):
        assert httpx.get(f"{live_url}{src}").content == base64.b64decode(item["b64_json"])


def test_the_journal_filters_are_the_apis(page: Page, live_url: str) -> None:
    _runware(live_url)
    gmi = httpx.post(
        f"{live_url}/gmicloud/api/v1/ie/requestqueue/apikey/requests",
        json={"model": "gpt-image-2", "payload": {"prompt": "a fox", "size": "1024x1024", "quality": "low"}},
        headers=GMI,
    )
    assert gmi.status_code == 200, gmi.text
    refused = httpx.post(
        f"{live_url}/openai/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": "a fox", "size": "7x7"},
        headers=OPENAI,
    )
    assert refused.status_code == 400
    _shows(page, ["openai", "gmicloud", "runware"])  # newest first

    page.select_option("#filters select[name=provider]", "gmicloud")
    _shows(page, ["gmicloud"])

    page.select_option("#filters select[name=provider]", "")
    page.fill("#filters input[name=status]", "4xx")
    _shows(page, ["openai"])
    assert page.locator("#journal tbody .pill").all_inner_texts() == ["400"]

    page.fill("#filters input[name=status]", "")
    page.fill("#filters input[name=path]", "/runware/")
    _shows(page, ["runware"])

    page.click("#filters button[type=reset]")
    _shows(page, ["openai", "gmicloud", "runware"])
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reset")
    _shows(page, [])
    assert _journal(live_url) == []


def test_the_clock_buttons_complete_an_apiframe_job(
    page: Page, live_url: str, pixelmock_receiver: WebhookReceiver
) -> None:
    submitted = httpx.post(
        f"{live_url}/apiframe/v2/images/generate",
        json={
            "prompt": "a red fox",
            "model": "gpt-image-2",
            "webhookUrl": pixelmock_receiver.url,
            "webhookEvents": ["progress", "completed", "failed"],
        },
        headers=APIFRAME,
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["jobId"]
    before = page.locator("#clock-now").inner_text()

    page.click(".tabs button[data-tab=jobs]")
    job = page.locator(f"#jobs tr[data-job='{job_id}']")
    assert job.locator(".job-state").inner_text() == "QUEUED"
    assert page.locator("#latency").inner_text() == "manual · clock frozen"

    steps = job.locator(".timeline li")
    for seen in (2, 3, 4):  # 3 x 5 s: Apiframe's documented average is 15 s
        page.click("[data-advance='5']")
        page.wait_for_function(
            "([id, n]) => document.querySelectorAll(`#jobs tr[data-job='${id}'] .timeline li`).length === n",
            arg=[job_id, seen],
        )
    assert job.locator(".job-state").inner_text() == "COMPLETED"
    assert steps.locator(".pill").all_inner_texts() == ["QUEUED", "PROCESSING", "PROCESSING", "COMPLETED"]
    offsets = [re.findall(r"\+\d+ s", text) for text in steps.all_inner_texts()]
    assert offsets == [["+0 s"], ["+5 s"], ["+10 s"], ["+15 s"]]
    job.locator("img").wait_for()
    events = [request.json() for request in pixelmock_receiver.wait_for(3)]
    assert [(event["status"], event["jobId"]) for event in events][-1] == ("COMPLETED", job_id)
    after = page.locator("#clock-now").inner_text()
    assert (_seconds(after) - _seconds(before)) % 86400 == 15


def _seconds(clock_text: str) -> int:
    """Seconds of the day shown by the clock ("2026-11-21 09:30:11 UTC")."""
    hours, minutes, secs = (int(part) for part in clock_text.split()[1].split(":"))
    return hours * 3600 + minutes * 60 + secs


def test_request_content_is_shown_as_text_never_as_markup(page: Page, live_url: str) -> None:
    answer = httpx.post(
        f"{live_url}/openai/v1/images/generations",
        json={"model": "gpt-image-2", "prompt": MARKUP, "size": "1024x1024", "quality": "low"},
        headers=OPENAI,
    )
    assert answer.status_code == 200, answer.text
    [entry] = _journal(live_url, provider="openai")
    row = _row(page, entry["seq"])
    row.click()
    canonical = page.locator("#detail [data-part=canonical]")
    canonical.wait_for()
    assert MARKUP in canonical.inner_text()
    assert MARKUP.replace('"', '\\"') in page.locator("#detail [data-part=request] pre").inner_text()
    assert page.evaluate("window.__pixelmock_xss") is None
    assert page.locator("script").count() == 1  # the page's own module
    assert page.locator("img[src='x']").count() == 0
    # the base64 image shows from the copy the emulator noted, drawn as an image, not as markup
    assert row.locator("img").count() == 1 and row.locator(".thumb-missing").count() == 0


# -- what each request was: its model, an edit's inputs, where its answer came from -----------------------


def _png(width: int, height: int) -> bytes:
    """A small half-transparent PNG (a mask needs an alpha channel)."""
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 40, 40, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_model_column_and_an_edits_input_images(page: Page, live_url: str) -> None:
    source, mask = _png(96, 64), _png(96, 64)
    edit = httpx.post(
        f"{live_url}/openai/v1/images/edits",
        data={"model": "gpt-image-2", "prompt": "add a hat", "quality": "low"},
        files=[
            ("image[]", ("fox.png", source, "image/png")),
            ("image[]", ("hare.png", source, "image/png")),
            ("mask", ("mask.png", mask, "image/png")),
        ],
        headers=OPENAI,
    )
    assert edit.status_code == 200, edit.text
    first = _runware(live_url)["imageURL"]
    task = image_task(
        model="openai:gpt-image@2", positivePrompt="the same, at night", inputs={"referenceImages": [first]}
    )
    reference = httpx.post(f"{live_url}/runware/v1", json=[task], headers=RUNWARE)
    assert reference.status_code == 200, reference.text
    [edited] = _journal(live_url, provider="openai")
    *_, referenced = _journal(live_url, provider="runware")

    row = _row(page, edited["seq"])
    row.wait_for()
    assert row.locator(".model").inner_text() == "gpt-image-2"
    assert row.locator(".inputs-count").inner_text() == "3 inputs"
    row.click()
    figures = page.locator("#detail [data-part=inputs] figure")
    figures.nth(2).wait_for()
    assert [figure.get_attribute("data-role") for figure in figures.all()] == ["image 1", "image 2", "mask"]
    captions = figures.locator("figcaption").all_inner_texts()
    assert all(f"image/png · 96×64 · {len(source)} B" in caption for caption in captions)
    assert ["fox.png" in captions[0], "hare.png" in captions[1], "mask.png" in captions[2]] == [True] * 3
    # the emulator does not keep uploaded bytes: no thumbnail pretends it does
    assert figures.locator("img").count() == 0 and figures.locator(".thumb-missing").count() == 3

    # Runware's native model id, shown as the canonical model; a reference image this emulator serves is
    # drawn from its own file
    row = _row(page, referenced["seq"])
    assert row.locator(".model").inner_text() == "gpt-image-2"
    assert row.locator(".inputs-count").inner_text() == "1 input"
    row.click()
    thumbnail = page.locator("#detail [data-part=inputs] img")
    thumbnail.wait_for()
    assert thumbnail.get_attribute("src") == httpx.URL(first).path
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle())


def test_an_injected_fault_is_marked(page: Page, live_url: str) -> None:
    job = {"model": "gpt-image-2", "prompt": "a fox", "size": "1024x1024", "quality": "low"}
    plain = httpx.post(f"{live_url}/openai/v1/images/generations", json=job, headers=OPENAI)
    faulted = httpx.post(
        f"{live_url}/openai/v1/images/generations",
        json=job,
        headers={**OPENAI, "X-Pixelmock-Fault": "rate_limit"},
    )
    assert (plain.status_code, faulted.status_code) == (200, 429)
    first, second = _journal(live_url, provider="openai")
    _shows(page, ["openai", "openai"])
    marked = _row(page, second["seq"])
    assert marked.locator(".mark").all_inner_texts() == ["fault: rate_limit"]
    assert marked.locator("td.status .pill").first.inner_text() == "429"
    assert _row(page, first["seq"]).locator(".mark").count() == 0
    marked.click()
    assert page.locator("#detail header .mark").inner_text() == "fault: rate_limit"


def test_a_replayed_answer_is_marked(tmp_path: Path) -> None:
    """A cassette recorded through ``pixelmock proxy`` (against a second emulator on 127.0.0.1) and
    replayed by ``serve --replay``: the replayed answer is marked, the one the emulator made is not."""
    job = {"model": "gpt-image-2", "prompt": "a recorded fox", "size": "1024x1024", "quality": "low"}
    generations = "/openai/v1/images/generations"
    with running(create_app(EmulatorConfig())) as upstream_url:
        bases = {p.name: upstream_url + p.prefix for p in load_providers()}
        with running(create_proxy(bases, record_dir=tmp_path / "recorded")) as proxy_url:
            recorded = httpx.post(f"{proxy_url}{generations}", json=job, headers=OPENAI)
    assert recorded.status_code == 200, recorded.text
    app = replaying(create_app(EmulatorConfig(latency_profile="manual")), tmp_path / "recorded", "none")
    with running(app) as url, _inspector(tmp_path / "profile", url) as page:
        replayed = httpx.post(f"{url}{generations}", json=job, headers=OPENAI)
        made = httpx.post(f"{url}{generations}", json={**job, "prompt": "a new fox"}, headers=OPENAI)
        assert replayed.json()["data"] == recorded.json()["data"] != made.json()["data"]
        first, second = _journal(url, provider="openai")
        _shows(page, ["openai", "openai"])
        mark = _row(page, first["seq"]).locator(".mark")
        assert mark.inner_text() == "replayed"
        assert (mark.get_attribute("title") or "").endswith(".yaml#0")
        assert _row(page, second["seq"]).locator(".mark").count() == 0


# -- Runware's tasks in the jobs tab ------------------------------------------------------------------------


def test_runware_tasks_over_rest_and_websocket_are_in_the_jobs_tab(page: Page, live_url: str) -> None:
    rest = _runware(live_url, "a task over REST")
    with connect(live_url.replace("http://", "ws://") + "/runware/v1", open_timeout=5) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "inspector-test-key"}]))
        ws.recv(timeout=10)
        ws.send(json.dumps([image_task(model="openai:gpt-image@2", positivePrompt="a task over WebSocket")]))
        [pushed] = json.loads(ws.recv(timeout=10))["data"]
    later = image_task(model="openai:gpt-image@2", positivePrompt="an async task", deliveryMethod="async")
    acknowledged = httpx.post(f"{live_url}/runware/v1", json=[later], headers=RUNWARE)
    assert acknowledged.json()["data"] == [{"taskType": "imageInference", "taskUUID": later["taskUUID"]}]
    refused = image_task(model="openai:gpt-image@2", positivePrompt="a refused task")
    failed = httpx.post(
        f"{live_url}/runware/v1", json=[refused], headers={**RUNWARE, "X-Pixelmock-Fault": "content_policy"}
    )
    [error] = failed.json()["errors"]
    assert error["taskUUID"] == refused["taskUUID"]

    page.click(".tabs button[data-tab=jobs]")
    done = page.locator(f"#jobs tr[data-job='{rest['taskUUID']}']")
    assert done.locator(".job-state").inner_text() == "success"
    assert done.locator("img").get_attribute("src") == httpx.URL(rest["imageURL"]).path
    over_socket = page.locator(f"#jobs tr[data-job='{pushed['taskUUID']}']")
    assert over_socket.locator(".job-state").inner_text() == "success"
    assert "WebSocket #" in over_socket.locator(".timeline").inner_text()
    assert over_socket.locator("img").get_attribute("src") == httpx.URL(pushed["imageURL"]).path
    bad = page.locator(f"#jobs tr[data-job='{refused['taskUUID']}']")
    assert bad.locator(".job-state").inner_text() == "error"
    assert bad.locator(".detail-note").inner_text().strip() == error["code"]
    pending = page.locator(f"#jobs tr[data-job='{later['taskUUID']}']")
    assert pending.locator(".job-state").inner_text() == "processing"

    # the async task finishes on the virtual clock; getResponse reports it
    assert httpx.post(f"{live_url}/__admin/clock/advance", json={"seconds": 600}).status_code == 200
    polled = httpx.post(
        f"{live_url}/runware/v1",
        json=[{"taskType": "getResponse", "taskUUID": later["taskUUID"]}],
        headers=RUNWARE,
    )
    assert [item["status"] for item in polled.json()["data"]] == ["success"]
    page.wait_for_function(
        "id => document.querySelector(`#jobs tr[data-job='${id}'] .job-state`)?.textContent === 'success'",
        arg=later["taskUUID"],
    )
    assert pending.locator(".timeline .pill").all_inner_texts() == ["processing", "success"]


# -- Reset asks first ----------------------------------------------------------------------------------


def test_reset_asks_first_and_says_when_it_resets_every_worker(
    page: Page, live_url: str, store_kind: str
) -> None:
    _runware(live_url)
    _shows(page, ["runware"])
    asked: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    sent: list[str] = []
    page.on("request", lambda request: sent.append(f"{request.method} {httpx.URL(request.url).path}"))
    page.once("dialog", dismiss)
    page.click("#reset")
    # a later call, whose request is seen after any the dismissed click could have made
    with page.expect_request(lambda request: request.url.endswith("/__admin/clock/advance")):
        page.click("[data-advance='1']")
    assert len(asked) == 1 and "POST /__admin/reset" not in sent
    assert len(_journal(live_url)) == 1
    _shows(page, ["runware"])
    shared = store_kind == "redis"
    assert ("every worker and host" in asked[0], "shared (Redis)" in asked[0]) == (shared, shared)
    assert asked[0].startswith("Reset every worker?" if shared else "Reset this emulator?")
    assert page.locator("#reset").get_attribute("title") == asked[0]

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reset")
    _shows(page, [])
    assert _journal(live_url) == [] and "POST /__admin/reset" in sent


# -- readable statuses: refused deliveries, WebSocket messages -------------------------------------------


def _closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_deliveries_and_websocket_messages_have_readable_statuses(page: Page, live_url: str) -> None:
    not_called = image_task(
        model="openai:gpt-image@2", deliveryMethod="async", webhookURL="http://192.0.2.1/hook"
    )
    unanswered = image_task(
        model="openai:gpt-image@2", deliveryMethod="async", webhookURL=f"http://127.0.0.1:{_closed_port()}/"
    )
    for task in (not_called, unanswered):
        assert httpx.post(f"{live_url}/runware/v1", json=[task], headers=RUNWARE).status_code == 200
    assert httpx.post(f"{live_url}/__admin/clock/advance", json={"seconds": 600}).status_code == 200
    with connect(live_url.replace("http://", "ws://") + "/runware/v1", open_timeout=5) as ws:
        ws.send(json.dumps([{"taskType": "authentication", "apiKey": "inspector-test-key"}]))
        assert "data" in json.loads(ws.recv(timeout=10))
        ws.send(json.dumps([image_task(model="openai:gpt-image@2", numberResults=0)]))
        assert "errors" in json.loads(ws.recv(timeout=10))
    attempts = [e for e in _journal(live_url) if e["route"] == "POST (outbound webhook)"]
    assert sorted(e["status"] for e in attempts) == [0, 0]
    messages = _journal(live_url, method="WEBSOCKET")
    assert [e["status"] for e in messages] == [101, 101]

    statuses = {
        e["seq"]: _row(page, e["seq"]).locator("td.status").inner_text() for e in [*attempts, *messages]
    }
    refused = "refused: 192.0.2.1 is not a loopback address"
    assert sorted(statuses[e["seq"]] for e in attempts) == ["no answer: Connection refused", refused]
    assert [statuses[e["seq"]] for e in messages] == ["WebSocket · data", "WebSocket · errors"]
    assert "0" not in statuses.values() and "101" not in statuses.values()

    page.click(".tabs button[data-tab=webhooks]")
    page.locator("#webhooks .attempts .pill").nth(1).wait_for()
    assert sorted(page.locator("#webhooks .attempts .pill").all_inner_texts()) == [
        "no answer: Connection refused",
        refused,
    ]
