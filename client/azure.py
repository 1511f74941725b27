"""Azure OpenAI flow: one synchronous call to a deployment (contracts/openapi/azure.yaml).

The request is OpenAI's Images API body posted to ``/openai/deployments/{deployment-id}/images/...``
with the ``api-version`` query parameter (``API_VERSION``, the first version of the contract's
``x-api-versions.deployments``); the answer is OpenAI's ``ImagesResponse``, read and priced as the OpenAI
flow reads it (``pixelmock.client.openai``), at Azure's prices. Errors are Azure's envelope
``{"error": {"code", "message"}}`` (or OpenAI's, for a body Azure refuses): a 429 ``insufficient_quota``
is an ``InsufficientCreditsError``, a content-filter refusal a ``ContentPolicyError``. Streaming is
refused before sending.
"""

from __future__ import annotations

from dataclasses import replace

from pixelmock.client.base import HttpCall, Provider
from pixelmock.client.openai import OpenAIFlow
from pixelmock.contracts.dialects import NativeRequest
from pixelmock.contracts.openapi import document

PROVIDER = "azure"
#: The api-version the reference client sends.
API_VERSION = str(document(PROVIDER)["x-api-versions"]["deployments"][0])


class AzureFlow(OpenAIFlow):
    """See the module docstring."""

    provider = PROVIDER

    def first_call(self, native: NativeRequest, target: Provider) -> HttpCall:
        """OpenAI's call on the deployment's path, with ``api-version``. Raises ``ValidationError`` for
        ``stream``."""
        call = super().first_call(native, target)
        return replace(call, path=f"{call.path}?api-version={API_VERSION}")


FLOW = AzureFlow()
