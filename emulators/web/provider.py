"""What a provider module exports: its ``ProviderEmulator`` (the app mounts it) and the shape of its answer
to framework-level failures (``ErrorResponder``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flask import Blueprint, Response, request

from pixelmock.emulators.core.faults import FaultAnswer

__all__ = ["ErrorResponder", "ProviderEmulator", "owner_finder"]

#: ``fn(status, kind, message) -> Response``: a provider's body for framework-level failures. ``kind`` is
#: one of not_found, method_not_allowed, too_large, malformed_json, unsupported_media_type, internal.
ErrorResponder = Callable[[int, str, str], Response]


@dataclass(frozen=True)
class ProviderEmulator:
    """What a provider module exports: ``name`` (as in ``pixelmock.contracts.openapi.PROVIDERS``), ``prefix``
    (e.g. ``/openai/v1``), its ``blueprint``, its ``error_response`` and ``faults``: its own answer to
    each injected fault kind it has a documented answer for (``pixelmock.emulators.core.faults``; usually
    ``faults.contract_answers`` over its contract's ``x-faults``); ``budgets``: store namespaces whose
    records count against a byte budget (``Runtime.BUDGETS``), e.g. ``{"runware.tasks": "results"}``."""

    name: str
    prefix: str
    blueprint: Blueprint
    error_response: ErrorResponder
    faults: Mapping[str, FaultAnswer] = field(default_factory=dict)
    budgets: Mapping[str, str] = field(default_factory=dict)

    def owns(self, path: str) -> bool:
        """Whether ``path`` is under this provider's prefix."""
        return path == self.prefix or path.startswith(self.prefix + "/")


#: Where ``owner_finder``'s lookup keeps its answer in the request's WSGI environ.
_OWNER = "pixelmock.owner"


def owner_finder(mounted: Sequence[ProviderEmulator]) -> Callable[[], ProviderEmulator | None]:
    """``owner()``: the provider of ``mounted`` whose prefix the current request's path is under
    (``None``: none), found once per request (several hooks ask; the answer is kept in the environ)."""

    def owner() -> ProviderEmulator | None:
        environ = request.environ
        if _OWNER not in environ:
            path = request.path
            environ[_OWNER] = next((p for p in mounted if p.owns(path)), None)
        found: ProviderEmulator | None = environ[_OWNER]
        return found

    return owner
