"""Dialects: per provider, canonical request <-> native request, defaults and capabilities.

A dialect is pure (no I/O). Its facts (enums, ranges, defaults) are read from the provider's OpenAPI
document in ``contracts/openapi``; a dialect never re-types them. ``resolve`` fills the provider's defaults
and raises ``UnsupportedValue`` (naming provider and field) for a canonical value the provider cannot
express; ``to_native`` builds the native request of a resolved one; ``from_native`` parses a native request.
"""

from __future__ import annotations

import datetime as dt
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.openapi import operation
from pixelmock.contracts.pricing import LIKELY, Billing, Quote, quote
from pixelmock.contracts.providers import provider as registered


@dataclass(frozen=True)
class NativeRequest:
    """A provider's own request.

    ``operation_id`` names the operation in the provider's OpenAPI document; ``body`` is the JSON body
    (for multipart operations: the text fields with their typed values); ``files`` are multipart file
    parts as ``(field name, image)``; ``path_params`` fill the operation's path template; ``query`` holds the
    query parameters the provider requires (Azure's ``api-version``), appended to ``path``.
    """

    provider: str
    operation_id: str
    body: Any
    files: tuple[tuple[str, ImageInput], ...] = ()
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    @property
    def method(self) -> str:
        """HTTP method of the operation."""
        return operation(self.provider, self.operation_id)[0]

    @property
    def path(self) -> str:
        """Path relative to the provider's base URL, with path parameters filled in and ``query`` (if any)
        appended, URL-encoded."""
        template = operation(self.provider, self.operation_id)[1]
        path = template.format(**self.path_params)
        return f"{path}?{urlencode(self.query)}" if self.query else path


@dataclass(frozen=True)
class ModelCapabilities:
    """What a provider offers for one model, read from its contract.

    ``sizes`` lists fixed ``WxH`` sizes (plus ``"auto"`` where accepted); ``flexible_sizes`` is true when
    any size satisfying the contract's size rules is accepted. Other tuples are the accepted canonical
    values; an empty tuple means the field cannot be expressed at all.
    """

    model: str
    native_model: str
    sizes: tuple[str, ...]
    flexible_sizes: bool
    qualities: tuple[str, ...]
    backgrounds: tuple[str, ...]
    output_formats: tuple[str, ...]
    moderations: tuple[str, ...]
    input_fidelities: tuple[str, ...]
    max_n: int
    max_input_images: int
    mask: bool
    output_compression: bool


def offered_values(native: dict[str, Any] | None, implied: dict[str, Any], field: str) -> tuple[str, ...]:
    """The canonical values a provider accepts for ``field``: the enum of its native property ``native``
    where it has that knob, else the one value it always applies (``implied[field]``, recorded in its
    contract), else none (the field cannot be expressed)."""
    if native is not None:
        return tuple(native["enum"])
    return (str(implied[field]),) if field in implied else ()


class Dialect(ABC):
    """One provider's way of saying a canonical request (see the module docstring)."""

    provider: ClassVar[str]

    @abstractmethod
    def capabilities(self, model: str) -> ModelCapabilities:
        """Capabilities for a canonical model. Raises ``UnsupportedValue`` if the provider lacks it."""

    @abstractmethod
    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """The request with every unset field replaced by the provider's default.

        Raises ``UnsupportedValue`` for any canonical value the provider cannot express.
        """

    @abstractmethod
    def to_native(self, request: CanonicalRequest) -> NativeRequest:
        """The native request for a canonical one (resolved first). Raises ``UnsupportedValue``."""

    @abstractmethod
    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """The canonical request a native one expresses (fields the native request leaves out stay
        ``None``). Raises ``ValueError`` when the native request is not one this dialect understands."""

    def upstream_shutdown(self, model: str) -> dict[str, Any] | None:
        """The rule by which a provider that passes ``model`` on to its upstream follows the upstream's
        shutdown date (its contract's ``x-upstream-shutdown``: ``lifecycle`` names the date in
        ``models.yaml``, with ``x-source``), or ``None``. Read for a provider whose registry ``lifecycle``
        is ``contract`` (``pixelmock.contracts.lifecycle``)."""
        return None

    def quote(self, request: CanonicalRequest, on: dt.date | None = None, billing: Billing = LIKELY) -> Quote:
        """Resolve, then price with the cost engine (``pixelmock.contracts.pricing.quote``)."""
        return quote(self.provider, self.resolve(request), on, billing)


_CACHE: dict[str, Dialect] = {}


def get_dialect(provider: str) -> Dialect:
    """The dialect of ``provider`` (one of ``pixelmock.contracts.openapi.PROVIDERS``). Raises
    ``UnknownProvider``."""
    if provider not in _CACHE:
        module = importlib.import_module(f"{__name__}.{registered(provider).dialect}")
        _CACHE[provider] = module.DIALECT
    return _CACHE[provider]
