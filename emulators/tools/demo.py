"""``pixelmock demo``: start every emulator on its defaults, exercise each provider, print what came back.

The emulators run as a real ``pixelmock serve`` process (gunicorn) on a free port of 127.0.0.1, stopped
with SIGTERM at the end.

For each provider and each model it sells, the demo builds the native request with the provider's
dialect, authenticates the way the provider's OpenAPI document says (``securitySchemes``), follows the
document's ``links`` from a submission to its poll (Apiframe's job), downloads every image the answer
carries (URL, base64 or data URI), decodes it with Pillow and checks its size and format against the
resolved request. Everything runs on 127.0.0.1 and stops at the end. Exit status 0 only if every check
passed.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from pixelmock.contracts.canonical import MODELS, CanonicalRequest
from pixelmock.contracts.dialects import NativeRequest, get_dialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.lifecycle import lifecycle
from pixelmock.contracts.openapi import auth_headers, operation
from pixelmock.contracts.pricing import quote
from pixelmock.emulators.tools.server import free_port

PROMPT = "pixelmock demo: a lighthouse on a cliff at dusk, watercolor"
DEMO_KEY = "pixelmock-demo-key"
PIL_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
POLLS = 20


@dataclass
class Outcome:
    """One provider/model exercise: what was asked, what came back, whether it checked out."""

    provider: str
    model: str
    status: str
    images: int = 0
    detail: str = ""
    cost: str = ""
    ok: bool = False


def send(http: httpx.Client, base: str, native: NativeRequest, headers: dict[str, str]) -> httpx.Response:
    """Send a native request (JSON or multipart, as its operation declares) to ``base``."""
    url = base + native.path
    content_types = list(operation(native.provider, native.operation_id)[2]["requestBody"]["content"])
    if content_types[0].startswith("multipart/"):
        data = {k: str(v) for k, v in native.body.items()}
        files = [
            (name, ("image.png", image.data or b"", image.mime or "image/png"))
            for name, image in native.files
        ]
        return http.request(native.method, url, data=data, files=files, headers=headers)
    return http.request(native.method, url, json=native.body, headers=headers)


def image_refs(node: Any) -> Iterator[str]:
    """Every image reference in an answer: URLs ending in an image extension, data URIs, or base64
    under keys named like ``b64_json`` / ``imageBase64Data``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and ("b64" in key.lower() or "base64" in key.lower()):
                yield "base64:" + value
            else:
                yield from image_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from image_refs(item)
    elif isinstance(node, str) and (
        node.startswith("data:image/")
        or (node.startswith("http") and node.rsplit(".", 1)[-1] in ("png", "jpg", "webp"))
    ):
        yield node


def fetch_image(http: httpx.Client, ref: str) -> Image.Image:
    """Decode an image reference (downloading URLs from the emulator)."""
    if ref.startswith("base64:"):
        data = base64.b64decode(ref.removeprefix("base64:"))
    elif ref.startswith("data:"):
        data = base64.b64decode(ref.split(",", 1)[1])
    else:
        response = http.get(ref)
        response.raise_for_status()
        data = response.content
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def follow_links(
    http: httpx.Client, base: str, native: NativeRequest, answer: httpx.Response, headers: dict[str, str]
) -> Any:
    """When the operation's response declares OpenAPI ``links`` (submit -> poll), poll the first link
    until the answer carries images (at most ``POLLS`` times); otherwise return the answer's JSON."""
    body = answer.json()
    declared = operation(native.provider, native.operation_id)[2]["responses"].get(
        str(answer.status_code), {}
    )
    links = declared.get("links", {})
    if not links:
        return body
    link = next(iter(links.values()))
    method, path, _ = operation(native.provider, link["operationId"])
    params = {name: _runtime_expression(expr, body) for name, expr in link.get("parameters", {}).items()}
    for _ in range(POLLS):
        polled = http.request(method, base + path.format(**params), headers=headers).json()
        if list(image_refs(polled)):
            return polled
        time.sleep(0.05)
    return polled


def _runtime_expression(expression: str, body: Any) -> str:
    # Only the form the documents use: $response.body#/<json pointer>
    pointer = expression.removeprefix("$response.body#/")
    node = body
    for part in pointer.split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return str(node)


