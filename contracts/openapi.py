"""The providers' OpenAPI 3.1 documents (``contracts/openapi/<provider>.yaml``) and validation against them.

Each document describes exactly the documented surface of one provider, relative to the provider's real
base URL (its ``servers`` entry); every parameter carries ``x-source``. The emulators validate requests
with these documents and serve them (with their own URL as server) at ``<prefix>/openapi.json``.
"""

from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, cast

import jsonschema_rs

if TYPE_CHECKING:  # python-jsonschema is imported when a refusal is first explained (start-up: ~45 ms)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from pixelmock.contracts.data import catalogue, load, model_facts, read_contract
from pixelmock.contracts.errors import UnknownProvider
from pixelmock.contracts.providers import PROVIDERS as PROVIDERS  # the registry's names, in display order
from pixelmock.contracts.providers import provider as registered


@cache
def written(provider: str) -> dict[str, Any]:
    """The OpenAPI document of ``provider`` as written (shared; do not mutate): the registry's ``document``
    of a provider, else ``contracts/openapi/<provider>.yaml`` (``admin``); where each fact lives, for
    FIDELITY.md. Raises ``FileNotFoundError``."""
    return cast(dict[str, Any], read_contract("openapi", _document_name(provider)))


def _document_name(provider: str) -> str:
    try:
        return registered(provider).document
    except UnknownProvider:
        return provider


@cache
def document(provider: str) -> dict[str, Any]:
    """The OpenAPI document of ``provider`` as the emulators validate with and serve it (shared; do not
    mutate): ``written`` completed with the catalogue's branches (``x-catalogue``). Raises
    ``FileNotFoundError``."""
    return _with_catalogue(read_contract("openapi", _document_name(provider)))  # a copy of its own


#: A document's list of model-discriminated request schemas whose branches the catalogue completes.
CATALOGUE_KEY = "x-catalogue"


def _with_catalogue(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with a branch for every catalogue model id (canonical id and snapshots,
    ``contracts/data/models.yaml``) its ``x-catalogue`` schemas do not write out, made from the branch of
    the model it is ``like``: the same rules, its own ``model`` const and ``x-canonical-model``, and its
    ``parameters`` applied (``qualities``: the quality enum; ``transparent_background``: the background
    refusal dropped; ``output_formats``: the format enum; ``properties``: request properties added from
    ``x-catalogue.properties``). A model whose like-model has no branch is not added."""
    spec = doc.get(CATALOGUE_KEY)
    if spec is None:
        return doc
    schemas = doc["components"]["schemas"]
    models = load("models")["models"]
    for name in spec["discriminated"]:
        parent = schemas[name]
        mapping = parent["discriminator"]["mapping"]
        for model in catalogue():
            facts = model_facts(model)
            like = models[model].get("like")
            for native in (model, *facts.get("snapshots", [])):
                base = mapping.get(model if native != model and model in mapping else like)
                if native in mapping or base is None:
                    continue
                properties = spec.get("properties", {})
                branch = _catalogue_branch(schemas[base.rsplit("/", 1)[1]], model, native, facts, properties)
                key = f"{name}_{re.sub(r'[^A-Za-z0-9]', '_', native)}"
                schemas[key] = branch
                mapping[native] = f"#/components/schemas/{key}"
                parent["oneOf"].append({"$ref": mapping[native]})
    return doc


def _catalogue_branch(
    base: dict[str, Any], model: str, native: str, facts: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    branch = copy.deepcopy(base)
    branch["x-canonical-model"] = model
    props = branch["properties"]
    lifecycle = facts["lifecycle"]
    props["model"] = {
        "const": native,
        "description": f"{native}: a catalogue model (contracts/data/models.yaml {model}).",
        "x-source": {"ref": str(lifecycle["source"]), "evidence": lifecycle["evidence"]},
    }
    parameters = facts.get("parameters", {})
    if "output_formats" in parameters and "output_format" in props:
        props["output_format"] = {**props["output_format"], "enum": [*parameters["output_formats"], None]}
    for name in parameters.get("properties", ()):
        props[name] = copy.deepcopy(extra[name])
    if "qualities" in parameters and "quality" in props:
        props["quality"] = {k: v for k, v in props["quality"].items() if k != "not"}
        props["quality"]["enum"] = [*parameters["qualities"], None]
    if parameters.get("transparent_background") and "background" in props:
        props["background"] = {k: v for k, v in props["background"].items() if k != "not"}
    return branch


def served(provider: str, server_url: str) -> dict[str, Any]:
    """A copy of the document whose only server is ``server_url`` (what an emulator serves)."""
    doc = copy.deepcopy(document(provider))
    doc["servers"] = [{"url": server_url, "description": "pixelmock emulator"}]
    return doc


def real_base_url(provider: str) -> str:
    """The provider's real base URL (the registry's; its document's first server says the same). Raises
    ``UnknownProvider``."""
    return registered(provider).base_url.value


def volatile_fields(provider: str) -> frozenset[str]:
    """The JSON request fields the provider's clients mint per request (Runware's ``taskUUID``): the
    contract's ``x-volatile.fields``; empty when it has none. A replay matches requests without them."""
    block = document(provider).get("x-volatile") or {}
    return frozenset(str(name) for name in block.get("fields", ()))


