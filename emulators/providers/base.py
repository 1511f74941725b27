"""What every provider module answers with: JSON answers, and the exception carrying an error answer.

Each provider module (``openai``, ``cloudflare``, ``apiframe``, ``gmicloud``, ``runware``) uses the same
names for the same jobs:

- ``json_response(body, status, headers)``: a JSON answer (this module);
- ``ProviderError(status, body, headers)``: an error answer raised below a route and answered by the
  blueprint (``provider_blueprint``) with ``ProviderError.response()`` (this module);
- ``error(...)``: the provider's own builder of an error in its envelope, from its contract's catalogue
  (a ``ProviderError``; Runware's task-scoped ``RunwareError``);
- ``authenticate()``: the caller's account from the credential the request presents (``_credential``),
  or the provider's error raised (Runware's, ``authenticate(rt, key)``, takes the key: its two transports
  present it differently);
- ``error_response(status, kind, message)`` and ``fault_response(entry, fault)``: its answers to
  framework-level failures and to injected faults (``pixelmock.emulators.web.provider.ProviderEmulator``).

Helpers more than one provider needs live here too: ``js_type`` (how JavaScript validators name a JSON
value's type), ``derived_uuid`` (stable ids derived from an account) and ``enum_member`` (a name checked
against a contract enum); and OpenAI's Images API pipeline (parsing, validation against OpenAI's contract,
OpenAI's error envelope, pricing, the ledger debit, rendering, streaming: ``answer``), which OpenAI and Azure
OpenAI both serve.

A provider module imports this one, ``pixelmock.emulators.core``, ``.web``, ``.config`` and
``pixelmock.contracts``, never another provider module.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from flask import Blueprint, Response, jsonify, request
from PIL import Image

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput, parse_size
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.dialects.openai import DIALECT, EDIT, GENERATE, branch, canonical_model, size_rules
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.lifecycle import lifecycle as model_lifecycle
from pixelmock.contracts.openapi import Violation, form_instance, inlined, request_schema, validate
from pixelmock.contracts.pricing import Billing, Quote, quote
from pixelmock.contracts.sizes import SizeRules
from pixelmock.contracts.tokens import prompt_tokens
from pixelmock.contracts.upstream import render_openai_entry
from pixelmock.emulators.core.accounts import Account, Charge
from pixelmock.emulators.core.exchange import journal_note, note_shutdown
from pixelmock.emulators.core.ids import new_uuid
from pixelmock.emulators.core.images import spec_for
from pixelmock.emulators.web.context import choice, read_json, runtime, url_root

__all__ = ["ProviderError", "derived_uuid", "enum_member", "js_type", "json_response", "provider_blueprint"]


def json_response(
    body: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    compact: bool = True,
    indent: int | None = None,
) -> Response:
    """``body`` as an ``application/json`` answer with HTTP ``status``; ``headers`` are set after
    Content-Type and Content-Length, in their order (one replaces a header of the same name).

    ``compact``: serialized by the app's JSON provider (Flask's ``jsonify``: ``,`` and ``:`` without
    spaces, a trailing newline, key order kept since ``create_app`` turns ``sort_keys`` off), as the
    Apiframe, GMI Cloud and Runware emulators answer; ``False``: by ``json.dumps`` with its default
    separators (``", "``, ``": "``) and no newline, as the OpenAI and Cloudflare emulators answer, or with
    ``indent`` spaces per level (OpenAI's error bodies). Needs an app context when ``compact``."""
    if compact:
        response = jsonify(body)
        response.status_code = status
    else:
        response = Response(json.dumps(body, indent=indent), status=status, mimetype="application/json")
    response.headers.update(headers or {})
    return response


class ProviderError(Exception):
    """An answer in the provider's error envelope, raised anywhere below a route of a blueprint made by
    ``provider_blueprint``, which answers it with ``response()``: HTTP ``status``, the JSON ``body``,
    extra ``headers`` and how it is serialized (``compact`` and ``indent``, as ``json_response`` says)."""

    def __init__(
        self,
        status: int,
        body: dict[str, Any],
        headers: Mapping[str, str] | None = None,
        *,
        compact: bool = True,
        indent: int | None = None,
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.compact = compact
        self.indent = indent

    def response(self) -> Response:
        """The Flask response (``json_response``)."""
        return json_response(self.body, self.status, self.headers, compact=self.compact, indent=self.indent)


def _answer(exc: ProviderError) -> Response:
    return exc.response()


def provider_blueprint(name: str, import_name: str) -> Blueprint:
    """A provider's blueprint (Flask's ``Blueprint(name, import_name)``) that answers every
    ``ProviderError`` raised below its routes with the error's ``response()``."""
    bp = Blueprint(name, import_name)
    bp.register_error_handler(ProviderError, _answer)
    return bp


def js_type(value: Any) -> str:
    """JavaScript's name for the type of a JSON value, as JavaScript validators word their errors (Zod at
    Apiframe, Workers AI at Cloudflare): ``null``, ``boolean``, ``number`` (integers too), ``string``,
    ``array`` or ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def derived_uuid(*parts: str) -> str:
    """A UUID derived from ``parts`` (version 5 in the URL namespace, of ``pixelmock:<parts joined by
    ":">``), e.g. ``derived_uuid("gmicloud", "org", account_id)``: the same in every process and run, for
    the ids a provider shows for an emulated account."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, ":".join(("pixelmock", *parts))))


def enum_member(name: str, allowed: Collection[str]) -> str:
    """``name``, checked to be one of ``allowed`` (a contract's enum, e.g. the job statuses), so that a
    misspelt constant fails loudly. Raises ``LookupError`` otherwise."""
    if name not in allowed:
        raise LookupError(f"{name!r} is not in the contract's enum {sorted(allowed)}")
    return name


# ================================================================================= OpenAI's Images API
# The Images API pipeline (OpenAI's contract, contracts/openapi/openai.yaml) shared by the providers that
# serve it: OpenAI (emulators/providers/openai) and Azure OpenAI (emulators/providers/azure), which bills
# under its own name (``seller``). Parsing, validation and error bodies are OpenAI's: Azure serves OpenAI's
# Images API behind its deployments.

#: The provider whose contract the Images API pipeline reads.
OPENAI = "openai"
FILE_FIELDS = ("image", "image[]", "mask")
OPTION_MAX_EDGE = "openai.gpt_image_2_max_edge_inclusive"
OPTION_TRANSPARENT = "openai.gpt_image_2_transparent_preview"
OPTION_AUTO = "openai.auto_resolution"
OPTION_EDIT_MODEL = "openai.edit_default_model"
OPTION_EDIT_SIZE = "openai.auto_edit_size"
OPTION_TEXT_OUTPUT = "openai.text_output_tokens"
OPTION_ERROR_FORMAT = "openai.error_body_format"
OPTION_COMPLEXITY = "openai.complexity"
#: The JSON edits body's image references (OpenAI's ``EditImageBodyJsonParam``: ``images``, ``mask``).
JSON_IMAGE_FIELDS = ("images", "mask")


# ---------------------------------------------------------------------------------------------- errors
def errors_catalogue() -> dict[str, Any]:
    """OpenAI's contract ``x-openai-errors``: its error entries by situation and by schema keyword."""
    return cast(dict[str, Any], inlined(OPENAI)["x-openai-errors"])


def openai_headers() -> dict[str, str]:
    """The headers OpenAI sends with every JSON answer: a fresh ``x-request-id`` and ``openai-version``."""
    return {"x-request-id": "req_" + new_uuid().hex, "openai-version": "2020-10-01"}


def envelope(
    status: int,
    type_: str,
    code: str | None,
    param: str | None,
    message: str,
    headers: dict[str, str] | None = None,
) -> ProviderError:
    """An answer in OpenAI's error envelope ``{"error": {"message", "type", "param", "code"}}`` with HTTP
    ``status`` and extra ``headers`` (after OpenAI's own, ``openai_headers``), serialized as the option
    ``openai.error_body_format`` says (default: two-space indent, as recorded)."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    indent = 2 if choice(OPTION_ERROR_FORMAT) == "pretty" else None
    return ProviderError(status, body, {**openai_headers(), **(headers or {})}, compact=False, indent=indent)


def entry_error(entry: dict[str, Any], param: str | None = None, **fields: Any) -> ProviderError:
    """The error of a contract entry (``status``, ``type``, ``code``, ``message`` template, optional
    ``param`` and ``headers`` templates); ``param`` is used when the entry does not fix one."""
    status, body = render_openai_entry(entry, param, **fields)
    headers = {
        name: str(value).format(**fields)
        for name, value in entry.get("headers", {}).items()
        if not name.startswith("x-source") and not name.startswith("x-choice")
    }
    error = body["error"]
    return envelope(status, error["type"], error["code"], error["param"], error["message"], headers)


def error(name: str, param: str | None = None, **fields: Any) -> ProviderError:
    """The contract's ``x-openai-errors.<name>`` entry (``entry_error``)."""
    return entry_error(errors_catalogue()[name], param, **fields)


# ---------------------------------------------------------------------------------------------- parsing
@dataclass
class Upload:
    """One file part: multipart field name, the index among parts of that name, MIME type, bytes."""

    field: str
    index: int
    mime: str
    data: bytes

    @property
    def param(self) -> str:
        """How errors name the part: ``image``, ``image[0]``, ``mask``."""
        return f"image[{self.index}]" if self.field == "image[]" else self.field


@dataclass
class Parsed:
    """A request as the contract sees it: ``instance`` (typed fields; file parts as placeholders)."""

    operation_id: str
    instance: Any
    uploads: list[Upload] = field(default_factory=list)


def parse_generation() -> Parsed:
    """The JSON body of a generations request (``read_json``). Raises ``ProviderError`` for another
    Content-Type, ``MalformedBody`` for a body ``read_json`` refuses (answered by ``error_response`` with
    the same malformed-JSON body)."""
    if request.mimetype != "application/json":
        raise error("malformed_json")
    return Parsed(GENERATE, read_json())


def parse_edit() -> Parsed:
    """The body of an edits request: multipart (text fields typed as the contract says, files as uploads)
    or JSON (``parse_json_edit``). Raises ``ProviderError`` for another Content-Type."""
    if request.mimetype == "application/json":
        return parse_json_edit()
    if request.mimetype != "multipart/form-data":
        raise error("not_multipart", content_type=request.mimetype or "none")
    for name in FILE_FIELDS:
        if name in request.form:  # a text part (no filename) where a file is expected
            param = "image[0]" if name == "image[]" else name
            raise entry_error(errors_catalogue()["file_not_image"], param, index=1)
    fields = [(name, value) for name in request.form for value in request.form.getlist(name)]
    uploads: list[Upload] = []
    files: list[tuple[str, str | None]] = []
    for name in request.files:
        for index, part in enumerate(request.files.getlist(name)):
            uploads.append(Upload(name, index, part.mimetype or "application/octet-stream", part.read()))
            files.append((name, part.filename))
    instance = form_instance(request_schema(OPENAI, EDIT, "multipart/form-data"), fields, files)
    return Parsed(EDIT, instance, uploads)


def parse_json_edit() -> Parsed:
    """A JSON edits request (OpenAI's ``EditImageBodyJsonParam``): ``images`` (1 to 16) and ``mask`` are
    image references, ``{"image_url": ...}`` or ``{"file_id": ...}``, resolved to uploads named as the
    multipart form names them (``image``, ``image[]``, ``mask``); the other fields are validated as the
    multipart ones. Raises ``ProviderError``; ``MalformedBody`` for a body that is not JSON."""
    body = read_json()
    if not isinstance(body, dict):
        return Parsed(EDIT, body)  # check_model answers the body_not_object error
    instance = {key: value for key, value in body.items() if key not in JSON_IMAGE_FIELDS}
    refs = body.get("images")
    validation = errors_catalogue()["validation"]
    if refs is None:
        raise entry_error(validation["required"], "images")
    if not isinstance(refs, list):
        raise entry_error(validation["type"], "images", expected="an array", got=json_type_name(refs))
    limit = int(errors_catalogue()["image_ref"]["max_items"])
    if not refs:
        raise entry_error(validation["minItems"], "images", limit=1, length=0)
    if len(refs) > limit:
        raise entry_error(validation["maxItems"], "images", limit=limit, length=len(refs))
    field = "image" if len(refs) == 1 else "image[]"
    uploads = [reference_upload(field, index, ref, f"images[{index}]") for index, ref in enumerate(refs)]
    placeholders = [f"<file images[{index}]>" for index in range(len(refs))]
    instance[field] = placeholders if field == "image[]" else placeholders[0]
    if body.get("mask") is not None:
        uploads.append(reference_upload("mask", 0, body["mask"], "mask"))
        instance["mask"] = "<file mask>"
    return Parsed(EDIT, instance, uploads)


def reference_upload(field: str, index: int, ref: Any, param: str) -> Upload:
    """One image reference of a JSON edit as an upload. ``image_url``: a base64 data URL, or the URL of
    a file this emulator serves (``/files/<id>.<ext>``); pixelmock fetches nothing else (it runs
    offline) and answers OpenAI's download error. ``file_id``: pixelmock has no Files API, so every id
    is unknown. Raises ``ProviderError`` (contract ``x-openai-errors.image_ref``)."""
    entries = errors_catalogue()["image_ref"]
    keys = set(ref) if isinstance(ref, dict) else set()
    if not isinstance(ref, dict) or len(keys) != 1 or not keys <= {"image_url", "file_id"}:
        raise entry_error(entries["invalid"], param)
    ((key, value),) = ref.items()
    if not isinstance(value, str):
        entry = errors_catalogue()["validation"]["type"]
        raise entry_error(entry, f"{param}.{key}", expected="a string", got=json_type_name(value))
    if key == "file_id":
        raise entry_error(entries["file_not_found"], f"{param}.file_id", file_id=value)
    data = url_bytes(value)
    if data is None:
        raise entry_error(entries["download"], f"{param}.image_url", url=value)
    image = ImageInput.from_bytes(data)
    return Upload(field, index, image.mime or "application/octet-stream", data)


def url_bytes(url: str) -> bytes | None:
    """The bytes an ``image_url`` names: a data URL decoded, or a file of this emulator; else ``None``."""
    if url.startswith("data:"):
        try:
            image = ImageInput.from_string(url)
        except ValueError:
            return b""
        return image.data or b""
    root = url_root()
    if not url.startswith(root + "files/"):
        return None
    stored = runtime().files.get(url.removeprefix(root + "files/").split(".", 1)[0])
    return None if stored is None else stored.data


# ---------------------------------------------------------------------------------------------- validation
_TYPE_NAMES = {
    "integer": "an integer",
    "string": "a string",
    "boolean": "a boolean",
    "number": "a number",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


def json_type_name(value: Any) -> str:
    """OpenAI's name for the JSON type of ``value`` ("a string", "an integer", ...)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "null"


def _quoted(values: Iterable[Any], last: str) -> str:
    """``'a', 'b', and 'c'`` (``last`` = "and" or "or")."""
    items = [f"'{v}'" for v in values if v is not None]
    if len(items) <= 2:
        return f" {last} ".join(items)
    return ", ".join(items[:-1]) + f", {last} " + items[-1]


def _value(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _public_param(param: str) -> str:
    return "image" if param.split(".")[0] == "image[]" else param


def violation_error(model_branch: dict[str, Any], violation: Violation, model: str) -> ProviderError:
    """OpenAI's answer to one contract violation: the branch's override for ``<param>.<keyword>`` if there
    is one, else the generic entry for the keyword (``x-openai-errors.validation``)."""
    overrides = model_branch.get("x-openai-errors", {})
    key = f"{violation.param}.{violation.keyword}"
    param = _public_param(violation.param)
    fields: dict[str, Any] = {"model": model, "value": _value(violation.value), "limit": violation.limit}
    if key in overrides:
        return entry_error(overrides[key], param, **fields)
    generic = errors_catalogue()["validation"]
    entry = generic.get(violation.keyword, generic["default"])
    prop = model_branch.get("properties", {}).get(str(violation.path[0]) if violation.path else "", {})
    if violation.keyword == "type":
        enum = [v for v in prop.get("enum", ()) if v is not None]
        declared = prop.get("type", "object")
        first = next(t for t in ([declared] if isinstance(declared, str) else declared) if t != "null")
        fields["expected"] = f"one of {_quoted(enum, 'or')}" if enum else _TYPE_NAMES.get(first, first)
        fields["got"] = json_type_name(violation.value)
    if violation.keyword in ("maxLength", "minLength", "maxItems", "minItems"):
        fields["length"] = len(violation.value) if isinstance(violation.value, str | list) else 0
    fields["allowed_and"] = _quoted(violation.allowed, "and")
    return entry_error(entry, param, **fields)


def _shutdown_date(native_model: str) -> dt.date | None:
    retired = inlined(OPENAI)["x-shut-down-models"]
    if native_model in retired:
        return dt.date.fromisoformat(str(retired[native_model]))
    canonical = canonical_model(native_model)
    found = None if canonical is None else model_lifecycle(OPENAI, canonical)
    return None if found is None else found.shutdown


def check_model(parsed: Parsed) -> tuple[str, dict[str, Any]]:
    """The native model id and its branch. Raises ``ProviderError`` (400): body not an object, model missing
    or not a string, unknown or shut down on the virtual clock's date (OpenAI answers both alike)."""
    body = parsed.instance
    if not isinstance(body, dict):
        raise error("body_not_object", got=json_type_name(body))
    if body.get("model") is None and parsed.operation_id == EDIT:
        default = _edit_default_model()
        if default is not None:
            body["model"] = default  # validated and answered as if sent
    if "model" not in body or body["model"] is None:
        raise entry_error(errors_catalogue()["validation"]["required"], "model")
    model = body["model"]
    if not isinstance(model, str):
        raise error("model_invalid_type", got=json_type_name(model))
    shutdown = _shutdown_date(model)
    found = branch(parsed.operation_id, model)
    if shutdown is not None and runtime().clock.today() >= shutdown:
        note_shutdown(OPENAI, model, shutdown)
        raise error("model_not_found", model=model)
    if found is None:
        raise error("model_not_found", model=model)
    return model, found


def _edit_default_model() -> str | None:
    """The model an edit without one is answered with (option ``openai.edit_default_model``), ``None``
    when the model is required."""
    default = str(choice(OPTION_EDIT_MODEL))
    if default == "required":
        return None
    if default != "gpt-image-1.5-while-served":
        return default
    model = default.removesuffix("-while-served")
    shutdown = _shutdown_date(model)
    return None if shutdown is not None and runtime().clock.today() >= shutdown else model


def _transparent_preview() -> bool:
    return bool(choice(OPTION_TRANSPARENT))


def check_contract(parsed: Parsed, model: str, model_branch: dict[str, Any]) -> None:
    """Schema rules, required files, image count and gpt-image-2's size rules. Raises ``ProviderError``."""
    body = cast(dict[str, Any], parsed.instance)
    preview = _transparent_preview()
    violations = [
        v
        for v in validate(OPENAI, model_branch, body)
        if not (preview and v.param == "background" and v.keyword == "not")
    ]
    if violations:
        # Among the violations of the most relevant field, a plain range/type error wins over a
        # cross-field rule (n=101 with png is "above maximum", not "png needs 100").
        overrides = model_branch.get("x-openai-errors", {})
        same = [v for v in violations if v.param == violations[0].param]
        first = min(same, key=lambda v: f"{v.param}.{v.keyword}" in overrides)
        raise violation_error(model_branch, first, model)
    if "complexity" in body and choice(OPTION_COMPLEXITY) == "refuse":
        entry = errors_catalogue()["validation"]["additionalProperties"]
        raise entry_error(entry, "complexity")
    one_of = model_branch.get("x-required-one-of")
    if one_of and not any(name in body for name in one_of):
        raise entry_error(errors_catalogue()["validation"]["required"], str(one_of[0]))
    limit = model_branch.get("x-max-input-images")
    count = sum(1 for upload in parsed.uploads if upload.field in ("image", "image[]"))
    if limit is not None and count > int(limit):
        entry = errors_catalogue()["validation"]["maxItems"]
        raise entry_error(entry, "image", limit=limit, length=count)
    _check_size(model_branch, body.get("size"), body.get("output_format"))


def _check_size(model_branch: dict[str, Any], size: Any, output_format: Any) -> None:
    prop = model_branch["properties"]["size"]
    block = prop.get("x-size-rules")
    if block is None or size in (None, "auto"):
        return
    messages = prop["x-size-rule-errors"]
    dims = parse_size(str(size))
    if dims is None:
        message = messages["format"].format(value=size)
        raise envelope(400, "invalid_request_error", "invalid_value", "size", message)
    canonical = str(model_branch["x-canonical-model"])
    inclusive = bool(choice(OPTION_MAX_EDGE))
    rules = size_rules(canonical, max_edge_inclusive=inclusive, output_format=str(output_format))
    assert rules is not None
    for rule in ("multiple_of", "max_edge", "max_ratio", "min_pixels", "max_pixels"):
        limit = getattr(rules, rule)
        if limit is None:
            continue
        single = SizeRules(**{rule: limit, "max_edge_inclusive": rules.max_edge_inclusive})
        if not single.allows(*dims):
            bound = "at most" if rules.max_edge_inclusive else "less than"
            message = messages[rule].format(value=size, limit=f"{limit:g}", bound=bound)
            raise envelope(400, "invalid_request_error", "invalid_value", "size", message)


def check_files(parsed: Parsed, model_branch: dict[str, Any]) -> list[tuple[str, ImageInput]]:
    """File parts as ``(field, image)``: MIME type, byte limit, decodability, and the mask's size against
    the first image (``x-file-rules``). Raises ``ProviderError``."""
    rules = model_branch.get("x-file-rules", {})
    errors = errors_catalogue()
    files: list[tuple[str, ImageInput]] = []
    for upload in parsed.uploads:
        rule = rules.get(upload.field)
        if rule is None:
            continue
        allowed = rule["mime_types"]
        if upload.mime not in allowed:
            listed = _quoted(allowed, "and")
            raise error("unsupported_file_mimetype", upload.param, mime=upload.mime, allowed_and=listed)
        limit = int(rule["max_bytes"])
        if len(upload.data) > limit:
            raise error("file_too_large", upload.param, length=len(upload.data), limit=limit)
        image = ImageInput.from_bytes(upload.data, upload.mime)
        if image.width is None or image.height is None:
            raise entry_error(errors["file_not_image"], upload.param, index=image_number(upload, parsed))
        files.append((upload.field, image))
    # The mask applies to the first image (``image`` parts before ``image[]`` parts).
    files.sort(key=lambda item: FILE_FIELDS.index(item[0]))
    inputs = [image for name, image in files if name != "mask"]
    mask = next((image for name, image in files if name == "mask"), None)
    if mask is not None and not _has_alpha(mask):
        raise error("mask_no_alpha")
    if mask is not None and inputs and _format(mask) != _format(inputs[0]):
        raise error("mask_format")
    if mask is not None and inputs and (mask.width, mask.height) != (inputs[0].width, inputs[0].height):
        raise error("mask_dimensions")
    return files


def image_number(upload: Upload, parsed: Parsed) -> int:
    """The 1-based position of an image part among the request's images (``image`` parts before
    ``image[]`` parts), as OpenAI's "for image N" counts them; a mask is counted as the first image."""
    images = [u for u in parsed.uploads if u.field != "mask"]
    images.sort(key=lambda u: FILE_FIELDS.index(u.field))
    return images.index(upload) + 1 if upload in images else 1


def _has_alpha(image: ImageInput) -> bool:
    """Whether a (decodable) image has an alpha channel: an alpha band, or a palette or grey image with a
    transparent colour. Reads the header only."""
    with Image.open(io.BytesIO(image.data or b"")) as opened:
        return "A" in opened.getbands() or "transparency" in opened.info


def _format(image: ImageInput) -> str | None:
    """The file format of a (decodable) image as Pillow reads it from its header (``PNG``, ``JPEG``)."""
    with Image.open(io.BytesIO(image.data or b"")) as opened:
        return opened.format


# ---------------------------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class Job:
    """A validated request: the resolved canonical request, its quote, and the fields echoed back."""

    operation_id: str
    resolved: CanonicalRequest
    quote: Quote
    stream: bool
    partial_images: int
    safety_identifier: str | None
    provider: str = OPENAI

    @property
    def background(self) -> str:
        """The background reported and rendered (``auto`` renders opaque: a choice)."""
        return "transparent" if self.resolved.background == "transparent" else "opaque"

    @property
    def event_prefix(self) -> str:
        """``image_generation`` or ``image_edit``."""
        return "image_edit" if self.operation_id == EDIT else "image_generation"


def resolve_job(parsed: Parsed, files: list[tuple[str, ImageInput]], seller: str = OPENAI) -> Job:
    """Canonical request (OpenAI's dialect), defaults resolved, priced at ``seller`` (the provider that
    bills it: ``openai``, or ``azure`` for Azure OpenAI's deployments) on the virtual clock's date."""
    body = {k: v for k, v in cast(dict[str, Any], parsed.instance).items() if k not in FILE_FIELDS}
    canonical = DIALECT.from_native(NativeRequest(OPENAI, parsed.operation_id, body, tuple(files)))
    transparent = canonical.background == "transparent"
    try:
        if transparent and _transparent_preview():
            resolved = DIALECT.resolve(canonical.with_(background=None)).with_(background="transparent")
        else:
            resolved = DIALECT.resolve(canonical)
    except UnsupportedValue as exc:  # a rule the schema does not carry; never a 500
        raise envelope(400, "invalid_request_error", "invalid_value", exc.field, exc.reason) from exc
    stream = bool(body.get("stream"))
    partials = int(body.get("partial_images") or 0) if stream else 0
    billing = Billing(
        auto=choice(OPTION_AUTO),
        partial_images=partials,
        edit_aspect=choice(OPTION_EDIT_SIZE) == "input_aspect",
        text_output=choice(OPTION_TEXT_OUTPUT) == "recorded",
    )
    priced = quote(seller, resolved, runtime().clock.today(), billing)
    journal_note(canonical=resolved, cost=priced)
    identifier = body.get("safety_identifier") or body.get("user") or None
    return Job(
        operation_id=parsed.operation_id,
        resolved=resolved,
        quote=priced,
        stream=stream,
        partial_images=partials,
        safety_identifier=str(identifier) if identifier else None,
        provider=seller,
    )


def charge(account: Account, job: Job) -> None:
    """Debit the quote (USD) from the account's ledger. Raises ``ProviderError`` 429 when it cannot pay."""
    amount = job.quote.usd or Decimal(0)
    memo = f"{job.provider} {job.operation_id} {job.resolved.model} n={job.resolved.n}"
    if not runtime().accounts.debit(account, "USD", amount, memo, Charge.of(job.provider, job.resolved)):
        raise error("insufficient_quota")


def render(job: Job, index: int, partial: int | None = None) -> str:
    """Base64 of image ``index`` (or of one of its partial images) at the billed size and quality."""
    quality = job.quote.billed_quality if partial is None else f"partial {partial + 1}"
    spec = spec_for(job.provider, job.resolved.with_(background=job.background), index,
                    size=job.quote.billed_size, quality=quality)  # fmt: skip
    return base64.b64encode(runtime().images.render(spec)).decode("ascii")


def usage(job: Job) -> dict[str, Any]:
    """The ``usage`` block: the quote's token breakdown (output = all n images' image and text tokens)."""
    tokens = job.quote.tokens
    inputs = tokens.text_input + tokens.image_input
    outputs = tokens.image_output + tokens.text_output
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"text_tokens": tokens.text_input, "image_tokens": tokens.image_input},
        "output_tokens": outputs,
        "output_tokens_details": {"image_tokens": tokens.image_output, "text_tokens": tokens.text_output},
        "total_tokens": inputs + outputs,
    }


def images_response(job: Job) -> Response:
    """The non-streaming ``ImagesResponse``."""
    r = job.resolved
    body: dict[str, Any] = {
        "created": runtime().clock.timestamp(),
        "background": job.background,
        "output_format": r.output_format,
        "quality": job.quote.billed_quality,
        "size": job.quote.billed_size,
        "data": [{"b64_json": render(job, i)} for i in range(r.n or 1)],
        "usage": usage(job),
    }
    if job.safety_identifier:
        body["safety_identifier"] = job.safety_identifier
    if r.output_format == "svg":
        body["svg_usage"] = svg_usage(job, body["data"][0]["b64_json"])
    return json_response(body, 200, openai_headers(), compact=False)


def svg_usage(job: Job, b64_svg: str) -> dict[str, Any]:
    """``svg_usage`` of an SVG answer ("token usage for SVG authoring, separate from image rendering usage",
    openai==3.63.0 ``images_response.py``): the prompt's tokens in, the document's tokens out (o200k
    counts), no reasoning tokens; the author is ``svg.model`` or the contract's ``x-svg-usage`` default. How
    OpenAI counts them is not published (a choice); they are not billed."""
    spec = inlined(OPENAI)["x-svg-usage"]
    author = job.resolved.extra.get("svg") or {}
    inputs = prompt_tokens(job.resolved.prompt)
    outputs = prompt_tokens(base64.b64decode(b64_svg).decode("utf-8"))
    return {
        "input_tokens": inputs,
        "model": str(author.get("model") or spec["default_model"]),
        "output_tokens": outputs,
        "reasoning_tokens": 0,
        "total_tokens": inputs + outputs,
    }


def stream_response(job: Job) -> Response:
    """Server-sent events: per image, ``partial_images`` partial events then a completed event. Input
    tokens are reported on the first completed event, output tokens per image (a choice: n > 1 with
    streaming is undocumented). Under the ``realistic`` latency profile the events are spread over the
    generation time ("partial images ... as they are generated", OpenAI's guide): each waits its share
    before it is sent; otherwise the whole stream is one body, answered at once."""
    r = job.resolved
    n = r.n or 1
    total = usage(job)
    common = {
        "background": job.background,
        "output_format": r.output_format,
        "quality": job.quote.billed_quality,
        "size": job.quote.billed_size,
    }
    chunks: list[str] = []
    for index in range(n):
        for partial in range(job.partial_images):
            partial_event: dict[str, Any] = {
                "type": f"{job.event_prefix}.partial_image",
                "b64_json": render(job, index, partial),
                "created_at": runtime().clock.timestamp(),
                **common,
                "partial_image_index": partial,
            }
            chunks.append(sse(partial_event))
        inputs = total["input_tokens_details"] if index == 0 else {"text_tokens": 0, "image_tokens": 0}
        output = (job.quote.tokens.image_output + job.quote.tokens.text_output) // n
        input_total = inputs["text_tokens"] + inputs["image_tokens"]
        event: dict[str, Any] = {
            "type": f"{job.event_prefix}.completed",
            "b64_json": render(job, index),
            "created_at": runtime().clock.timestamp(),
            **common,
            "usage": {
                "input_tokens": input_total,
                "input_tokens_details": inputs,
                "output_tokens": output,
                "total_tokens": input_total + output,
            },
        }
        if job.safety_identifier:
            event["safety_identifier"] = job.safety_identifier
        chunks.append(sse(event))
    return sse_response(chunks, job)


def sse_response(chunks: list[str], job: Job | None) -> Response:
    """A ``text/event-stream`` answer of ``chunks`` (``sse`` strings). Under the ``realistic`` latency profile
    they are spread over the job's generation time (``latency.sync_seconds`` for its model and billed
    quality, in real seconds: each chunk waits an equal share before it is sent); otherwise, or without a
    job, the whole stream is one body, answered at once."""
    seconds = (
        0.0
        if job is None
        else runtime().latency.sync_seconds(job.provider, job.quote.billed_quality, job.resolved.model)
    )
    body: str | Iterator[str] = "".join(chunks) if seconds <= 0 else _paced(chunks, seconds)
    response = Response(body, mimetype="text/event-stream")
    response.headers["x-request-id"] = "req_" + new_uuid().hex
    response.headers["Cache-Control"] = "no-cache"
    return response


def _paced(chunks: list[str], seconds: float) -> Iterator[str]:
    """``chunks`` sent one by one, each after an equal share of ``seconds`` (real time)."""
    for chunk in chunks:
        time.sleep(seconds / len(chunks))
        yield chunk


def sse(event: dict[str, Any]) -> str:
    """One server-sent event: ``event:`` the payload's ``type``, ``data:`` the payload as JSON."""
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"


def handle(parsed: Parsed, account: Account) -> Response:
    """OpenAI's own answer: the model checked against OpenAI's catalogue and calendar (``check_model``),
    then ``answer``."""
    model, model_branch = check_model(parsed)
    return answer(parsed, account, model, model_branch)


def answer(
    parsed: Parsed, account: Account, model: str, model_branch: dict[str, Any], seller: str = OPENAI
) -> Response:
    """Validate against OpenAI's contract branch of ``model``, price at ``seller``, charge, render,
    answer (``ImagesResponse`` or server-sent events). Raises ``ProviderError``."""
    check_contract(parsed, model, model_branch)
    files = check_files(parsed, model_branch)
    job = resolve_job(parsed, files, seller)
    charge(account, job)
    if job.stream:
        return stream_response(job)  # paced while it streams
    runtime().latency.wait(seller, job.quote.billed_quality, model=job.resolved.model)
    return images_response(job)
