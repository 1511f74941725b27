"""Azure OpenAI flow: one synchronous call to a deployment (contracts/openapi/azure.yaml).

The request is OpenAI's Images API body posted to ``/openai/deployments/{deployment-id}/images/...``
with the ``api-version`` query parameter (the dialect's native request carries both,
``pixelmock.contracts.dialects.azure``); the answer is OpenAI's ``ImagesResponse``, read and priced as the
OpenAI flow reads it (``pixelmock.client.openai``), at Azure's prices. Errors are Azure's envelope
``{"error": {"code", "message"}}`` (or OpenAI's, for a body Azure refuses): a 429 ``insufficient_quota``
is an ``InsufficientCreditsError``, a content-filter refusal a ``ContentPolicyError``. Streaming is
refused before sending.
"""

from __future__ import annotations

from pixelmock.client.openai import OpenAIFlow

PROVIDER = "azure"


class AzureFlow(OpenAIFlow):
    """See the module docstring."""

    provider = PROVIDER


FLOW = AzureFlow()
