"""Runware's own answers to injected faults (``X-Pixelmock-Fault``), as the public sources document them:
runware.ai/docs/platform/rate-limits: 429 / 503 / 504 under load, in the errors envelope. Checked
independently of the contract's ``x-faults`` (``fault_answers``); the fault machinery and Runware's task
faults are tested in tests/core/test_faults.py."""

from __future__ import annotations

import pytest
from fault_answers import Answer, check_answer, offered
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "runware"
REQUEST = CanonicalRequest(model="gpt-image-2", prompt="a fox", size="1024x1024")
ANSWERS: dict[str, Answer] = {
    "rate_limit": (429, lambda b: b["errors"][0]["code"] == "rateLimitExceeded", False),
    "server_error": (500, lambda b: "code" in b["errors"][0], False),
    "unavailable": (503, lambda b: "code" in b["errors"][0], False),
    "gateway_timeout": (504, lambda b: "Timeout" in b["errors"][0]["code"], False),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_a_header_fault_is_answered_in_runwares_own_words(app: Flask, kind: str) -> None:
    check_answer(app, PROVIDER, kind, ANSWERS[kind], REQUEST)


def test_every_answered_kind_is_on_offer_among_others(app: Flask) -> None:
    assert set(ANSWERS) < offered(app, PROVIDER)
