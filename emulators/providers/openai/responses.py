"""The Responses API road to GPT Image: ``POST /openai/v1/responses`` with the ``image_generation`` tool,
``GET`` and ``DELETE /openai/v1/responses/{response_id}``.

Everything is read from ``contracts/openapi/openai.yaml`` (``CreateResponseRequest``, ``x-responses``,
``x-openai-errors``, ``x-options``); each image call goes through the Images API's own path (``images``):

- The body is validated against ``CreateResponseRequest`` (an unknown key of the tool: 400
  ``unknown_parameter`` "Unknown parameter: 'tools[0].<key>'."). The mainline model must be one the SDK
  lists (``x-responses.mainline_models``; else 400 ``model_not_found``) and able to call the tool (option
  ``openai.responses_tool_models``); a request without the tool is refused (a choice: pixelmock has no
  text model).
- The tool's parameters and the turn's prompt (the last user text) and images (``input_image`` data URLs,
  the previous response's image with ``previous_response_id``) make an Images API request: a generation,
  or an edit when there is an input image (the call's ``action`` then is ``edit``). It is validated,
  priced (``pixelmock.contracts.pricing.quote``), debited and rendered exactly as that request would be;
  its errors name the tool's parameters (``tools[0].size``).
- The answer is a ``Response`` whose output holds the ``image_generation_call`` (``result`` base64,
  ``revised_prompt``, resolved ``size``/``quality``/``background``/``output_format``, ``action``) and,
  unless option ``openai.responses_message`` is ``none``, a short fixed assistant ``message``. ``usage`` is
  the mainline model's tokens (o200k counts of the text in and of the message out; not billed),
  ``tool_usage.image_gen`` the image's tokens (billed at the image model's rates).
- ``stream: true`` answers the documented events, each with its ``sequence_number``, spread over the
  generation time under the ``realistic`` latency profile.
- With ``store`` (default true) the response is kept in the runtime store (namespace
  ``x-responses.namespace``) for ``GET``, ``DELETE`` and ``previous_response_id``.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from flask import Response, request

from pixelmock.contracts.canonical import ImageInput
from pixelmock.contracts.dialects.openai import EDIT, GENERATE
from pixelmock.contracts.openapi import Violation, inlined, request_schema, validate
from pixelmock.contracts.tokens import prompt_tokens
from pixelmock.emulators.core.accounts import Account
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.providers.base import (
    Job,
    Parsed,
    ProviderError,
    Upload,
    charge,
    check_contract,
    check_files,
    check_model,
    entry_error,
    error,
    errors_catalogue,
    json_response,
    json_type_name,
    openai_headers,
    reference_upload,
    render,
    resolve_job,
    sse,
    sse_response,
    usage,
    violation_error,
)
from pixelmock.emulators.providers.openai.images import NAME, authenticate, bp
from pixelmock.emulators.web.context import choice, read_json, runtime

OPTION_MESSAGE = "openai.responses_message"
OPTION_IMAGE_MODEL = "openai.responses_image_model_default"
OPTION_TOOL_MODELS = "openai.responses_tool_models"
#: The tool's keys that are not Images API parameters (handled here).
TOOL_ONLY = ("type", "action", "input_image_mask", "partial_images")


def _spec() -> dict[str, Any]:
    return cast(dict[str, Any], inlined(NAME)["x-responses"])


def _store_ns() -> str:
    return str(_spec()["namespace"])


# ---------------------------------------------------------------------------------------------- the turn
@dataclass(frozen=True)
class Turn:
    """A validated ``createResponse`` body: the mainline ``model``, the image tool (its index in
    ``tools`` and its parameters), the image prompt, the input images (data, in order: the previous
    response's image first), and the fields echoed back."""

    body: dict[str, Any]
    model: str
    tool_index: int
    tool: dict[str, Any]
    prompt: str
    images: tuple[bytes, ...]
    calls_tool: bool

    @property
    def stream(self) -> bool:
        """Whether the answer is server-sent events."""
        return bool(self.body.get("stream"))

    @property
    def store(self) -> bool:
        """Whether the response is kept (default true)."""
        return self.body.get("store") is not False


def _bracketed(path: tuple[str | int, ...]) -> str:
    """A JSON path as OpenAI's errors name it: ``tools[0].size``, ``input[1].content[0].image_url``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _violation(schema: dict[str, Any], violation: Violation, model: str) -> ProviderError:
    """``violation_error`` with the param in OpenAI's bracket form."""
    path = tuple(int(p) if str(p).isdigit() else p for p in violation.param.split("."))
    return violation_error(schema, dataclasses.replace(violation, param=_bracketed(path)), model)


def parse_turn() -> Turn:
    """The request body as a ``Turn``. Raises ``ProviderError`` (400): malformed JSON or another
    Content-Type, a body that is not an object, a contract violation, an unknown mainline model or one that
    cannot call the tool, no image_generation tool, an unknown previous response, an unknown ``file_id``."""
    if request.mimetype != "application/json":
        raise error("malformed_json")
    body = read_json()
    if not isinstance(body, dict):
        raise error("body_not_object", got=json_type_name(body))
    schema = request_schema(NAME, "createResponse")
    violations = validate(NAME, schema, body)
    if violations:
        raise _violation(schema, violations[0], str(body.get("model")))
    model = str(body["model"])
    _check_mainline(model)
    tools = body.get("tools") or []
    tool_choice = body.get("tool_choice") or "auto"
    index = next((i for i, tool in enumerate(tools) if tool.get("type") == "image_generation"), None)
    if index is None and isinstance(tool_choice, dict):
        raise error("tool_choice_not_in_tools")
    if index is None:
        raise error("responses_image_tool_required")
    prompt, images = _read_input(body)
    previous = body.get("previous_response_id")
    if previous:
        stored = runtime().store.get(_store_ns(), str(previous))
        if stored is None:
            raise error("previous_response_not_found", response_id=previous)
        last = _last_image(cast(dict[str, Any], stored))
        images = ([last] if last is not None else []) + images
    return Turn(
        body=body,
        model=model,
        tool_index=index,
        tool=dict(tools[index]),
        prompt=prompt,
        images=tuple(images),
        calls_tool=tool_choice != "none",
    )


def _check_mainline(model: str) -> None:
    """Raises ``ProviderError``: a model the SDK does not list, or (option ``openai.responses_tool_models``)
    a pre-GPT-4o chat model that cannot call the tool."""
    spec = _spec()
    if model not in spec["mainline_models"]["ids"]:
        raise error("responses_model_not_found", model=model)
    legacy = spec["legacy_models"]
    refused = any(model.startswith(p) for p in legacy["prefixes"]) and not any(
        model.startswith(p) for p in legacy["except_prefixes"]
    )
    if refused and choice(OPTION_TOOL_MODELS) == "legacy_refused":
        raise error("responses_tool_unsupported", model=model)


def _read_input(body: dict[str, Any]) -> tuple[str, list[bytes]]:
    """The image prompt (the last user message's text; else ``instructions``) and the input images of the
    user messages (``input_image``: data URL or a file this emulator serves; ``file_id`` is unknown).
    Raises ``ProviderError``: an image that cannot be read, no text at all."""
    raw = body.get("input")
    messages = [{"role": "user", "content": raw}] if isinstance(raw, str) else list(raw or [])
    texts: list[str] = []
    images: list[bytes] = []
    for m, message in enumerate(messages):
        if message.get("role") != "user":
            continue
        content = message["content"]
        parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
        message_texts = []
        for p, part in enumerate(parts):
            if part["type"] == "input_text":
                message_texts.append(str(part["text"]))
            elif part["type"] == "input_image":
                ref = {k: part[k] for k in ("image_url", "file_id") if part.get(k) is not None}
                param = f"input[{m}].content[{p}]"
                images.append(reference_upload("image[]", len(images), ref, param).data)
        if message_texts:
            texts = message_texts
    prompt = " ".join(t for t in texts if t) or str(body.get("instructions") or "")
    if not prompt.strip():
        raise entry_error(errors_catalogue()["validation"]["required"], "input")
    return prompt, images


def _last_image(stored: dict[str, Any]) -> bytes | None:
    """The image of a stored response's last completed ``image_generation_call``, or ``None``."""
    calls = [o for o in stored["output"] if o.get("type") == "image_generation_call" and o.get("result")]
    return base64.b64decode(calls[-1]["result"]) if calls else None


# ------------------------------------------------------------------------------------------ the image call
def _tool_param(turn: Turn, param: str | None) -> str | None:
    """How a Responses error names an Images API parameter: ``tools[i].<param>``; the prompt and the images
    are ``input``, the mask ``tools[i].input_image_mask``."""
    if param is None:
        return None
    prefix = f"tools[{turn.tool_index}]"
    if param.split("[")[0] in ("image", "prompt"):
        return "input"
    return f"{prefix}.input_image_mask" if param == "mask" else f"{prefix}.{param}"


def image_request(turn: Turn) -> Parsed:
    """The Images API request the tool makes: its parameters (model defaulted by option
    ``openai.responses_image_model_default``), the prompt, ``stream`` and ``partial_images`` when streaming,
    and the input images (and mask) as uploads of an edit. Raises ``ProviderError``: ``action`` edit
    without an image, an unreadable mask."""
    tool = turn.tool
    instance = {k: v for k, v in tool.items() if k not in TOOL_ONLY}
    instance.setdefault("model", str(choice(OPTION_IMAGE_MODEL)))
    instance["prompt"] = turn.prompt
    if turn.stream:
        instance["stream"] = True
        if tool.get("partial_images"):
            instance["partial_images"] = tool["partial_images"]
    action = tool.get("action") or "auto"
    images = list(turn.images) if action != "generate" else []
    if action == "edit" and not images:
        raise error("responses_edit_without_image", f"tools[{turn.tool_index}].action")
    if not images:
        return Parsed(GENERATE, instance)
    uploads = [
        Upload("image[]", i, ImageInput.from_bytes(data).mime or "image/png", data)
        for i, data in enumerate(images)
    ]
    instance["image[]"] = [f"<file input image {i}>" for i in range(len(images))]
    mask = tool.get("input_image_mask")
    if mask:
        param = f"tools[{turn.tool_index}].input_image_mask"
        uploads.append(reference_upload("mask", 0, mask, param))
        instance["mask"] = "<file mask>"
    return Parsed(EDIT, instance, uploads)


def image_job(turn: Turn, account: Account) -> Job:
    """Validate, price and debit the tool's Images API request (``images``' own checks, in its order).
    Raises ``ProviderError``, its param and message naming the tool's parameters."""
    parsed = image_request(turn)
    try:
        model, model_branch = check_model(parsed)
        check_contract(parsed, model, model_branch)
        files = check_files(parsed, model_branch)
        job = resolve_job(parsed, files)
        charge(account, job)
    except ProviderError as exc:
        raise _renamed(exc, turn) from exc
    return job


def _renamed(exc: ProviderError, turn: Turn) -> ProviderError:
    """``exc`` with its ``param`` (and the param quoted in its message) named as the tool's parameter."""
    body = exc.body.get("error")
    if not isinstance(body, dict) or not isinstance(body.get("param"), str):
        return exc
    old = body["param"]
    new = _tool_param(turn, old)
    body["param"] = new
    body["message"] = str(body["message"]).replace(f"'{old}'", f"'{new}'")
    return exc


# ---------------------------------------------------------------------------------------------- the answer
@dataclass
class Answer:
    """The response being built: its ids, the image job (``None`` with tool_choice none) and the text."""

    turn: Turn
    job: Job | None
    response_id: str = dataclasses.field(default_factory=lambda: "resp_" + new_uuid().hex)
    call_id: str = dataclasses.field(default_factory=lambda: "ig_" + new_uuid().hex)
    message_id: str = dataclasses.field(default_factory=lambda: "msg_" + new_uuid().hex)
    created_at: int = dataclasses.field(default_factory=lambda: runtime().clock.timestamp())

    @property
    def text(self) -> str | None:
        """The assistant message (option ``openai.responses_message``), ``None`` when left out. Without an
        image call the model answers in text, so the message is always there."""
        if self.job is not None and choice(OPTION_MESSAGE) == "none":
            return None
        return str(_spec()["message"]["text"])

    def image_call(self, result: str | None, status: str) -> dict[str, Any]:
        """The ``image_generation_call`` item (``result`` base64 or ``None``)."""
        assert self.job is not None
        job = self.job
        return {
            "id": self.call_id,
            "type": "image_generation_call",
            "status": status,
            "action": "edit" if job.operation_id == EDIT else "generate",
            "background": job.background,
            "output_format": job.resolved.output_format,
            "quality": job.quote.billed_quality,
            "result": result,
            "revised_prompt": self.turn.prompt,
            "size": job.quote.billed_size,
        }

    def message(self, status: str = "completed", text: str | None = None) -> dict[str, Any]:
        """The assistant ``message`` item (empty content while in progress)."""
        content = [] if text is None else [_output_text(text)]
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": content,
        }

    def usage(self) -> dict[str, Any]:
        """The mainline model's ``usage``: o200k tokens of the instructions and user text in, of the message
        out (a choice: the model's own overheads are unknown); not billed."""
        body = self.turn.body
        inputs = prompt_tokens(str(body.get("instructions") or "")) + prompt_tokens(self.turn.prompt)
        outputs = prompt_tokens(self.text or "")
        return {
            "input_tokens": inputs,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": outputs,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inputs + outputs,
        }

    def body(self, output: list[dict[str, Any]], status: str) -> dict[str, Any]:
        """The ``Response`` object with ``output`` and ``status``; usage only once completed."""
        sent = self.turn.body
        done = status == "completed"
        tools = [dict(t) for t in sent.get("tools") or []]
        if self.job is not None:
            tools[self.turn.tool_index].setdefault("model", self.job.resolved.model)
        image_usage = usage(self.job) if self.job is not None else None
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "completed_at": runtime().clock.timestamp() if done else None,
            "error": None,
            "incomplete_details": None,
            "instructions": sent.get("instructions"),
            "max_output_tokens": sent.get("max_output_tokens"),
            "metadata": sent.get("metadata") or {},
            "model": self.turn.model,
            "output": output,
            "parallel_tool_calls": sent.get("parallel_tool_calls") is not False,
            "previous_response_id": sent.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": sent.get("safety_identifier"),
            "store": self.turn.store,
            "temperature": sent.get("temperature", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": sent.get("tool_choice") or "auto",
            "tools": tools,
            "top_p": sent.get("top_p", 1.0),
            "truncation": sent.get("truncation") or "disabled",
            "usage": self.usage() if done else None,
            "tool_usage": {"image_gen": image_usage, "web_search": {"num_requests": 0}}
            if done and image_usage is not None
            else None,
            "user": sent.get("user"),
        }

    def final_output(self) -> list[dict[str, Any]]:
        """The completed output items: the image call (when the tool was called), then the message."""
        output = []
        if self.job is not None:
            output.append(self.image_call(render(self.job, 0), "completed"))
        if self.text is not None:
            output.append(self.message("completed", self.text))
        return output


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _keep(answer: Answer, body: dict[str, Any]) -> None:
    if answer.turn.store:
        runtime().store.put(_store_ns(), answer.response_id, body)


