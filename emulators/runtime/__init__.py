"""The emulator runtime: services shared by every provider module (one job each).

``runtime()`` returns the current app's ``Runtime`` inside a request: the config, the virtual clock, the
state store, accounts and ledger, the image renderer, the file store and the request journal
(``journal_note`` attaches a request's canonical view and cost to its entry). A provider module exports a
``ProviderEmulator`` naming its blueprint, URL prefix and error body for framework-level failures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from flask import Blueprint, Response, current_app, request

from emulators.config import EmulatorConfig
from emulators.runtime.accounts import Accounts, AuthResult
from emulators.runtime.clock import Clock
from emulators.runtime.files import FileStore, StoredFile
from emulators.runtime.images import ImageSpec, render, spec_for
from emulators.runtime.journal import Journal, JournalEntry, journal_note
from emulators.runtime.store import MemoryStore, Store

__all__ = [
    "AuthResult",
    "ErrorResponder",
    "ImageSpec",
    "Journal",
    "JournalEntry",
    "MalformedBody",
    "ProviderEmulator",
    "Runtime",
    "StoredFile",
    "journal_note",
    "read_json",
    "runtime",
    "spec_for",
]

#: ``fn(status, kind, message) -> Response``: a provider's body for framework-level failures. ``kind`` is
#: one of not_found, method_not_allowed, too_large, malformed_json, unsupported_media_type, internal.
ErrorResponder = Callable[[int, str, str], Response]


@dataclass(frozen=True)
class ProviderEmulator:
    """What a provider module exports: ``name`` (as in ``contracts.openapi.PROVIDERS``), ``prefix``
    (e.g. ``/openai/v1``), its ``blueprint`` and its ``error_response``."""

    name: str
    prefix: str
    blueprint: Blueprint
    error_response: ErrorResponder


class Images:
    """The deterministic renderer (``emulators.runtime.images.render``), as a runtime service."""

    def render(self, spec: ImageSpec) -> bytes:
        """Encoded image bytes for ``spec`` (exact size and format)."""
        return render(spec)


class Runtime:
    """Every shared service of one emulator app."""

    def __init__(self, config: EmulatorConfig, store: Store | None = None) -> None:
        self.config = config
        self.clock = Clock(config.today)
        self.store: Store = store or MemoryStore()
        self.accounts = Accounts(config, self.clock)
        self.images = Images()
        self.files = FileStore(self.store, self.clock)
        self.journal = Journal(config.journal_limit)

    def reset(self) -> None:
        """Back to a fresh app's state: store (jobs, tasks, files) emptied, accounts, keys and ledger as
        configured, journal empty, clock back to the configured start."""
        self.store.clear()
        self.accounts.reset()
        self.journal.reset()
        self.clock.reset(self.config.today)


def runtime() -> Runtime:
    """The current app's runtime (inside an app or request context)."""
    return cast(Runtime, current_app.extensions["pixelmock"])


class MalformedBody(Exception):
    """The request body is not what the route needs; ``kind`` is ``malformed_json`` or
    ``unsupported_media_type``. The app answers it with the provider's ``error_response(400 or 415, ...)``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def read_json(require_content_type: bool = False) -> Any:
    """The request's JSON body. Raises ``MalformedBody`` when it is empty or not JSON, or, with
    ``require_content_type``, when the Content-Type is not ``application/json``."""
    if require_content_type and request.mimetype != "application/json":
        raise MalformedBody("unsupported_media_type", f"Unsupported Content-Type {request.mimetype!r}")
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise MalformedBody("malformed_json", "The request body is empty")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody("malformed_json", f"The request body is not valid JSON: {exc}") from exc
