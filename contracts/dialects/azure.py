"""Azure OpenAI dialect: OpenAI's Images API bodies on a deployment's path.

Azure serves OpenAI's Images API behind deployments (``contracts/openapi/azure.yaml``): the body of
``createImage`` / ``createImageEdit`` is OpenAI's (``pixelmock.contracts.dialects.openai``, read, not
copied), the deployment is a path parameter (``deployment-id``), ``api-version`` a query parameter
(``API_VERSION``) and the body's ``model`` is left out.
pixelmock's default deployments are named like the model they serve (option ``azure.deployments``), so
the canonical model names the deployment.

Azure sells the models whose ``contracts/data/models.yaml`` lifecycle has ``resellers.azure``
(gpt-image-1.5 and gpt-image-2: the models with an Azure retirement date); any other is
``UnsupportedValue``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from pixelmock.contracts.canonical import CanonicalRequest
from pixelmock.contracts.data import load
from pixelmock.contracts.dialects import ModelCapabilities, NativeRequest
from pixelmock.contracts.dialects.openai import OpenAIDialect
from pixelmock.contracts.errors import UnsupportedValue
from pixelmock.contracts.openapi import document

__all__ = ["API_VERSION", "DIALECT", "PROVIDER", "AzureDialect", "sells"]

PROVIDER = "azure"
#: The deployment path parameter of both operations (contracts/openapi/azure.yaml).
DEPLOYMENT = "deployment-id"
#: The api-version a native request carries: the first of the contract's ``x-api-versions.deployments``
#: (Microsoft's image_edits.json example's, 2025-04-01-preview).
API_VERSION = str(document(PROVIDER)["x-api-versions"]["deployments"][0])


def sells(model: str) -> bool:
    """Whether Azure sells canonical ``model``: its own entry in ``models.yaml`` (not one inherited through
    ``like``) has ``lifecycle.resellers.azure``. Raises ``KeyError`` for a model outside the catalogue."""
    written = load("models")["models"][model]
    return PROVIDER in written.get("lifecycle", {}).get("resellers", {})


@contextmanager
def _as_azure() -> Iterator[None]:
    """OpenAI's ``UnsupportedValue`` re-raised as Azure's (the same field, value and reason)."""
    try:
        yield
    except UnsupportedValue as exc:
        if exc.provider == PROVIDER:
            raise
        raise UnsupportedValue(PROVIDER, exc.field, exc.value, exc.reason) from exc


class AzureDialect(OpenAIDialect):
    """OpenAI's Images API dialect, spoken to an Azure deployment (see the module docstring)."""

    provider: ClassVar[str] = PROVIDER

    def capabilities(self, model: str) -> ModelCapabilities:
        """OpenAI's capabilities of ``model``. Raises ``UnsupportedValue`` for a model Azure does not sell."""
        try:
            sold = sells(model)
        except KeyError:
            sold = False
        if not sold:
            raise UnsupportedValue(PROVIDER, "model", model, "no Azure OpenAI deployment of this model")
        with _as_azure():
            return super().capabilities(model)

    def resolve(self, request: CanonicalRequest) -> CanonicalRequest:
        """OpenAI's defaults and rules, for a model Azure sells. Raises ``UnsupportedValue``."""
        self.capabilities(request.model)
        with _as_azure():
            return super().resolve(request)

    def to_native(self, request: CanonicalRequest) -> NativeRequest:
        """OpenAI's body without ``model``, posted to the deployment named like the model."""
        with _as_azure():
            openai = super().to_native(request)
        body = dict(openai.body)
        deployment = str(body.pop("model"))
        return NativeRequest(
            PROVIDER,
            openai.operation_id,
            body,
            openai.files,
            {DEPLOYMENT: deployment},
            {"api-version": API_VERSION},
        )

    def from_native(self, native: NativeRequest) -> CanonicalRequest:
        """The canonical request of an Azure request: the deployment (path parameter, or ``model`` on
        the v1 surface) names the model. Raises ``ValueError`` for another provider or a deployment
        named like no model Azure sells."""
        if native.provider != PROVIDER or not isinstance(native.body, dict):
            raise ValueError(f"not an Azure OpenAI Images request: {native.provider}/{native.operation_id}")
        body = dict(native.body)
        body["model"] = native.path_params.get(DEPLOYMENT) or body.get("model")
        operation = native.operation_id.removesuffix("V1")
        openai = NativeRequest("openai", operation, body, native.files)
        return super().from_native(openai)


DIALECT = AzureDialect()