def events(answer: Answer) -> Iterator[dict[str, Any]]:
    """The stream's event payloads, in the documented order, without their ``sequence_number``."""
    yield {"type": "response.created", "response": answer.body([], "in_progress")}
    yield {"type": "response.in_progress", "response": answer.body([], "in_progress")}
    index = 0
    job = answer.job
    if job is not None:
        where = {"item_id": answer.call_id, "output_index": 0}
        yield {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": answer.image_call(None, "in_progress"),
        }
        yield {"type": "response.image_generation_call.in_progress", **where}
        yield {"type": "response.image_generation_call.generating", **where}
        for partial in range(job.partial_images):
            yield {
                "type": "response.image_generation_call.partial_image",
                **where,
                "partial_image_b64": render(job, 0, partial),
                "partial_image_index": partial,
                "background": job.background,
                "output_format": job.resolved.output_format,
                "quality": job.quote.billed_quality,
                "size": job.quote.billed_size,
            }
        yield {"type": "response.image_generation_call.completed", **where}
        yield {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": answer.image_call(render(job, 0), "completed"),
        }
        index = 1
    text = answer.text
    if text is not None:
        at = {"item_id": answer.message_id, "output_index": index, "content_index": 0}
        yield {
            "type": "response.output_item.added",
            "output_index": index,
            "item": answer.message("in_progress"),
        }
        yield {"type": "response.content_part.added", **at, "part": _output_text("")}
        yield {"type": "response.output_text.delta", **at, "delta": text, "logprobs": []}
        yield {"type": "response.output_text.done", **at, "text": text, "logprobs": []}
        yield {"type": "response.content_part.done", **at, "part": _output_text(text)}
        yield {
            "type": "response.output_item.done",
            "output_index": index,
            "item": answer.message("completed", text),
        }
    final = answer.body(answer.final_output(), "completed")
    _keep(answer, final)
    yield {"type": "response.completed", "response": final}


