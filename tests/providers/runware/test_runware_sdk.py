"""Both official Runware SDKs against the emulator as users run it: ``pixelmock serve``'s server (gunicorn,
one gevent worker: ``pixelmock.emulators.tools.server.serve``) in a subprocess on 127.0.0.1, each SDK
pointed at it only by its documented base-URL arguments (runware-sdk==1.8.0:runware/types/sdk.py):

- ``runware-sdk`` 1.x (imported as ``runware``; in the test extra): ``transport="rest"`` with
  ``http_base_url=`` and ``transport="websocket"`` with ``ws_base_url=``, sync and async delivery (the
  SDK's default, acknowledged then polled with getResponse);
- ``runware`` 0.5.x, the legacy SDK (WebSocket only, ``url=``). It imports as ``runware`` too, so it runs
  in an environment of its own: the ``legacy_python`` fixture builds a venv once per SDK series and Python
  version under the user cache directory and a small driver script runs there in a subprocess.

The SDKs are the oracles for the wire format: what they send must be accepted, what the emulator answers
must parse into their results, and rejections must surface as their own exceptions. They stay off the
network: taskType is passed explicitly and validation is off (runware-sdk 1.8.0). The published cost of a
documented example is the cost oracle.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from paths import ROOT
from PIL import Image
from runware import Runware, RunwareError

from pixelmock.contracts.data import cache_root
from pixelmock.emulators.tools.cli import main
from pixelmock.emulators.tools.server import free_port

CASSETTES = ROOT / "cassettes" / "documented" / "runware"
REVOKED_KEY = "revoked-key"
#: Serve exactly as ``pixelmock serve --provider runware`` does, with one revoked key and one
#: ``processing`` answer per getResponse before ``success`` (so the SDKs' polling is exercised).
SERVER = f"""
import sys
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.tools.server import serve
config = EmulatorConfig(
    invalid_keys=frozenset({{{REVOKED_KEY!r}}}), options={{"runware.processing_polls": 1}}
)
serve(lambda: create_app(config, ["runware"]), port=int(sys.argv[1]))
"""
PIL_FORMAT = {"JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
OUTPUT_KEY = {"URL": "imageURL", "base64Data": "imageBase64Data", "dataURI": "imageDataURI"}
#: A documented example (cassettes/documented/runware) and its published cost with includeCost (USD).
PUBLISHED = ("openai-4-1-retro-futurist-metro-poster", 0.19984)

#: (model, width, height, outputType, outputFormat, numberResults, providerSettings.openai)
CASES = [
    ("openai:4@1", 1536, 1024, "URL", "PNG", 2, {"quality": "low", "background": "transparent"}),
    ("openai:4@1", 1024, 1536, "base64Data", "JPG", 1, {"quality": "medium"}),
    ("openai:gpt-image@2", 1280, 720, "dataURI", "WEBP", 2, {"quality": "low"}),
    ("openai:gpt-image@2", 720, 1280, "URL", "JPG", 1, {}),
]


def _task(case: tuple[Any, ...]) -> dict[str, Any]:
    model, width, height, output_type, output_format, n, openai = case
    task = {
        "taskType": "imageInference",
        "model": model,
        "positivePrompt": "a lighthouse at dusk, watercolor",
        "width": width,
        "height": height,
        "outputType": output_type,
        "outputFormat": output_format,
        "numberResults": n,
        "includeCost": True,
    }
    if openai:
        task["providerSettings"] = {"openai": openai}
    return task


def _documented_task() -> dict[str, Any]:
    interaction = yaml.safe_load((CASSETTES / f"{PUBLISHED[0]}.yaml").read_text("utf-8"))["interactions"][0]
    task: dict[str, Any] = json.loads(interaction["request"]["body"])[0]
    del task["taskUUID"]  # a fresh one per run: a taskUUID is used once
    return {**task, "includeCost": True}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Root URL of the gunicorn server (``http://127.0.0.1:<port>``); SIGTERM at the end."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT)
    root = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{root}/__health", timeout=2).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield root
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _check_images(items: list[dict[str, Any]], task: dict[str, Any]) -> None:
    """Items of one task: one per image, the task's taskUUID, distinct imageUUIDs, the requested output
    type, size and format (alpha for a transparent PNG), and one cost per item."""
    assert len(items) == task["numberResults"]
    assert len({item["taskUUID"] for item in items}) == 1
    assert len({item["imageUUID"] for item in items}) == len(items)
    key = OUTPUT_KEY[task["outputType"]]
    for item in items:
        value = item[key]
        if key == "imageURL":
            data = httpx.get(value, timeout=10).content
        else:
            data = base64.b64decode(value.split(",", 1)[1] if key == "imageDataURI" else value)
        image = Image.open(io.BytesIO(data))
        assert image.size == (task["width"], task["height"])
        assert image.format == PIL_FORMAT[task["outputFormat"]]
        if task.get("providerSettings", {}).get("openai", {}).get("background") == "transparent":
            assert image.mode == "RGBA"
    costs = {item["cost"] for item in items}
    assert len(costs) == 1 and costs.pop() > 0


# -- runware-sdk 1.x ----------------------------------------------------------------------------------------


def _client(server: str, transport: str, key: str = "sdk-key") -> Runware:
    url = server + "/runware/v1"
    if transport == "rest":
        return Runware(api_key=key, transport="rest", http_base_url=url, validate=False, max_retries=0)
    return Runware(
        api_key=key, transport="websocket", ws_base_url=url.replace("http", "ws", 1), validate=False
    )


NEW_SDK_RUNS = [
    pytest.param(transport, delivery, case, id=f"{transport}-{delivery}-{case[0]}-{case[1]}x{case[2]}")
    for index, case in enumerate(CASES)
    for transport in ("rest", "websocket")
    for delivery in [("sync", "async")[(index + (transport == "rest")) % 2]]
]


def _run(server: str, transport: str, task: dict[str, Any], key: str = "sdk-key") -> list[dict[str, Any]]:
    """``client.run(task)`` of a fresh client (connected, then closed)."""

    async def run() -> list[dict[str, Any]]:
        async with _client(server, transport, key) as client:
            return await client.run(task)

    return asyncio.run(run())


@pytest.mark.parametrize(("transport", "delivery", "case"), NEW_SDK_RUNS)
def test_new_sdk_generates(server: str, transport: str, delivery: str, case: tuple[Any, ...]) -> None:
    task = {**_task(case), "deliveryMethod": delivery}
    _check_images(_run(server, transport, task), task)


@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_new_sdk_reports_the_published_cost(server: str, transport: str) -> None:
    items = _run(server, transport, {**_documented_task(), "deliveryMethod": "sync"})
    assert [item["cost"] for item in items] == [PUBLISHED[1]]


@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_new_sdk_raises_its_validation_error(server: str, transport: str) -> None:
    task = {**_task(CASES[1]), "width": 1000, "height": 1000, "deliveryMethod": "sync"}
    with pytest.raises(RunwareError) as raised:
        _run(server, transport, task)
    assert (raised.value.code, raised.value.parameter) == ("validation", "width")
    assert "1000x1000 is not supported" in raised.value.message
    if transport == "rest":
        assert raised.value.status_code == 400


@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_new_sdk_raises_its_auth_error_for_a_revoked_key(server: str, transport: str) -> None:
    with pytest.raises(RunwareError) as raised:
        _run(server, transport, {**_task(CASES[1]), "deliveryMethod": "sync"}, key=REVOKED_KEY)
    assert raised.value.code == "auth"
    assert raised.value.message.startswith("Invalid API key")


# -- runware 0.5.x (legacy), in its own environment ----------------------------------------------------------

LEGACY_REQUIREMENT = "runware==0.5.*"
LEGACY_SERIES = "runware-0.5"
#: Runs in the legacy venv: reads {url, apiKey, calls: [[method, params], ...]} on stdin, calls the SDK
#: (one connection for all calls) and prints one JSON list: per call its result, or the exception raised.
DRIVER = """
import asyncio, dataclasses, json, sys, time
from runware import IImageInference, IOpenAIProviderSettings, Runware, RunwareAPIError


