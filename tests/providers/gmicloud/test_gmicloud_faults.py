"""GMI Cloud's own answers to injected faults (``X-Pixelmock-Fault``), as the public sources document
them: genblaze-gmicloud 0.3.5: ``{"error"}``, Retry-After honoured by clients, 500 "Backend error".
Checked independently of the contract's ``x-faults`` (``fault_answers``); the fault machinery and GMI's
flow faults (a refused request, a request left queued) are tested in tests/core/test_faults.py."""

from __future__ import annotations

import pytest
from fault_answers import Answer, check_answer, offered
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "gmicloud"
REQUEST = CanonicalRequest(model="gpt-image-2", prompt="a fox")
ANSWERS: dict[str, Answer] = {
    "rate_limit": (429, lambda b: set(b) == {"error"}, True),
    "server_error": (500, lambda b: b["error"].startswith("Backend error"), False),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_a_header_fault_is_answered_in_gmiclouds_own_words(app: Flask, kind: str) -> None:
    check_answer(app, PROVIDER, kind, ANSWERS[kind], REQUEST)


def test_every_answered_kind_is_on_offer_among_others(app: Flask) -> None:
    assert set(ANSWERS) < offered(app, PROVIDER)
