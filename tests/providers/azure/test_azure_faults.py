"""Azure OpenAI's own answers to injected faults (``X-Pixelmock-Fault``), as the public sources show them:
Azure's envelope ``{"error": {"code", "message"}}``, a 429 with ``Retry-After``, a content-filter refusal
with ``innererror.content_filter_results`` (Microsoft's REST examples name the categories). Checked
independently of the contract's ``x-faults`` (``fault_answers``)."""

from __future__ import annotations

import pytest
from fault_answers import Answer, check_answer, offered
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "azure"
REQUEST = CanonicalRequest(model="gpt-image-2", prompt="a fox", quality="low", size="1024x1024")
CATEGORIES = {"hate", "self_harm", "sexual", "violence"}
ANSWERS: dict[str, Answer] = {
    "rate_limit": (
        429,
        lambda b: b["error"]["code"] == "429" and "retry after" in b["error"]["message"],
        True,
    ),
    "server_error": (500, lambda b: b["error"]["code"] == "InternalServerError", False),
    "insufficient_credits": (429, lambda b: b["error"]["code"] == "insufficient_quota", False),
    "content_policy": (
        400,
        lambda b: (
            b["error"]["innererror"]["code"] == "ResponsibleAIPolicyViolation"
            and set(b["error"]["innererror"]["content_filter_results"]) == CATEGORIES
        ),
        False,
    ),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_a_header_fault_is_answered_in_azures_own_words(app: Flask, kind: str) -> None:
    check_answer(app, PROVIDER, kind, ANSWERS[kind], REQUEST)


def test_every_answered_kind_is_on_offer_among_others(app: Flask) -> None:
    assert set(ANSWERS) < offered(app, PROVIDER)
