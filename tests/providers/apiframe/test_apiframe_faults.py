"""Apiframe's own answers to injected faults (``X-Pixelmock-Fault``), as the public sources document them:
Apiframe's v2 spec (apiframe-nodejs-sdk openapi.json): ``{"error": string}``, 429 with Retry-After.
Checked independently of the contract's ``x-faults`` (``fault_answers``); the fault machinery and
Apiframe's flow faults (a failed job and its refund, insufficient credits) are tested in
tests/core/test_faults.py."""

from __future__ import annotations

import pytest
from fault_answers import Answer, check_answer, offered
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "apiframe"
REQUEST = CanonicalRequest(model="gpt-image-1.5", prompt="a lighthouse", quality="low")
ANSWERS: dict[str, Answer] = {
    "rate_limit": (429, lambda b: set(b) == {"error"}, True),
    "server_error": (500, lambda b: set(b) == {"error"}, False),
    "unavailable": (503, lambda b: set(b) == {"error"}, False),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_a_header_fault_is_answered_in_apiframes_own_words(app: Flask, kind: str) -> None:
    check_answer(app, PROVIDER, kind, ANSWERS[kind], REQUEST)


def test_every_answered_kind_is_on_offer_among_others(app: Flask) -> None:
    assert set(ANSWERS) < offered(app, PROVIDER)
