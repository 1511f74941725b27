"""Credential scrubbing, shared by everything that records a request: the emulators' journal and
outbound-delivery records, the client's cassettes and access logs. Pure functions, no I/O.

A credential is found by name and by pattern (``contracts/data/credentials.yaml``, each fact with its
source):

- headers: every name a provider or gateway documents (``Authorization``, Apiframe's ``X-API-Key``,
  Cloudflare's ``X-Auth-Key``/``X-Auth-Email``/``X-Auth-User-Service-Key``, AI Gateway's
  ``cf-aig-authorization``, ``Ocp-Apim-Subscription-Key``, cookies...), every provider contract's
  security-scheme headers, and any name containing a credential word (``auth``, ``token``, ``secret``...);
  ``Bearer REDACTED`` keeps an authorization scheme;
- JSON fields at any depth, form fields and query parameters whose folded name (lower case, without
  ``-``, ``_``, ``.``, spaces) is a credential name or ends like one (``apiKey``, ``api_key``,
  ``secret_key``, ``access_key``, ``private_key``, ``auth``, ``credentials``, ``token``, ``password``,
  ``sig``...): the whole value is replaced;
- inside any string: URLs' userinfo (``https://user:pass@host``) and credential-named query parameters
  (``?token=``, ``?auth=``, ``?key=``, ``?sig=``), ``Bearer``/``Basic``/``Token`` credentials, and
  key-shaped values (OpenAI ``sk-...``, Apiframe ``afk_...``).

Every credential found is added to the caller's ``secrets`` set (when given) so that it can be replaced
wherever else it appears, e.g. echoed in an error message (``replace_secrets``; in a binary body,
``replace_secrets_bytes``). A recorded body's text (the client's and the proxy's cassettes) goes through
``scrub_json_text`` when it is JSON, else ``scrub_text``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from urllib.parse import unquote

from pixelmock.contracts.data import load
from pixelmock.contracts.openapi import PROVIDERS, credential_headers

__all__ = [
    "MIN_SECRET",
    "REDACTED",
    "LogScrubber",
    "collect",
    "documented_headers",
    "is_credential_field",
    "is_credential_header",
    "replace_secrets",
    "replace_secrets_bytes",
    "scrub_header",
    "scrub_json",
    "scrub_json_text",
    "scrub_logs",
    "scrub_text",
    "scrub_url",
]

REDACTED = "REDACTED"
#: Credentials at least this long (characters) are collected, to be replaced wherever else they appear.
MIN_SECRET = 8
#: JSON deeper than this many levels is not recorded (its subtree becomes ``DEEP``).
MAX_DEPTH = 100
DEEP = f"[nested deeper than {MAX_DEPTH} levels: not recorded]"

_FOLD = re.compile(r"[-_.\s]")
_SCHEMES = frozenset({"bearer", "basic", "token", "apikey", "digest"})
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#@\"'<>]+)@")
_QUERY = re.compile(r"(?P<lead>(?:^|[?&])(?P<name>[^\s=&#?\"'<>]{1,64})=)(?P<value>[^\s&#\"'<>]*)")
_AUTH = re.compile(r"\b(?P<scheme>[Bb]earer|[Bb]asic|[Tt]oken) +(?P<value>[A-Za-z0-9._~+/=-]{8,})")


def _data() -> dict[str, Any]:
    return load("credentials")


@cache
def documented_headers() -> frozenset[str]:
    """Lower-case names of the credential headers providers and gateways document
    (``credentials.yaml``) and of every provider contract's security-scheme headers."""
    named = {str(entry["name"]).lower() for entry in _data()["headers"]}
    from_contracts = {name.lower() for provider in PROVIDERS for name in credential_headers(provider)}
    return frozenset(named | from_contracts)


@cache
def _header_words() -> tuple[frozenset[str], tuple[str, ...]]:
    data = _data()
    return frozenset(data["not_credential_headers"]), tuple(data["header_words"])


def is_credential_header(name: str) -> bool:
    """Whether a header named ``name`` (any case) carries a credential: a documented one, or a name
    containing a credential word. ``WWW-Authenticate`` and the like (challenges) do not."""
    return _cached(_is_credential_header, name)


