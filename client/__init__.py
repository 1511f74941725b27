"""pixelmock's reference client: one canonical request, any of the five providers, one kind of result.

::

    from pixelmock.client import ImageClient, Provider
    from pixelmock.contracts import CanonicalRequest

    request = CanonicalRequest(model="gpt-image-2", prompt="a red fox", size="1536x1024", quality="high")
    with ImageClient() as images:
        result = images.generate(request, Provider("runware", api_key="...", base_url=None))
    result.images[0].url, result.reported_cost.usd, result.quote.usd

``AsyncImageClient`` has the same calls as coroutines. Errors: ``pixelmock.client.errors``. Flows per
provider: ``pixelmock.client.openai``, ``pixelmock.client.cloudflare``, ``pixelmock.client.apiframe``,
``pixelmock.client.runware``, ``pixelmock.client.gmicloud``. Recording cassettes with secrets scrubbed:
``pixelmock.client.recording``.
"""

from pixelmock.client.base import (
    GeneratedImage,
    ImageResult,
    PollPolicy,
    Provider,
    ReportedCost,
    RetryPolicy,
    Submission,
)
from pixelmock.client.clients import AsyncImageClient, ImageClient
from pixelmock.client.errors import (
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
