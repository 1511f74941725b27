"""pixelmock's reference client: one canonical request, any of the five providers, one kind of result.

::

    from client import ImageClient, Provider
    from contracts import CanonicalRequest

    request = CanonicalRequest(model="gpt-image-2", prompt="a red fox", size="1536x1024", quality="high")
    with ImageClient() as images:
        result = images.generate(request, Provider("runware", api_key="...", base_url=None))
    result.images[0].url, result.reported_cost.usd, result.quote.usd

``AsyncImageClient`` has the same calls as coroutines. Errors: ``client.errors``. Flows per provider:
``client.openai``, ``client.cloudflare``, ``client.apiframe``, ``client.runware``, ``client.gmicloud``.
Recording cassettes with secrets scrubbed: ``client.recording``.
"""

from client.base import (
    GeneratedImage,
    ImageResult,
    PollPolicy,
    Provider,
    ReportedCost,
    RetryPolicy,
    Submission,
)
from client.clients import AsyncImageClient, ImageClient
from client.errors import (
    AuthenticationError,
    ContentPolicyError,
    ImageClientError,
    InsufficientCreditsError,
    ProviderError,
    RateLimitedError,
    RequestTimeoutError,
    ValidationError,
)

__all__ = [
    "AsyncImageClient",
    "AuthenticationError",
    "ContentPolicyError",
    "GeneratedImage",
    "ImageClient",
    "ImageClientError",
    "ImageResult",
    "InsufficientCreditsError",
    "PollPolicy",
    "Provider",
    "ProviderError",
    "RateLimitedError",
    "ReportedCost",
    "RequestTimeoutError",
    "RetryPolicy",
    "Submission",
    "ValidationError",
]
