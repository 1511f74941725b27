"""The official ``openai`` SDK pointed at the emulator over a real socket (openai's base_url + "/v1").

The SDK is the oracle for the wire format: what it sends must be accepted, what the emulator answers must
parse into its types, and rejections must surface as its exceptions with ``.code`` and ``.param``.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Iterator

import openai
import pytest
from PIL import Image

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.tools.server import running


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """One real socket server for the module (the SDK only speaks HTTP), clock pinned to 2026-11-21."""
    app = create_app(
        EmulatorConfig(today=dt.date(2026, 11, 21), invalid_keys=frozenset({"sk-revoked"})), ["openai"]
    )
    with running(app) as url:
        yield url


@pytest.fixture
def client(live_url: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key="sk-test", base_url=live_url + "/openai/v1", max_retries=0) as sdk:
        yield sdk


def _png(width: int = 1024, height: int = 1024, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), (120, 40, 40, 255)[: len(mode)]).save(buf, "PNG")
    return buf.getvalue()


def _image(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


@pytest.mark.parametrize(
    ("model", "size", "quality"),
    [("gpt-image-1.5", "1536x1024", "low"), ("gpt-image-2", "1536x864", "medium")],
)
def test_generate_parses_images_and_usage(client: openai.OpenAI, model: str, size: str, quality: str) -> None:
    result = client.images.generate(
        model=model, prompt="a lighthouse at dawn", size=size, quality=quality, n=2
    )
    assert result.data is not None and len(result.data) == 2
    width, height = (int(v) for v in size.split("x"))
    assert all(_image(item.b64_json).size == (width, height) for item in result.data)
    assert (result.size, result.quality, result.output_format, result.background) == (
        size,
        quality,
        "png",
        "opaque",
    )
    assert result.usage is not None and result.usage.output_tokens_details is not None
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    if model == "gpt-image-1.5":
        # published table: 1536x1024 low = 400 image tokens
        assert result.usage.output_tokens_details.image_tokens == 2 * 400
    assert result._request_id is not None and result._request_id.startswith("req_")


def test_edit_with_one_image(client: openai.OpenAI) -> None:
    result = client.images.edit(
        model="gpt-image-1.5", image=("in.png", _png(), "image/png"), prompt="make it blue", size="1024x1024"
    )
    assert result.data is not None and _image(result.data[0].b64_json).size == (1024, 1024)
    assert result.usage is not None and result.usage.input_tokens_details.image_tokens == 194  # 512-px tiles


def test_edit_with_a_list_of_images_and_a_mask(client: openai.OpenAI) -> None:
    result = client.images.edit(
        model="gpt-image-2",
        image=[("a.png", _png(), "image/png"), ("b.png", _png(), "image/png")],
        mask=("mask.png", _png(mode="RGBA"), "image/png"),
        prompt="put both in one room",
        size="1024x1536",
        quality="low",
        output_format="jpeg",
        output_compression=70,
        n=2,
    )
    assert result.data is not None and len(result.data) == 2
    assert {(_image(d.b64_json).format, _image(d.b64_json).size) for d in result.data} == {
        ("JPEG", (1024, 1536))
    }


def test_edit_input_fidelity_on_gpt_image_1_5(client: openai.OpenAI) -> None:
    """openai/codex: "High input_fidelity can materially increase input token usage" (vs 194 at low)."""
    result = client.images.edit(
        model="gpt-image-1.5",
        image=[("a.png", _png(), "image/png")],
        prompt="x",
        input_fidelity="high",
        quality="low",
    )
    assert result.data is not None and result.usage is not None
    assert result.usage.input_tokens_details.image_tokens > 194


def test_streaming_generate(client: openai.OpenAI) -> None:
    stream = client.images.generate(
        model="gpt-image-1.5", prompt="a fox", stream=True, partial_images=1, size="1024x1024", quality="low"
    )
    events = list(stream)
    assert [e.type for e in events] == ["image_generation.partial_image", "image_generation.completed"]
    # published: 1024x1024 low is 272 tokens, and each partial image costs 100 more (OpenAI's guide); plus
    # gpt-image-1.5's text output tokens at low, 209 as reported (community.openai.com/t/1369511)
    assert events[-1].usage.output_tokens == 272 + 100 + 209  # type: ignore[union-attr]


def test_bad_request_surfaces_code_and_param(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-1.5", prompt="x", size="512x512")
    assert (info.value.status_code, info.value.code, info.value.param) == (400, "invalid_value", "size")
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-2", prompt="x", background="transparent")
    assert (info.value.code, info.value.param) == ("invalid_value", "background")
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="gpt-image-2", prompt="x", response_format="b64_json")
    assert (info.value.code, info.value.param) == ("unknown_parameter", "response_format")
    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(
            model="gpt-image-2", image=("a.png", _png(), "image/png"), prompt="x", input_fidelity="high"
        )
    assert (
        info.value.code == "invalid_input_fidelity_model" and info.value.type == "image_generation_user_error"
    )


def test_raw_bytes_go_as_octet_stream_and_are_rejected(client: openai.OpenAI) -> None:
    """The SDK: bytes without a filename/MIME are sent as application/octet-stream, which OpenAI rejects."""
    with pytest.raises(openai.BadRequestError) as info:
        client.images.edit(model="gpt-image-1.5", image=_png(64, 64), prompt="x")
    assert (info.value.code, info.value.param) == ("unsupported_file_mimetype", "image")


def test_unknown_model_and_bad_key(client: openai.OpenAI, live_url: str) -> None:
    # The recorded answer (maruel/genai bad_model_image/GenSync.yaml): a 400, so the SDK's BadRequestError.
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(model="bad model", prompt="Tell a short joke.")
    assert (info.value.code, info.value.param) == ("invalid_value", "model")
    assert info.value.body == {
        "message": "The model 'bad model' does not exist.",
        "type": "image_generation_user_error",
        "param": "model",
        "code": "invalid_value",
    }
    revoked = openai.OpenAI(api_key="sk-revoked", base_url=live_url + "/openai/v1", max_retries=0)
    with revoked, pytest.raises(openai.AuthenticationError) as auth:
        revoked.images.generate(model="gpt-image-2", prompt="x")
    assert auth.value.code == "invalid_api_key"
