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
against a contract enum).

A provider module imports this one, ``pixelmock.emulators.core``, ``.web``, ``.config`` and
``pixelmock.contracts``, never another provider module.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from flask import Blueprint, Response, jsonify

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