async def call(sdk, method, params):
    if method == "imageInference":
        params = dict(params)
        if "providerSettings" in params:
            params["providerSettings"] = IOpenAIProviderSettings(**params["providerSettings"]["openai"])
        result = await sdk.imageInference(requestImage=IImageInference(**params))
    else:
        result = await getattr(sdk, method)(**params)
    if isinstance(result, list):
        return [dataclasses.asdict(r) for r in result]
    return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result


async def main(spec):
    sdk = Runware(api_key=spec["apiKey"], url=spec["url"])
    outcomes = []
    try:
        await sdk.connect()
        for method, params in spec["calls"]:
            started = time.monotonic()
            try:
                outcome = {"result": await call(sdk, method, params)}
            except RunwareAPIError as exc:
                outcome = {"raised": "RunwareAPIError", "code": exc.code, "error": exc.error_data}
            except ConnectionError as exc:
                outcome = {"raised": "ConnectionError", "message": str(exc)}
            outcome["seconds"] = time.monotonic() - started
            outcomes.append(outcome)
    finally:
        await sdk.disconnect()
    print(json.dumps(outcomes))


asyncio.run(main(json.load(sys.stdin)))
"""


def _cache_dir() -> Path:
    """Where the legacy SDK's venv is kept between runs: pixelmock's cache folder (``$PIXELMOCK_CACHE_DIR``,
    else ``$XDG_CACHE_HOME/pixelmock``, else ``~/.cache/pixelmock``)."""
    root = cache_root()
    if root is None:
        pytest.skip("no cache folder: set PIXELMOCK_CACHE_DIR")
    return root


def _index_url() -> str:
    """The package index pip uses (``PIP_INDEX_URL``, pip's configuration, else PyPI)."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].split()[0]
    configured = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"], capture_output=True, text=True
    )
    return (
        configured.stdout.strip()
        if configured.returncode == 0 and configured.stdout.strip()
        else ("https://pypi.org/simple")
    )


