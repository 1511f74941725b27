"""Cloudflare's own answers to injected faults (``X-Pixelmock-Fault``), as the public sources document
them: developers.cloudflare.com/workers-ai/platform/errors/: 3040 (429), 3007 (408); 2021 (402) reported.
Checked independently of the contract's ``x-faults`` (``fault_answers``); the fault machinery itself is
tested in tests/core/test_faults.py."""

from __future__ import annotations

import pytest
from fault_answers import Answer, check_answer, offered
from flask import Flask

from pixelmock.contracts.canonical import CanonicalRequest

PROVIDER = "cloudflare"
REQUEST = CanonicalRequest(model="gpt-image-2", prompt="a fox")
ANSWERS: dict[str, Answer] = {
    "rate_limit": (429, lambda b: b["errors"][0]["code"] == 3040, False),
    "server_error": (500, lambda b: b["success"] is False, False),
    "provider_timeout": (408, lambda b: b["errors"][0]["code"] == 3007, False),
    "insufficient_credits": (402, lambda b: b["errors"][0]["code"] == 2021, False),
}


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_a_header_fault_is_answered_in_cloudflares_own_words(app: Flask, kind: str) -> None:
    check_answer(app, PROVIDER, kind, ANSWERS[kind], REQUEST)


def test_every_answered_kind_is_on_offer_among_others(app: Flask) -> None:
    assert set(ANSWERS) < offered(app, PROVIDER)