def auth_headers(provider: str, key: str) -> dict[str, str]:
    """Headers that present ``key`` the way the provider's contract says (``components.securitySchemes``
    of its first security requirement): ``Authorization: Bearer <key>`` or an API-key header."""
    doc = document(provider)
    for requirement in doc.get("security", []):
        headers: dict[str, str] = {}
        for name in requirement:
            scheme = doc["components"]["securitySchemes"][name]
            if scheme["type"] == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
                headers["Authorization"] = f"Bearer {key}"
            elif scheme["type"] == "apiKey" and scheme.get("in") == "header":
                headers[str(scheme["name"])] = key
        if headers:
            return headers
    return {}


def credential_headers(provider: str) -> frozenset[str]:
    """Names of every header that carries a credential under any security scheme of the provider's
    contract (``components.securitySchemes``): ``Authorization`` for an ``http`` scheme, the header name of
    an ``apiKey`` scheme in a header (Cloudflare's ``X-Auth-Email`` and ``X-Auth-Key``)."""
    names: set[str] = set()
    for scheme in document(provider).get("components", {}).get("securitySchemes", {}).values():
        if scheme["type"] == "http":
            names.add("Authorization")
        elif scheme["type"] == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme["name"]))
    return frozenset(names)


def operation(provider: str, operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """``(method, path, inlined operation object)`` of an ``operationId``. Raises ``KeyError`` if absent."""
    for path, item in inlined(provider)["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"{provider}: no operation {operation_id!r}")


def _pointer(doc: dict[str, Any], ref: str) -> Any:
    target: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def _inline(doc: dict[str, Any], node: Any, done: dict[str, Any]) -> Any:
    """``node`` with its local ``$ref``s replaced; ``done``: each reference already inlined (a schema
    named many times is inlined once and shared)."""
    if isinstance(node, list):
        return [_inline(doc, item, done) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if len(node) == 1:
            if ref not in done:
                done[ref] = _inline(doc, _pointer(doc, ref), done)
            return done[ref]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline(doc, {**_pointer(doc, ref), **siblings}, done)
    return {key: (value if key == "mapping" else _inline(doc, value, done)) for key, value in node.items()}


@cache
def inlined(provider: str) -> dict[str, Any]:
    """The document with every local ``$ref`` replaced by what it names (the documents are not recursive).

    Schemas taken from it are self-contained, so they validate without a reference registry. Shared; do
    not mutate (a schema named several times is one object in it).
    """
    doc = document(provider)
    return cast(dict[str, Any], _inline(doc, doc, {}))


def resolve(provider: str, node: dict[str, Any]) -> dict[str, Any]:
    """The inlined node a local ``$ref`` names (or ``node`` itself when it is not a reference)."""
    if "$ref" in node:
        return _resolved(provider, node["$ref"])
    return node


@cache
def _resolved(provider: str, ref: str) -> dict[str, Any]:
    return cast(dict[str, Any], _pointer(inlined(provider), ref))


def request_schema(
    provider: str, operation_id: str, content_type: str = "application/json"
) -> dict[str, Any]:
    """The request-body schema of an operation for one content type (``$ref`` resolved one level)."""
    _, _, op = operation(provider, operation_id)
    return resolve(provider, op["requestBody"]["content"][content_type]["schema"])


def model_branch(provider: str, schema: dict[str, Any], model: object) -> dict[str, Any] | None:
    """For a ``oneOf`` with a ``discriminator`` on the model, the branch for ``model``, else ``None``.

    A schema without a discriminator is its own branch.
    """
    disc = schema.get("discriminator")
    if not disc:
        return schema
    mapping: dict[str, str] = disc.get("mapping", {})
    if not isinstance(model, str) or model not in mapping:
        return None
    return resolve(provider, {"$ref": mapping[model]})


def discriminator_values(schema: dict[str, Any]) -> list[str]:
    """The model ids a discriminated request schema accepts (empty without a discriminator)."""
    return list(schema.get("discriminator", {}).get("mapping", {}))


def _form_types(schema: dict[str, Any]) -> dict[str, set[str]]:
    """JSON types of every field of a form schema (the union over its ``oneOf`` branches)."""
    types: dict[str, set[str]] = {}
    for branch in schema.get("oneOf", [schema]):
        for name, prop in branch.get("properties", {}).items():
            declared = prop.get("type", [])
            types.setdefault(name, set()).update([declared] if isinstance(declared, str) else declared)
    return types


def _coerce(value: str, types: set[str]) -> Any:
    # A form's text field read with its contract type (n="2" -> 2); unchanged when it does not fit (also
    # digits beyond Python's int conversion limit, sys.get_int_max_str_digits(): a string, not a 500).
    if "integer" in types and _INTEGER.match(value):
        with contextlib.suppress(ValueError):
            return int(value)
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    return value


_INTEGER = re.compile(r"^-?[0-9]+$")


def form_instance(
    schema: dict[str, Any], fields: list[tuple[str, str]], files: list[tuple[str, str | None]]
) -> dict[str, Any]:
    """The JSON instance a ``multipart/form-data`` body stands for, to validate against its ``schema``.

    ``fields``: ``(name, text)`` of the text parts in order; ``files``: ``(name, filename)`` of the file
    parts. Text is read with the type the schema gives the field (``"2"`` is 2 for an integer field,
    ``"true"`` a boolean); a file is the placeholder ``"<file NAME>"``. A field the schema types as an
    array keeps every part in order; any other field keeps its last part.
    """
    types = _form_types(schema)
    parts: dict[str, list[Any]] = {}
    for name, text in fields:
        parts.setdefault(name, []).append(_coerce(text, types.get(name, set())))
    for name, filename in files:
        parts.setdefault(name, []).append(f"<file {filename or 'upload'}>")
    return {name: vals if "array" in types.get(name, set()) else vals[-1] for name, vals in parts.items()}


@dataclass(frozen=True)
class Violation:
    """One way a request breaks the contract.

    ``path`` is the JSON path as a tuple (``("gptImageParams", "quality")``); ``keyword`` the JSON Schema
    keyword that failed (``enum``, ``required``, ``type``, ``additionalProperties``, ``maximum``, ...);
    ``param`` the dotted path (for ``required`` and ``additionalProperties``, the offending property);
    ``allowed`` the enum values where there are some; ``value`` the offending value.
    """

    path: tuple[str | int, ...]
    keyword: str
    message: str
    param: str
    value: Any = None
    allowed: tuple[Any, ...] = field(default_factory=tuple)
    limit: Any = None


def _violation(error: ValidationError) -> Violation:
    path = tuple(error.absolute_path)
    param = ".".join(str(p) for p in path)
    keyword = str(error.validator)
    schema: Any = error.schema
    limit: Any = error.validator_value
    instance: Any = error.instance
    if keyword == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        param = ".".join(x for x in (param, missing) if x)
    elif keyword == "additionalProperties" and isinstance(instance, dict) and isinstance(schema, dict):
        extras = sorted(set(instance) - set(schema.get("properties", {})))
        if extras:
            param = ".".join(x for x in (param, extras[0]) if x)
    allowed: tuple[Any, ...] = ()
    if keyword == "enum":
        allowed = tuple(limit)
    elif keyword == "const":
        allowed = (limit,)
    return Violation(path, keyword, error.message, param, instance, allowed, limit)


def _order(error: ValidationError) -> tuple[int, int, str]:
    # Report missing or unknown properties before bad values, and shallow before deep.
    rank = {"required": 0, "additionalProperties": 1, "type": 2}.get(str(error.validator), 3)
    return (len(error.absolute_path), rank, ".".join(str(p) for p in error.absolute_path))


def validate(provider: str, schema: dict[str, Any], instance: Any) -> list[Violation]:
    """Validate ``instance`` against ``schema`` (an inlined node of the provider's document).

    Returns the violations, most useful first (empty list when valid). A discriminated ``oneOf`` is
    validated against the branch its discriminator selects, so errors name real fields.
    """
    if isinstance(instance, dict) and "discriminator" in schema:
        prop = schema["discriminator"]["propertyName"]
        branch = model_branch(provider, schema, instance.get(prop))
        if branch is None:
            allowed = tuple(discriminator_values(schema))
            value = instance.get(prop)
            keyword = "required" if prop not in instance else "enum"
            message = f"{value!r} is not one of {list(allowed)}"
            return [Violation((prop,), keyword, message, prop, value, allowed)]
        schema = branch
    checker = _checker(schema)
    try:
        if checker.fast.is_valid(instance):
            return []
    except ValueError:  # not a JSON value (bytes, a non-string key): the explainer judges it
        pass
    errors = sorted(_leaf_errors(checker.explainer.iter_errors(instance)), key=_order)
    return [_violation(e) for e in errors]


class _Checker:
    """The validators of one schema. ``fast`` (jsonschema-rs, compiled) answers whether an instance is
    valid; ``explainer`` (python-jsonschema, built on first use) lists the errors of an invalid one, which
    the providers' error bodies are made from. ``fast`` checks formats as strictly or more strictly, so an
    instance it accepts has no errors for ``explainer`` either (``tests/contracts/test_validation.py``
    checks the two agree); where it is stricter, ``explainer`` has the last word and the list is empty."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.fast = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        self._explainer: Draft202012Validator | None = None

    @property
    def explainer(self) -> Draft202012Validator:
        if self._explainer is None:
            from jsonschema import Draft202012Validator

            checker = Draft202012Validator.FORMAT_CHECKER
            self._explainer = Draft202012Validator(self.schema, format_checker=checker)
        return self._explainer


def _checker(schema: dict[str, Any]) -> _Checker:
    # Compiled validators of the (long-lived) document schemas, keyed by identity; bounded so that
    # schemas built per request cannot grow it without limit.
    key = id(schema)
    cached = _CHECKERS.get(key)
    if cached is None or cached.schema is not schema:
        cached = _Checker(schema)
        if len(_CHECKERS) >= _MAX_CHECKERS:
            del _CHECKERS[next(iter(_CHECKERS))]
        _CHECKERS[key] = cached
    return cached


_MAX_CHECKERS = 512
_CHECKERS: dict[int, _Checker] = {}


def _leaf_errors(errors: Any) -> list[ValidationError]:
    """Flatten ``oneOf``/``anyOf`` failures into the errors of the branch the instance came closest to."""
    out: list[ValidationError] = []
    for error in errors:
        if error.context:
            out.extend(_leaf_errors(_closest_branch(error.context)))
        else:
            out.append(error)
    return out


def _closest_branch(context: list[ValidationError]) -> list[ValidationError]:
    branches: dict[Any, list[ValidationError]] = {}
    for sub in context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def wrong_type(errs: list[ValidationError]) -> bool:
        # A branch whose very type (or const) does not match the instance is the least relevant.
        return any(not e.relative_path and e.validator in ("type", "const") for e in errs)

    return min(branches.values(), key=lambda errs: (wrong_type(errs), len(errs)))