def _skip_if_index_unreachable() -> None:
    index = _index_url().rstrip("/")
    if not index.startswith(("http://", "https://")):
        return
    try:
        httpx.get(f"{index}/runware/", timeout=15, follow_redirects=True)
    except httpx.TransportError as exc:
        pytest.skip(f"the package index {index} is unreachable ({exc}): cannot install {LEGACY_REQUIREMENT}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (POSIX), so parallel runs build the venv once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no lock
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def legacy_python(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a venv with the legacy SDK, the driver script). The venv is built once per SDK series
    and Python version (``python -m venv`` + ``pip install runware==0.5.*``) and reused while it exists;
    the test is skipped only when the package index cannot be reached."""
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    venv = _cache_dir() / f"{LEGACY_SERIES}-{version}"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    ready = venv / ".pixelmock-ready"
    with _locked(venv.with_name(venv.name + ".lock")):
        if not ready.exists():
            _skip_if_index_unreachable()
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            install = subprocess.run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--disable-pip-version-check",
                    "-q",
                    LEGACY_REQUIREMENT,
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if install.returncode != 0:
                pytest.fail(f"pip install {LEGACY_REQUIREMENT} failed:\n{install.stdout}\n{install.stderr}")
            installed = subprocess.run(
                [str(python), "-c", "from importlib.metadata import version; print(version('runware'))"],
                capture_output=True,
                text=True,
                check=True,
            )
            ready.write_text(f"{LEGACY_REQUIREMENT} -> runware=={installed.stdout.strip()}\n")
    driver = tmp_path_factory.mktemp("legacy") / "driver.py"
    driver.write_text(DRIVER)
    return python, driver


def _legacy(legacy: tuple[Path, Path], server: str, key: str, calls: list[Any]) -> list[dict[str, Any]]:
    python, driver = legacy
    spec = {"url": server.replace("http://", "ws://") + "/runware/v1", "apiKey": key, "calls": calls}
    done = subprocess.run(
        [str(python), str(driver)], input=json.dumps(spec), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    outcomes: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(outcomes) == len(calls)
    return outcomes


def _legacy_params(task: dict[str, Any]) -> dict[str, Any]:
    """The legacy SDK's ``IImageInference`` fields for a task (it adds taskType and taskUUID itself)."""
    return {k: v for k, v in task.items() if k != "taskType"}


@pytest.fixture(scope="module")
def legacy_run(legacy_python: tuple[Path, Path], server: str) -> dict[str, Any]:
    """One legacy SDK session: every case, the documented example, an async task read back with
    getResponse (processing first), and a task with a size openai:4@1 does not have."""
    async_uuid = str(uuid.uuid4())
    calls: list[Any] = [["imageInference", _legacy_params(_task(case))] for case in CASES]
    calls += [
        ["imageInference", _legacy_params(_documented_task())],
        [
            "imageInference",
            {**_legacy_params(_task(CASES[0])), "taskUUID": async_uuid, "deliveryMethod": "async"},
        ],
        ["getResponse", {"taskUUID": async_uuid, "numberResults": CASES[0][5]}],
        ["imageInference", {**_legacy_params(_task(CASES[1])), "width": 1000, "height": 1000}],
    ]
    outcomes = _legacy(legacy_python, server, "legacy-key", calls)
    return {
        "cases": outcomes[: len(CASES)],
        "documented": outcomes[len(CASES)],
        "rest": outcomes[len(CASES) + 1 :],
    }


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c[0]}-{c[1]}x{c[2]}-{c[3]}" for c in CASES])
def test_legacy_sdk_generates(legacy_run: dict[str, Any], index: int) -> None:
    outcome = legacy_run["cases"][index]
    assert "result" in outcome, outcome
    _check_images(outcome["result"], _task(CASES[index]))


