"""Exceptions raised by the contracts layer."""

from __future__ import annotations


class ContractError(Exception):
    """Base class of every error the contracts layer raises."""


class UnsupportedValue(ContractError, ValueError):
    """A canonical value that a provider cannot express (raised before any request is sent).

    Attributes: ``provider`` (e.g. ``"cloudflare"``), ``field`` (canonical field name), ``value``, ``reason``.
    """

    def __init__(self, provider: str, field: str, value: object, reason: str) -> None:
        self.provider = provider
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{provider}: {field}={value!r} is not supported: {reason}")


class UnknownProvider(ContractError, KeyError):
    """A provider name that pixelmock does not know."""