def _is_credential_header(name: str) -> bool:
    folded = name.strip().lower()
    challenges, words = _header_words()
    if folded in challenges:
        return False
    return folded in documented_headers() or any(word in folded for word in words)


@cache
def _field_rules() -> tuple[frozenset[str], tuple[str, ...]]:
    data = _data()
    return frozenset(data["field_names"]), tuple(data["field_suffixes"])


def is_credential_field(name: str) -> bool:
    """Whether a JSON field, form field or query parameter named ``name`` holds a credential (``apiKey``,
    ``api_key``, ``secret_key``, ``accessToken``, ``auth``, ``credentials``, ``sig``...); any case and
    separators."""
    return _cached(_is_credential_field, name)


def _is_credential_field(name: str) -> bool:
    folded = _FOLD.sub("", name.lower())
    names, suffixes = _field_rules()
    return folded in names or folded.endswith(suffixes)


#: Names at most this long have their verdict cached (names come from requests: the cache stays small).
_CACHED_NAME = 64
_verdicts: dict[tuple[Callable[[str], bool], str], bool] = {}


def _cached(check: Callable[[str], bool], name: str) -> bool:
    if len(name) > _CACHED_NAME:
        return check(name)
    key = (check, name)
    verdict = _verdicts.get(key)
    if verdict is None:
        verdict = check(name)
        if len(_verdicts) < 8192:
            _verdicts[key] = verdict
    return verdict


@cache
def _value_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """``(trigger, pattern)``: the pattern's literal start (a cheap ``in`` test first) and the regex."""
    found = []
    for entry in _data()["value_patterns"]:
        pattern = str(entry["pattern"])
        trigger = re.sub(r"\\b|\[.*", "", pattern)
        found.append((trigger, re.compile(pattern)))
    return tuple(found)


def collect(value: Any, secrets: set[str] | None) -> None:
    """Add every string of ``value`` (a string or JSON value) at least ``MIN_SECRET`` characters long to
    ``secrets`` (no-op when ``None``)."""
    if secrets is None:
        return
    if isinstance(value, str):
        if len(value.strip()) >= MIN_SECRET:
            secrets.add(value.strip())
    elif isinstance(value, dict):
        for item in value.values():
            collect(item, secrets)
    elif isinstance(value, list | tuple):
        for item in value:
            collect(item, secrets)


def scrub_text(text: str, secrets: set[str] | None = None) -> str:
    """``text`` with the credentials it carries replaced by ``REDACTED``: URL userinfo, credential-named
    query parameters (in a whole URL, a path with its query, a form-encoded body ``a=1&token=...`` or any
    prose), ``Bearer <token>`` and the like, key-shaped values. Found credentials are added to
    ``secrets``. Each pattern runs only when a character it needs is present (``@``, ``=``, a space, a
    key prefix)."""
    if "@" in text and "://" in text:
        text = _USERINFO.sub(lambda m: _userinfo(m, secrets), text)
    if "=" in text:
        text = _QUERY.sub(lambda m: _query_param(m, secrets), text)
    if " " in text:
        text = _AUTH.sub(lambda m: _auth_value(m, secrets), text)
    for trigger, pattern in _value_patterns():
        if trigger in text:
            text = pattern.sub(lambda m: _found(m.group(0), secrets), text)
    return text


def _found(value: str, secrets: set[str] | None) -> str:
    collect(value, secrets)
    return REDACTED


def _userinfo(match: re.Match[str], secrets: set[str] | None) -> str:
    userinfo = match.group("userinfo")
    for part in (userinfo, *userinfo.split(":", 1)):
        collect(part, secrets)
        collect(unquote(part), secrets)
    return f"{match.group('scheme')}{REDACTED}@"


def _query_param(match: re.Match[str], secrets: set[str] | None) -> str:
    value = match.group("value")
    if not value or value == REDACTED or not is_credential_field(unquote(match.group("name"))):
        return match.group(0)
    collect(value, secrets)
    collect(unquote(value.replace("+", " ")), secrets)
    return match.group("lead") + REDACTED


def _auth_value(match: re.Match[str], secrets: set[str] | None) -> str:
    if match.group("value") == REDACTED:
        return match.group(0)
    collect(match.group("value"), secrets)
    return f"{match.group('scheme')} {REDACTED}"


