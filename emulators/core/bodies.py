"""The one defensive JSON parser of everything a client sends: request bodies (``read_json``), Runware
WebSocket messages, Apiframe cursors, and the journal's view of a request.

``parse_json`` never raises anything but ``BodyRefused`` (a ``ValueError``): not JSON (Python's ``NaN`` and
``Infinity`` included, which JavaScript's ``JSON.parse`` refuses too), not UTF-8, nested
deeper than a limit (``EmulatorConfig.max_json_depth``; Python's own parser gives up at about 1,000
levels with a ``RecursionError``), or holding a lone UTF-16 surrogate (``"\\ud800"`` escaped: text
that is not Unicode, which RFC 8259 §8.2 leaves to the receiver and strict parsers refuse; a reported
OpenAI answer is its malformed-JSON 400, anomalyco/opencode#14630). Each provider answers a refusal
with its own malformed-JSON body (``error_response(400, "malformed_json", ...)``).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["BodyRefused", "parse_json"]

_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyRefused(ValueError):
    """A body ``parse_json`` refuses; ``reason`` is ``syntax``, ``depth`` or ``text``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_json(raw: bytes | str, max_depth: int, lone_surrogates: str = "refuse") -> Any:
    """The JSON value of ``raw`` (UTF-8 bytes or text), at most ``max_depth`` arrays/objects deep.
    ``lone_surrogates``: ``refuse`` (a string or key holding a lone UTF-16 surrogate is refused) or
    ``replace`` (each becomes U+FFFD, as a server that re-encodes the text as UTF-8 makes it; the
    ``<provider>.lone_surrogate`` contract option). Raises ``BodyRefused``."""
    try:
        value = json.loads(raw, parse_constant=_not_json)
    except RecursionError as exc:
        raise BodyRefused("depth", f"The JSON is nested deeper than {max_depth} levels") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyRefused("syntax", f"The request body is not valid JSON: {exc}") from exc
    if isinstance(raw, bytes) and _plain(raw, max_depth):
        return value
    if _check(value, max_depth, refuse=lone_surrogates == "refuse"):
        return _mend(value)
    return value


def _plain(raw: bytes, max_depth: int) -> bool:
    """Whether ``raw`` cannot hold what ``_check`` looks for, read from its bytes at C speed: no more
    opening brackets than ``max_depth`` (a value cannot nest deeper than the brackets it has), only
    ASCII bytes and no backslash (``json.loads`` decodes bytes with ``surrogatepass``, so a lone surrogate
    arrives either as an escape or as bytes of 0x80 and above, in UTF-8, UTF-16 and UTF-32 alike). Most
    request bodies are plain: a few levels, no escapes."""
    return raw.isascii() and b"\\" not in raw and raw.count(b"{") + raw.count(b"[") <= max_depth


def _not_json(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's extension, not JSON (RFC 8259 §6)."""
    raise ValueError(f"{name} is not a JSON value")


def _check(value: Any, max_depth: int, refuse: bool = True) -> bool:
    """Walk ``value`` without recursion: depth, and lone surrogates (refused, or only found: the result
    says whether there was one)."""
    found = False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            # isascii() is O(1) in CPython: base64 images and most text skip the search.
            if not node.isascii() and _SURROGATE.search(node):
                if refuse:
                    raise BodyRefused("text", "The JSON holds a lone UTF-16 surrogate (not Unicode text)")
                found = True
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise BodyRefused("depth", f"The JSON is nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                stack.extend((key, depth) for key in node)
                stack.extend((item, depth + 1) for item in node.values())
            else:
                stack.extend((item, depth + 1) for item in node)
    return found


def _mend(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD (``json.loads`` has already joined the
    valid pairs, so any surrogate left is lone). Recursive: called within the checked depth only."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_mend(key): _mend(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mend(item) for item in value]
    return value
