"""OpenAI's own answers to injected faults (``X-Pixelmock-Fault``), as the public sources document them:
the standard OpenAI error bodies (third-party captures). Checked independently of the contract's
``x-faults`` (``fault_answers``); the fault machinery itself is tested in tests/core/test_faults.py."""

from __future__ import annotations

import pytest
from fault_answers import Answer, check_answer, offered
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "openai"
REQUEST = CanonicalRequest(model="gpt-image-1.5", prompt="a fox", quality="low", size="1024x1024")
ANSWERS: dict[str, Answer] = {
    "rate_limit": (429, lambda b: b["error"]["code"] == "rate_limit_exceeded", True),
    "server_error": (500, lambda b: b["error"]["type"] == "server_error", False),
    "unavailable": (503, lambda b: b["error"]["type"] == "server_error", False),
    "insufficient_credits": (429, lambda b: b["error"]["code"] == "insufficient_quota", False),
    "content_policy": (400, lambda b: b["error"]["code"] == "moderation_blocked", False),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_a_header_fault_is_answered_in_openais_own_words(app: Flask, kind: str) -> None:
    check_answer(app, PROVIDER, kind, ANSWERS[kind], REQUEST)


def test_every_answered_kind_is_on_offer_among_others(app: Flask) -> None:
    assert set(ANSWERS) < offered(app, PROVIDER)
