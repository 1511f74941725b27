"""The Responses API road to GPT Image (``POST /openai/v1/responses`` with the ``image_generation`` tool),
driven by the official openai SDK (sync, async, streaming) and by langchain-openai as a third-party client.

Each image call must be the Images API request its tool parameters make: validated the same way, billed at
the image model's rates in the ledger, with the tool's parameters named in its errors.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from flask import Flask
from PIL import Image

KEY = "sk-test"
TOOL = {"type": "image_generation", "model": "gpt-image-2", "quality": "low"}


@pytest.fixture
def wsgi_http(app: Flask) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture
def client(wsgi_http: httpx.Client) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://127.0.0.1/openai/v1", api_key=KEY, http_client=wsgi_http, max_retries=0
    )


def _ledger(http: httpx.Client) -> list[dict[str, Any]]:
    return list(http.get("/__admin/ledger", params={"key": KEY}).json()["lines"])


def _png(width: int = 64, height: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _decoded(result: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(result)))


def test_generates_an_image_billed_at_the_image_models_rates(
    client: openai.OpenAI, wsgi_http: httpx.Client
) -> None:
    response = client.responses.create(model="gpt-5", input="draw a cat", tools=[TOOL])  # type: ignore[list-item]
    call, message = response.output
    assert call.type == "image_generation_call" and call.status == "completed" and call.action == "generate"
    assert (call.quality, call.output_format, call.revised_prompt) == ("low", "png", "draw a cat")
    assert call.result is not None and _decoded(call.result).size == tuple(
        map(int, str(call.size).split("x"))
    )
    assert message.type == "message" and message.content[0].type == "output_text"
    assert response.usage is not None and response.usage.output_tokens > 0
    [line] = _ledger(wsgi_http)
    # The same request on the Images API costs the same and reports the same image tokens.
    images = client.images.generate(model="gpt-image-2", prompt="draw a cat", quality="low")
    assert _ledger(wsgi_http)[-1]["amount"] == line["amount"] and Decimal(line["amount"]) < 0
    assert response.tool_usage is not None and images.usage is not None
    assert response.tool_usage.image_gen.output_tokens == images.usage.output_tokens
    assert response.tool_usage.image_gen.input_tokens == images.usage.input_tokens
    bill = wsgi_http.get("/__admin/bill").json()["rows"]
    assert [(row["model"], row["images"]) for row in bill] == [("gpt-image-2", 2)]


def test_a_follow_up_edits_the_previous_image_and_bills_it_as_input(
    client: openai.OpenAI, wsgi_http: httpx.Client
) -> None:
    first = client.responses.create(model="gpt-5", input="draw a cat", tools=[TOOL])  # type: ignore[list-item]
    second = client.responses.create(
        model="gpt-5",
        input="now make it blue",
        previous_response_id=first.id,
        tools=[TOOL],  # type: ignore[list-item]
    )
    call = second.output[0]
    assert call.type == "image_generation_call" and call.action == "edit"
    assert second.previous_response_id == first.id
    assert second.tool_usage is not None and second.tool_usage.image_gen.input_tokens_details.image_tokens > 0
    assert first.tool_usage is not None and first.tool_usage.image_gen.input_tokens_details.image_tokens == 0
    generated, edited = _ledger(wsgi_http)
    assert Decimal(edited["amount"]) < Decimal(
        generated["amount"]
    )  # debits are negative: the edit costs more


def test_an_input_image_is_edited(client: openai.OpenAI) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(_png()).decode()
    response = client.responses.create(
        model="gpt-5",
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "make it blue"},
                    {"type": "input_image", "image_url": data_url, "detail": "auto"},
                ],
            }
        ],
        tools=[TOOL],  # type: ignore[list-item]
    )
    call = response.output[0]
    assert call.type == "image_generation_call" and call.action == "edit"


def test_a_file_id_is_an_unknown_file(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(
            model="gpt-5",
            input=[
                {
                    "role": "user",
                    "content": [{"type": "input_image", "file_id": "file-abc", "detail": "auto"}],
                }
            ],
            tools=[TOOL],  # type: ignore[list-item]
        )
    assert caught.value.body["param"] == "input[0].content[0].file_id"  # type: ignore[index]


def test_streams_the_documented_events_with_partial_images(
    client: openai.OpenAI, wsgi_http: httpx.Client
) -> None:
    tool = {**TOOL, "partial_images": 2}
    with client.responses.create(model="gpt-5", input="draw a cat", tools=[tool], stream=True) as stream:  # type: ignore[list-item]
        events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[:5] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.image_generation_call.in_progress",
        "response.image_generation_call.generating",
    ]
    assert kinds[5:9] == [
        "response.image_generation_call.partial_image",
        "response.image_generation_call.partial_image",
        "response.image_generation_call.completed",
        "response.output_item.done",
    ]
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    partial = events[5]
    assert partial.type == "response.image_generation_call.partial_image" and partial.partial_image_index == 0
    completed = events[-1]
    assert completed.type == "response.completed" and completed.response.tool_usage is not None
    plain = client.responses.create(model="gpt-5", input="draw a cat", tools=[TOOL])  # type: ignore[list-item]
    assert plain.tool_usage is not None
    # each partial image adds 100 image output tokens, as on the Images API
    assert (
        completed.response.tool_usage.image_gen.output_tokens
        == plain.tool_usage.image_gen.output_tokens + 200
    )
    streamed, sync = _ledger(wsgi_http)
    assert Decimal(streamed["amount"]) < Decimal(sync["amount"])


def test_async_client_over_a_socket(live_url: str) -> None:
    async def run() -> Any:
        async with openai.AsyncOpenAI(base_url=f"{live_url}/openai/v1", api_key=KEY, max_retries=0) as client:
            created = await client.responses.create(model="gpt-5", input="draw a cat", tools=[TOOL])  # type: ignore[list-item]
            fetched = await client.responses.retrieve(created.id)
            return created, fetched

    created, fetched = asyncio.run(run())
    assert fetched.id == created.id and fetched.output[0].type == "image_generation_call"


def test_get_and_delete_a_stored_response(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-5", input="draw a cat", tools=[TOOL])  # type: ignore[list-item]
    assert client.responses.retrieve(created.id).output[0].id == created.output[0].id
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)
    unstored = client.responses.create(model="gpt-5", input="x", tools=[TOOL], store=False)  # type: ignore[list-item]
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-5", input="y", previous_response_id=unstored.id, tools=[TOOL])  # type: ignore[list-item]
    assert caught.value.code == "previous_response_not_found"


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"tools": [{**TOOL, "colour": "red"}]}, 400, "tools[0].colour", "unknown_parameter"),
        ({"tools": [{**TOOL, "size": "1000x1000"}]}, 400, "tools[0].size", "invalid_value"),
        ({"tools": [{**TOOL, "quality": "ultra"}]}, 400, "tools[0].quality", "invalid_value"),
        ({"tools": [{**TOOL, "model": "gpt-image-9"}]}, 400, "tools[0].model", "invalid_value"),
        ({"model": "gpt-9"}, 400, "model", "model_not_found"),
        ({"model": "gpt-3.5-turbo"}, 400, "tools", None),
        ({"tools": []}, 400, "tools", "invalid_value"),
        ({"tools": [], "tool_choice": {"type": "image_generation"}}, 400, "tool_choice", None),
    ],
)
def test_refusals_name_the_parameter(
    wsgi_http: httpx.Client, body: dict[str, Any], status: int, param: str, code: str | None
) -> None:
    sent = {"model": "gpt-5", "input": "draw a cat", "tools": [TOOL], **body}
    response = wsgi_http.post("/openai/v1/responses", json=sent, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["param"], error["code"]) == (param, code)
    assert _ledger(wsgi_http) == []


def test_gpt_image_1_5_is_refused_after_its_shutdown(wsgi_http: httpx.Client) -> None:
    wsgi_http.put("/__admin/clock", json={"date": "2026-12-01"})
    sent = {"model": "gpt-5", "input": "cat", "tools": [{**TOOL, "model": "gpt-image-1.5"}]}
    response = wsgi_http.post("/openai/v1/responses", json=sent, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The model 'gpt-image-1.5' does not exist."


def test_moderation_fault_is_openais_block(wsgi_http: httpx.Client) -> None:
    wsgi_http.post("/__admin/faults", json={"kind": "content_policy", "provider": "openai"})
    sent = {"model": "gpt-5", "input": "cat", "tools": [TOOL]}
    response = wsgi_http.post("/openai/v1/responses", json=sent, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "moderation_blocked"


@pytest.mark.parametrize("config", [{"options": {"openai.responses_message": "none"}}], indirect=True)
def test_the_message_can_be_left_out(wsgi_http: httpx.Client) -> None:
    sent = {"model": "gpt-5", "input": "cat", "tools": [TOOL]}
    body = wsgi_http.post(
        "/openai/v1/responses", json=sent, headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    assert [item["type"] for item in body["output"]] == ["image_generation_call"]
    assert body["usage"]["output_tokens"] == 0


def test_langchain_openai_gets_the_image(wsgi_http: httpx.Client) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    llm = langchain_openai.ChatOpenAI(
        model="gpt-5",
        base_url="http://127.0.0.1/openai/v1",
        api_key=KEY,
        use_responses_api=True,
        http_client=wsgi_http,
        max_retries=0,
    )
    message = llm.bind_tools([{"type": "image_generation", "quality": "low"}]).invoke("draw a cat")
    blocks = [block for block in message.content if isinstance(block, dict)]
    [image] = [block for block in blocks if block.get("type") == "image_generation_call"]
    assert _decoded(image["result"]).format == "PNG"
    assert any(block.get("type") == "text" for block in blocks)


def test_tool_choice_none_answers_the_message_only(wsgi_http: httpx.Client) -> None:
    sent = {"model": "gpt-5", "input": "cat", "tools": [TOOL], "tool_choice": "none"}
    body = wsgi_http.post(
        "/openai/v1/responses", json=sent, headers={"Authorization": f"Bearer {KEY}"}
    ).json()
    assert [item["type"] for item in body["output"]] == ["message"]
    assert body["tool_usage"] is None and _ledger(wsgi_http) == []


@pytest.mark.parametrize(
    "config", [{"options": {"openai.responses_image_model_default": "gpt-image-1"}}], indirect=True
)
def test_the_api_documents_default_model_is_shut_down(wsgi_http: httpx.Client) -> None:
    sent = {"model": "gpt-5", "input": "cat", "tools": [{"type": "image_generation"}]}
    response = wsgi_http.post("/openai/v1/responses", json=sent, headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "tools[0].model"


def test_the_sdks_default_model_answers_without_one(client: openai.OpenAI, wsgi_http: httpx.Client) -> None:
    response = client.responses.create(
        model="gpt-5", input="cat", tools=[{"type": "image_generation", "quality": "low"}]
    )
    assert response.tools[0].model == "gpt-image-2.6-sunburst"  # type: ignore[union-attr]
    assert wsgi_http.get("/__admin/bill").json()["rows"][0]["model"] == "gpt-image-2.6-sunburst"
