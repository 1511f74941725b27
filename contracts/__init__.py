"""pixelmock contracts: what each provider promises, as data and pure functions (no Flask, no sockets).

Public API::

    from pixelmock.contracts import CanonicalRequest, ImageInput, get_dialect, quote
    request = CanonicalRequest(model="gpt-image-2", prompt="a red fox", size="1536x1024", quality="high")
    get_dialect("runware").to_native(request)      # the provider's own request
    get_dialect("runware").quote(request)          # Quote: usd / credits, tokens, notes
"""

from pixelmock.contracts.canonical import CanonicalRequest, ImageInput
from pixelmock.contracts.dialects import Dialect, ModelCapabilities, NativeRequest, get_dialect
from pixelmock.contracts.errors import ContractError, UnknownProvider, UnsupportedValue
from pixelmock.contracts.openapi import PROVIDERS
from pixelmock.contracts.pricing import Quote, TokenBreakdown, quote

__all__ = [
    "PROVIDERS",
    "CanonicalRequest",
    "ContractError",
    "Dialect",
    "ImageInput",
    "ModelCapabilities",
    "NativeRequest",
    "Quote",
    "TokenBreakdown",
    "UnknownProvider",
    "UnsupportedValue",
    "get_dialect",
    "quote",
]