# ---------------------------------------------------------------------------------------------- routes
@bp.post("/responses")
def create_response() -> Response:
    """``createResponse`` with the image_generation tool (module docstring)."""
    account = authenticate()
    turn = parse_turn()
    job = image_job(turn, account) if turn.calls_tool else None
    answer = Answer(turn, job)
    if turn.stream:
        chunks = [sse({**event, "sequence_number": n}) for n, event in enumerate(events(answer))]
        return sse_response(chunks, job)
    if job is not None:
        runtime().latency.wait(NAME, job.quote.billed_quality, model=job.resolved.model)
    body = answer.body(answer.final_output(), "completed")
    _keep(answer, body)
    return json_response(body, 200, openai_headers(), compact=False)


def _stored(response_id: str) -> dict[str, Any]:
    found = runtime().store.get(_store_ns(), response_id)
    if found is None:
        raise error("response_not_found", response_id=response_id)
    return cast(dict[str, Any], found)


@bp.get("/responses/<response_id>")
def get_response(response_id: str) -> Response:
    """``getResponse``: a stored response; 404 ``response_not_found``."""
    authenticate()
    return json_response(_stored(response_id), 200, openai_headers(), compact=False)


@bp.delete("/responses/<response_id>")
def delete_response(response_id: str) -> Response:
    """``deleteResponse``: ``{"id", "object": "response", "deleted": true}``; 404 ``response_not_found``."""
    authenticate()
    _stored(response_id)
    runtime().store.delete(_store_ns(), response_id)
    body = {"id": response_id, "object": "response", "deleted": True}
    return json_response(body, 200, openai_headers(), compact=False)