def exercise(
    http: httpx.Client, root: str, prefix: str, provider: str, model: str, server_date: dt.date
) -> Outcome:
    """Run one provider/model through its flow and check every returned image. The request leaves every
    field to the provider's defaults, but the size where the provider takes no ``auto`` (1024x1024). A
    model past its shutdown date there may be refused (as the provider would: an error, or a failed
    job): that refusal is reported, not failed."""
    dialect = get_dialect(provider)
    try:
        sizes = dialect.capabilities(model).sizes
    except UnsupportedValue as exc:
        return Outcome(provider, model, "not sold", detail=exc.reason, ok=True)
    size = None if "auto" in sizes else "1024x1024"
    try:
        request = dialect.resolve(CanonicalRequest(model=model, prompt=PROMPT, size=size))
        native = dialect.to_native(request)
    except UnsupportedValue as exc:
        return Outcome(provider, model, "refused", detail=f"by the dialect: {exc.reason}")
    headers = auth_headers(provider, DEMO_KEY)
    answer = send(http, root + prefix, native, headers)
    found = lifecycle(provider, model)
    gone = found is not None and found.shut_down_on(server_date)
    refused = f"shut down {found.shutdown}" if gone and found is not None else ""
    if answer.status_code >= 300 and answer.status_code != 202:
        if refused and 400 <= answer.status_code < 500:
            return Outcome(provider, model, f"HTTP {answer.status_code}", detail=refused, ok=True)
        return Outcome(provider, model, f"HTTP {answer.status_code}", detail=answer.text[:120])
    body = follow_links(http, root + prefix, native, answer, headers)
    if refused and not list(image_refs(body)):  # an accepted job that failed upstream
        return Outcome(
            provider, model, f"HTTP {answer.status_code}", detail=f"job failed: {refused}", ok=True
        )
    priced = quote(provider, request, server_date)
    width, height = (int(edge) for edge in priced.billed_size.split("x"))  # auto is rendered as billed
    problems = []
    refs = list(dict.fromkeys(image_refs(body)))  # a thumbnail may repeat an image's URL
    for ref in refs:
        image = fetch_image(http, ref)
        if image.size != (width, height):
            problems.append(f"size {image.size} != {(width, height)}")
        if request.output_format and image.format != PIL_NAMES[request.output_format]:
            problems.append(f"format {image.format} != {request.output_format}")
    cost = f"${priced.usd:.5f}" if priced.usd is not None else f"{priced.credits} credits"
    ok = bool(refs) and not problems
    detail = "; ".join(problems) or f"{priced.billed_size} {request.quality} {request.output_format}"
    return Outcome(provider, model, f"HTTP {answer.status_code}", len(refs), detail, cost, ok)


def _wait_healthy(
    http: httpx.Client, root: str, process: subprocess.Popen[bytes], seconds: float = 20
) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pixelmock serve exited with status {process.returncode}")
        try:
            return http.get(root + "/__health").json()
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"pixelmock serve did not answer on {root} within {seconds:g} s")


def run_demo() -> int:
    """Start ``pixelmock serve`` on a free port of 127.0.0.1, exercise every provider, print a table,
    stop the server with SIGTERM. Returns 0 when every check passed."""
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "pixelmock.emulators.tools.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",  # the table below says what happened; the access log would bury it
        "warning",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    outcomes = []
    try:
        with httpx.Client(timeout=60) as http:
            health = _wait_healthy(http, root, process)
            server_date = dt.date.fromisoformat(http.get(root + "/__admin/clock").json()["date"])
            print(f"pixelmock serve is up on {root} (its clock: {server_date})")
            for name, prefix in health["providers"].items():
                print(f"  {name:<11} {root}{prefix}")
                for model in MODELS:
                    outcomes.append(exercise(http, root, prefix, name, model, server_date))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    print()
    width = max(len(model) for model in MODELS)
    print(f"{'provider':<11} {'model':<{width}} {'answer':<9} {'images':<6} {'quote':<14} result")
    for out in outcomes:
        verdict = "ok" if out.ok else "FAILED"
        head = f"{out.provider:<11} {out.model:<{width}} {out.status:<9} {out.images:<6} {out.cost:<14}"
        print(f"{head} {verdict}: {out.detail}")
    failed = [o for o in outcomes if not o.ok]
    print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} checks good; server stopped")
    return 1 if failed else 0
