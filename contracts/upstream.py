"""Upstream answers a reseller passes on, read from the upstream provider's own contract.

A reseller that proxies OpenAI (Cloudflare's ``openai/*`` models) answers some requests with OpenAI's error
body wrapped in its own envelope. Those bodies are OpenAI facts: they live once, in
``contracts/openapi/openai.yaml`` ``x-openai-errors``, and the reseller's contract names the entry
(``upstream-error: {openai: <entry>}``) instead of copying it, so the reseller's emulator wraps exactly
what pixelmock's OpenAI emulator answers for the same request.

``openai_error`` renders an entry the way the OpenAI emulator does (``emulators/providers/openai/images.py``
``entry_error``): the entry's ``param`` if it fixes one, else the caller's; the message template filled
with ``param`` and the given fields; the body ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

from typing import Any

from pixelmock.contracts.openapi import inlined

__all__ = ["UPSTREAM_KEY", "openai_entry", "openai_error", "render_openai_entry", "upstream_error"]

#: Key of a reseller rule that names the upstream's error entry (``{openai: <entry>, param: <template>}``).
UPSTREAM_KEY = "upstream-error"


def openai_entry(name: str) -> dict[str, Any]:
    """The entry ``name`` of OpenAI's ``x-openai-errors``; a dotted name reaches into a group
    (``validation.maxLength``). Raises ``KeyError`` for an entry OpenAI's contract does not have."""
    node: Any = inlined("openai")["x-openai-errors"]
    for part in name.split("."):
        node = node[part]
    if not isinstance(node, dict) or "message" not in node:
        raise KeyError(f"x-openai-errors.{name} is not an error entry")
    return dict(node)


def openai_error(name: str, param: str | None = None, **fields: Any) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` of OpenAI's error entry ``name`` (``render_openai_entry``). Raises
    ``KeyError`` for an unknown entry or a template field not given."""
    return render_openai_entry(openai_entry(name), param, **fields)


def render_openai_entry(
    entry: dict[str, Any], param: str | None = None, **fields: Any
) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, body)`` of an ``x-openai-errors`` entry: ``param`` is used where the entry fixes
    none; ``fields`` fill the message template (``{model}``, ``{limit}``, ``{length}``...). The OpenAI
    emulator answers with it too. Raises ``KeyError`` for a template field not given."""
    param = entry.get("param", param)
    message = str(entry["message"]).format(param=param, **fields)
    body = {"error": {"message": message, "type": entry["type"], "param": param, "code": entry.get("code")}}
    return int(entry["status"]), body


def upstream_error(rule: dict[str, Any], **fields: Any) -> tuple[int, dict[str, Any]]:
    """``(HTTP status, upstream body)`` a reseller rule names under ``upstream-error``: ``openai`` is the
    entry, ``param`` (optional) a template filled with ``fields`` (``'image[{position}]'``). Raises
    ``KeyError`` for a rule without ``upstream-error`` or an upstream pixelmock does not know."""
    ref = rule[UPSTREAM_KEY]
    if "openai" not in ref:
        raise KeyError(f"unknown upstream in {ref!r}")
    param = ref.get("param")
    return openai_error(str(ref["openai"]), None if param is None else str(param).format(**fields), **fields)
