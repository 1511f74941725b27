"""In-process figures (no socket): the emulator app called through ``httpx.WSGITransport`` (how a test
suite embeds it), cost quotes per second, and the image encoding baseline (Pillow alone).

Every loop is bounded by a call count and a time budget, whichever ends first.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from jsonschema import Draft202012Validator
from PIL import Image

from benchmarks.bare_app import create_bare_app
from benchmarks.mixes import MIXES, Mix
from benchmarks.targets import BARE, PIXELMOCK, Target, send_first, send_job
from pixelmock.contracts import openapi
from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.dialects import get_dialect, runware
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.contracts.pricing import quote
from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.core.images import ImageSpec, render


@dataclass
class Rate:
    """``calls`` done in ``seconds``; ``per_second`` = calls / seconds."""

    calls: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def bounded(fn: Callable[[int], int], max_calls: int, budget_s: float) -> Rate:
    """Call ``fn(i)`` (it returns how many calls it made) until ``max_calls`` or ``budget_s`` seconds."""
    calls, i = 0, 0
    start = time.perf_counter()
    while calls < max_calls and time.perf_counter() - start < budget_s:
        calls += fn(i)
        i += 1
    return Rate(calls, time.perf_counter() - start)


def mix_rate(
    client: httpx.Client,
    mix: Mix,
    run: int,
    max_calls: int,
    budget_s: float,
    unique: bool,
    target: Target = PIXELMOCK,
) -> Rate:
    """HTTP requests per second of ``mix`` in-process (an Apiframe job is two requests)."""

    def one(i: int) -> int:
        return send_job(client, target, mix, run, i, unique=unique)

    for i in range(3):  # warm-up: first-use work (schemas, fonts) is not what we measure
        one(10_000_000 + i)
    return bounded(one, max_calls, budget_s)


def quote_rate(max_calls: int, budget_s: float) -> Rate:
    """``pixelmock.contracts.pricing.quote`` calls per second, round-robin over the five providers, each on
    its dialect's resolved 1024x1024 high-quality gpt-image-2 request."""
    today = dt.date.today()
    canonical = CanonicalRequest(
        model="gpt-image-2", prompt="a lighthouse at dusk", size="1024x1024", quality="high"
    )
    resolved = [(p, get_dialect(p).resolve(canonical)) for p in PROVIDERS]

    def one(i: int) -> int:
        provider, request = resolved[i % len(resolved)]
        quote(provider, request, today)
        return 1

    return bounded(one, max_calls, budget_s)


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def pillow_png_ms(png: bytes, repeats: int) -> dict[str, float]:
    """Pillow alone encoding the decoded ``png`` again: ``default`` (Pillow's own settings) and
    ``level1`` (``compress_level=1``, the emulator's setting), median milliseconds."""
    image = Image.open(io.BytesIO(png))
    image.load()

    def encode(**options: int) -> Callable[[], bytes]:
        def run() -> bytes:
            out = io.BytesIO()
            image.save(out, "PNG", **options)
            return out.getvalue()

        return run

    return {"default": median_ms(encode(), repeats), "level1": median_ms(encode(compress_level=1), repeats)}


def render_ms(repeats: int) -> dict[str, float]:
    """The emulator's renderer alone (cache bypassed: a new prompt every call), 1024x1024, per format,
    median milliseconds."""
    counter = iter(range(1 << 30))

    def one(fmt: str) -> Callable[[], bytes]:
        def run() -> bytes:
            return render(ImageSpec("openai", "gpt-image-2", 1024, 1024, fmt, prompt=f"r{next(counter)}"))

        return run

    return {fmt: median_ms(one(fmt), repeats) for fmt in ("png", "jpeg", "webp")}


def validate_us(repeats: int = 2000) -> dict[str, float]:
    """Microseconds to validate one valid ``runware_url`` task against its contract branch:
    ``pixelmock.contracts.openapi.validate`` (what the emulator calls: jsonschema-rs answers a valid task),
    and python-jsonschema alone (which the emulator keeps for explaining invalid requests)."""
    schema = runware.branch("openai:gpt-image@2")
    assert schema is not None
    task = {
        "taskType": "imageInference",
        "taskUUID": "6b1ef1d6-2a4e-4f5b-9d55-0f3c1b2a9e11",
        "model": "openai:gpt-image@2",
        "positivePrompt": "pixelmock benchmark",
        "width": 1024,
        "height": 1024,
        "outputType": "URL",
    }

    def per_call_us(fn: Callable[[], object]) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        return (time.perf_counter() - start) / repeats * 1e6

    explainer = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return {
        "contracts.openapi.validate": per_call_us(lambda: openapi.validate("runware", schema, task)),
        "python-jsonschema": per_call_us(lambda: list(explainer.iter_errors(task))),
    }


@dataclass
class InProcess:
    """Everything measured in-process."""

    mixes: dict[str, Rate]
    runware_repeated_prompt: Rate
    bare: Rate
    quotes: Rate
    render_ms: dict[str, float]
    pillow_png_ms: dict[str, float]
    validate_us: dict[str, float]


def run_inprocess(max_calls: int = 3000, budget_s: float = 1.5, repeats: int = 9) -> InProcess:
    """Measure every mix in-process (and the Runware URL mix again with one repeated prompt, which the
    render cache serves, and against the bare Flask app: the framework's in-process ceiling), quotes per
    second, the renderer and Pillow's PNG encoding."""
    app = create_app(EmulatorConfig())
    run = int(time.time()) & 0x7FFFFFFF
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
        rates = {mix.name: mix_rate(client, mix, run, max_calls, budget_s, unique=True) for mix in MIXES}
        runware = next(m for m in MIXES if m.name == "runware_url")
        repeated = mix_rate(client, runware, run + 1, max_calls, budget_s, unique=False)
        openai = next(m for m in MIXES if m.name == "openai_png_b64")
        answer = send_first(client, PIXELMOCK, openai, run + 2, 0)
        png = base64.b64decode(answer.json()["data"][0]["b64_json"])
    with httpx.Client(
        transport=httpx.WSGITransport(app=create_bare_app()), base_url="http://127.0.0.1"
    ) as bare:
        bare_rate = mix_rate(bare, runware, run + 3, max_calls, budget_s, unique=True, target=BARE)
    return InProcess(
        mixes=rates,
        runware_repeated_prompt=repeated,
        bare=bare_rate,
        quotes=quote_rate(max_calls * 10, budget_s),
        render_ms=render_ms(repeats),
        pillow_png_ms=pillow_png_ms(png, repeats),
        validate_us=validate_us(),
    )