def scrub_url(url: str, secrets: set[str] | None = None) -> str:
    """A URL (or a path with its query string) for a record or a log line: userinfo and
    credential-named query parameters ``REDACTED`` (``https://REDACTED@host/x?token=REDACTED&a=1``), as
    ``scrub_text`` does; everything else as given."""
    return scrub_text(url, secrets)


def scrub_header(name: str, value: str, secrets: set[str] | None = None) -> str:
    """A header's value for a record: a credential header's value ``REDACTED`` (``Bearer REDACTED`` keeps
    the scheme) and added to ``secrets``; any other value through ``scrub_text`` (a ``Referer`` with a
    token in its query...)."""
    if not is_credential_header(name):
        return scrub_text(value, secrets)
    scheme, _, rest = value.strip().partition(" ")
    if rest.strip() and scheme.lower() in _SCHEMES:
        collect(rest, secrets)
        return f"{scheme} {REDACTED}"
    collect(value, secrets)
    return REDACTED


def scrub_json(
    value: Any,
    secrets: set[str] | None = None,
    text: Callable[[str, set[str] | None], str] = scrub_text,
    _depth: int = 0,
) -> Any:
    """A copy of a JSON value with credential-named fields ``REDACTED`` at any depth (their values
    collected into ``secrets``) and every other string through ``text(string, secrets)`` (default
    ``scrub_text``; the journal's also shortens). ``None`` values of credential fields stay ``None``.
    Levels deeper than ``MAX_DEPTH`` become ``DEEP``."""
    if _depth > MAX_DEPTH:
        collect(value, secrets)
        return DEEP
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for name, item in value.items():
            if item is not None and is_credential_field(str(name)):
                collect(item, secrets)
                out[name] = REDACTED
            else:
                out[name] = scrub_json(item, secrets, text, _depth + 1)
        return out
    if isinstance(value, list):
        return [scrub_json(item, secrets, text, _depth + 1) for item in value]
    if isinstance(value, str):
        return text(value, secrets)
    return value


def scrub_json_text(text: str, secrets: set[str] | None = None) -> str | None:
    """A recorded body's text when it is JSON: credentials replaced as ``scrub_json`` finds them (found
    ones added to ``secrets``), serialized again by ``json.dumps`` (default separators) only when something
    was replaced, else ``text`` as given (its spacing and key order kept). ``None`` when ``text`` is not
    JSON (the caller scrubs it as text)."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    scrubbed = scrub_json(parsed, secrets)
    return json.dumps(scrubbed) if scrubbed != parsed else text


def replace_secrets(value: Any, secrets: set[str]) -> Any:
    """A copy of ``value`` (a string or JSON value) with every occurrence of each string of ``secrets``
    in its strings replaced by ``REDACTED`` (longest first, so a secret containing another goes whole)."""
    ordered = sorted(secrets, key=len, reverse=True)
    return _replace(value, ordered, 0)


def _replace(value: Any, ordered: list[str], depth: int) -> Any:
    if isinstance(value, str):
        for secret in ordered:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if depth > MAX_DEPTH:
        return DEEP
    if isinstance(value, dict):
        return {name: _replace(item, ordered, depth + 1) for name, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, ordered, depth + 1) for item in value]
    return value


def replace_secrets_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    """``data`` (a binary body, e.g. multipart with image bytes) with every occurrence of each string of
    ``secrets``, UTF-8 encoded, replaced by ``REDACTED`` (longest first, as ``replace_secrets``)."""
    for secret in sorted(secrets, key=len, reverse=True):
        data = data.replace(secret.encode(), REDACTED.encode())
    return data


class LogScrubber(logging.Filter):
    """A logging filter that passes every record with its message through ``scrub_text`` (a request
    line's ``?token=``, a URL's userinfo, ``Bearer ...``): the formatted message replaces ``msg`` and
    ``args`` only when something was scrubbed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_text(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def scrub_logs(logger: logging.Logger) -> None:
    """Scrub every record logged to ``logger`` itself (``LogScrubber``; once per logger, however often
    called). Records propagated from child loggers are not filtered: add it to those too."""
    if not any(isinstance(f, LogScrubber) for f in logger.filters):
        logger.addFilter(LogScrubber())
