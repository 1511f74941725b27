"""The client's one exception hierarchy.

Every failure the client reports is an ``ImageClientError`` subclass that keeps what the provider said:
``provider`` (``"runware"``...), ``status`` (the HTTP status, or ``None`` when nothing was sent or no
answer came back), ``code`` (the provider's own error code: OpenAI's ``code``, Cloudflare's numeric
``errors[0].code``, Runware's ``code``; ``None`` where the provider has none), ``message``, ``body`` (the
parsed answer, or its text) and ``job_id`` (the provider's job / task / request id when one exists)::

    ImageClientError
    ├── AuthenticationError       missing, invalid, inactive or under-privileged credentials
    ├── ValidationError           the request breaks the contract (before sending: ``status is None``)
    ├── InsufficientCreditsError  the balance (USD or credits) does not cover the job
    ├── RateLimitedError          too many requests; ``retry_after`` in seconds when the provider said
    ├── ContentPolicyError        the provider's safety system refused the prompt or the images
    ├── ProviderError             the provider failed (5xx, a failed job, an unreachable server)
    └── RequestTimeoutError       no answer in time, or a job still unfinished after the poll budget

``kind_for_status`` is the HTTP-status fallback every provider module uses after its own code tables.
"""

from __future__ import annotations

from typing import Any

#: Substrings that mark a refusal by a safety system, case-insensitive: OpenAI's ``moderation_blocked``
#: code and "rejected by the safety system" text (third-party captures of OpenAI's 400, passed through by
#: Runware as providerBadRequest), "content policy violation" in Apiframe's failed jobs
#: (https://docs-v2.apiframe.ai/docs/jobs/get) and genblaze's GMI markers ("content_policy", "safety", "policy
#: violation"; genblaze-gmicloud==0.3.5:genblaze_gmicloud/_errors.py).
CONTENT_POLICY_MARKERS = (
    "moderation_blocked",
    "content_policy",
    "content policy",
    "policy violation",
    "safety system",
)


class ImageClientError(Exception):
    """Base of every client error (see the module docstring for the attributes)."""

    kind = "error"

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        body: Any = None,
        job_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.status = status
        self.code = code
        self.body = body
        self.job_id = job_id
        self.param = param

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "not sent"
        code = f" {self.code}" if self.code is not None else ""
        return f"{self.provider} ({where}{code}): {self.message}"


class AuthenticationError(ImageClientError):
    """Missing, invalid, inactive or under-privileged credentials (HTTP 401/403, and Cloudflare's 400s
    for a missing or malformed Authorization header)."""

    kind = "authentication"


class ValidationError(ImageClientError):
    """The request breaks the provider's contract. ``status is None`` when the client refused it before
    sending (a canonical value the provider cannot express; ``param`` names the canonical field)."""

    kind = "validation"


class InsufficientCreditsError(ImageClientError):
    """The account cannot pay for the job (Apiframe/Runware/Cloudflare 402, OpenAI 429
    ``insufficient_quota``). Apiframe's ``creditsRequired`` / ``creditsAvailable`` are kept as
    ``required`` / ``available`` (credits)."""

    kind = "insufficient_credits"

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        required: int | None = None,
        available: int | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(provider, message, **kw)
        self.required = required
        self.available = available


class RateLimitedError(ImageClientError):
    """Too many requests (HTTP 429). ``retry_after`` is the wait in seconds the provider asked for
    (``Retry-After``), ``None`` when it gave none. Raised once the client's retries are used up."""

    kind = "rate_limited"

    def __init__(self, provider: str, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(provider, message, **kw)
        self.retry_after = retry_after


class ContentPolicyError(ImageClientError):
    """The provider's safety system refused the request or its output (see ``CONTENT_POLICY_MARKERS``)."""

    kind = "content_policy"


class ProviderError(ImageClientError):
    """The provider failed: a 5xx, a job that ended FAILED/cancelled, an answer the client cannot read,
    or a server that could not be reached."""

    kind = "provider_failure"


class RequestTimeoutError(ImageClientError):
    """No answer within the HTTP timeout, a 408/504, or a job still unfinished when the poll budget
    (``PollPolicy.timeout``) ran out (``job_id`` says which job to resume)."""

    kind = "timeout"


KINDS: dict[str, type[ImageClientError]] = {
    cls.kind: cls
    for cls in (
        AuthenticationError,
        ValidationError,
        InsufficientCreditsError,
        RateLimitedError,
        ContentPolicyError,
        ProviderError,
        RequestTimeoutError,
    )
}


def kind_for_status(status: int) -> str:
    """The error kind HTTP semantics give a status: 401/403 authentication, 402 insufficient credits,
    408/504 timeout, 429 rate limited, other 5xx provider failure, other 4xx validation."""
    if status in (401, 403):
        return AuthenticationError.kind
    if status == 402:
        return InsufficientCreditsError.kind
    if status == 429:
        return RateLimitedError.kind
    if status in (408, 504):
        return RequestTimeoutError.kind
    if status >= 500:
        return ProviderError.kind
    return ValidationError.kind


def mentions_content_policy(*texts: object) -> bool:
    """True when any text contains one of ``CONTENT_POLICY_MARKERS`` (case-insensitive)."""
    joined = " ".join(str(t) for t in texts if t is not None).lower()
    return any(marker in joined for marker in CONTENT_POLICY_MARKERS)


def make_error(kind: str, provider: str, message: str, **fields: Any) -> ImageClientError:
    """An error of ``kind`` (one of ``KINDS``); ``fields`` are the constructor's keyword arguments.
    Fields a kind does not take (``retry_after`` outside rate limits...) are dropped."""
    cls = KINDS[kind]
    if cls is not RateLimitedError:
        fields.pop("retry_after", None)
    if cls is not InsufficientCreditsError:
        fields.pop("required", None)
        fields.pop("available", None)
    return cls(provider, message, **fields)