def test_legacy_sdk_reports_the_published_cost(legacy_run: dict[str, Any]) -> None:
    assert [image["cost"] for image in legacy_run["documented"]["result"]] == [PUBLISHED[1]]


def test_legacy_sdk_async_then_get_response_polls_promptly(legacy_run: dict[str, Any]) -> None:
    acknowledged, polled = legacy_run["rest"][:2]
    assert set(acknowledged["result"]) == {"taskType", "taskUUID"}
    assert [image["status"] for image in polled["result"]] == ["success", "success"]
    assert {image["taskUUID"] for image in polled["result"]} == {acknowledged["result"]["taskUUID"]}
    # One `processing` answer, then success after the SDK's 1 s polling delay. Without an imageUUID on
    # processing items this SDK waits RUNWARE_VIDEO_INITIAL_TIMEOUT (30 s) per poll (runware/utils.py).
    assert polled["seconds"] < 10


def test_legacy_sdk_raises_its_api_error(legacy_run: dict[str, Any]) -> None:
    outcome = legacy_run["rest"][2]
    assert (outcome["raised"], outcome["code"]) == ("RunwareAPIError", "unsupportedDimensions")
    assert outcome["error"]["parameter"] == "width" and outcome["error"]["taskType"] == "imageInference"


def test_legacy_sdk_raises_connection_error_for_a_revoked_key(
    legacy_python: tuple[Path, Path], server: str
) -> None:
    """The SDK's public ``ensureConnection`` raises ``ConnectionError`` with the key's error message.

    (Its task methods wrap that in reconnect retries whose circuit breaker then sleeps 120 s between
    attempts, so they are not what a test can wait for.)"""
    (outcome,) = _legacy(legacy_python, server, REVOKED_KEY, [["ensureConnection", {}]])
    assert outcome["raised"] == "ConnectionError"
    assert outcome["message"] == "Invalid API key. Get one at https://my.runware.ai/signup"


# -- GPT Image 2.5 (runware-sdk 1.8.0: OpenaiGptImage25FlareParams, settings) --------------------------------


@pytest.mark.parametrize("transport", ["rest", "websocket"])
def test_new_sdk_generates_with_gpt_image_2_5_flare_at_xhigh(
    server: str, transport: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The acceptance criterion: Runware's openai:gpt-image@2.5-flare generates, here at settings.quality
    # xhigh (the quality-levels guide's fifth position), and each item costs what `pixelmock cost` quotes.
    task = {
        **_task(("openai:gpt-image@2.5-flare", 1536, 1024, "base64Data", "PNG", 2, {})),
        "settings": {"quality": "xhigh"},
        "deliveryMethod": "sync",
    }
    items = _run(server, transport, task)
    _check_images(items, task)
    capsys.readouterr()
    main(["cost", "--provider", "runware", "--model", "gpt-image-2.5-flare", "--prompt",
          task["positivePrompt"], "--size", "1536x1024", "--quality", "xhigh", "--n", "2",
          "--output-format", "png", "--json"])  # fmt: skip
    (row,) = json.loads(capsys.readouterr().out)
    assert [item["cost"] for item in items] == [float(row["usd"]) / 2] * 2
