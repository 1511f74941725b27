"""The official ``openai`` SDK's Azure client (``AzureOpenAI``, ``AsyncAzureOpenAI``) and the plain
``OpenAI`` client on the v1 surface, pointed at the emulator over a real socket (``/azure`` stands for
``https://{resource}.openai.azure.com``). The SDK is the oracle for the wire format (openai 3.63.0
``openai/lib/azure.py``: the deployment in the path, ``api-version`` in the query, ``api-key`` or
``Authorization: Bearer``)."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import io
from collections.abc import Iterator

import openai
import pytest
from PIL import Image

from pixelmock.emulators import EmulatorConfig, create_app
from pixelmock.emulators.admin.client import PixelmockAdmin
from pixelmock.emulators.tools.server import running

API_VERSION = "2025-04-01-preview"  # Microsoft's image_edits.json example


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[str, PixelmockAdmin]]:
    app = create_app(EmulatorConfig(today=dt.date(2026, 12, 7)), ["azure"])
    with running(app) as url:
        yield url, PixelmockAdmin.for_app(app)


@pytest.fixture
def azure(live: tuple[str, PixelmockAdmin]) -> Iterator[openai.AzureOpenAI]:
    endpoint = live[0] + "/azure"
    with openai.AzureOpenAI(
        api_key="k", api_version=API_VERSION, azure_endpoint=endpoint, max_retries=0
    ) as sdk:
        yield sdk


def _image(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def test_azure_client_generates_an_image_of_the_asked_size_with_usage(
    azure: openai.AzureOpenAI, live: tuple[str, PixelmockAdmin]
) -> None:
    result = azure.images.generate(model="gpt-image-2", prompt="a fox", size="1536x1024", quality="low")
    assert result.data is not None and _image(result.data[0].b64_json).size == (1536, 1024)
    assert result.usage is not None and result.usage.output_tokens > 0
    assert live[1].bill().cost("USD", provider="azure") > 0


def test_azure_client_edits(azure: openai.AzureOpenAI) -> None:
    result = azure.images.edit(
        model="gpt-image-1.5", image=("in.png", _png(), "image/png"), prompt="make it red", size="1024x1024"
    )
    assert result.data is not None and _image(result.data[0].b64_json).size == (1024, 1024)
    assert result.usage is not None and result.usage.input_tokens_details.image_tokens > 0


def test_azure_client_streams_partial_images(azure: openai.AzureOpenAI) -> None:
    events = list(
        azure.images.generate(
            model="gpt-image-2",
            prompt="a fox",
            size="1024x1024",
            quality="low",
            stream=True,
            partial_images=2,
        )
    )
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]


def test_async_azure_client(live: tuple[str, PixelmockAdmin]) -> None:
    async def generate() -> openai.types.ImagesResponse:
        async with openai.AsyncAzureOpenAI(
            api_key="k", api_version=API_VERSION, azure_endpoint=live[0] + "/azure", max_retries=0
        ) as sdk:
            return await sdk.images.generate(
                model="gpt-image-2", prompt="a fox", size="1024x1024", quality="low"
            )

    result = asyncio.run(generate())
    assert result.data is not None and _image(result.data[0].b64_json).size == (1024, 1024)


def test_entra_id_token_is_a_credential(live: tuple[str, PixelmockAdmin]) -> None:
    with openai.AzureOpenAI(
        azure_ad_token="eyJ0eXAi.token",
        api_version=API_VERSION,
        azure_endpoint=live[0] + "/azure",
        max_retries=0,
    ) as sdk:
        result = sdk.images.generate(model="gpt-image-2", prompt="a fox", size="1024x1024", quality="low")
    assert result.data is not None


def test_plain_client_on_the_v1_surface(live: tuple[str, PixelmockAdmin]) -> None:
    with openai.OpenAI(api_key="k", base_url=live[0] + "/azure/openai/v1/", max_retries=0) as sdk:
        result = sdk.images.generate(model="gpt-image-1.5", prompt="a fox", size="1024x1536", quality="low")
    assert result.data is not None and _image(result.data[0].b64_json).size == (1024, 1536)


def test_an_unknown_deployment_is_deployment_not_found(azure: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        azure.images.generate(model="my-images", prompt="a fox")
    assert raised.value.code == "DeploymentNotFound"
